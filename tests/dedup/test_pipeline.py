"""The one pipeline's parts: the method key, signature batches, the in-memory index, the claims."""

import dataclasses

import numpy as np
import pytest

from dedup import ParameterMismatchError, SketchParams
from dedup.calibration import BANDS, band_of, wilson
from dedup.claims import summarise
from dedup.lsh import LSHIndex
from dedup.memindex import MemoryIndex
from dedup.method import Method, aligner_id, index_method
from dedup.mmseqs import MmseqsSettings
from dedup.sketch import SignatureBatch, estimate_jaccard
from tests.conftest import FIXTURES
from tests.dedup.test_verify import read_fasta

BIND = FIXTURES / "flip_bind_split"


@pytest.mark.parametrize(
    "change",
    [
        {"identity": 0.8},
        {"coverage": 0.5},
        {"reference_coverage": 0.3},
        {"tiers": ("exact", "minhash", "mmseqs")},
        {"sketch": SketchParams("protein", 4)},
        {"sketch": SketchParams("protein", 5, num_perm=64), "bands": 32, "rows": 2},
        {"bands": 37, "rows": 3},
        {"min_jaccard": 0.05},
        {"max_candidates": 200},
        {"stop_at": 0.95},
        {"trim": True},
    ],
)
def test_every_recall_setting_changes_the_method_key(change):
    base = Method(kind="protein")
    other = dataclasses.replace(base, **change)
    assert other.key() != base.key() and len(other.key()) <= 64
    assert set(base.differences(other))


def test_mmseqs_flags_enter_the_key_only_with_that_tier_and_threads_never():
    mm = Method(kind="protein", tiers=("exact", "minhash", "mmseqs"))
    assert dataclasses.replace(mm, mmseqs=MmseqsSettings(sensitivity=1.0)).key() != mm.key()
    assert dataclasses.replace(mm, mmseqs=MmseqsSettings(threads=1)).key() == mm.key()
    plain = Method(kind="protein")
    assert dataclasses.replace(plain, mmseqs=MmseqsSettings(sensitivity=1.0)).key() == plain.key()


def test_the_aligner_is_part_of_the_key():
    assert Method(kind="protein").to_dict()["minhash"]["aligner"] == aligner_id()
    assert aligner_id().startswith("dedup.verify@")


def test_index_method_is_the_registry_banding():
    m = index_method("protein", identity=0.8)
    assert (m.bands, m.rows, m.max_candidates, m.stop_at, m.min_jaccard) == (37, 3, 200, 0.95, 0.05)


def test_signature_batches_refuse_other_params():
    p3, p4 = SketchParams("protein", 3), SketchParams("protein", 4)
    seqs = ["MKTAYIAKQRQISFVKSHFSRQ", "MKTAYIAKQRQISFVKSHFSRW"]
    a, b = SignatureBatch.sketch(seqs, p3), SignatureBatch.sketch(seqs, p4)
    with pytest.raises(ParameterMismatchError, match="protein:k4"):
        LSHIndex(p3).add(["x", "y"], b)
    with pytest.raises(ParameterMismatchError, match="different params"):
        estimate_jaccard(a, b)  # same width, other k: refused, not a wrong number
    assert estimate_jaccard(a, a).tolist() == [1.0, 1.0]
    index = MemoryIndex.build([("r", seqs[0])], Method(kind="protein", sketch=p3, bands=42, rows=3))
    with pytest.raises(ParameterMismatchError):
        index.candidates(b)
    with pytest.raises(ParameterMismatchError):
        SignatureBatch(p3, np.zeros((2, 64), dtype=np.uint32))


