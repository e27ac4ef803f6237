"""Verification of candidate pairs by pairwise alignment.

Every candidate pair that a sketch tier proposes is aligned (local, Gotoh) and
measured the way MMseqs2 measures its hits, so that the numbers of the MinHash
tier and of the MMseqs2 tier mean the same thing:

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

**Aligners.** The alignment is the first optimal local alignment that
:class:`Bio.Align.PairwiseAligner` yields. A compiled kernel
(:mod:`dedup._align_kernel`, numba) computes that same alignment about ten times
faster and without the GIL, so :meth:`Verifier.verify_many` aligns pairs on several
threads; Biopython stays the reference (``backend="biopython"``) and the path used
without numba. Both give identical alignments on every real candidate pair tested
(``tests/dedup/test_align_kernel.py``), so a verdict never depends on the backend
or on the number of threads. :attr:`Verifier.spec` names the aligner for method keys.

The module is split by concept: :mod:`dedup.hits` (hits, counters, best per
query), :mod:`dedup.alignment` (scoring, backends, measurement, trimming),
:mod:`dedup.bounds` (per-sequence data and the bounds); the names below are
re-exported from here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from . import _align_kernel
from .alignment import (
    BACKENDS,
    Aligned,
    AlignerSpec,
    PairAlignment,
    align_biopython,
    align_kernel,
    aligner_spec,
    best_segment,
    default_backend,
    make_biopython_aligner,
)
from .bounds import QGRAM_K, Bounds, Prepared, TokenMap
from .hits import TIERS, Hit, VerifyStats, add_stats, best_hits
from .parallel import parallel_map, resolve_threads

__all__ = [
    "TIERS",
    "AlignerSpec",
    "Hit",
    "PairAlignment",
    "Verifier",
    "VerifyStats",
    "align_pair",
    "aligner_spec",
    "best_hits",
    "verify_candidates",
    "verify_pairs",
]

_KINDS = ("protein", "dna", "rna", "text")

#: Pairs whose dynamic-programming matrix would exceed this many cells are not
#: aligned (memory: both aligners keep a traceback matrix); they are counted in
#: ``VerifyStats.skipped_too_long``. 64 million cells is two 8,000-residue chains.
DEFAULT_MAX_CELLS = 64_000_000

#: Per-sequence entries kept by a Verifier before its cache is emptied (bounds memory).
_MAX_CACHED = 20_000

_COMPLEMENT = {
    "dna": str.maketrans("ACGTUNRYKMSWBDHV", "TGCAANYRMKSWVHDB"),
    "rna": str.maketrans("ACGUTNRYKMSWBDHV", "UGCAANYRMKSWVHDB"),
}

#: One candidate pair for :meth:`Verifier.verify_many`: ids, sequences and the Jaccard estimate.
Candidate = tuple[str, str, str, str, float | None]


def _check_kind(kind: str) -> None:
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {', '.join(_KINDS)}, got {kind!r}")


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a fraction from 0 to 1 (e.g. 0.9 for 90%), got {value!r}")


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
        backend: ``"numba"`` (the compiled kernel) or ``"biopython"``; default: the
            kernel when numba is installed. Both give the same alignments.
        threads: threads :meth:`verify_many` aligns on (default: every CPU;
            the numba backend only, Biopython holds the GIL).

    Raises:
        ValueError: a bad kind, fraction, backend or thread count (or ``"numba"``
            without numba).

    Examples:
        >>> v = Verifier(kind="protein", identity=0.9, coverage=0.8)
        >>> hit = v.verify("q", "MKTAYIAKQRQISFVKSHFSRQ", "r", "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ")
        >>> hit.identity, hit.query_coverage
        (1.0, 1.0)
        >>> v.verify("q", "MKTAYIAKQRQISFVKSHFSRQ", "r", "MK") is None
        True
        >>> v.stats.pruned_length
        1
        >>> v.spec.key()
        'll-gotoh-v1:blosum62:gap12+1'
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
        backend: str | None = None,
        threads: int | None = None,
    ) -> None:
        _check_kind(kind)
        _check_fraction("identity", identity)
        _check_fraction("coverage", coverage)
        _check_fraction("reference_coverage", reference_coverage)
        backend = backend or default_backend()
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if backend == "numba" and not _align_kernel.AVAILABLE:
            raise ValueError("backend='numba' needs the numba package; install it or use backend='biopython'")
        self.kind = kind
        self.identity = identity
        self.coverage = coverage
        self.reference_coverage = reference_coverage
        self.max_cells = max_cells
        self.trim = trim
        self.bounds = bounds
        self.backend = backend
        self.threads = resolve_threads(threads)
        self.stats = VerifyStats()
        self._bounds = Bounds(
            identity=identity,
            coverage=coverage,
            reference_coverage=reference_coverage,
            qgram_k=QGRAM_K[kind],
        )
        self._bio = make_biopython_aligner(kind) if backend == "biopython" else None
        self._qgram_k = QGRAM_K[kind]
        self._tokens = TokenMap() if kind == "text" else None
        self._cache: dict[tuple[str, str], Prepared] = {}
        # Identity must come out >= the threshold after rounding noise, never below.
        self._eps = 1e-9

    @property
    def spec(self) -> AlignerSpec:
        """The aligner's name, version, scoring and backend (:meth:`AlignerSpec.key` for method keys)."""
        return aligner_spec(self.kind, self.backend)

    def _prepare(self, side: str, seq_id: str, seq: str) -> Prepared:
        key = (side, seq_id)
        prep = self._cache.get(key)
        if prep is None or (self._tokens is None and prep.length != len(seq)):
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
            units = self._tokens.encode(seq) if self._tokens is not None else seq
            prep = Prepared(units, self.kind, self._qgram_k)
            self._cache[key] = prep
        return prep

    def forget(self, side: str, seq_id: str) -> None:
        """Drop the cached data of one sequence (``side`` is ``"q"`` or ``"r"``)."""
        self._cache.pop((side, seq_id), None)

    def clear_cache(self) -> None:
        """Forget cached per-sequence data (call between unrelated batches to bound memory)."""
        self._cache.clear()

    def _reverse_complement(self, reference_id: str, reference: str) -> Prepared | None:
        table = _COMPLEMENT.get(self.kind)
        if table is None:
            return None
        key = ("rc", reference_id)
        prep = self._cache.get(key)
        if prep is None or prep.length != len(reference):
            prep = Prepared(reference.translate(table)[::-1], self.kind, self._qgram_k)
            self._cache[key] = prep
        return prep

    # -- alignment ------------------------------------------------------------------------------
    def _ready(self, *preps: Prepared | None) -> None:
        """Compute the kernel's code arrays here, so that worker threads only read them."""
        if self.backend == "numba":
            for p in preps:
                if p is not None:
                    p.score_codes()

    def _align_one(self, qp: Prepared, rp: Prepared, strand: str) -> Aligned | None:
        if self._bio is not None:
            return align_biopython(self._bio, qp.aligned_text, rp.aligned_text, qp.units, rp.units, strand)
        return align_kernel(
            self.kind, qp.codes(), qp.score_codes(), rp.codes(), rp.score_codes(), qp.units, rp.units, strand
        )

    def _best_of_strands(self, qp: Prepared, rp: Prepared, rc: Prepared | None) -> Aligned | None:
        best = self._align_one(qp, rp, "+")
        if rc is not None:
            other = self._align_one(qp, rc, "-")
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
        rc = self._reverse_complement(reference_id, reference)
        self._ready(qp, rp, rc)
        best = self._best_of_strands(qp, rp, rc)
        return None if best is None else best.measured

    # -- verification ---------------------------------------------------------------------------
    def _screen(
        self, query_id: str, query: str, reference_id: str, reference: str
    ) -> tuple[Prepared, Prepared, Prepared | None] | None:
        """Bounds and size check of one pair: its prepared data if it is to be aligned."""
        self.stats.candidates += 1
        qp = self._prepare("q", query_id, query)
        rp = self._prepare("r", reference_id, reference)
        rc = self._reverse_complement(reference_id, reference)
        if self.bounds and not self._bounds.passes(qp, rp, rc, self.stats):
            return None
        if qp.length * rp.length > self.max_cells:
            self.stats.skipped_too_long += 1
            return None
        self.stats.aligned += 1
        self._ready(qp, rp, rc)
        return qp, rp, rc

    def _judge(
        self,
        aligned: Aligned | None,
        qp: Prepared,
        rp: Prepared,
        query_id: str,
        reference_id: str,
        jaccard: float | None,
        tier: str,
    ) -> Hit | None:
        """The :class:`Hit` if an alignment passes identity and coverage (trimmed if allowed)."""
        if aligned is None:
            return None
        best = aligned.measured
        if not self._accepts(best):
            if not (self.trim and self._covers(best)):
                return None
            # The best-scoring local alignment may run past the end of a near-identical
            # region into a diverged one (domain boundaries); a part of it that still
            # covers enough is an alignment too, and MMseqs2 often reports that part.
            trimmed = best_segment(aligned, self._need_q(qp), self._need_r(rp), self.identity)
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
        screened = self._screen(query_id, query, reference_id, reference)
        if screened is None:
            return None
        qp, rp, rc = screened
        aligned = self._best_of_strands(qp, rp, rc)
        return self._judge(aligned, qp, rp, query_id, reference_id, jaccard, tier)

    def verify_many(self, pairs: Iterable[Candidate], *, tier: str = "minhash") -> list[Hit | None]:
        """:meth:`verify` for many pairs, aligned on :attr:`threads` threads; one result per pair, in order.

        The bounds, the counters and the verdicts are computed in input order in the
        calling thread; only the alignments run in parallel, and each depends on its
        pair alone, so the results are the same for any number of threads.

        Args:
            pairs: ``(query_id, query, reference_id, reference, jaccard)`` tuples.
            tier: the tier named in the hits.

        Examples:
            >>> v = Verifier(kind="protein", identity=0.9, coverage=0.8, threads=2)
            >>> q = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEV"
            >>> [h and h.reference for h in v.verify_many([("q", q, "r1", q, 0.9), ("q", q, "r2", "MK", 0.1)])]
            ['r1', None]
        """
        items = list(pairs)
        screened = [self._screen(qid, qs, rid, rs) for qid, qs, rid, rs, _jac in items]
        todo = [s for s in screened if s is not None]
        threads = self.threads if self._bio is None else 1
        aligned = iter(parallel_map(lambda s: self._best_of_strands(*s), todo, threads))
        out: list[Hit | None] = []
        for (qid, _qs, rid, _rs, jac), s in zip(items, screened, strict=True):
            if s is None:
                out.append(None)
                continue
            out.append(self._judge(next(aligned), s[0], s[1], qid, rid, jac, tier))
        return out

    def _covers(self, a: PairAlignment) -> bool:
        return (
            a.query_coverage + self._eps >= self.coverage
            and a.reference_coverage + self._eps >= self.reference_coverage
        )

    def _need_q(self, qp: Prepared) -> int:
        return math.ceil(self.coverage * qp.length - 1e-9)

    def _need_r(self, rp: Prepared) -> int:
        return math.ceil(self.reference_coverage * rp.length - 1e-9)

    def _accepts(self, a: PairAlignment) -> bool:
        return (
            a.identity + self._eps >= self.identity
            and a.query_coverage + self._eps >= self.coverage
            and a.reference_coverage + self._eps >= self.reference_coverage
        )


