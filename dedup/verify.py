"""Verification of candidate pairs by pairwise alignment.

Every candidate pair that a sketch tier proposes is aligned with
:class:`Bio.Align.PairwiseAligner` (local, Gotoh) and measured the way MMseqs2
measures its hits, so that the numbers of the MinHash tier and of the MMseqs2
tier mean the same thing:

- **identity** (MMseqs2 ``fident``): identical columns / alignment length, where
  the alignment length counts every column of the local alignment: matches,
  mismatches and gap columns (an insertion or deletion of n residues adds n
  columns). Columns outside the local alignment (unaligned ends) do not count.
- **query coverage** (MMseqs2 ``qcov``): residues of the query inside the local
  alignment (``qend - qstart + 1``) / query length; **reference coverage**
  (``tcov``) likewise for the reference.

Scoring, per kind:

- ``protein``: BLOSUM62, gap open 11 and extend 1 in MMseqs2's convention (a gap
  of n residues costs 11 + n, i.e. Biopython ``open_gap_score=-12``,
  ``extend_gap_score=-1``). Residues outside BLOSUM62's alphabet (U, O, J...)
  are scored as ``X`` but compared as themselves for identity.
- ``dna`` / ``rna``: match +2, mismatch -3, gap 5 + 2n (blastn's defaults); both
  strands are aligned and the better scoring one is kept, because the sketches of
  these kinds are strand-free (canonical k-mers).
- ``text``: the unit is the **word** as :func:`dedup.shingle.normalise_text`
  cuts it (NFKC, casefolded, ``\\w+``), not the character: these words are what
  the text sketches shingle, and word identity is what "the same sentence with a few
  words changed" means. Scoring as for nucleotides (+2/-3, gap 5 + 2n).

Cheap bounds come first, so that only plausible pairs reach the aligner. With
identity ``t``, query coverage ``c``, reference coverage ``cr``, query length
``q`` and reference length ``r`` (a local alignment spanning ``sq`` query and
``sr`` reference residues, ``m`` identical columns, alignment length ``L``):

1. **length**: ``m <= min(sq, sr)`` and ``m >= t * L >= t * max(sq, sr)``, so a
   pair can only pass when ``r >= t * c * q`` and ``q >= t * cr * r``.
2. **composition**: ``m`` is at most the residues the two sequences have in
   common as multisets (sum over residues of the smaller count), which must reach
   ``t * c * q`` and ``t * cr * r``. (Skipped for nucleotides: strands differ.)
3. **q-gram** (shared k-mers): each of the ``L - m <= m (1 - t) / t`` non-identical
   columns destroys at most ``k`` of the query span's k-mers, so at least
   ``sq (1 - k (1 - t) / t) - k + 1`` query k-mer positions occur in the reference.
   Used only when that coefficient is positive (it is for protein ``k=3`` at
   ``t >= 0.8``).

Each bound's count of pruned pairs is kept in :class:`VerifyStats`. None of the
bounds can reject a pair that would pass: they only save time.

**Trimming.** The best-scoring local alignment can run past the end of a
near-identical region into a diverged one (a domain boundary, a tag), and then
its identity falls below the threshold although a part of it would pass. When
the full alignment covers enough but is not identical enough, the verifier looks
for the part of its path (starting and ending on identical columns) that still
covers ``c`` of the query (and ``cr`` of the reference) with identity ``>= t``,
and reports that part (counted in ``VerifyStats.trimmed``). It is off by default
(``Verifier(trim=True)``, ``find_overlap(trim=True)``): MMseqs2 reports the
identity of its best-scoring alignment only, and on the main calibration pair
trimming reports 9 more queries at >= 95% than MMseqs2 has (595 vs 586, all real
alignments, but not what the ground truth counts), while without it the counts
stay within the measured recall.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from Bio.Align import PairwiseAligner, substitution_matrices

from .shingle import normalise_text

__all__ = [
    "TIERS",
    "Hit",
    "PairAlignment",
    "Verifier",
    "VerifyStats",
    "align_pair",
    "best_hits",
    "verify_candidates",
    "verify_pairs",
]

#: Names of the detection tiers, cheapest first.
TIERS = ("exact", "minhash", "mmseqs")

_KINDS = ("protein", "dna", "rna", "text")

#: k of the q-gram bound per kind (text: word k-grams).
_QGRAM_K = {"protein": 3, "dna": 8, "rna": 8, "text": 2}

#: Pairs whose dynamic-programming matrix would exceed this many cells are not
#: aligned (memory: Biopython keeps a traceback matrix); they are counted in
#: ``VerifyStats.skipped_too_long``. 64 million cells is two 8,000-residue chains.
DEFAULT_MAX_CELLS = 64_000_000

#: Per-sequence entries kept by a Verifier before its cache is emptied (bounds memory).
_MAX_CACHED = 20_000

_COMPLEMENT = {
    "dna": str.maketrans("ACGTUNRYKMSWBDHV", "TGCAANYRMKSWVHDB"),
    "rna": str.maketrans("ACGUTNRYKMSWBDHV", "UGCAANYRMKSWVHDB"),
}


@dataclass(frozen=True)
class Hit:
    """One verified overlap: a query record that matches a reference record.

    Attributes:
        query: identifier of the query record.
        reference: identifier of the reference record.
        identity: identical columns / alignment length (MMseqs2 ``fident``), 0..1.
        query_coverage: fraction of the query inside the alignment, 0..1.
        reference_coverage: fraction of the reference inside the alignment, 0..1.
        jaccard: estimated Jaccard similarity of the two signatures (``None`` for
            the exact and mmseqs tiers, which do not use signatures).
        tier: ``"exact"``, ``"minhash"`` or ``"mmseqs"``: which tier found the pair.
        alignment_length: columns of the alignment (``None`` when not aligned).

    Examples:
        >>> h = Hit("q1", "r7", 0.95, 1.0, 0.9, 0.61, "minhash", 120)
        >>> h.to_dict()["tier"]
        'minhash'
    """

    query: str
    reference: str
    identity: float
    query_coverage: float
    reference_coverage: float
    jaccard: float | None
    tier: str
    alignment_length: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict."""
        return asdict(self)

    def sort_key(self) -> tuple[float, float, float]:
        """Order of preference between hits of one query: identity, then coverage of each side."""
        return (self.identity, self.query_coverage, self.reference_coverage)


