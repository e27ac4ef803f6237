"""Overlap between a query set and a reference set, in tiers: exact, MinHash + alignment, MMseqs2.

:func:`find_overlap` is the library's front door. For every query record it
finds the best matching reference record (highest identity, then coverage) with
at least the requested identity and query coverage, and says which tier found it:

1. ``exact``: identical normalised sequences, by sha256. Free and certain
   (``identity = coverage = 1``).
2. ``minhash``: the queries without an exact hit are sketched
   (:func:`dedup.sketch.sketch_batch`) and looked up in an LSH index of the
   reference signatures (:class:`dedup.lsh.LSHIndex`); every candidate pair is
   verified by alignment (:mod:`dedup.verify`). Only verified pairs are reported,
   so every reported identity is a measured one (precision 1 by construction);
   what the tier can miss is quantified by the calibration table.
3. ``mmseqs`` (optional, opt-in): the queries without an exact hit are searched
   with ``mmseqs easy-search`` (:mod:`dedup.mmseqs`); its hits replace MinHash
   hits of the same query only when they have a higher identity (or coverage).

The LSH band configuration is chosen from the requested identity
(:func:`default_lsh_threshold`), from the measurements in
``benchmarks/README.md`` ("Calibration"), and the measured recall per identity
threshold ships with every result (:attr:`OverlapResult.calibration`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from . import mmseqs as _mmseqs
from .containment import (
    CONTAINMENT_TIER,
    DEFAULT_MAX_CANDIDATES,
    DEFAULT_MAX_POSTINGS,
    MIN_SHARED,
    MIN_SHARED_FRACTION,
    SeedIndex,
    containment_tier,
)
from .errors import ParseError
from .lsh import LSHIndex, lsh_params
from .params import SketchParams
from .parsing import KINDS, iter_records, normalise, sequence_sha256, validate
from .refindex import IndexMismatchError, ReferenceIndex, is_index
from .sketch import sketch_batch
from .verify import TIERS, Hit, Verifier, VerifyStats, best_hits

__all__ = [
    "DEFAULT_THRESHOLDS",
    "OverlapResult",
    "ThresholdCount",
    "TierReport",
    "default_lsh_threshold",
    "default_sketch_params",
    "find_overlap",
    "load_calibration",
    "lsh_settings",
    "read_sequences",
]

#: Identity thresholds of the summary (1.0 is the "exact" row: identical sequences).
DEFAULT_THRESHOLDS = (1.0, 0.95, 0.9, 0.8, 0.7, 0.5, 0.3)

#: k-mer length per kind used by find_overlap (the calibration measured protein k=5).
_DEFAULT_K = {"protein": 5, "dna": 16, "rna": 16, "text": 3}

Records = str | os.PathLike[str] | Iterable[tuple[str, str]] | Mapping[str, str]


def default_sketch_params(kind: str) -> SketchParams:
    """Sketch parameters find_overlap uses when none are given.

    Examples:
        >>> default_sketch_params("protein").key()
        'protein:k5:p128:s1:affine32:ll-shingle-v1'
    """
    if kind not in _DEFAULT_K:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return SketchParams(kind, _DEFAULT_K[kind])


def default_lsh_threshold(identity: float) -> float:
    """The LSH Jaccard threshold used for a requested identity (from the calibration).

    Jaccard of k-mer sets falls like ``identity ** k`` and falls further when the
    query is only partly covered by a longer reference, so the threshold sits well
    below the Jaccard that a full-length pair at ``identity`` would have. 0.1 (64
    bands of 2 rows at 128 permutations) makes every pair of the main calibration
    pair at >= 90% identity a candidate, and over 98% of those at >= 70%, while the
    verification bounds keep the alignments few (see ``benchmarks/README.md``,
    "Calibration"). A higher threshold (0.25: 42 x 3) gave the same recall at
    >= 90% with fewer candidates on the main pair but less margin for short
    queries inside long references, so one threshold serves every identity.

    Examples:
        >>> default_lsh_threshold(0.9)
        0.1
    """
    if not 0.0 <= identity <= 1.0:
        raise ValueError(f"identity must be a fraction from 0 to 1, got {identity!r}")
    return 0.1


def lsh_settings(identity: float, num_perm: int = 128) -> tuple[float, int, int]:
    """``(threshold, bands, rows)`` that find_overlap uses for a requested identity.

    What a database-backed index must use for its band keys
    (:func:`dedup.lsh.band_keys`) to reach the calibrated recall; store them with the keys.

    Examples:
        >>> lsh_settings(0.9)
        (0.1, 64, 2)
    """
    threshold = default_lsh_threshold(identity)
    bands, rows = lsh_params(threshold, num_perm)
    return threshold, bands, rows


@dataclass(frozen=True)
class ThresholdCount:
    """How many query records have a best hit at or above one identity threshold.

    Attributes:
        threshold: identity threshold (1.0 is the ``exact`` row).
        label: ``"exact"`` or ``">=90%"``...
        queries: number of query records, or ``None`` when the threshold is below
            the requested identity (pairs below it were not kept).
        fraction: ``queries`` / number of query records.
        by_tier: counts split by the tier that found the best hit.
        recall: measured recall at this threshold of the combination of tiers that
            ran (e.g. ``exact+minhash``) on the calibration's headline pair, from the
            calibration table (``None`` where not measured).
    """

    threshold: float
    label: str
    queries: int | None
    fraction: float | None
    by_tier: dict[str, int]
    recall: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "label": self.label,
            "queries": self.queries,
            "fraction": self.fraction,
            "by_tier": dict(self.by_tier),
            "recall": self.recall,
        }


@dataclass
class TierReport:
    """Whether a tier ran, why not, with which settings and version, what it found, how long it took."""

    name: str
    ran: bool
    reason: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    version: str | None = None
    seconds: float = 0.0
    queries: int = 0
    hits: int = 0
    stats: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ran": self.ran,
            "reason": self.reason,
            "settings": self.settings,
            "version": self.version,
            "seconds": round(self.seconds, 3),
            "queries": self.queries,
            "hits": self.hits,
            "stats": self.stats,
        }


@dataclass
class OverlapResult:
    """The outcome of :func:`find_overlap`.

    Attributes:
        hits: the best hit of every query record that has one (identity and query
            coverage at or above the requested ones), in query order.
        summary: one :class:`ThresholdCount` per threshold of :data:`DEFAULT_THRESHOLDS`.
        query_count: distinct query identifiers read (records sharing an identifier
            count once, as their hits do).
        reference_count: reference records read.
        kind: sequence kind.
        identity: requested minimal identity.
        coverage: requested minimal query coverage.
        reference_coverage: requested minimal reference coverage.
        tiers: one :class:`TierReport` per tier, run or not.
        params: the sketch parameters of the MinHash tier.
        lsh: the LSH threshold, bands and rows.
        versions: versions of dedup and of the tools involved.
        calibration: the measured recall table (:func:`load_calibration`) for this kind.
    """

    hits: list[Hit]
    summary: list[ThresholdCount]
    query_count: int
    reference_count: int
    kind: str
    identity: float
    coverage: float
    reference_coverage: float
    tiers: dict[str, TierReport]
    params: SketchParams
    lsh: dict[str, Any]
    versions: dict[str, str | None]
    calibration: dict[str, Any]
    seconds: float = 0.0

    def count(self, threshold: float) -> int | None:
        """Query records with a best hit at or above ``threshold`` (1.0: exact duplicates)."""
        for row in self.summary:
            if row.threshold == threshold:
                return row.queries
        raise KeyError(
            f"no summary row for threshold {threshold}; rows: {[r.threshold for r in self.summary]}"
        )

    def method(self) -> dict[str, Any]:
        """The detection settings, tiers and versions: what a report must carry to be reproducible."""
        return {
            "kind": self.kind,
            "identity": self.identity,
            "coverage": self.coverage,
            "reference_coverage": self.reference_coverage,
            "sketch_params": self.params.to_dict() | {"key": self.params.key()},
            "lsh": dict(self.lsh),
            "tiers": {name: report.to_dict() for name, report in self.tiers.items()},
            "versions": dict(self.versions),
            "identity_definition": "identical columns / alignment columns incl. gaps (MMseqs2 fident)",
            "coverage_definition": "aligned residues of the query / query length (MMseqs2 qcov)",
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``summary``, ``pairs``, ``method`` and ``calibration``."""
        return {
            "summary": {
                "queries": self.query_count,
                "references": self.reference_count,
                "thresholds": [row.to_dict() for row in self.summary],
            },
            "pairs": [_pair_dict(h) for h in self.hits],
            "method": self.method(),
            "calibration": self.calibration,
        }


