"""MMseqs2's composition-bias correction: the formula, and alignments that come out as MMseqs2's own.

The fixture ``fixtures/mmseqs_bias_pairs`` holds 64 real MBP-fusion chains against 4exk-A with
MMseqs2's ``fident`` and ``qcov`` for each (its ground-truth rows); the correction is what makes
our alignment end where MMseqs2's does.
"""

import itertools
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from dedup import _align_kernel
from dedup.alignment import codes_of, score_codes, scoring
from dedup.compbias import BACKGROUND, WINDOW, composition_bias
from dedup.parsing import iter_records
from dedup.verify import Verifier, align_pair

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PAIRS = FIXTURES / "mmseqs_bias_pairs"


def read(path):
    return {r.identifier: r.sequence for r in iter_records(path, kind="protein")}


def truth_rows():
    rows = []
    for line in (PAIRS / "hits.m8").read_text().splitlines():
        f = line.split("\t")
        rows.append((f[0], f[1], float(f[2]), float(f[11])))
    return rows


def brute_force_bias(seq):
    """The correction written out position by position, as MMseqs2's Methods describe it."""
    from dedup.alignment import _BLOSUM62_ALPHABET as alphabet

    m = scoring("protein").matrix
    rows = score_codes("protein", codes_of(seq))
    out = []
    for i, c in enumerate(rows):
        lo, hi = max(0, i - WINDOW), min(len(rows), i + WINDOW)
        neighbours = sum(int(m[c, rows[j]]) for j in range(lo, hi) if j != i)
        expected = sum(p * int(m[c, alphabet.index(a)]) for a, p in BACKGROUND.items())
        value = expected - neighbours / (hi - lo)
        out.append(int(np.sign(value) * np.floor(abs(value) + 0.5)))
    return out


def test_bias_is_the_formula_position_by_position():
    seqs = list(read(FIXTURES / "hmmer_tutorial/globins45.fa").values())[:6]
    seqs += ["MK", "W", "QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ", "MKTAYIAKQRXISFVKSHFSRQBZUO"]
    for seq in seqs:
        assert composition_bias(score_codes("protein", codes_of(seq))).tolist() == brute_force_bias(seq)
    assert composition_bias(np.zeros(0, dtype=np.int32)).tolist() == []


def test_bias_lowers_the_scores_of_a_low_complexity_stretch():
    seq = "MKTAYIAKQRQISFVKSHFSRQ" + "P" * 40 + "LEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQ"
    bias = composition_bias(score_codes("protein", codes_of(seq)))
    inside = bias[22 + 10 : 22 + 30]
    assert (inside <= -4).all()  # a proline among prolines: P-P scores 7, so its matches are worth 3 or less
    assert bias[:5].max() > inside.max()


def test_corrected_alignments_are_mmseqs2s_on_the_mbp_fusions():
    queries, refs = read(PAIRS / "queries.fasta"), read(PAIRS / "reference.fasta")
    rows = truth_rows()
    assert len(rows) == 64
    same = {True: 0, False: 0}
    for q, r, fident, qcov in rows:
        for correct in (True, False):
            a = align_pair(queries[q], refs[r], bias_correction=correct)
            same[correct] += abs(a.identity - fident) < 0.0015 and abs(a.query_coverage - qcov) < 0.0015
    assert same[True] == 64
    assert same[False] <= 50  # without the correction many alignments end elsewhere: the test can tell


def test_corrected_verdicts_match_mmseqs2_where_uncorrected_ones_do_not():
    queries, refs = read(PAIRS / "queries.fasta"), read(PAIRS / "reference.fasta")
    items = [(q, queries[q], r, refs[r], None) for q, r, _f, _c in truth_rows()]
    truth = {q for q, _r, fident, qcov in truth_rows() if fident >= 0.9 and qcov >= 0.8}
    found = {}
    for correct in (True, False):
        v = Verifier(kind="protein", identity=0.9, coverage=0.8, bias_correction=correct, threads=2)
        found[correct] = {h.query for h in v.verify_many(items) if h is not None}
    assert found[True] == truth
    assert found[False] != truth  # 2OBG-A, 5IIC-A and 5CFV-A among them (benchmarks/README.md)


def test_c_port_and_python_specification_agree_with_the_correction():
    queries, refs = read(PAIRS / "queries.fasta"), read(PAIRS / "reference.fasta")
    s = scoring("protein")
    r = refs["4exk-A"]
    spec = _align_kernel._gotoh_local_py  # the Python body itself, not compiled: the specification
    for q in list(queries.values())[:3]:
        qc, rc = codes_of(q[:150]), codes_of(r[:160])
        qs, rs = score_codes("protein", qc), score_codes("protein", rc)
        bias = composition_bias(qs)
        compiled = _align_kernel.gotoh_local(
            qs, rs, qc, rc, matrix=s.matrix, qbias=bias, gap_open=s.gap_open, gap_extend=s.gap_extend
        )
        ops = np.empty(len(qc) + len(rc) + 1, dtype=np.int8)
        res = np.zeros(7, dtype=np.int64)
        spec(qs, rs, qc, rc, s.matrix, bias, s.match, s.mismatch, s.gap_open, s.gap_extend, ops, res)
        assert compiled[0].tolist() == res.tolist()
        assert compiled[1].tolist() == ops[: int(res[6])].tolist()


def test_biopython_backend_aligns_without_the_correction_and_says_so():
    queries, refs = read(PAIRS / "queries.fasta"), read(PAIRS / "reference.fasta")
    q, r = queries["2OBG-A"], refs["4exk-A"]
    assert align_pair(q, r, backend="biopython") == align_pair(q, r, bias_correction=False)
    keys = {
        (b, c): Verifier(kind="protein", identity=0.9, coverage=0.8, backend=b, bias_correction=c).spec.key()
        for b, c in itertools.product(("numba", "biopython"), (True, False))
    }
    assert keys[("numba", True)] == "ll-gotoh-v2:blosum62+cbc:gap11+1"
    assert len({keys[("numba", False)], keys[("biopython", True)], keys[("biopython", False)]}) == 1
    assert (
        Verifier(kind="dna", identity=0.9, coverage=0.8).spec.key() == "ll-gotoh-v2:match2-mismatch3:gap7+2"
    )


@pytest.mark.skipif(
    shutil.which("mmseqs") is None, reason="MMseqs2 is not installed (apt-get install mmseqs2)"
)
def test_mmseqs2_run_here_reports_our_corrected_alignments(tmp_path):
    out = tmp_path / "hits.m8"
    subprocess.run(
        ["mmseqs", "easy-search", str(PAIRS / "queries.fasta"), str(PAIRS / "reference.fasta"), str(out),
         str(tmp_path / "tmp"), "--alignment-mode", "3", "-s", "7.5", "-e", "10", "--threads", "2",
         "--format-output", "query,target,fident,qcov"],
        check=True, capture_output=True,
    )  # fmt: skip
    queries, refs = read(PAIRS / "queries.fasta"), read(PAIRS / "reference.fasta")
    rows = [line.split("\t") for line in out.read_text().splitlines()]
    assert len(rows) >= 60
    for q, r, fident, qcov in rows:
        a = align_pair(queries[q], refs[r])
        assert abs(a.identity - float(fident)) < 0.0015 and abs(a.query_coverage - float(qcov)) < 0.0015, q