def test_memory_index_gives_the_candidates_of_an_lsh_index_on_real_proteins():
    refs = list(read_fasta(BIND / "train.fasta").items())[:400]
    queries = list(read_fasta(BIND / "test.fasta").items())[:100]
    method = Method(kind="protein")
    index = MemoryIndex.build(refs, method, chunk=97)  # several build chunks
    batch = SignatureBatch.sketch([s for _q, s in queries], method.params)
    rows, keys, jac = index.candidates(batch)
    ours = {(int(r), index.name(k)) for r, k in zip(rows.tolist(), keys, strict=True)}
    # datasketch-style reference: one representative per distinct sequence, same banding.
    first: dict[str, str] = {}
    for rid, seq in refs:
        first.setdefault(seq, rid)
    lsh = LSHIndex(method.params, bands=method.bands, rows=method.rows)
    lsh.add(list(first.values()), SignatureBatch.sketch(list(first), method.params))
    theirs = {(i, key) for i, cands in enumerate(lsh.query_batch(batch)) for key in cands}
    assert ours == theirs and ours
    sigs = dict(zip(first.values(), SignatureBatch.sketch(list(first), method.params).values, strict=True))
    r0, k0 = int(rows[0]), index.name(keys[0])
    assert jac[0] == pytest.approx(float(np.mean(batch.values[r0] == sigs[k0])))


def test_bands_and_wilson():
    assert [band_of(x) for x in (1.0, 0.97, 0.9, 0.85, 0.7, 0.69, 0.3)] == [
        "100%",
        "[95,100)",
        "[90,95)",
        "[80,90)",
        "[70,80)",
        "[50,70)",
        "[30,50)",
    ]
    assert len(BANDS) == 7
    low, high = wilson(950, 1000)
    assert low < 0.95 < high and high - low < 0.03


def test_a_method_never_measured_claims_counts_only_and_names_the_nearest():
    method = Method(kind="protein", identity=0.9, bands=16, rows=8)
    claims = summarise([(1.0, "exact", True), (0.96, "minhash", False)], 10, method)
    assert claims.calibration["measured"] is False
    assert claims.calibration["note"] == "recall not measured for this method"
    nearest = claims.calibration["nearest_measured"]
    assert nearest["key"] != method.key() and "minhash.bands" in nearest["differs_in"]
    rows = {r.label: r for r in claims.rows}
    assert rows[">=95%"].queries == 2 and rows[">=95%"].recall is None and rows[">=95%"].estimated is None


def test_seed_table_built_beside_the_minhash_tier_once_with_the_same_hits(monkeypatch):
    """With two threads the containment tier's table is built while the minhash tier runs, for the
    queries the exact tier left; the containment tier then uses it (one build, not two) and the hits
    are those of one thread. Real proteins and fragments of them (found by the containment tier)."""
    import dedup.memindex as memindex_module
    from dedup.pipeline import run_tiers

    train = list(read_fasta(BIND / "train.fasta").items())
    test = list(read_fasta(BIND / "test.fasta").items())
    long_refs = [(r, s) for r, s in train if len(s) > 400][:20]
    queries = test[:60] + [(f"frag{i}", s[100:160]) for i, (_r, s) in enumerate(long_refs)]
    method = Method(kind="protein", tiers=("exact", "minhash", "containment"))
    builds: list[int] = []
    real_build = memindex_module.SeedIndex.build

    def counted(*args, **kwargs):
        builds.append(len(kwargs.get("only") or []))
        return real_build(*args, **kwargs)

    monkeypatch.setattr(memindex_module.SeedIndex, "build", counted)
    results = {}
    for threads in (1, 2):
        builds.clear()
        index = MemoryIndex.build(train, method, threads=threads)
        hits, reports = run_tiers(queries, index, method, threads=threads)
        results[threads] = sorted((q, h.reference, h.tier, round(h.identity, 6)) for q, h in hits.items())
        assert len(builds) == 1, builds
        if threads == 2:  # built for every query the exact tier left, a superset of the tier's own
            assert builds[0] == len(queries) - reports["exact"].hits > reports["containment"].queries
    assert results[1] == results[2]
    tiers = [tier for _q, _r, tier, _i in results[2]]
    assert tiers.count("containment") >= 5 and tiers.count("minhash") + tiers.count("exact") >= 5, tiers
