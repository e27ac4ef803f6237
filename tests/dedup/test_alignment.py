"""The compiled aligner's BLOSUM62 is Biopython's, and ``dedup`` starts without importing ``Bio.Align``."""

import subprocess
import sys

from dedup.alignment import BLOSUM_ALPHABET, scoring
from tests.conftest import REPO


def test_blosum62_is_biopythons_entry_for_entry():
    from Bio.Align import substitution_matrices

    bio = substitution_matrices.load("BLOSUM62")
    s = scoring("protein")
    assert frozenset(bio.alphabet) == BLOSUM_ALPHABET
    for a in bio.alphabet:
        for b in bio.alphabet:
            assert s.matrix[s.lut[ord(a)], s.lut[ord(b)]] == int(bio[a][b]), (a, b)
    assert s.lut[ord("J")] == s.lut[ord("X")]  # a letter outside the alphabet scores as X


def test_the_overlap_path_does_not_import_bio_align():
    # Bio.Align imports Bio.Seq, which builds every genetic code table (about 40 ms of each start-up)
    code = (
        "import sys, dedup, dedup.overlap, dedup.pipeline, dedup.verifier\n"
        "from dedup.alignment import scoring\n"
        "scoring('protein')\n"
        "print(sorted(m for m in sys.modules if m.startswith('Bio.Align') or m == 'Bio.Seq'))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
