"""Per-sequence data for verification, and the cheap bounds that prune pairs before alignment.

The bounds (length, composition, q-gram) are described in :mod:`dedup.verify`;
none of them can reject a pair that alignment would accept
(``tests/dedup/test_verify.py`` checks that on real pairs): they only save time.
"""

from __future__ import annotations

import numpy as np

from .alignment import BLOSUM_ALPHABET, codes_of, score_codes
from .arrays import sorted_unique, unique_counts
from .compbias import composition_bias
from .hits import VerifyStats
from .shingle import normalise_text

__all__ = ["QGRAM_K", "Bounds", "Prepared", "TokenMap"]

#: k of the q-gram bound per kind (text: word k-grams).
QGRAM_K = {"protein": 3, "dna": 8, "rna": 8, "text": 2}

_EPS = 1e-9
_SMALL_CODES = 128
_ALL_SMALL_CODES = np.arange(_SMALL_CODES, dtype=np.int32)


class Prepared:
    """Per-sequence data for the bounds and the aligners, computed once per sequence."""

    __slots__ = (
        "_bias",
        "_codes",
        "_kind",
        "_qgram_k",
        "_score_codes",
        "aligned_text",
        "composition",
        "kmer_set",
        "kmers",
        "length",
        "units",
    )

    def __init__(self, units: str, kind: str, qgram_k: int) -> None:
        self.units = units  # the string the aligner and identity see (text: one char per word)
        self.length = len(units)
        self._kind = kind
        if kind == "protein" and not BLOSUM_ALPHABET.issuperset(units):
            # Biopython's matrix has no row for U, O, J...: scored as X, compared as themselves
            self.aligned_text = "".join(c if c in BLOSUM_ALPHABET else "X" for c in units)
        else:
            self.aligned_text = units
        self.composition: tuple[np.ndarray, np.ndarray] | None = None
        self.kmers: np.ndarray | None = None
        self.kmer_set: np.ndarray | None = None
        self._qgram_k = qgram_k
        self._codes: np.ndarray | None = None
        self._score_codes: np.ndarray | None = None
        self._bias: np.ndarray | None = None

    def codes(self) -> np.ndarray:
        """The units as int32 code points (compared for identity by the kernel)."""
        if self._codes is None:
            self._codes = codes_of(self.units)
        return self._codes

    def score_codes(self) -> np.ndarray:
        """The codes the kernel scores with (BLOSUM62 rows for protein)."""
        if self._score_codes is None:
            self._score_codes = score_codes(self._kind, self.codes())
        return self._score_codes

    def query_bias(self) -> np.ndarray:
        """The composition-bias correction of each position, when this sequence is the query (protein)."""
        if self._bias is None:
            self._bias = composition_bias(self.score_codes())
        return self._bias

    def get_composition(self) -> tuple[np.ndarray, np.ndarray]:
        """Distinct residue codes (sorted) and how often each occurs.

        For codes below 128 (every protein and nucleotide sequence) the values are
        ``arange(128)`` and the counts a histogram, zeros included: the same sums of
        :meth:`Bounds.passes`, from a ``bincount`` instead of a sort per sequence.
        """
        if self.composition is None:
            codes = self.codes()
            if codes.size and int(codes.max()) < _SMALL_CODES:
                self.composition = (_ALL_SMALL_CODES, np.bincount(codes, minlength=_SMALL_CODES))
            else:
                values, counts = unique_counts(codes)
                self.composition = (values, counts)
        return self.composition

    def get_kmers(self) -> np.ndarray:
        """A 64-bit hash of the k-mer at every position (uint64; empty when shorter than k).

        A polynomial hash modulo 2**64: two different k-mers may collide, which can only
        raise the count of shared k-mers, so the q-gram bound stays safe.
        """
        if self.kmers is None:
            k = self._qgram_k
            codes = self.codes().astype(np.uint64)
            n = len(codes) - k + 1
            if n <= 0:
                self.kmers = np.empty(0, dtype=np.uint64)
            else:
                h = np.zeros(n, dtype=np.uint64)
                for j in range(k):
                    h = h * np.uint64(0x100000001B3) + codes[j : j + n]
                self.kmers = h
        return self.kmers

    def get_kmer_set(self) -> np.ndarray:
        """The distinct k-mer hashes, sorted."""
        if self.kmer_set is None:
            self.kmer_set = sorted_unique(self.get_kmers())
        return self.kmer_set


class TokenMap:
    """Maps text words to single characters so that the aligner can align word sequences."""

    def __init__(self) -> None:
        self._codes: dict[str, str] = {}

    def encode(self, text: str) -> str:
        codes = self._codes
        out = []
        for word in normalise_text(text):
            ch = codes.get(word)
            if ch is None:
                # Private-use and supplementary planes: over a million distinct words.
                n = len(codes)
                ch = chr(0xE000 + n) if n < 0x1900 else chr(0xF0000 + n - 0x1900)
                codes[word] = ch
            out.append(ch)
        return "".join(out)


class Bounds:
    """The length, composition and q-gram bounds for one identity and coverage setting."""

    def __init__(self, *, identity: float, coverage: float, reference_coverage: float, qgram_k: int) -> None:
        self.identity = identity
        self.coverage = coverage
        self.reference_coverage = reference_coverage
        self.qgram_k = qgram_k

    def min_identities(self, q: int, r: int) -> float:
        """Identical columns a passing alignment needs at the very least."""
        return self.identity * max(self.coverage * q, self.reference_coverage * r)

    def passes(self, qp: Prepared, rp: Prepared, rc: Prepared | None, stats: VerifyStats) -> bool:
        """Whether the pair may pass; counts the bound that pruned it in ``stats`` if not.

        ``rc`` is the reference's reverse complement for nucleotides (the composition
        bound is skipped for them: the strands differ), ``None`` otherwise.
        """
        q, r = qp.length, rp.length
        if q == 0 or r == 0:
            stats.pruned_length += 1
            return False
        need = self.min_identities(q, r)
        if min(q, r) + _EPS < need:
            stats.pruned_length += 1
            return False
        if rc is None and need > 0:
            (qv, qn), (rv, rn) = qp.get_composition(), rp.get_composition()
            if qv is _ALL_SMALL_CODES and rv is _ALL_SMALL_CODES:
                common = int(np.minimum(qn, rn).sum())  # histograms: absent codes count 0
            else:
                _common, qi, ri = np.intersect1d(qv, rv, assume_unique=True, return_indices=True)
                common = int(np.minimum(qn[qi], rn[ri]).sum())
            if common + _EPS < need:
                stats.pruned_composition += 1
                return False
        t, k = self.identity, self.qgram_k
        if t > 0:
            coef = 1.0 - k * (1.0 - t) / t
            min_span = self.coverage * q
            need_kmers = min_span * coef - k + 1
            if coef > 0 and need_kmers > 0:
                shared = _shared_kmers(qp, rp)
                if shared < need_kmers and (rc is None or _shared_kmers(qp, rc) < need_kmers):
                    stats.pruned_qgram += 1
                    return False
        return True


def _shared_kmers(qp: Prepared, rp: Prepared) -> int:
    """Query k-mer positions whose k-mer occurs in the reference."""
    rset = rp.get_kmer_set()
    kmers = qp.get_kmers()
    if len(rset) == 0 or len(kmers) == 0:
        return 0
    at = np.minimum(np.searchsorted(rset, kmers), len(rset) - 1)
    return int(np.count_nonzero(rset[at] == kmers))
