"""The MMseqs2 tier, run for real on small real files; the absent program is a missing path, not a mock."""

import gzip
import shutil

import pytest

from dedup.mmseqs import MmseqsError, MmseqsSettings, available, mmseqs_search, unavailable_reason, version
from dedup.verify import best_hits
from tests.conftest import FIXTURES, shared_data_path
from tests.dedup.test_verify import read_fasta

needs_mmseqs = pytest.mark.skipif(
    shutil.which("mmseqs") is None, reason="mmseqs (Debian mmseqs2) not installed"
)


def test_missing_executable_is_reported_not_raised_by_available(tmp_path):
    missing = str(tmp_path / "no-such-mmseqs")
    assert available(missing) is False
    assert "not found" in unavailable_reason(missing)
    assert version(missing) is None


def test_search_with_missing_executable_raises_a_dedup_error(tmp_path):
    settings = MmseqsSettings(executable=str(tmp_path / "no-such-mmseqs"))
    with pytest.raises(MmseqsError, match="not found"):
        mmseqs_search([("q", "MKTAYIAKQRQISFVKSHFSRQ")], [("r", "MKTAYIAKQRQISFVKSHFSRQ")], settings=settings)


def test_text_is_refused():
    with pytest.raises(MmseqsError, match="text"):
        mmseqs_search([("q", "a b c")], [("r", "a b c")], kind="text")


@needs_mmseqs
def test_version_is_read_from_the_program():
    assert available()
    assert version().startswith("14-") or version()[0].isdigit()


@needs_mmseqs
@pytest.mark.shared_data
def test_flip_bind_matches_ground_truth(tmp_path):
    base = shared_data_path()
    test = read_fasta(base / "fixtures/flip_bind_split/test.fasta")
    train = read_fasta(base / "fixtures/flip_bind_split/train.fasta")
    hits = mmseqs_search(
        test.items(),
        train.items(),
        coverage=0.8,
        settings=MmseqsSettings(threads=2, tmp_dir=str(tmp_path)),
    )
    assert all(h.tier == "mmseqs" and h.jaccard is None and h.query_coverage >= 0.8 for h in hits)
    best = best_hits(hits)
    counts = {t: sum(h.identity >= t for h in best.values()) for t in (0.95, 0.9, 0.7, 0.5, 0.3)}
    # GROUND_TRUTH.md, column A: 13 / 13 / 14 / 15 / 18
    assert counts == {0.95: 13, 0.9: 13, 0.7: 14, 0.5: 15, 0.3: 18}
    assert sum(h.identity == 1.0 for h in best.values()) == 13
    # identities are exact nident/alnlen: they agree with the rounded fident of the ground truth
    truth = {}
    with gzip.open(base / "ground-truth/flip-bind.hits.m8.gz", "rt") as fh:
        for line in fh:
            f = line.split("\t")
            truth[(f[0], f[1])] = float(f[2])
    for h in hits:
        assert round(h.identity, 3) == pytest.approx(truth[(h.query, h.reference)], abs=0.0011)
    # the temporary working directory is removed
    assert list(tmp_path.iterdir()) == []


@needs_mmseqs
def test_identity_filter_and_odd_identifiers(tmp_path):
    seq = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVVHSLAKWKRQ"
    mutant = seq[:20] + "W" * 10 + seq[30:]  # about 87% identical
    query = [("sp|P1|with spaces and|pipes", seq)]
    hits = mmseqs_search(
        query, [("ref one", seq), ("ref two", mutant)], identity=0.9, settings=MmseqsSettings(threads=1)
    )
    # the 87% mutant is filtered out; identifiers with spaces and pipes come back as given
    assert [(h.query, h.reference, h.identity) for h in hits] == [
        ("sp|P1|with spaces and|pipes", "ref one", 1.0)
    ]


MEMORY_PROBE = """
import resource, sys
from dedup.mmseqs import MmseqsSettings, mmseqs_search
from dedup.overlap import read_sequences
refs = read_sequences(sys.argv[1], kind="dna")
hits = mmseqs_search([("q", refs[0][1][50:400])], refs, kind="dna", identity=0.9, settings=MmseqsSettings(threads=2))
assert [h.reference for h in hits] == [refs[0][0]], hits
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


@needs_mmseqs
def test_the_tier_bounds_mmseqs_memory_on_a_nucleotide_search():
    """MMseqs2's nucleotide default (k=15) builds a 4^15-entry k-mer table: 8.4 GB for two short DNA
    records. The tier's settings bound it (a smaller k for nucleotides, --split-memory-limit), so a
    standing check cannot take a server's memory. Measured in a fresh process: its children only."""
    import subprocess
    import sys

    assert "--split-memory-limit" in MmseqsSettings().args()
    proc = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(FIXTURES / "biopython_fasta" / "lupine.nu")],
        capture_output=True,
        text=True,
        check=True,
        cwd=FIXTURES.parent,
    )
    peak_kib = int(proc.stdout.split()[-1])
    assert peak_kib < 1_500_000, f"mmseqs peaked at {peak_kib / 1e6:.1f} GB"


@needs_mmseqs
@pytest.mark.slow
def test_nucleotide_search_finds_the_reverse_strand():
    from dedup.overlap import read_sequences

    refs = read_sequences(FIXTURES / "biopython_fasta" / "lupine.nu", kind="dna")
    refs += read_sequences(FIXTURES / "biopython_fasta" / "phlox.nu", kind="dna")
    ident, seq = refs[0]
    rc = seq.translate(str.maketrans("ACGTN", "TGCAN"))[::-1]
    mutant = rc[:100] + ("A" if rc[100] != "A" else "C") + rc[101:]
    hits = mmseqs_search([("q", mutant)], refs, kind="dna", identity=0.9, settings=MmseqsSettings(threads=2))
    assert [(h.reference, h.identity) for h in hits] == [(ident, (len(seq) - 1) / len(seq))]


@needs_mmseqs
def test_a_tiny_coverage_is_passed_in_a_form_mmseqs_accepts():
    # schemathesis sent coverage=1.1e-140 to a split verification: str() wrote "1.1e-140" and mmseqs
    # exited 1 ("Error in argument -c"), a 500. Any fraction in (0, 1] must search.
    seq = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVVHSLAKWKRQ"
    for coverage in (1.1375789681399989e-140, 0.9999999, 1.0):
        hits = mmseqs_search(
            [("q", seq)], [("r", seq)], identity=0.9, coverage=coverage, settings=MmseqsSettings(threads=1)
        )
        assert [(h.query, h.reference) for h in hits] == [("q", "r")], coverage
