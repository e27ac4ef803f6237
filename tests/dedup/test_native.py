"""The C port of each kernel (``dedup/_native.c``) gives exactly the values of its Python specification
compiled by numba, on real data: signatures, alignments, seed tables and containment candidates.

The other kernel tests (``test_sketch.py`` against the numpy path and datasketch, ``test_align_kernel.py``
against Biopython) run whichever compiled kernel the process loads, the C port where a compiler is
present; these tests hold the two compiled paths to each other, so that both stay checked.
"""

import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dedup import _align_kernel, _kernels, _native, containment
from dedup.alignment import codes_of, score_codes, scoring
from dedup.compbias import composition_bias
from dedup.params import SketchParams
from dedup.parsing import iter_records
from dedup.shingle import NUCLEOTIDE_CODES, PROTEIN_CODES
from dedup.sketch import permutations
from dedup.verify import align_pair
from tests.conftest import REPO

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

pytestmark = [
    pytest.mark.skipif(
        not _native.possible(), reason="no C compiler on PATH (or DEDUP_NO_NATIVE=1): no C port"
    ),
    pytest.mark.skipif(
        not _kernels.NUMBA_AVAILABLE, reason="numba is not installed: nothing to compare the C port with"
    ),
]


def numba_compiled(spec):
    return _kernels.import_numba().njit(cache=True, nogil=True, boundscheck=False)(spec)


def native(spec):
    fn = _native.kernel(spec)
    assert fn is not None, _native.status()
    return fn


def sequences(path, kind):
    return [r.sequence for r in iter_records(path, kind=kind)]


@pytest.fixture(scope="module")
def proteins():
    seqs = sequences(FIXTURES / "flip_bind_split/one_vs_many.fasta", "protein")
    return seqs + ["", "M", "MKV", "XXXXUOBZ" * 3]  # empty, shorter than k, odd residues


@pytest.fixture(scope="module")
def dna():
    # ITS sequences of seven plants, Yersinia pestis' plasmid pPCP1 in 400-bp windows (every third one
    # reverse-complemented, every fifth with a substitution every 25 bases), two fly upstream regions
    seqs = [s for p in sorted((FIXTURES / "biopython_fasta").glob("*.nu")) for s in sequences(p, "dna")]
    plasmid = sequences(FIXTURES / "odd/biopython/GenBank/NC_005816.fna", "dna")[0]
    comp = str.maketrans("ACGT", "TGCA")
    for n, lo in enumerate(range(0, len(plasmid) - 400, 200)):
        w = plasmid[lo : lo + 400]
        if n % 5 == 0:
            w = "".join(
                "ACGT"[("ACGT".index(c) + 1) % 4] if i % 25 == 7 and c in "ACGT" else c
                for i, c in enumerate(w)
            )
        seqs.append(w.translate(comp)[::-1] if n % 3 == 0 else w)
    seqs += sequences(FIXTURES / "odd/in_the_wild_excerpts/dm3_upstream2000_head2_lowercase_dna.fa", "dna")
    assert len(seqs) > 50
    return seqs + ["", "AC", "ACGTNNNNACGT", "NNNN", "ACGTRYACGTACGT"]


def encode(seqs):
    enc = [s.encode("ascii", "replace") for s in seqs]
    starts = np.zeros(len(enc) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in enc], out=starts[1:])
    return np.frombuffer(b"".join(enc), dtype=np.uint8), starts


@pytest.mark.parametrize(("kind", "k", "num_perm"), [("protein", 5, 128), ("protein", 3, 64), ("protein", 12, 16),
                                                     ("dna", 11, 128), ("dna", 31, 32), ("dna", 4, 7)])  # fmt: skip
def test_minhash_equals_numba(kind, k, num_perm, proteins, dna):
    seqs = proteins if kind == "protein" else dna
    buf, starts = encode(seqs)
    a, b = permutations(num_perm, 1)
    table = PROTEIN_CODES if kind == "protein" else NUCLEOTIDE_CODES
    outs = []
    for fn in (native(_kernels._minhash_kernel_py), numba_compiled(_kernels._minhash_kernel_py)):
        out = np.full((len(seqs), num_perm), 0xFFFFFFFF, dtype=np.uint32)
        fn(buf, starts, table, kind != "protein", k, a, b, out)
        outs.append(out)
    assert np.array_equal(outs[0], outs[1])
    assert (outs[0] != 0xFFFFFFFF).any()