def _pair_dict(hit: Hit) -> dict[str, Any]:
    return {
        "query": hit.query,
        "reference": hit.reference,
        "identity": hit.identity,
        "coverage": hit.query_coverage,
        "reference_coverage": hit.reference_coverage,
        "jaccard": hit.jaccard,
        "alignment_length": hit.alignment_length,
        "tier": hit.tier,
    }


_CALIBRATION_FILE = Path(__file__).with_name("calibration.json")


@lru_cache(maxsize=1)
def _calibration_file() -> dict[str, Any]:
    try:
        with open(_CALIBRATION_FILE, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        return {}


def load_calibration(kind: str = "protein") -> dict[str, Any]:
    """The measured recall table shipped with dedup (``dedup/calibration.json``) for a kind.

    Returns a dict with ``recall`` (tier -> threshold -> recall on the headline pair),
    ``datasets`` (every measured pair) and how it was made; for a kind that was not
    measured, ``{"kind": kind, "measured": False, "note": ...}``.

    Examples:
        >>> load_calibration("protein")["measured"]
        True
        >>> load_calibration("text")["measured"]
        False
    """
    table = _calibration_file()
    if table.get("kind") != kind:
        return {
            "kind": kind,
            "measured": False,
            "note": "no calibration measured for this kind; recall of the minhash tier is unknown",
        }
    return json.loads(json.dumps(table)) | {"measured": True}


def read_sequences(source: Records, *, kind: str) -> list[tuple[str, str]]:
    """``(identifier, normalised sequence)`` pairs from a file path or an iterable of pairs.

    A path is read with :func:`dedup.parsing.iter_records` (format detected, all or
    nothing, repeated identifiers allowed); pairs (or a mapping) are normalised and
    validated the same way.

    Raises:
        ParseError: the file or a sequence is invalid.

    Examples:
        >>> read_sequences([("a", "mkv la*")], kind="protein")
        [('a', 'MKVLA')]
    """
    if isinstance(source, (str, os.PathLike)):
        # A repeated identifier is the benchmark's problem, not a reason to refuse to check it for
        # overlap (FLIP bind's train split repeats 33): the records are kept as they come.
        return [(r.identifier, r.sequence) for r in iter_records(source, kind=kind, allow_duplicate_ids=True)]
    items = source.items() if isinstance(source, Mapping) else source
    out = []
    for identifier, seq in items:
        norm = normalise(seq, kind)
        try:
            validate(norm, kind)
        except ParseError as err:
            raise err.located(record=str(identifier)) from None
        out.append((str(identifier), norm))
    return out


def _versions() -> dict[str, str | None]:
    import Bio
    import datasketch

    from . import __version__

    return {
        "dedup": __version__,
        "biopython": Bio.__version__,
        "datasketch": getattr(datasketch, "__version__", None),
        "numpy": np.__version__,
    }


def _label(threshold: float) -> str:
    return "exact" if threshold >= 1.0 else f">={round(threshold * 100)}%"


def find_overlap(
    query: Records,
    reference: Records | ReferenceIndex,
    *,
    kind: str = "protein",
    identity: float = 0.9,
    coverage: float = 0.8,
    reference_coverage: float = 0.0,
    tiers: Iterable[str] = ("exact", "minhash", CONTAINMENT_TIER),
    params: SketchParams | None = None,
    threshold: float | None = None,
    bands: int | None = None,
    rows: int | None = None,
    mmseqs_settings: _mmseqs.MmseqsSettings | None = None,
    trim: bool = False,
    progress: Callable[[str], None] | None = None,
) -> OverlapResult:
    """Find, for each query record, its best match in the reference set.

    Args:
        query: a sequence file path, or ``(identifier, sequence)`` pairs, or a mapping.
        reference: the same, for the reference (e.g. training) set, or a
            :class:`dedup.refindex.ReferenceIndex` built from it, or its directory (then params and LSH
            settings are the index's; others are refused with how to rebuild).
        kind: ``"protein"``, ``"dna"``, ``"rna"`` or ``"text"``.
        identity: minimal identity (identical columns / alignment length), 0..1.
        coverage: minimal coverage of the query by the alignment, 0..1.
        reference_coverage: minimal coverage of the reference, 0..1 (0: any).
        tiers: which of ``"exact"``, ``"minhash"``, ``"containment"``, ``"mmseqs"`` to run
            (``containment``: :mod:`dedup.containment`, for queries still without a hit).
        params: sketch parameters of the MinHash tier (default: :func:`default_sketch_params`).
        threshold: LSH Jaccard threshold (default: :func:`default_lsh_threshold`);
            sets bands and rows unless both are given.
        bands: LSH bands (with ``rows``).
        rows: LSH rows per band (with ``bands``).
        mmseqs_settings: how to run the mmseqs tier.
        trim: let verification report the part of an alignment that passes when the
            whole does not (:class:`dedup.verify.Verifier`, "Trimming"); off by default.
        progress: called with short progress messages (the CLI prints them on stderr).

    Returns:
        An :class:`OverlapResult`.

    Raises:
        ParseError: a file or a sequence is invalid.
        ValueError: an argument is out of range (the message says which).

    Examples:
        >>> q = [("q1", "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQ"),
        ...      ("q2", "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPWLSRVGDGTQDNLSGAEKAVQ"),
        ...      ("q3", "GSHMLEDPVDAFQPATLLPAALGSEIAEALREAGYTRLHLGEGA")]
        >>> r = [("r1", q[0][1])]
        >>> result = find_overlap(q, r, identity=0.9)
        >>> [(h.query, h.reference, h.tier, round(h.identity, 3)) for h in result.hits]
        [('q1', 'r1', 'exact', 1.0), ('q2', 'r1', 'minhash', 0.982)]
        >>> result.tiers["mmseqs"].reason
        'not requested'
        >>> result.count(1.0), result.count(0.95), result.count(0.5)
        (1, 2, None)
    """
    started = time.perf_counter()
    tiers = tuple(tiers)
    known = (*TIERS, CONTAINMENT_TIER)
    unknown = [t for t in tiers if t not in known]
    if unknown or not tiers:
        raise ValueError(
            f"tiers must be a non-empty subset of {', '.join(known)}, got {', '.join(tiers) or 'none'}"
        )
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    for name, value in (
        ("identity", identity),
        ("coverage", coverage),
        ("reference_coverage", reference_coverage),
    ):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be a fraction from 0 to 1 (e.g. 0.9 for 90%), got {value!r}")
    if isinstance(reference, (str, os.PathLike)) and is_index(reference):
        reference = ReferenceIndex.open(reference)
    index = reference if isinstance(reference, ReferenceIndex) else None
    if index is not None:
        index.check_params(params, threshold, bands, rows)
        if index.params.kind != kind:
            raise IndexMismatchError(f"{index.directory} indexes {index.params.kind} sequences, not {kind}")
        params, threshold, bands, rows = index.params, index.threshold, index.bands, index.rows
    params = params or default_sketch_params(kind)
    if params.kind != kind:
        raise ValueError(f"params are for kind {params.kind!r} but kind is {kind!r}; pass matching params")
    if threshold is None:
        threshold = default_lsh_threshold(identity)
    if bands is None or rows is None:
        bands, rows = lsh_params(threshold, params.num_perm)
    say = progress or (lambda _msg: None)

    queries = read_sequences(query, kind=kind)
    say(f"read {len(queries)} query records")
    ref_list: Sequence[tuple[str, str]]
    if index is None:
        references = read_sequences(reference, kind=kind)  # type: ignore[arg-type]
        n_ref_records = len(references)
        say(f"read {len(references)} reference records")
        # One representative identifier per distinct reference sequence.
        ref_by_sha: dict[str, tuple[str, str]] = {}
        for rid, seq in references:
            if seq:
                ref_by_sha.setdefault(sequence_sha256(seq), (rid, seq))
        ref_list = list(ref_by_sha.values())

        def lookup(sha: str) -> tuple[str, str] | None:
            return ref_by_sha.get(sha)
    else:
        ref_list, n_ref_records = index.records, index.n_records
        say(f"index {index.directory}: {index.n_records} reference records, {index.n_sequences} distinct")

        def lookup(sha: str) -> tuple[str, str] | None:  # type: ignore[misc]
            i = index.lookup_sha(sha)
            return None if i is None else ref_list[i]

    reports: dict[str, TierReport] = {}
    found: list[Hit] = []
    exact_done: set[int] = set()

    # Tier 1: exact.
    if "exact" in tiers:
        t0 = time.perf_counter()
        for i, (qid, seq) in enumerate(queries):
            match = lookup(sequence_sha256(seq)) if seq else None
            if match is not None:
                found.append(Hit(qid, match[0], 1.0, 1.0, 1.0, None, "exact", len(seq)))
                exact_done.add(i)
        reports["exact"] = TierReport(
            "exact",
            True,
            settings={"digest": "sha256 of the normalised sequence"},
            seconds=time.perf_counter() - t0,
            queries=len(queries),
            hits=len(exact_done),
        )
        say(f"exact: {len(exact_done)} of {len(queries)} query records are identical to a reference record")
        if index is not None:
            index.release()
    else:
        reports["exact"] = TierReport("exact", False, reason="not requested")

    remaining = [i for i, (_qid, seq) in enumerate(queries) if i not in exact_done and seq]

    # Pairs the MinHash tier aligned: the containment tier does not align them again (same verdict).
    tried: set[tuple[str, int]] | None = set() if CONTAINMENT_TIER in tiers else None

    # Tier 2: MinHash LSH candidates, verified by alignment.
    if "minhash" in tiers:
        t0 = time.perf_counter()
        stats = VerifyStats()
        hits = _minhash_tier(
            [queries[i] for i in remaining],
            ref_list,
            params,
            bands,
            rows,
            Verifier(
                kind=kind,
                identity=identity,
                coverage=coverage,
                reference_coverage=reference_coverage,
                trim=trim,
            ),
            stats,
            say,
            index,
            tried,
        )
        found.extend(hits)
        reports["minhash"] = TierReport(
            "minhash",
            True,
            settings={
                "sketch_params": params.key(),
                "lsh_threshold": threshold,
                "bands": bands,
                "rows": rows,
                "trim": trim,
            },
            seconds=time.perf_counter() - t0,
            queries=len(remaining),
            hits=len(best_hits(hits)),
            stats=stats.to_dict(),
        )
    else:
        reports["minhash"] = TierReport("minhash", False, reason="not requested")

    # Containment: queries still without a hit, against the references that hold their k-mers.
    if CONTAINMENT_TIER in tiers:
        t0 = time.perf_counter()
        have = {h.query for h in found}
        todo = [queries[i] for i in remaining if queries[i][0] not in have]
        seeds = None
        if todo and ref_list:
            seeds = index.seeds if index is not None else SeedIndex.build([s for _r, s in ref_list], params)
        c_hits, c_stats = (
            containment_tier(
                todo,
                ref_list,
                seeds,
                Verifier(
                    kind=kind, identity=identity, coverage=coverage, reference_coverage=reference_coverage
                ),
                progress=say,
                skip=tried or (),
            )
            if seeds is not None
            else ([], {"queries": len(todo)})
        )
        found.extend(c_hits)
        reports[CONTAINMENT_TIER] = TierReport(
            CONTAINMENT_TIER,
            True,
            settings={
                "k": params.k,
                "hash": params.hash_name,
                "bits": seeds.bits if seeds else None,
                "max_candidates": DEFAULT_MAX_CANDIDATES,
                "max_postings": DEFAULT_MAX_POSTINGS,
                "min_shared": MIN_SHARED,
                "min_shared_fraction": MIN_SHARED_FRACTION,
            },
            seconds=time.perf_counter() - t0,
            queries=len(todo),
            hits=len(best_hits(c_hits)),
            stats=c_stats,
        )
    else:
        reports[CONTAINMENT_TIER] = TierReport(CONTAINMENT_TIER, False, reason="not requested")

    # Tier 3: MMseqs2.
    mm_settings = mmseqs_settings or _mmseqs.MmseqsSettings()
    if "mmseqs" in tiers:
        reason = _mmseqs.unavailable_reason(mm_settings.executable)
        if kind == "text":
            reason = "mmseqs searches biological sequences, not text"
        if reason is not None:
            reports["mmseqs"] = TierReport("mmseqs", False, reason=reason, settings=mm_settings.to_dict())
            say(f"mmseqs: not run ({reason})")
        else:
            t0 = time.perf_counter()
            say(
                f"mmseqs: searching {len(remaining)} query records against {len(ref_list)} reference sequences"
            )
            hits = _mmseqs.mmseqs_search(
                [queries[i] for i in remaining],
                ref_list,
                kind=kind,
                identity=identity,
                coverage=coverage,
                reference_coverage=reference_coverage,
                settings=mm_settings,
            )
            found.extend(hits)
            reports["mmseqs"] = TierReport(
                "mmseqs",
                True,
                settings=mm_settings.to_dict(),
                version=_mmseqs.version(mm_settings.executable),
                seconds=time.perf_counter() - t0,
                queries=len(remaining),
                hits=len(best_hits(hits)),
            )
    else:
        reports["mmseqs"] = TierReport("mmseqs", False, reason="not requested")

    best = best_hits(found)  # cheaper tiers came first, so ties keep them
    order = {qid: i for i, (qid, _s) in enumerate(queries)}
    hits_out = sorted(best.values(), key=lambda h: order[h.query])
    calibration = load_calibration(kind)
    # Hits are per identifier: a file that repeats an identifier counts it once.
    n_queries = len({qid for qid, _s in queries})
    summary = _summary(hits_out, n_queries, identity, reports, calibration)
    versions = _versions()
    versions["mmseqs"] = reports["mmseqs"].version
    result = OverlapResult(
        hits=hits_out,
        summary=summary,
        query_count=n_queries,
        reference_count=n_ref_records,
        kind=kind,
        identity=identity,
        coverage=coverage,
        reference_coverage=reference_coverage,
        tiers=reports,
        params=params,
        lsh={"threshold": threshold, "bands": bands, "rows": rows},
        versions=versions,
        calibration=calibration,
        seconds=time.perf_counter() - started,
    )
    say(f"done in {result.seconds:.1f} s: {len(hits_out)} of {len(queries)} query records have a hit")
    return result


def _minhash_tier(
    queries: list[tuple[str, str]],
    references: Sequence[tuple[str, str]],
    params: SketchParams,
    bands: int,
    rows: int,
    verifier: Verifier,
    stats: VerifyStats,
    say: Callable[[str], None],
    prebuilt: ReferenceIndex | None = None,
    tried: set[tuple[str, int]] | None = None,
) -> list[Hit]:
    if not queries or not references:
        return []
    index: LSHIndex | ReferenceIndex
    if prebuilt is not None:  # signatures and band keys from disk (memory-mapped)
        ref_sigs, index = prebuilt.signatures, prebuilt
    else:
        ref_sigs = sketch_batch([s for _r, s in references], params)
        index = LSHIndex(params, bands=bands, rows=rows)
        index.add(list(range(len(references))), ref_sigs)
        say(
            f"minhash: sketched and indexed {len(references)} reference sequences ({bands} bands x {rows} rows)"
        )
    hits: list[Hit] = []
    chunk = 4096
    n_pairs = 0
    for lo in range(0, len(queries), chunk):
        part = queries[lo : lo + chunk]
        q_sigs = sketch_batch([s for _q, s in part], params)
        for (qid, qseq), qsig, cands in zip(part, q_sigs, index.query_batch(q_sigs), strict=True):
            if not cands:
                continue
            cand = np.asarray(cands, dtype=np.int64)
            jac = np.count_nonzero(ref_sigs[cand] == qsig, axis=1) / params.num_perm
            for j in np.argsort(-jac, kind="stable").tolist():
                rid, rseq = references[int(cand[j])]
                if tried is not None:
                    tried.add((qid, int(cand[j])))
                hit = verifier.verify(qid, qseq, rid, rseq, jaccard=float(jac[j]))
                n_pairs += 1
                if hit is not None:
                    hits.append(hit)
            verifier.forget("q", qid)  # a query's k-mers are not needed once its candidates are done
        say(
            f"minhash: {min(lo + chunk, len(queries))} of {len(queries)} query records, {n_pairs} pairs checked"
        )
        if prebuilt is not None:
            prebuilt.release()  # the pages of this chunk's candidates leave the resident set
    for name, value in verifier.stats.to_dict().items():
        if name != "extra":
            setattr(stats, name, getattr(stats, name) + value)
    return hits


def _is_identical(hit: Hit) -> bool:
    return hit.identity == 1.0 and hit.query_coverage == 1.0 and hit.reference_coverage == 1.0


def _summary(
    hits: list[Hit],
    n_queries: int,
    identity: float,
    reports: dict[str, TierReport],
    calibration: dict[str, Any],
) -> list[ThresholdCount]:
    ran = [name for name, r in reports.items() if r.ran]
    recall_table = calibration.get("recall", {})
    rows = []
    for t in DEFAULT_THRESHOLDS:
        key = "exact" if t >= 1.0 else f"{t:.2f}"
        recall = recall_table.get("+".join(ran), {}).get(key)
        if t < identity - 1e-12:
            rows.append(ThresholdCount(t, _label(t), None, None, {}, recall))
            continue
        if t >= 1.0:  # identical sequences, whichever tier saw them
            selected = [h for h in hits if h.tier == "exact" or _is_identical(h)]
        else:
            selected = [h for h in hits if h.identity + 1e-9 >= t]
        by_tier = {name: sum(h.tier == name for h in selected) for name in ran}
        n = len(selected)
        rows.append(ThresholdCount(t, _label(t), n, n / n_queries if n_queries else 0.0, by_tier, recall))
    return rows