@dataclass(frozen=True)
class PairAlignment:
    """Identity and coverage of the best local alignment of two sequences.

    Coordinates are 0-based, end-exclusive, on the query and on the reference as
    given (for a ``"-"`` strand nucleotide hit, on the reverse complement of the
    reference).
    """

    identity: float
    query_coverage: float
    reference_coverage: float
    alignment_length: int
    identities: int
    score: float
    query_start: int
    query_end: int
    reference_start: int
    reference_end: int
    strand: str = "+"


@dataclass
class VerifyStats:
    """Counters of a verification run: what each bound pruned and what was aligned.

    Examples:
        >>> s = VerifyStats()
        >>> s.candidates, s.aligned
        (0, 0)
    """

    candidates: int = 0
    pruned_length: int = 0
    pruned_composition: int = 0
    pruned_qgram: int = 0
    skipped_too_long: int = 0
    aligned: int = 0
    trimmed: int = 0
    accepted: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The counters as a JSON-ready dict."""
        return asdict(self)


def _check_kind(kind: str) -> None:
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {', '.join(_KINDS)}, got {kind!r}")


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a fraction from 0 to 1 (e.g. 0.9 for 90%), got {value!r}")


def _make_aligner(kind: str) -> PairwiseAligner:
    if kind == "protein":
        return PairwiseAligner(
            mode="local",
            substitution_matrix=substitution_matrices.load("BLOSUM62"),
            open_gap_score=-12.0,
            extend_gap_score=-1.0,
        )
    return PairwiseAligner(
        mode="local", match_score=2.0, mismatch_score=-3.0, open_gap_score=-7.0, extend_gap_score=-2.0
    )


_BLOSUM_ALPHABET = frozenset(substitution_matrices.load("BLOSUM62").alphabet)


class _Prepared:
    """Per-sequence data for the bounds and the aligner, computed once per sequence."""

    __slots__ = ("_qgram_k", "aligned_text", "composition", "kmer_set", "kmers", "length", "units")

    def __init__(self, units: str, kind: str, qgram_k: int) -> None:
        self.units = units  # the string the aligner and identity see (text: one char per word)
        self.length = len(units)
        if kind == "protein" and not _BLOSUM_ALPHABET.issuperset(units):
            self.aligned_text = "".join(c if c in _BLOSUM_ALPHABET else "X" for c in units)
        else:
            self.aligned_text = units
        self.composition: dict[str, int] | None = None
        self.kmers: list[str] | None = None
        self.kmer_set: frozenset[str] | None = None
        self._qgram_k = qgram_k

    def get_composition(self) -> dict[str, int]:
        if self.composition is None:
            comp: dict[str, int] = {}
            for ch in self.units:
                comp[ch] = comp.get(ch, 0) + 1
            self.composition = comp
        return self.composition

    def get_kmers(self) -> list[str]:
        if self.kmers is None:
            k = self._qgram_k
            self.kmers = [self.units[i : i + k] for i in range(len(self.units) - k + 1)]
        return self.kmers

    def get_kmer_set(self) -> frozenset[str]:
        if self.kmer_set is None:
            self.kmer_set = frozenset(self.get_kmers())
        return self.kmer_set


class _TokenMap:
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


class Verifier:
    """Aligns candidate pairs and keeps those at or above identity and coverage.

    A verifier caches per-sequence data (composition, k-mers, reverse
    complements), so reuse one for many pairs that share sequences.

    Args:
        kind: ``"protein"``, ``"dna"``, ``"rna"`` or ``"text"``.
        identity: minimal identity (fraction) of a kept pair.
        coverage: minimal query coverage (fraction) of a kept pair.
        reference_coverage: minimal reference coverage (fraction), 0 by default.
        max_cells: pairs with ``len(query) * len(reference)`` above this are not
            aligned and are counted in ``stats.skipped_too_long``.
        trim: when the best-scoring alignment covers enough but is below the
            identity, look for a part of it that passes both (see "Trimming" above).
            Off by default, so that identity means what MMseqs2's ``fident`` means.
        bounds: apply the cheap bounds before aligning (off only to check them).

    Examples:
        >>> v = Verifier(kind="protein", identity=0.9, coverage=0.8)
        >>> hit = v.verify("q", "MKTAYIAKQRQISFVKSHFSRQ", "r", "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ")
        >>> hit.identity, hit.query_coverage
        (1.0, 1.0)
        >>> v.verify("q", "MKTAYIAKQRQISFVKSHFSRQ", "r", "MK") is None
        True
        >>> v.stats.pruned_length
        1
    """

    def __init__(
        self,
        *,
        kind: str,
        identity: float,
        coverage: float,
        reference_coverage: float = 0.0,
        max_cells: int = DEFAULT_MAX_CELLS,
        trim: bool = False,
        bounds: bool = True,
    ) -> None:
        _check_kind(kind)
        _check_fraction("identity", identity)
        _check_fraction("coverage", coverage)
        _check_fraction("reference_coverage", reference_coverage)
        self.kind = kind
        self.identity = identity
        self.coverage = coverage
        self.reference_coverage = reference_coverage
        self.max_cells = max_cells
        self.trim = trim
        self.bounds = bounds
        self.stats = VerifyStats()
        self._aligner = _make_aligner(kind)
        self._qgram_k = _QGRAM_K[kind]
        self._tokens = _TokenMap() if kind == "text" else None
        self._cache: dict[tuple[str, str], _Prepared] = {}
        # Identity must come out >= the threshold after rounding noise, never below.
        self._eps = 1e-9

    def _prepare(self, side: str, seq_id: str, seq: str) -> _Prepared:
        key = (side, seq_id)
        prep = self._cache.get(key)
        if prep is None or (self._tokens is None and prep.length != len(seq)):
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
            units = self._tokens.encode(seq) if self._tokens is not None else seq
            prep = _Prepared(units, self.kind, self._qgram_k)
            self._cache[key] = prep
        return prep

    def forget(self, side: str, seq_id: str) -> None:
        """Drop the cached data of one sequence (``side`` is ``"q"`` or ``"r"``)."""
        self._cache.pop((side, seq_id), None)

    def clear_cache(self) -> None:
        """Forget cached per-sequence data (call between unrelated batches to bound memory)."""
        self._cache.clear()

    # -- bounds ---------------------------------------------------------------------------------
    def _min_identities(self, q: int, r: int) -> float:
        """Identical columns a passing alignment needs at the very least."""
        return self.identity * max(self.coverage * q, self.reference_coverage * r)

    def _passes_bounds(self, qp: _Prepared, rp: _Prepared, rc: _Prepared | None) -> bool:
        q, r = qp.length, rp.length
        if q == 0 or r == 0:
            self.stats.pruned_length += 1
            return False
        need = self._min_identities(q, r)
        if min(q, r) + self._eps < need:
            self.stats.pruned_length += 1
            return False
        if rc is None and need > 0:
            qc, rcomp = qp.get_composition(), rp.get_composition()
            if len(qc) > len(rcomp):
                qc, rcomp = rcomp, qc
            common = sum(min(n, rcomp.get(ch, 0)) for ch, n in qc.items())
            if common + self._eps < need:
                self.stats.pruned_composition += 1
                return False
        t, k = self.identity, self._qgram_k
        if t > 0:
            coef = 1.0 - k * (1.0 - t) / t
            min_span = self.coverage * q
            need_kmers = min_span * coef - k + 1
            if coef > 0 and need_kmers > 0:
                shared = self._shared_kmers(qp, rp)
                if shared < need_kmers and (rc is None or self._shared_kmers(qp, rc) < need_kmers):
                    self.stats.pruned_qgram += 1
                    return False
        return True

    @staticmethod
    def _shared_kmers(qp: _Prepared, rp: _Prepared) -> int:
        rset = rp.get_kmer_set()
        return sum(1 for km in qp.get_kmers() if km in rset)

    # -- alignment ------------------------------------------------------------------------------
    def _align_prepared(self, qp: _Prepared, rp: _Prepared, strand: str) -> _Aligned | None:
        alignments = self._aligner.align(qp.aligned_text, rp.aligned_text)
        if alignments.score <= 0:
            return None
        coords = next(iter(alignments)).coordinates
        return _Aligned(_measure(coords, qp.units, rp.units, float(alignments.score), strand), coords, rp)

    def _best_of_strands(self, qp: _Prepared, rp: _Prepared, rc: _Prepared | None) -> _Aligned | None:
        best = self._align_prepared(qp, rp, "+")
        if rc is not None:
            other = self._align_prepared(qp, rc, "-")
            if other is not None and (best is None or other.measured.score > best.measured.score):
                best = other
        return best

    def align(self, query_id: str, query: str, reference_id: str, reference: str) -> PairAlignment | None:
        """Align two sequences without any bound or threshold (``None`` if nothing aligns).

        Examples:
            >>> v = Verifier(kind="dna", identity=0.9, coverage=0.8)
            >>> a = v.align("q", "ACGTTGCAACGTAGGCT", "r", "AGCCTACGTTGCAACGT")  # reverse complement
            >>> a.identity, a.strand
            (1.0, '-')
        """
        qp = self._prepare("q", query_id, query)
        rp = self._prepare("r", reference_id, reference)
        if qp.length == 0 or rp.length == 0:
            return None
        self.stats.aligned += 1
        best = self._best_of_strands(qp, rp, self._reverse_complement(reference_id, reference))
        return None if best is None else best.measured

    def _reverse_complement(self, reference_id: str, reference: str) -> _Prepared | None:
        table = _COMPLEMENT.get(self.kind)
        if table is None:
            return None
        key = ("rc", reference_id)
        prep = self._cache.get(key)
        if prep is None or prep.length != len(reference):
            prep = _Prepared(reference.translate(table)[::-1], self.kind, self._qgram_k)
            self._cache[key] = prep
        return prep

    def verify(
        self,
        query_id: str,
        query: str,
        reference_id: str,
        reference: str,
        *,
        jaccard: float | None = None,
        tier: str = "minhash",
    ) -> Hit | None:
        """Bounds, then alignment; the :class:`Hit` if the pair passes identity and coverage."""
        self.stats.candidates += 1
        qp = self._prepare("q", query_id, query)
        rp = self._prepare("r", reference_id, reference)
        rc = self._reverse_complement(reference_id, reference)
        if self.bounds and not self._passes_bounds(qp, rp, rc):
            return None
        if qp.length * rp.length > self.max_cells:
            self.stats.skipped_too_long += 1
            return None
        self.stats.aligned += 1
        aligned = self._best_of_strands(qp, rp, rc)
        if aligned is None:
            return None
        best = aligned.measured
        if not self._accepts(best):
            if not (self.trim and self._covers(best)):
                return None
            # The best-scoring local alignment may run past the end of a near-identical
            # region into a diverged one (domain boundaries); a part of it that still
            # covers enough is an alignment too, and MMseqs2 often reports that part.
            trimmed = _best_segment(
                aligned.coordinates,
                qp.units,
                aligned.reference.units,
                best,
                self._need_q(qp),
                self._need_r(rp),
                self.identity,
            )
            if trimmed is None or not self._accepts(trimmed):
                return None
            self.stats.trimmed += 1
            best = trimmed
        self.stats.accepted += 1
        return Hit(
            query=query_id,
            reference=reference_id,
            identity=best.identity,
            query_coverage=best.query_coverage,
            reference_coverage=best.reference_coverage,
            jaccard=jaccard,
            tier=tier,
            alignment_length=best.alignment_length,
        )

    def _covers(self, a: PairAlignment) -> bool:
        return (
            a.query_coverage + self._eps >= self.coverage
            and a.reference_coverage + self._eps >= self.reference_coverage
        )

    def _need_q(self, qp: _Prepared) -> int:
        return math.ceil(self.coverage * qp.length - 1e-9)

    def _need_r(self, rp: _Prepared) -> int:
        return math.ceil(self.reference_coverage * rp.length - 1e-9)

    def _accepts(self, a: PairAlignment) -> bool:
        return (
            a.identity + self._eps >= self.identity
            and a.query_coverage + self._eps >= self.coverage
            and a.reference_coverage + self._eps >= self.reference_coverage
        )


class _Aligned:
    __slots__ = ("coordinates", "measured", "reference")

    def __init__(self, measured: PairAlignment, coordinates: np.ndarray, reference: _Prepared) -> None:
        self.measured = measured
        self.coordinates = coordinates
        self.reference = reference


def _columns(
    coordinates: np.ndarray, query: str, reference: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per alignment column: identical (0/1), query residue consumed (0/1), reference residue consumed (0/1)."""
    same: list[bool] = []
    dq: list[int] = []
    dr: list[int] = []
    qc, rc = coordinates[0].tolist(), coordinates[1].tolist()
    for i in range(len(qc) - 1):
        nq, nr = qc[i + 1] - qc[i], rc[i + 1] - rc[i]
        if nq and nr:
            a, b = query[qc[i] : qc[i + 1]], reference[rc[i] : rc[i + 1]]
            same.extend(x == y for x, y in zip(a, b, strict=True))
            dq.extend([1] * nq)
            dr.extend([1] * nr)
        else:
            n = nq + nr
            same.extend([False] * n)
            dq.extend([1 if nq else 0] * n)
            dr.extend([1 if nr else 0] * n)
    return np.array(same, dtype=np.int64), np.array(dq, dtype=np.int64), np.array(dr, dtype=np.int64)