def run_both(spec, q, r, kind="protein", bias=True):
    """Both compiled kernels on one pair, with the codes and scores :func:`dedup.alignment.align_kernel` passes
    (with the query's composition-bias correction for protein unless ``bias`` is false)."""
    s = scoring(kind)
    q_codes, r_codes = codes_of(q), codes_of(r)
    q_score, r_score = score_codes(kind, q_codes), score_codes(kind, r_codes)
    qbias = composition_bias(q_score) if bias and s.composition_bias else np.zeros(0, dtype=np.int32)
    out = []
    for fn in (native(spec), numba_compiled(spec)):
        ops = np.empty(len(q) + len(r) + 1, dtype=np.int8)
        res = np.zeros(7, dtype=np.int64)
        matrix = np.zeros((0, 0), dtype=np.int32) if s.matrix is None else s.matrix
        fn(
            q_score,
            r_score,
            q_codes,
            r_codes,
            matrix,
            qbias,
            s.match,
            s.mismatch,
            s.gap_open,
            s.gap_extend,
            ops,
            res,
        )
        out.append((res.tolist(), ops[: int(res[6])].tolist()))
    return out


def test_alignments_equal_numba_on_real_pairs(proteins):
    # FLIP bind one_vs_many: every 36th protein by length against every other, with the odd short ones
    seqs = sorted(proteins, key=len)[::36] + proteins[-4:]
    pairs = list(itertools.combinations(seqs, 2))
    assert len(pairs) > 700
    aligned = 0
    for q, r in pairs:
        c_result, numba_result = run_both(_align_kernel._gotoh_local_py, q, r)
        assert c_result == numba_result, (q[:20], r[:20])
        aligned += c_result[0][0] > 0
        assert (
            run_both(_align_kernel._gotoh_local_py, q, r, bias=False)[0]
            == run_both(_align_kernel._gotoh_local_py, q, r, bias=False)[1]
        )
    assert aligned > len(pairs) // 2


def test_alignments_equal_numba_on_dna(dna):
    seqs = [s for s in dna if s][:25]
    for q, r in itertools.combinations(seqs, 2):
        c_result, numba_result = run_both(_align_kernel._gotoh_local_py, q, r, kind="dna")
        assert c_result == numba_result


def test_alignment_entry_point_uses_the_c_port_when_loaded():
    if not _native.status()["loaded"]:
        _native.library()
    assert _align_kernel.gotoh_kernel().__module__ == "dedup._native"
    pair = align_pair(
        "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ", "MKTAYIAKQRQISFVKSHFSRALEERLGLIEVQ", kind="protein"
    )
    assert pair.identities == 32 and pair.alignment_length == 33


@pytest.mark.parametrize("kind", ["protein", "dna"])
@pytest.mark.parametrize("restricted", [False, True], ids=["all buckets", "query buckets only"])
def test_seed_tables_and_candidates_equal_numba(kind, restricted, proteins, dna, monkeypatch):
    seqs = proteins if kind == "protein" else dna
    params = SketchParams(kind, 5 if kind == "protein" else 11)
    refs, queries = seqs[::2], [s[3:-3] for s in seqs[1::2]] + seqs[:20:2]
    built = {}
    for name, make in (("c", native), ("numba", numba_compiled)):
        seed = make(containment._seed_kernel_py)
        count = make(containment._count_kernel_py)
        monkeypatch.setattr(containment, "_seed_kernel", lambda seed=seed: seed)
        monkeypatch.setattr(containment, "_count_kernel", lambda count=count: count)
        index = containment.SeedIndex.build(refs, params, only=queries if restricted else None, threads=2)
        cands = index.candidates(queries, identity=0.9, coverage=0.5)
        built[name] = (index, cands)
    (ic, cc), (inb, cnb) = built["c"], built["numba"]
    assert np.array_equal(ic.offsets, inb.offsets) and np.array_equal(ic.postings, inb.postings)
    assert ic.postings.size > 0
    assert len(cc) == len(cnb) == len(queries)
    found = 0
    for x, y in zip(cc, cnb, strict=True):
        assert np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) and x[2:] == y[2:]
        found += x[0].size
    assert found > 0


