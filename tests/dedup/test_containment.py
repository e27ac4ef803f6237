"""The containment tier: real fragments cut from real proteins are found, with both coverages."""

import numpy as np
import pytest

from dedup import find_overlap
from dedup.containment import SeedIndex, containment_tier, min_shared_kmers
from dedup.params import SketchParams
from dedup.shingle import shingle_hashes
from dedup.verify import Verifier
from tests.conftest import FIXTURES
from tests.dedup.test_verify import read_fasta

TRAIN = FIXTURES / "flip_bind_split" / "train.fasta"
GLOBINS = FIXTURES / "hmmer_tutorial" / "globins45.fa"
P5 = SketchParams("protein", 5)


@pytest.fixture(scope="module")
def train():
    return list(read_fasta(TRAIN).items())


@pytest.fixture(scope="module")
def longest(train):
    """The five longest distinct training proteins (all > 450 residues)."""
    seen, out = set(), []
    for rid, seq in sorted(train, key=lambda r: -len(r[1])):
        if seq not in seen:
            seen.add(seq)
            out.append((rid, seq))
        if len(out) == 5:
            break
    assert min(len(s) for _r, s in out) > 450
    return out


def _mutate(seq: str, positions: list[int]) -> str:
    chars = list(seq)
    for p in positions:
        chars[p] = "W" if chars[p] != "W" else "A"
    return "".join(chars)


def test_fragments_of_long_proteins_are_found_with_both_coverages(train, longest):
    frags = [(f"frag{i}", seq[300:350]) for i, (_rid, seq) in enumerate(longest)]
    result = find_overlap(frags, train, identity=0.9, coverage=0.8)
    by_query = {h.query: h for h in result.hits}
    assert set(by_query) == {q for q, _s in frags}
    for i, (_rid, seq) in enumerate(longest):
        h = by_query[f"frag{i}"]
        ref_seq = dict(train)[h.reference]
        assert seq[300:350] in ref_seq  # the reported reference really contains the fragment
        assert h.identity == 1.0 and h.query_coverage == 1.0
        # reference coverage tells a fragment from a full-length copy
        assert h.reference_coverage == pytest.approx(50 / len(ref_seq), abs=1e-9)
        assert h.reference_coverage < 0.12
    assert result.tiers["containment"].ran


def test_a_95_percent_identical_peptide_is_found_and_a_shuffled_one_is_not(train, longest):
    _rid, seq = longest[0]
    piece = seq[200:260]
    mutated = _mutate(piece, [10, 30, 50])  # 57 of 60 identical
    reversed_piece = piece[::-1]  # the same composition, no homology
    result = find_overlap(
        [("mut", mutated), ("rev", reversed_piece)],
        train,
        identity=0.9,
        coverage=0.8,
        tiers=("exact", "containment"),
    )
    hits = {h.query: h for h in result.hits}
    assert set(hits) == {"mut"}
    assert hits["mut"].tier == "containment"
    assert hits["mut"].identity == pytest.approx(57 / 60)
    assert hits["mut"].query_coverage == 1.0


def test_without_the_tier_the_report_says_it_did_not_run(train, longest):
    result = find_overlap([("f", longest[0][1][:40])], train, tiers=("exact", "minhash"))
    assert result.tiers["containment"].ran is False
    assert result.tiers["containment"].reason == "not requested"


def test_every_shared_kmer_is_counted_and_the_lemma_holds_on_real_pairs():
    """Shared buckets >= distinct shared k-mers (folding can only merge), checked from the k-mer sets."""
    globins = list(read_fasta(GLOBINS).items())
    index = SeedIndex.build([s for _g, s in globins], P5)
    queries = [s[20:100] for _g, s in globins[:10]]
    for qseq, (refs, counts, n_buckets, n_skipped, _n) in zip(queries, index.shared(queries), strict=True):
        assert n_skipped == 0 and n_buckets <= len(qseq) - 4
        qset = set(shingle_hashes(qseq, P5).tolist())
        counted = dict(zip(refs.tolist(), counts.tolist(), strict=True))
        for r, (_g, rseq) in enumerate(globins):
            truly_shared = len(qset & set(shingle_hashes(rseq, P5).tolist()))
            assert counted.get(r, 0) >= truly_shared
    # The lemma: any passing alignment keeps at least that many k-mers (checked on the pairs the verifier accepts).
    verifier = Verifier(kind="protein", identity=0.7, coverage=0.8)
    checked = 0
    for n, qseq in enumerate(queries):
        for gid, rseq in globins:
            hit = verifier.verify(f"q{n}", qseq, gid, rseq)  # the verifier caches by identifier
            if hit is None:
                continue
            shared = len(set(shingle_hashes(qseq, P5).tolist()) & set(shingle_hashes(rseq, P5).tolist()))
            assert shared >= min_shared_kmers(
                len(qseq), k=5, identity=hit.identity, coverage=hit.query_coverage
            )
            checked += 1
    assert checked >= 10