def _best_segment(
    coordinates: np.ndarray,
    query: str,
    reference: str,
    full: PairAlignment,
    need_q: int,
    need_r: int,
    identity: float,
) -> PairAlignment | None:
    """The part of an alignment that spans >= need_q query and >= need_r reference residues with
    identity >= ``identity``, maximising ``identical - identity * columns``; ``None`` if there is none.

    Parts start and end on identical columns. With prefix sums ``W`` of ``same - identity``, a part
    ``[i, j]`` passes when ``W[j+1] - W[i] >= 0`` and its spans are long enough; for each end ``j``
    the admissible starts are a prefix of the columns, so a running minimum finds the best start.
    """
    same, dq, dr = _columns(coordinates, query, reference)
    n = len(same)
    if n == 0:
        return None
    w = np.concatenate(([0.0], np.cumsum(same - identity)))
    qcum = np.concatenate(([0], np.cumsum(dq)))
    rcum = np.concatenate(([0], np.cumsum(dr)))
    start_w = np.where(same == 1, w[:-1], np.inf)  # value of W at a start column i (W[i])
    run_min = np.minimum.accumulate(start_w)
    ends = np.flatnonzero(same == 1)
    # last start i with qcum[j+1] - qcum[i] >= need_q (qcum[:-1] is non-decreasing)
    lim_q = np.searchsorted(qcum[:-1], qcum[ends + 1] - need_q, side="right") - 1
    lim_r = np.searchsorted(rcum[:-1], rcum[ends + 1] - need_r, side="right") - 1
    lim = np.minimum(lim_q, lim_r)
    ok = lim >= 0
    if not ok.any():
        return None
    ends, lim = ends[ok], lim[ok]
    excess = w[ends + 1] - run_min[lim]
    k = int(np.argmax(excess))
    if not excess[k] >= -1e-9:
        return None
    j = int(ends[k])
    i = int(np.argmin(start_w[: lim[k] + 1]))
    cols = j - i + 1
    matches = int(same[i : j + 1].sum())
    qs = full.query_start + int(qcum[i])
    qe = full.query_start + int(qcum[j + 1])
    rs = full.reference_start + int(rcum[i])
    re_ = full.reference_start + int(rcum[j + 1])
    return PairAlignment(
        identity=matches / cols,
        query_coverage=(qe - qs) / len(query),
        reference_coverage=(re_ - rs) / len(reference),
        alignment_length=cols,
        identities=matches,
        score=full.score,
        query_start=qs,
        query_end=qe,
        reference_start=rs,
        reference_end=re_,
        strand=full.strand,
    )


