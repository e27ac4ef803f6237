"""Indexes built for known queries (only their band keys and seed buckets) answer them as whole indexes do.

``find_overlap`` reads the queries before the reference, so its in-memory index keeps only the
band keys some query holds and the containment tier's seed table only the buckets of the queries
it searches. These tests compare every answer with the whole index's, on real proteins (FLIP bind's
split, with fragments and point mutants of its training proteins so that every tier finds hits).
"""

import numpy as np
import pytest

import dedup.containment as containment
from dedup import find_overlap
from dedup.containment import SeedIndex
from dedup.memindex import MemoryIndex
from dedup.method import Method
from dedup.params import SketchParams
from dedup.pipeline import run_tiers
from dedup.sketch import SignatureBatch
from tests.conftest import FIXTURES
from tests.dedup.test_verify import read_fasta

BIND = FIXTURES / "flip_bind_split"
P5 = SketchParams("protein", 5)


@pytest.fixture(scope="module")
def refs():
    return list(read_fasta(BIND / "train.fasta").items())


@pytest.fixture(scope="module")
def queries(refs):
    """Test proteins, fragments of long training proteins (containment) and mutants (MinHash)."""
    out = list(read_fasta(BIND / "test.fasta").items())[:150]
    longest = sorted({s for _r, s in refs}, key=len)[-8:]
    out += [(f"frag{i}", s[200:260]) for i, s in enumerate(longest)]
    for i, (_r, s) in enumerate(refs[:40]):
        chars = list(s)
        for p in range(3, len(chars), 15):
            chars[p] = "W" if chars[p] != "W" else "A"
        out.append((f"mut{i}", "".join(chars)))
    return out


def _entries(index: MemoryIndex) -> int:
    return sum(len(table) for table, _local, _rows, _sigs in index._chunks)


def test_memory_index_for_the_queries_gives_the_whole_index_candidates(refs, queries):
    method = Method(kind="protein")
    seqs = [s for _q, s in queries]
    whole = MemoryIndex.build(refs, method, chunk=97)
    built = MemoryIndex.build(refs, method, chunk=97, queries=seqs)  # several build chunks
    for part in (seqs, seqs[::3], seqs[-40:]):  # all the queries, or any of them
        batch = SignatureBatch.sketch(part, method.params)
        a, b = whole.candidates(batch), built.candidates(batch)
        assert len(a[0]) > 0
        assert np.array_equal(a[0], b[0]) and a[1] == b[1] and np.array_equal(a[2], b[2])
    assert _entries(built) < _entries(whole) / 2
    assert built.residues([0, 5]) == whole.residues([0, 5]) and len(built) == len(whole)
    # a query it was not built for is refused, not answered with missing candidates
    other = SignatureBatch.sketch(["MSTNPKPQRKTKRNTNRRPQDVKFPGGGQIVGGVYLLPRRGPRLGVRATRKTSERSQPRGRR"], P5)
    with pytest.raises(ValueError, match="built for other queries"):
        built.candidates(other)
    assert whole.candidates(other)[0].size == 0