def align_pair(
    query: str, reference: str, *, kind: str = "protein", backend: str | None = None
) -> PairAlignment | None:
    """Best local alignment of two normalised sequences, measured like MMseqs2.

    Args:
        query: the query sequence (normalised; for text: words separated by spaces).
        reference: the reference sequence.
        kind: ``"protein"``, ``"dna"``, ``"rna"`` or ``"text"``.
        backend: ``"numba"`` or ``"biopython"`` (default: numba when installed).

    Returns:
        The :class:`PairAlignment`, or ``None`` when no positive-scoring local
        alignment exists.

    Examples:
        >>> a = align_pair("MKTAYIAKQRQISFVKSHFSRQ", "MKTAYIAKQRQISFVKAHFSRQLEERLG")
        >>> round(a.identity, 3), a.query_coverage, round(a.reference_coverage, 3)
        (0.955, 1.0, 0.786)
        >>> align_pair("MKTAYIAKQRQISFVKSHFSRQ", "MKTAYIAKQRQISFVKAHFSRQLEERLG", backend="biopython") == a
        True
        >>> align_pair("the cat sat on the mat", "a cat sat on the mat today", kind="text").identities
        5
    """
    v = Verifier(kind=kind, identity=0.0, coverage=0.0, backend=backend, threads=1)
    return v.align("q", query, "r", reference)