def test_a_failed_build_falls_back_to_numba_and_is_not_retried(tmp_path):
    """With a compiler that fails, the kernels are numba's, the reason is kept, and a later process
    does not run the compiler again."""
    calls = tmp_path / "calls"
    bad_cc = tmp_path / "cc"
    bad_cc.write_text(f"#!/bin/sh\necho run >> {calls}\necho 'no compiler here' >&2\nexit 1\n")
    bad_cc.chmod(0o755)
    code = (
        "import sys\n"
        "from dedup import _kernels, _native\n"
        "k = _kernels.minhash_kernel()\n"
        "assert not _native.status()['loaded'] and sys.argv[1] in _native.status()['reason'], _native.status()\n"
        "assert 'no compiler here' in _native.status()['reason'], _native.status()\n"
        "assert hasattr(k, 'signatures'), k\n"
    )
    env = {
        **os.environ,
        "CC": str(bad_cc),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "TMPDIR": str(tmp_path),
    }
    for expected in ("failed", "an earlier build failed"):
        proc = subprocess.run(
            [sys.executable, "-c", code, expected],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=env,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
    # the first process ran it twice (with -march=native, then without), the second not at all
    assert calls.read_text().split() == ["run", "run"]
    assert list((tmp_path / "cache" / "leakledger").glob("_native-*.failed"))


@pytest.mark.parametrize(
    ("identity", "coverage", "reference_coverage"), [(0.9, 0.8, 0.0), (0.5, 0.5, 0.3), (0.3, 0.8, 0.8)]
)
def test_screen_verdicts_equal_the_bounds_one_by_one(identity, coverage, reference_coverage, proteins):
    """The batch bounds give each pair the verdict :meth:`Bounds.passes` gives it, counted the same way."""
    from dedup.bounds import QGRAM_K, Bounds, Prepared
    from dedup.hits import VerifyStats

    seqs = sorted(proteins, key=len)[::7] + ["MKTAYIAKQRUOQ", "A", "XXXXXXXX"]
    preps = [Prepared(s, "protein", QGRAM_K["protein"]) for s in seqs]
    pairs = [(i, j) for i in range(len(preps)) for j in range(0, len(preps), 3)]
    bounds = Bounds(identity=identity, coverage=coverage, reference_coverage=reference_coverage,
                    qgram_k=QGRAM_K["protein"])  # fmt: skip
    offsets = np.zeros(len(preps) + 1, dtype=np.int64)
    np.cumsum([p.length for p in preps], out=offsets[1:])
    codes = np.concatenate([p.codes() for p in preps])
    verdicts = _native.screen(codes, offsets, np.array([i for i, _ in pairs]), np.array([j for _, j in pairs]),
                              identity=identity, coverage=coverage, reference_coverage=reference_coverage,
                              qgram_k=QGRAM_K["protein"])  # fmt: skip
    assert verdicts is not None, _native.status()
    names = {1: "pruned_length", 2: "pruned_composition", 3: "pruned_qgram"}
    seen = set()
    for (i, j), v in zip(pairs, verdicts, strict=True):
        stats = VerifyStats()
        passed = bounds.passes(preps[i], preps[j], None, stats)
        assert passed == (v == 0), (i, j, v)
        if v:
            assert getattr(stats, names[int(v)]) == 1, (i, j, v, stats)
        seen.add(int(v))
    # the q-gram bound applies above 75% identity only (k = 3: its coefficient is 1 - 3 (1 - t) / t)
    assert seen == ({0, 1, 2, 3} if identity == 0.9 else {0, 1, 2})


def test_verifier_screen_in_c_gives_the_same_hits_and_counters(proteins, monkeypatch):
    from dedup.verifier import Verifier

    seqs = sorted(proteins, key=len)[::5]
    items = [
        (f"q{i}", q, f"r{j}", r, None) for i, q in enumerate(seqs[::2]) for j, r in enumerate(seqs[1::4])
    ]
    items += [
        ("qu", "MKTAYIAKQRUOQISFVKSHFSRQ", "ru", "MKTAYIAKQRUOQISFVKSHFSRQLEE", None)
    ]  # U, O: codes as given
    runs = []
    for native_screen in (True, False):
        if not native_screen:
            monkeypatch.setattr(Verifier, "_native_verdicts", lambda self, preps: None)
        v = Verifier(kind="protein", identity=0.5, coverage=0.5, threads=2)
        hits = v.verify_many(items)
        runs.append((hits, v.stats))
    assert runs[0][0] == runs[1][0]
    assert runs[0][1] == runs[1][1]
    assert runs[0][1].aligned > 0 and runs[0][1].pruned_qgram + runs[0][1].pruned_composition > 0
    assert sum(h is not None for h in runs[0][0]) > 0


def test_a_library_others_could_write_is_not_loaded(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    lib = shared / "_native-0.so"
    lib.write_bytes(b"")
    shared.chmod(0o777)
    with pytest.raises(OSError, match="writable by another user"):
        _native._safe_to_load(lib)
    shared.chmod(0o755)
    lib.chmod(0o666)
    with pytest.raises(OSError, match="writable by another user"):
        _native._safe_to_load(lib)
    lib.chmod(0o644)
    _native._safe_to_load(lib)  # the user's own, not writable by others: loaded


@pytest.mark.parametrize(
    ("kind", "k"), [("protein", 5), ("protein", 3), ("protein", 12), ("dna", 11), ("dna", 31), ("dna", 4)]
)
def test_shingle_hashes_equal_the_numpy_path(kind, k, proteins, dna, monkeypatch):
    from dedup import shingle

    seqs = proteins if kind == "protein" else dna
    params = SketchParams(kind, k)
    c_hashes, c_offsets = shingle.batch_shingle_hashes64(seqs, params)
    monkeypatch.setattr(_native, "shingles", lambda *a, **kw: None)
    np_hashes, np_offsets = shingle.batch_shingle_hashes64(seqs, params)
    assert np.array_equal(c_offsets, np_offsets) and np.array_equal(c_hashes, np_hashes)
    assert c_hashes.dtype == np.uint64 and c_hashes.size > 1000