def _measure(coordinates: np.ndarray, query: str, reference: str, score: float, strand: str) -> PairAlignment:
    """Identity and coverage from a Biopython alignment's coordinate path."""
    qc = coordinates[0].tolist()
    rc = coordinates[1].tolist()
    length = 0
    same = 0
    for i in range(len(qc) - 1):
        dq = qc[i + 1] - qc[i]
        dr = rc[i + 1] - rc[i]
        if dq and dr:
            a = query[qc[i] : qc[i + 1]]
            b = reference[rc[i] : rc[i + 1]]
            same += sum(1 for x, y in zip(a, b, strict=True) if x == y)
            length += dq
        else:
            length += dq + dr
    q0, q1, r0, r1 = qc[0], qc[-1], rc[0], rc[-1]
    return PairAlignment(
        identity=same / length if length else 0.0,
        query_coverage=(q1 - q0) / len(query),
        reference_coverage=(r1 - r0) / len(reference),
        alignment_length=length,
        identities=same,
        score=score,
        query_start=q0,
        query_end=q1,
        reference_start=r0,
        reference_end=r1,
        strand=strand,
    )


def align_pair(query: str, reference: str, *, kind: str = "protein") -> PairAlignment | None:
    """Best local alignment of two normalised sequences, measured like MMseqs2.

    Args:
        query: the query sequence (normalised; for text: words separated by spaces).
        reference: the reference sequence.
        kind: ``"protein"``, ``"dna"``, ``"rna"`` or ``"text"``.

    Returns:
        The :class:`PairAlignment`, or ``None`` when no positive-scoring local
        alignment exists.

    Examples:
        >>> a = align_pair("MKTAYIAKQRQISFVKSHFSRQ", "MKTAYIAKQRQISFVKAHFSRQLEERLG")
        >>> round(a.identity, 3), a.query_coverage, round(a.reference_coverage, 3)
        (0.955, 1.0, 0.786)
        >>> align_pair("the cat sat on the mat", "a cat sat on the mat today", kind="text").identities
        5
    """
    return Verifier(kind=kind, identity=0.0, coverage=0.0).align("q", query, "r", reference)


