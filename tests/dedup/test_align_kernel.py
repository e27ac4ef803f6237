"""The compiled aligner computes exactly Biopython's first optimal local alignment, pair by pair, on real data.

Biopython has no per-position scores, so these compare the kernel without the composition-bias
correction (``bias_correction=False``: the same dynamic programme); ``tests/dedup/test_compbias.py``
checks the corrected alignments against MMseqs2 and the C port against its Python specification.

Identity and coverage (MMseqs2 ``fident`` and ``qcov``) are read off the alignment, so the same
alignment means the same verdict at every threshold; the tests compare every field of the two
backends' alignments and, on the calibration pairs, the verdicts themselves.
"""

import gzip
import itertools
from pathlib import Path

import pytest

from dedup import LSHIndex, SketchParams, default_sketch_params, lsh_settings, sketch_batch
from dedup.parsing import iter_records
from dedup.verify import Verifier, align_pair
from tests.conftest import shared_data_path
from tests.dedup.test_verify import m8_rows, read_fasta

pytestmark = pytest.mark.skipif(
    not __import__("dedup._align_kernel", fromlist=["AVAILABLE"]).AVAILABLE, reason="numba is not installed"
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MMSEQS_EXAMPLES = Path("/usr/share/doc/mmseqs2/example-data")
THRESHOLDS = (1.0, 0.95, 0.9, 0.8, 0.7, 0.5, 0.3)


def plain_verifier(**settings):
    """A protein verifier on Biopython's scores (no composition-bias correction), on either backend."""
    return Verifier(kind="protein", bias_correction=False, **settings)


def both(q, r, kind="protein"):
    fast = align_pair(q, r, kind=kind, backend="numba", bias_correction=False)
    return fast, align_pair(q, r, kind=kind, backend="biopython")


def test_globin_family_all_pairs_align_as_biopython():
    # 45 globins: 990 homologous pairs at 30-90% identity, where gaps and co-optimal paths are common
    seqs = [r.sequence for r in iter_records(FIXTURES / "hmmer_tutorial/globins45.fa", kind="protein")]
    pairs = list(itertools.combinations(seqs, 2))
    assert len(pairs) == 990
    for q, r in pairs:
        fast, ref = both(q, r)
        assert fast == ref, (q[:20], r[:20])


def test_protein_designs_and_odd_residues_align_as_biopython():
    # ProteinMPNN designs vs their natives (~40-60% identity), with X runs; U/O scored as X
    files = sorted((FIXTURES / "proteinmpnn_designs").rglob("*.fa"))
    assert files
    checked = 0
    for path in files:
        with open(path) as fh:  # records repeat identifiers; multi-chain entries join chains with '/'
            text = [line.strip() for line in fh if line.strip() and not line.startswith(">")]
        seqs = [chain for line in text for chain in line.upper().split("/") if len(chain) > 20]
        for q, r in itertools.combinations(seqs, 2):
            fast, ref = both(q, r)
            assert fast == ref
            checked += 1
    assert checked >= 6
    fast, ref = both("MKTAYUAKQRQOSFVKSHFSRQ", "MKTAYUAKQRQJSFVKSHFSRQ")
    assert fast == ref and fast.identities == 21


def test_nucleotides_and_text_align_as_biopython():
    seqs = []
    for name in ("centaurea.nu", "elderberry.nu", "lavender.nu", "lupine.nu"):
        seqs += [r.sequence for r in iter_records(FIXTURES / "biopython_fasta" / name, kind="dna")][:3]
    for q, r in itertools.combinations(seqs, 2):
        for kind, a, b in (("dna", q, r), ("rna", q.replace("T", "U"), r.replace("T", "U"))):
            v_fast = Verifier(kind=kind, identity=0, coverage=0, backend="numba")
            v_ref = Verifier(kind=kind, identity=0, coverage=0, backend="biopython")
            assert v_fast.align("q", a, "r", b) == v_ref.align("q", a, "r", b)
    fast, ref = both(
        "The cat sat on the mat, and looked at the dog.", "a cat SAT on a mat and the dog", "text"
    )
    assert fast == ref


def test_trimming_gives_the_same_part_with_either_backend():
    seqs = [r.sequence for r in iter_records(FIXTURES / "hmmer_tutorial/globins45.fa", kind="protein")]
    pairs = [("q", q, "r", r, None) for q, r in itertools.combinations(seqs, 2)]
    hits = {}
    for backend in ("numba", "biopython"):
        v = plain_verifier(identity=0.9, coverage=0.5, trim=True, backend=backend, threads=2)
        hits[backend] = v.verify_many(pairs)
        assert v.stats.trimmed > 0
    assert hits["numba"] == hits["biopython"]


def assert_same_verdicts(pairs):
    """Same alignments from both backends, so the same verdict at every threshold and coverage; and the
    same hits from the verifier (bounds included) at two settings."""
    fast = [align_pair(q, r, backend="numba", bias_correction=False) for q, r in pairs]
    ref = [align_pair(q, r, backend="biopython") for q, r in pairs]
    assert fast == ref
    for identity, coverage in itertools.product(THRESHOLDS, (0.8, 0.5)):
        passes = [
            [
                a is not None and a.identity >= identity - 1e-9 and a.query_coverage >= coverage - 1e-9
                for a in run
            ]
            for run in (fast, ref)
        ]
        assert passes[0] == passes[1]
    items = [("q", q, "r", r, None) for q, r in pairs]
    for identity, coverage in ((0.9, 0.8), (0.5, 0.5)):
        runs = [
            plain_verifier(identity=identity, coverage=coverage, backend=b, threads=2).verify_many(items)
            for b in ("numba", "biopython")
        ]
        assert runs[0] == runs[1]


def candidate_pairs(query, reference, params=None, bands_rows=None):
    """The pairs the MinHash tier proposes (default: its default sketch and LSH settings), as sequences."""
    params = params or default_sketch_params("protein")
    bands, rows = bands_rows or lsh_settings(0.9)[1:]
    refs = list(reference.values())
    index = LSHIndex(params, bands=bands, rows=rows)
    index.add(list(range(len(refs))), sketch_batch(refs, params))
    qs = list(query.values())
    cands = index.query_batch(sketch_batch(qs, params))
    return [(q, refs[j]) for q, js in zip(qs, cands, strict=True) for j in js]


def test_flip_bind_candidate_pairs_give_the_same_verdicts():
    test = read_fasta(FIXTURES / "flip_bind_split/test.fasta")
    train = read_fasta(FIXTURES / "flip_bind_split/train.fasta")
    pairs = candidate_pairs(test, train)
    # and more, down to remote homologs: 3-mer sketches in 64 bands of 2 rows (every 8th of 5,760 pairs)
    pairs += candidate_pairs(test, train, SketchParams("protein", 3), (64, 2))[::8]
    assert len(pairs) > 500
    assert_same_verdicts(pairs)


@pytest.mark.shared_data
def test_mmseqs_ground_truth_pairs_align_as_biopython():
    base = shared_data_path()
    test = read_fasta(base / "fixtures/flip_bind_split/test.fasta")
    train = read_fasta(base / "fixtures/flip_bind_split/train.fasta")
    rows = list(m8_rows(base / "ground-truth/flip-bind.hits.m8.gz"))
    assert len(rows) > 400
    assert_same_verdicts([(test[f[0]], train[f[1]]) for f in rows])


def read_gz_fasta(path):
    records, name, parts = {}, None, []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            line = line.strip()
            if line.startswith(">"):
                if name is not None:
                    records[name] = "".join(parts)
                name, parts = line[1:].split()[0], []
            elif line:
                parts.append(line)
    if name is not None:
        records[name] = "".join(parts)
    return records


@pytest.mark.skipif(not (MMSEQS_EXAMPLES / "QUERY.fasta.gz").exists(), reason="needs Debian mmseqs2-examples")
def test_mmseqs_example_pair_candidates_give_the_same_verdicts():
    # the 500 x 20,000 example pair: every 8th candidate pair the MinHash tier proposes (all of them:
    # benchmarks/bench_verify.py, which reports the number of differences)
    query = read_gz_fasta(MMSEQS_EXAMPLES / "QUERY.fasta.gz")
    db = read_gz_fasta(MMSEQS_EXAMPLES / "DB.fasta.gz")
    pairs = candidate_pairs(query, db)
    assert len(pairs) > 1000
    for q, r in pairs[::8]:
        fast, ref = both(q, r)
        assert fast == ref
