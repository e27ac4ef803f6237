"""MMseqs2's local composition-bias correction of protein scores, so that identities are MMseqs2's.

The overlap question is asked in MMseqs2's terms: a query counts when its alignment's ``fident`` and
``qcov`` reach the thresholds. MMseqs2 aligns (by default, ``--comp-bias-corr 1``) with a score
corrected per query position for the composition of the residues around it (Steinegger & Söding,
Nature Biotechnology 2017, Online Methods; ``SubstitutionMatrix::calcLocalAaBiasCorrection`` in its
source, read for this and not copied). Without the same correction our
local alignment of the same pair can end elsewhere: in the benchmarks, maltose-binding-protein
fusions whose optimal uncorrected alignment runs on past the shared part, so that its identity falls
from 95.6% to 85.5% (``benchmarks/README.md``, "The missed queries and false pairs").

The correction of query position ``i`` (of ``N``), with ``S`` the substitution matrix and ``p`` the
matrix's background frequencies, over the window ``W(i) = [max(0, i - 20), min(N, i + 20))``::

    bias(i) = sum_a p(a) S(q_i, a) - (sum_{j in W(i), j != i} S(q_i, q_j)) / |W(i)|

rounded half away from zero to an integer and added to every substitution score of row ``i``. It
lowers the scores of residues that are common around them (a low-complexity stretch, a run of one
residue) and raises those of residues rare in their neighbourhood. The reference is not corrected
(MMseqs2 14 corrects the query profile only).

``S`` is the project's BLOSUM62 (:func:`dedup.alignment.scoring`, Biopython's integers: the same as
MMseqs2's half-bit BLOSUM62 rounded, entry for entry, for the 20 amino acids; MMseqs2 scores X -1
against everything and maps B, Z, J to D, E, L, where Biopython's matrix has rows of their own, so
pairs with those letters can differ slightly); ``p`` is BLOSUM62's background, the frequencies
MMseqs2 ships with its matrix (``data/blosum62.out``, 5 decimals, X 0.00001).
``tests/dedup/test_compbias.py`` checks alignments against MMseqs2 itself on real pairs.
"""

from __future__ import annotations

from functools import cache

import numpy as np

__all__ = ["BACKGROUND", "WINDOW", "composition_bias"]

#: Half-width of the window: positions ``i - 20 .. i + 19`` (MMseqs2's window of 40).
WINDOW = 20

#: BLOSUM62's background frequencies (MMseqs2's ``blosum62.out``): the expected residue of "anywhere".
BACKGROUND = {
    "A": 0.07422, "C": 0.02469, "D": 0.05363, "E": 0.05431, "F": 0.04742, "G": 0.07415, "H": 0.02621,
    "I": 0.06792, "K": 0.05815, "L": 0.09891, "M": 0.02499, "N": 0.04465, "P": 0.03854, "Q": 0.03426,
    "R": 0.05161, "S": 0.05723, "T": 0.05089, "V": 0.07292, "W": 0.01303, "Y": 0.03228, "X": 0.00001,
}  # fmt: skip


@cache
def _expected_scores() -> np.ndarray:
    """``sum_a p(a) S(c, a)`` for every row ``c`` of the matrix (float64)."""
    from .alignment import _BLOSUM62_ALPHABET, scoring

    matrix = scoring("protein").matrix
    assert matrix is not None
    p = np.zeros(len(_BLOSUM62_ALPHABET))
    for letter, freq in BACKGROUND.items():
        p[_BLOSUM62_ALPHABET.index(letter)] = freq
    return matrix.astype(np.float64) @ p


def composition_bias(score_codes: np.ndarray) -> np.ndarray:
    """The correction of each query position (int32), from its rows of BLOSUM62 (``score_codes``).

    Examples:
        >>> from dedup.alignment import score_codes, codes_of
        >>> composition_bias(score_codes("protein", codes_of("MKTAYIAKQRQISFVKSHFSRQ"))).tolist()[:6]
        [-1, 0, -1, -1, -1, -1]
        >>> composition_bias(score_codes("protein", codes_of("Q" * 30)))[:3].tolist()  # a run of one residue
        [-5, -5, -5]
    """
    from .alignment import scoring

    matrix = scoring("protein").matrix
    assert matrix is not None
    q = np.ascontiguousarray(score_codes, dtype=np.intp)
    n = q.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int32)
    pos = np.arange(n)
    lo = np.maximum(pos - WINDOW, 0)
    hi = np.minimum(pos + WINDOW, n)
    window_sum = np.empty(n, dtype=np.int64)
    # For each residue row c present: prefix sums of S(c, q_j) along the query, read at the
    # windows of the positions holding c (about 20 rows, so about 20 N additions in all).
    for c in np.flatnonzero(np.bincount(q, minlength=matrix.shape[0])):
        at = np.flatnonzero(q == c)
        prefix = np.concatenate(([0], np.cumsum(matrix[c][q], dtype=np.int64)))
        window_sum[at] = prefix[hi[at]] - prefix[lo[at]] - matrix[c, c]
    bias = _expected_scores()[q] - window_sum / (hi - lo)
    return (np.sign(bias) * np.floor(np.abs(bias) + 0.5)).astype(np.int32)