def verify_pairs(
    pairs: Iterable[tuple[str, str, str, str]],
    *,
    kind: str = "protein",
    identity: float = 0.9,
    coverage: float = 0.8,
    reference_coverage: float = 0.0,
    stats: VerifyStats | None = None,
) -> list[Hit]:
    """Verify ``(query_id, query_seq, reference_id, reference_seq)`` pairs by alignment.

    Args:
        pairs: candidate pairs with their sequences.
        kind: sequence kind.
        identity: minimal identity of a kept pair (fraction).
        coverage: minimal query coverage (fraction).
        reference_coverage: minimal reference coverage (fraction).
        stats: if given, its counters are increased by this run's.

    Returns:
        Every pair that passes, as :class:`Hit` with ``tier="minhash"`` (all of them,
        not only the best per query: see :func:`best_hits`).

    Examples:
        >>> pairs = [("q1", "MKTAYIAKQRQISFVKSHFSRQ", "r1", "MKTAYIAKQRQISFVKSHFSRQ"),
        ...          ("q1", "MKTAYIAKQRQISFVKSHFSRQ", "r2", "GGGGGGGGGGGGGGGGGGGGGGGG")]
        >>> [(h.reference, h.identity) for h in verify_pairs(pairs)]
        [('r1', 1.0)]
    """
    verifier = Verifier(
        kind=kind, identity=identity, coverage=coverage, reference_coverage=reference_coverage
    )
    hits = []
    for qid, qseq, rid, rseq in pairs:
        hit = verifier.verify(qid, qseq, rid, rseq)
        if hit is not None:
            hits.append(hit)
    if stats is not None:
        _add_stats(stats, verifier.stats)
    return hits