def test_saved_index_is_memory_mapped_and_answers_the_same(tmp_path, train, longest):
    seqs = [s for _r, s in train]
    built = SeedIndex.build(seqs, P5, out_dir=tmp_path)
    built.save(tmp_path)
    loaded = SeedIndex.load(tmp_path)
    assert isinstance(loaded.postings, np.memmap) and isinstance(loaded.offsets, np.memmap)
    assert not list(tmp_path.glob(".seeds.tmp.*"))  # the build's spill files are gone
    in_memory = SeedIndex.build(seqs, P5)
    assert np.array_equal(np.asarray(loaded.postings), in_memory.postings)
    assert np.array_equal(np.asarray(loaded.offsets), in_memory.offsets)
    frags = [(f"f{i}", s[100:160]) for i, (_r, s) in enumerate(longest)]
    verifier = Verifier(kind="protein", identity=0.9, coverage=0.8)
    hits, stats = containment_tier(frags, train, loaded, verifier)
    assert {h.query for h in hits} == {q for q, _s in frags}
    assert stats["aligned_pairs"] >= len(frags)


def test_index_of_other_references_is_refused(train):
    index = SeedIndex.build([s for _r, s in train[:10]], P5)
    with pytest.raises(ValueError, match="holds 10 references but 11"):
        containment_tier(
            [("q", "MKV")], train[:11], index, Verifier(kind="protein", identity=0.9, coverage=0.8)
        )


@pytest.mark.parametrize(
    ("kind", "path", "k"),
    [
        ("protein", TRAIN, 5),
        ("protein", GLOBINS, 3),
        ("dna", FIXTURES / "biopython_fasta" / "elderberry.nu", 16),
    ],
)
def test_compiled_and_numpy_builds_are_identical(monkeypatch, kind, path, k):
    """The numba kernel re-implements the shingle hash; the numpy path uses dedup.shingle itself."""
    import dedup.containment as containment

    if containment._seed_kernel() is None:
        pytest.skip("numba not installed: only the numpy path exists")
    seqs = [s for _r, s in read_fasta(path).items()]
    if kind == "dna":
        seqs = [
            *seqs,
            "ACGTN" * 3,
            "ACG",
            "ACGN",
            "TTTTTTTTTTTTTTTTTTTTTTTTT",
        ]  # invalid windows, short inputs
    else:
        seqs = [*seqs, "MK", "X"]
    params = SketchParams(kind, k)
    compiled = SeedIndex.build(seqs, params)
    monkeypatch.setattr(containment, "_seed_kernel", lambda: None)
    plain = SeedIndex.build(seqs, params)
    assert compiled.bits == plain.bits
    assert np.array_equal(compiled.offsets, plain.offsets)
    assert np.array_equal(compiled.postings, plain.postings)


def test_compiled_and_numpy_candidates_are_identical(monkeypatch, train):
    import dedup.containment as containment

    if containment._count_kernel() is None:
        pytest.skip("numba not installed: only the numpy path exists")
    index = SeedIndex.build([s for _r, s in train], P5)
    globins = [s for _g, s in read_fasta(GLOBINS).items()]
    queries = [s[100:160] for _r, s in train[:40]] + globins[:10] + ["MK"]
    for identity in (0.9, 0.5):
        compiled = index.candidates(queries, identity=identity, coverage=0.8, max_candidates=5)
        monkeypatch.setattr(containment, "_count_kernel", lambda: None)
        plain = index.candidates(queries, identity=identity, coverage=0.8, max_candidates=5)
        monkeypatch.undo()
        for (r1, c1, p1, s1), (r2, c2, p2, s2) in zip(compiled, plain, strict=True):
            assert r1.tolist() == r2.tolist() and c1.tolist() == c2.tolist() and (p1, s1) == (p2, s2)
        assert sum(p for _r, _c, p, _s in compiled) > 0