def verify_pairs(
    pairs: Iterable[tuple[str, str, str, str]],
    *,
    kind: str = "protein",
    identity: float = 0.9,
    coverage: float = 0.8,
    reference_coverage: float = 0.0,
    stats: VerifyStats | None = None,
    threads: int | None = None,
    backend: str | None = None,
) -> list[Hit]:
    """Verify ``(query_id, query_seq, reference_id, reference_seq)`` pairs by alignment.

    Args:
        pairs: candidate pairs with their sequences.
        kind: sequence kind.
        identity: minimal identity of a kept pair (fraction).
        coverage: minimal query coverage (fraction).
        reference_coverage: minimal reference coverage (fraction).
        stats: if given, its counters are increased by this run's.
        threads: alignment threads (default: every CPU); the hits do not depend on it.
        backend: ``"numba"`` or ``"biopython"`` (default: numba when installed).

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
        kind=kind,
        identity=identity,
        coverage=coverage,
        reference_coverage=reference_coverage,
        threads=threads,
        backend=backend,
    )
    results = verifier.verify_many((qid, qs, rid, rs, None) for qid, qs, rid, rs in pairs)
    if stats is not None:
        add_stats(stats, verifier.stats)
    return [h for h in results if h is not None]


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
    threads: int | None = None,
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
        threads: alignment threads of a new verifier (default: every CPU).

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
        kind=kind,
        identity=identity,
        coverage=coverage,
        reference_coverage=reference_coverage,
        threads=threads,
    )
    seen: set[tuple[str, str]] = set()
    items: list[tuple[str, str, str, str, float | None]] = []
    for pair in candidate_pairs:
        qid, rid = pair[0], pair[1]
        if (qid, rid) in seen:
            continue
        seen.add((qid, rid))
        jac = pair[2] if len(pair) > 2 else None
        if jac is None and signatures is not None:
            jac = float(signatures[0][qid].jaccard(signatures[1][rid]))
        items.append((qid, query_seqs[qid], rid, reference_seqs[rid], jac))
    before = v.stats.counters()
    results = v.verify_many(items)
    if stats is not None:
        add_stats(stats, v.stats, minus=before)
    return [h for h in results if h is not None]