@pytest.mark.parametrize("compiled", [True, False])
def test_seed_table_of_the_queries_buckets_gives_the_whole_table_candidates(
    refs, queries, compiled, monkeypatch
):
    if not compiled:  # the numpy build, as without numba
        monkeypatch.setattr(containment, "_seed_kernel", lambda: None)
    seqs = [s for _q, s in queries]
    ref_seqs = [s for _r, s in refs]
    whole = SeedIndex.build(ref_seqs, P5)
    part = SeedIndex.build(ref_seqs, P5, only=seqs)
    assert part.bits == whole.bits and part.n_references == whole.n_references
    assert 0 < part.postings.size < whole.postings.size
    for identity, coverage, cap in ((0.9, 0.8, 8), (0.5, 0.5, 8), (0.7, 0.8, 1000)):
        for sub in (seqs, seqs[1::2]):
            a = whole.candidates(sub, identity=identity, coverage=coverage, max_candidates=cap)
            b = part.candidates(sub, identity=identity, coverage=coverage, max_candidates=cap)
            assert sum(x[2] for x in a) > 0
            for x, y in zip(a, b, strict=True):
                assert np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) and x[2:] == y[2:]
    # a posting list of a query bucket is the whole table's, reference numbers ascending
    a, b = whole.shared(seqs[:20]), part.shared(seqs[:20])
    assert all(np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) for x, y in zip(a, b, strict=True))
    assert part.covers(seqs[:5]) and whole.covers(ref_seqs[:50])
    assert not part.covers(ref_seqs[-50:])
    with pytest.raises(ValueError, match="built for other queries"):
        part.candidates(ref_seqs[-50:], identity=0.9, coverage=0.8)


@pytest.mark.parametrize("only", [False, True])
def test_seed_table_built_on_threads_is_the_one_thread_table(refs, queries, only, monkeypatch):
    monkeypatch.setattr(containment, "_BUILD_CHUNK", 97)  # several parts and chunks on this small set
    ref_seqs = [s for _r, s in refs]
    subset = [s for _q, s in queries] if only else None
    one = SeedIndex.build(ref_seqs, P5, only=subset)
    for threads in (2, 3):
        many = SeedIndex.build(ref_seqs, P5, only=subset, threads=threads)
        assert np.array_equal(one.offsets, many.offsets) and np.array_equal(one.postings, many.postings)
    monkeypatch.setattr(containment, "_seed_kernel", lambda: None)  # the numpy build gives it too
    plain = SeedIndex.build(ref_seqs, P5, only=subset)
    assert np.array_equal(one.offsets, plain.offsets) and np.array_equal(one.postings, plain.postings)


def test_find_overlap_gives_the_hits_of_whole_indexes(refs, queries, tmp_path):
    # find_overlap builds its index for the queries; the tiers over whole indexes must agree on every hit
    for identity in (0.9, 0.95):
        method = Method(kind="protein", identity=identity)
        result = find_overlap(queries, refs, identity=identity, coverage=0.8, threads=2)
        assert result.method.key() == method.key()
        whole = MemoryIndex.build(refs, method)
        best, reports = run_tiers(queries, whole, method, threads=2)
        ours = {
            h.query: (h.reference, h.identity, h.query_coverage, h.reference_coverage, h.tier)
            for h in result.hits
        }
        theirs = {
            q: (whole.name(h.reference), h.identity, h.query_coverage, h.reference_coverage, h.tier)
            for q, h in best.items()
        }
        assert ours == theirs
        tiers = {t for *_x, t in ours.values()}
        assert {"exact", "minhash", "containment"} <= tiers, tiers
        assert {n: r.stats for n, r in result.tiers.items()} == {n: r.stats for n, r in reports.items()}
        assert whole.seed_index(method.params)[0].only is None  # the whole table: any query


class _WithoutOwnSeeds:
    """A candidate index that does not build its own seed table (as the registry's band-key store)."""

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        if name == "seed_index":
            raise AttributeError(name)
        return getattr(self._inner, name)


def test_an_index_without_its_own_seed_table_gets_the_same_hits_on_any_threads(refs, queries):
    method = Method(kind="protein", identity=0.9)
    own, _r = run_tiers(queries, MemoryIndex.build(refs, method), method, threads=1)
    for threads in (1, 2):
        index = _WithoutOwnSeeds(MemoryIndex.build(refs, method))
        best, reports = run_tiers(queries, index, method, threads=threads)
        assert index._seed_cache  # the pipeline built the table itself
        assert {q: (h.reference, h.identity, h.tier) for q, h in best.items()} == {
            q: (h.reference, h.identity, h.tier) for q, h in own.items()
        }
        assert any(h.tier == "containment" for h in best.values())