def test_counts_of_passing_references_are_exact_when_long_buckets_are_looked_up(monkeypatch, train):
    """The compiled counter reads a query's longest buckets only for the references that can still
    pass (by binary search or by a scan): the candidates and their counts are those of counting
    every posting. Real proteins, each carrying the same 60-residue piece of one of them, so that
    the piece's buckets list every reference and the rest of each query's buckets only a few."""
    import dedup.containment as containment

    if containment._count_kernel() is None:
        pytest.skip("neither the C port nor numba: only the numpy path exists")
    seqs = list(dict.fromkeys(s for _r, s in train if len(s) > 150))[:300]
    shared = seqs[0][20:80]
    refs = [s[:60] + shared + s[60:] for s in seqs]
    index = SeedIndex.build(refs, P5)
    queries = [r[30:150] for r in refs[:60]] + [r[: len(r) // 2] for r in refs[60:80]] + [shared]
    lens = np.diff(index.offsets)
    assert lens.max() >= 300 > np.median(lens[lens > 0])  # long buckets beside short ones
    for identity, coverage in ((0.95, 0.8), (0.9, 0.8), (0.9, 0.5), (0.8, 0.8), (0.5, 0.8)):
        compiled = index.candidates(queries, identity=identity, coverage=coverage, max_candidates=5)
        monkeypatch.setattr(containment, "_count_kernel", lambda: None)
        plain = index.candidates(queries, identity=identity, coverage=coverage, max_candidates=5)
        monkeypatch.undo()
        for (r1, c1, p1, s1), (r2, c2, p2, s2) in zip(compiled, plain, strict=True):
            assert r1.tolist() == r2.tolist() and c1.tolist() == c2.tolist() and (p1, s1) == (p2, s2)
        assert all(r.size and p >= 1 for r, _c, p, _s in compiled[:80])  # each query finds its reference


def test_mapped_table_is_released_per_chunk_only_when_large(monkeypatch, tmp_path, train):
    """A mapped seed table is released once per lookup when small, per chunk when large: same candidates."""
    import dedup.containment as containment

    SeedIndex.build([s for _r, s in train], P5, out_dir=tmp_path).save(tmp_path)
    index = SeedIndex.load(tmp_path)
    assert isinstance(index.postings, np.memmap)
    queries = [s[50:150] for _r, s in train[:150]]  # 3 chunks of 64
    calls: list[int] = []
    real = containment.release_pages
    monkeypatch.setattr(containment, "release_pages", lambda *a: (calls.append(1), real(*a)))
    small = index.candidates(queries, identity=0.9, coverage=0.8)
    assert len(calls) == 1
    calls.clear()
    monkeypatch.setattr(containment, "_RELEASE_BYTES", 0)
    large = index.candidates(queries, identity=0.9, coverage=0.8)
    assert len(calls) == 3 + 1
    for (r1, c1, p1, s1), (r2, c2, p2, s2) in zip(small, large, strict=True):
        assert r1.tolist() == r2.tolist() and c1.tolist() == c2.tolist() and (p1, s1) == (p2, s2)
    assert sum(p for _r, _c, p, _s in small) > 0


def test_tier_names_agree_across_pipeline_method_hits_and_cli():
    from dedup import __main__ as cli
    from dedup import pipeline
    from dedup.method import TIER_ORDER, Method
    from dedup.verify import TIERS

    assert TIERS == TIER_ORDER == tuple(pipeline.TIER_FUNCTIONS) == cli.TIERS
    assert TIER_ORDER.index("minhash") < TIER_ORDER.index("containment") < TIER_ORDER.index("mmseqs")
    assert "containment" in Method(kind="protein").tiers
    # its settings are part of the key: a method without the tier is another method
    assert Method(kind="protein").key() != Method(kind="protein", tiers=("exact", "minhash")).key()
    assert "containment" in Method(kind="protein").to_dict()


def test_pairs_minhash_aligned_are_not_aligned_again_and_change_nothing(train, longest):
    # Queries MinHash proposes but that fail its coverage rule at 0.95 identity, plus fragments only
    # the containment tier sees: the skip must not change a single hit.
    from dedup.memindex import MemoryIndex
    from dedup.method import Method
    from dedup.pipeline import run_tiers

    queries = [(f"frag{i}", seq[100:160]) for i, (_r, seq) in enumerate(longest)]
    queries += [
        (f"mut{i}", _mutate(seq, list(range(0, len(seq), 12)))) for i, (_r, seq) in enumerate(train[:30])
    ]
    method = Method(kind="protein", identity=0.95)
    index = MemoryIndex.build(train, method)
    best, reports = run_tiers(queries, index, method)
    stats = reports["containment"].stats
    assert reports["containment"].ran and stats["already_aligned"] > 0
    # Without the skip (the containment tier alone after exact) the same queries get the same verdicts.
    alone = Method(kind="protein", identity=0.95, tiers=("exact", "containment"))
    best_alone, _r = run_tiers(
        [(q, s) for q, s in queries if q not in {h for h, hit in best.items() if hit.tier == "minhash"}],
        MemoryIndex.build(train, alone, sketch=False),
        alone,
    )
    assert {q: h.reference for q, h in best.items() if h.tier == "containment"} == {
        q: h.reference for q, h in best_alone.items() if h.tier == "containment"
    }
    assert any(h.tier == "containment" for h in best.values())
    # the seed table is built once per index and reused
    assert index.seed_index(method.params)[0] is index.seed_index(method.params)[0]
