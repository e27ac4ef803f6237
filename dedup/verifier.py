"""The :class:`Verifier`: bounds, alignment on threads, and the verdict of each candidate pair.

What identity, coverage, the bounds and trimming mean is specified in :mod:`dedup.verify`,
which re-exports this class.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from . import _align_kernel, _native
from .alignment import (
    BACKENDS,
    Aligned,
    AlignerSpec,
    PairAlignment,
    align_biopython,
    align_kernel,
    aligner_spec,
    best_segment,
    corrects_bias,
    default_backend,
    make_biopython_aligner,
)
from .bounds import QGRAM_K, Bounds, Prepared, TokenMap
from .hits import Hit, VerifyStats
from .parallel import parallel_map, resolve_threads

__all__ = ["DEFAULT_MAX_CELLS", "Candidate", "Verifier"]

_KINDS = ("protein", "dna", "rna", "text")

#: Pairs whose dynamic-programming matrix would exceed this many cells are not
#: aligned (memory: both aligners keep a traceback matrix); they are counted in
#: ``VerifyStats.skipped_too_long``. 64 million cells is two 8,000-residue chains.
DEFAULT_MAX_CELLS = 64_000_000

#: Per-sequence entries kept by a Verifier before its cache is emptied (bounds memory).
_MAX_CACHED = 20_000
#: Pairs a thread screens at least (fewer: one call in the calling thread).
_SCREEN_RUN = 512

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
            kernel when numba is installed. Without the composition-bias correction both give
            the same alignments; Biopython cannot apply it (see ``bias_correction``).
        threads: threads :meth:`verify_many` aligns on (default: every CPU;
            the numba backend only, Biopython holds the GIL).
        bias_correction: apply MMseqs2's composition-bias correction to protein scores (default;
            :mod:`dedup.compbias`), so that identities are MMseqs2's; off, the alignment is the
            optimal one under plain BLOSUM62 (Biopython's, which cannot apply the correction).

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
        'll-gotoh-v2:blosum62+cbc:gap11+1'
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
        bias_correction: bool = True,
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
        self.bias_correction = bias_correction
        self._bias = corrects_bias(kind, backend, bias_correction)
        self._qgram_k = QGRAM_K[kind]
        self._tokens = TokenMap() if kind == "text" else None
        self._cache: dict[tuple[str, str], tuple[str, Prepared]] = {}
        # Identity must come out >= the threshold after rounding noise, never below.
        self._eps = 1e-9

    @property
    def spec(self) -> AlignerSpec:
        """The aligner's name, version, scoring and backend (:meth:`AlignerSpec.key` for method keys)."""
        return aligner_spec(self.kind, self.backend, bias_correction=self.bias_correction)

    def _cached(self, key: tuple[str, str], seq: str) -> Prepared | None:
        # Identifiers may repeat with different sequences (files do that): the entry must be this sequence's.
        entry = self._cache.get(key)
        if entry is not None and (entry[0] is seq or entry[0] == seq):
            return entry[1]
        return None

    def _store(self, key: tuple[str, str], seq: str, prep: Prepared) -> Prepared:
        if len(self._cache) >= _MAX_CACHED:
            self._cache.clear()
        self._cache[key] = (seq, prep)
        return prep

    def _prepare(self, side: str, seq_id: str, seq: str) -> Prepared:
        prep = self._cached((side, seq_id), seq)
        if prep is None:
            units = self._tokens.encode(seq) if self._tokens is not None else seq
            prep = self._store((side, seq_id), seq, Prepared(units, self.kind, self._qgram_k))
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
        prep = self._cached(("rc", reference_id), reference)
        if prep is None:
            rc = Prepared(reference.translate(table)[::-1], self.kind, self._qgram_k)
            prep = self._store(("rc", reference_id), reference, rc)
        return prep

    # -- alignment ------------------------------------------------------------------------------
    def _ready(self, query: Prepared, *preps: Prepared | None) -> None:
        """Compute the kernel's code arrays here, so that worker threads only read them."""
        if self.backend == "numba":
            query.score_codes()
            if self._bias:
                query.query_bias()
            for p in preps:
                if p is not None:
                    p.score_codes()

    def _align_one(self, qp: Prepared, rp: Prepared, strand: str) -> Aligned | None:
        if self._bio is not None:
            return align_biopython(self._bio, qp.aligned_text, rp.aligned_text, qp.units, rp.units, strand)
        bias = qp.query_bias() if self._bias else None
        return align_kernel(
            self.kind,
            qp.codes(),
            qp.score_codes(),
            rp.codes(),
            rp.score_codes(),
            qp.units,
            rp.units,
            strand,
            bias,
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
        qp = self._prepare("q", query_id, query)
        rp = self._prepare("r", reference_id, reference)
        return self._screened(qp, rp, self._reverse_complement(reference_id, reference), None)

    def _screen_many(self, items: list[Candidate]) -> list[tuple[Prepared, Prepared, Prepared | None] | None]:
        """:meth:`_screen` of many pairs, in order, with the same counters: the bounds in one compiled call.

        :func:`dedup._native.screen` decides the pairs of a batch without reverse complements
        (protein, text) whose codes are all below 128 (protein); the others, and every pair without
        the C library, go through :meth:`Bounds.passes` one by one. The verdicts are the same.
        """
        preps = [
            (self._prepare("q", qid, qs), self._prepare("r", rid, rs), self._reverse_complement(rid, rs))
            for qid, qs, rid, rs, _jac in items
        ]
        verdicts = self._native_verdicts(preps) if self.bounds else None
        if verdicts is None:
            return [self._screened(qp, rp, rc, None) for qp, rp, rc in preps]
        return [self._screened(qp, rp, rc, int(v)) for (qp, rp, rc), v in zip(preps, verdicts, strict=True)]

    def _native_verdicts(self, preps: list[tuple[Prepared, Prepared, Prepared | None]]) -> np.ndarray | None:
        if len(preps) < 2 or any(rc is not None for _qp, _rp, rc in preps):
            return None
        index: dict[int, int] = {}
        seqs: list[Prepared] = []
        pair_idx = np.empty((len(preps), 2), dtype=np.int64)
        for n, (qp, rp, _rc) in enumerate(preps):
            for side, p in enumerate((qp, rp)):
                at = index.get(id(p))
                if at is None:
                    at = index[id(p)] = len(seqs)
                    seqs.append(p)
                pair_idx[n, side] = at
        lengths = np.fromiter((p.length for p in seqs), dtype=np.int64, count=len(seqs))
        offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        codes = np.concatenate([p.codes() for p in seqs]) if seqs else np.zeros(0, dtype=np.int32)
        codes = codes.astype(np.int32, copy=False)
        q_idx, r_idx = np.ascontiguousarray(pair_idx[:, 0]), np.ascontiguousarray(pair_idx[:, 1])
        # Contiguous runs of pairs on the verifier's threads (the call releases the GIL; each
        # verdict depends on its pair alone, so the verdicts are the same for any number).
        runs = max(1, min(self.threads, len(preps) // _SCREEN_RUN))
        cuts = np.linspace(0, len(preps), runs + 1).astype(np.int64).tolist()

        def screen(run: int) -> np.ndarray | None:
            lo, hi = cuts[run], cuts[run + 1]
            return _native.screen(
                codes,
                offsets,
                q_idx[lo:hi],
                r_idx[lo:hi],
                identity=self.identity,
                coverage=self.coverage,
                reference_coverage=self.reference_coverage,
                qgram_k=self._qgram_k,
            )

        parts = parallel_map(screen, range(runs), runs)
        if any(part is None for part in parts):
            return None
        return np.concatenate(parts)  # type: ignore[arg-type]

    def _screened(
        self, qp: Prepared, rp: Prepared, rc: Prepared | None, verdict: int | None
    ) -> tuple[Prepared, Prepared, Prepared | None] | None:
        """The counters and the size check of one prepared pair; ``verdict`` from :meth:`_native_verdicts`."""
        self.stats.candidates += 1
        if self.bounds:
            if verdict is None or verdict < 0:
                if not self._bounds.passes(qp, rp, rc, self.stats):
                    return None
            elif verdict:
                if verdict == 1:
                    self.stats.pruned_length += 1
                elif verdict == 2:
                    self.stats.pruned_composition += 1
                else:
                    self.stats.pruned_qgram += 1
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
        screened = self._screen_many(items)
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