_COUNTERS = (
    "candidates",
    "pruned_length",
    "pruned_composition",
    "pruned_qgram",
    "skipped_too_long",
    "aligned",
    "trimmed",
    "accepted",
)


def _counters(stats: VerifyStats) -> dict[str, int]:
    return {name: getattr(stats, name) for name in _COUNTERS}


def _add_stats(into: VerifyStats, other: VerifyStats) -> None:
    for name, value in _counters(other).items():
        setattr(into, name, getattr(into, name) + value)


def verify_candidates(
    query_seqs: Mapping[str, str],
    reference_seqs: Mapping[str, str],
    candidate_pairs: Iterable[tuple[str, str] | tuple[str, str, float | None]],
    *,
    kind: str = "protein",
    identity: float = 0.9,
    coverage: float = 0.8,
    reference_coverage: float = 0.0,
    signatures: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None,
    stats: VerifyStats | None = None,
    verifier: Verifier | None = None,
) -> list[Hit]:
    """Verify candidate pairs found elsewhere (e.g. an LSH band-key join in a database).

    Args:
        query_seqs: query identifier -> normalised sequence.
        reference_seqs: reference identifier -> normalised sequence.
        candidate_pairs: ``(query_id, reference_id)`` or ``(query_id, reference_id, jaccard)``
            tuples; duplicates are verified once.
        kind: sequence kind.
        identity: minimal identity (fraction).
        coverage: minimal query coverage (fraction).
        reference_coverage: minimal reference coverage (fraction).
        signatures: optional ``(query_signatures, reference_signatures)`` mappings of
            identifier -> object with a ``jaccard(other)`` method (a
            :class:`dedup.sketch.Signature`) to fill ``Hit.jaccard`` when the pairs do
            not carry it.
        stats: if given, its counters are increased by this run's.
        verifier: reuse a :class:`Verifier` (its settings win over the arguments).

    Returns:
        Every passing pair as a :class:`Hit` (``tier="minhash"``), in input order.

    Raises:
        KeyError: when a pair names an identifier missing from the mappings.

    Examples:
        >>> q = {"q1": "MKTAYIAKQRQISFVKSHFSRQ"}
        >>> r = {"r1": "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEV", "r2": "GGGG"}
        >>> hits = verify_candidates(q, r, [("q1", "r1", 0.6), ("q1", "r2"), ("q1", "r1")])
        >>> [(h.reference, h.identity, h.jaccard) for h in hits]
        [('r1', 1.0, 0.6)]
    """
    v = verifier or Verifier(
        kind=kind, identity=identity, coverage=coverage, reference_coverage=reference_coverage
    )
    seen: set[tuple[str, str]] = set()
    hits = []
    before = _counters(v.stats)
    for pair in candidate_pairs:
        qid, rid = pair[0], pair[1]
        if (qid, rid) in seen:
            continue
        seen.add((qid, rid))
        jac = pair[2] if len(pair) > 2 else None
        if jac is None and signatures is not None:
            jac = float(signatures[0][qid].jaccard(signatures[1][rid]))
        hit = v.verify(qid, query_seqs[qid], rid, reference_seqs[rid], jaccard=jac)
        if hit is not None:
            hits.append(hit)
    if stats is not None:
        after = _counters(v.stats)
        for name, value in after.items():
            setattr(stats, name, getattr(stats, name) + value - before[name])
    return hits


def best_hits(hits: Iterable[Hit]) -> dict[str, Hit]:
    """The best hit per query: highest identity, then query coverage, then reference coverage.

    Ties keep the first hit seen (so pass hits of cheaper tiers first).

    Examples:
        >>> a = Hit("q", "r1", 0.91, 0.9, 0.9, None, "minhash")
        >>> b = Hit("q", "r2", 0.97, 0.85, 0.5, None, "mmseqs")
        >>> best_hits([a, b])["q"].reference
        'r2'
    """
    best: dict[str, Hit] = {}
    for hit in hits:
        cur = best.get(hit.query)
        if cur is None or hit.sort_key() > cur.sort_key():
            best[hit.query] = hit
    return best
