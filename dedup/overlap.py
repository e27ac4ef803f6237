"""Overlap between a query set and a reference set, in tiers: exact, MinHash + alignment, MMseqs2.

:func:`find_overlap` is the library's front door. For every query record it
finds the best matching reference record (highest identity, then coverage) with
at least the requested identity and query coverage, and says which tier found it:

1. ``exact``: identical normalised sequences, by sha256. Free and certain
   (``identity = coverage = 1``).
2. ``minhash``: the queries without an exact hit are sketched and looked up in an
   in-memory band table of the reference signatures (:class:`dedup.memindex.MemoryIndex`,
   built from the reference in chunks); every candidate pair is verified by alignment
   (:mod:`dedup.verify`). Only verified pairs are reported, so every reported identity is
   a measured one; what the tier can miss is the measured recall.
3. ``containment``: the queries still without a hit are looked up by shared k-mers in a
   seed table of the references (:mod:`dedup.containment`) and verified by alignment: short
   queries inside long references, whose Jaccard is too low for MinHash.
4. ``mmseqs`` (optional, opt-in): the queries without an exact hit are searched
   with ``mmseqs easy-search`` (:mod:`dedup.mmseqs`).

The tiers themselves live in :mod:`dedup.pipeline` (the registry runs the same ones over
its database index), the settings in one :class:`dedup.method.Method`, and the claims
(records found, estimated records that exist, estimated recall per threshold) in
:mod:`dedup.claims`, from the recall measured for exactly that method's key.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from . import _kernels
from . import mmseqs as _mmseqs
from .calibration import calibration_table, lookup, nearest_measured
from .claims import DEFAULT_THRESHOLDS, Claims, ThresholdCount, summarise
from .errors import ParseError
from .lsh import lsh_params
from .memindex import MemoryIndex
from .method import LIBRARY_LSH_THRESHOLD, LIBRARY_TIERS, Method
from .parallel import resolve_threads
from .params import SketchParams
from .parsing import KINDS, iter_records, normalise, validate
from .pipeline import TierReport, effective_method, run_tiers
from .refindex import IndexMismatchError, ReferenceIndex, is_index
from .verify import Hit

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

Records = str | os.PathLike[str] | Iterable[tuple[str, str]] | Mapping[str, str]


def default_sketch_params(kind: str) -> SketchParams:
    """Sketch parameters find_overlap uses when none are given.

    Examples:
        >>> default_sketch_params("protein").key()
        'protein:k5:p128:s1:affine32:ll-shingle-v1'
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return SketchParams.default(kind)


def default_lsh_threshold(identity: float) -> float:
    """The LSH Jaccard threshold of the library's default method (one for every identity).

    0.1 (64 bands of 2 rows at 128 permutations) keeps short queries inside long
    references as candidates; what it finds per identity band is measured by
    ``benchmarks/calibrate.py``.

    Examples:
        >>> default_lsh_threshold(0.9)
        0.1
    """
    if not 0.0 <= identity <= 1.0:
        raise ValueError(f"identity must be a fraction from 0 to 1, got {identity!r}")
    return LIBRARY_LSH_THRESHOLD


def lsh_settings(identity: float, num_perm: int = 128) -> tuple[float, int, int]:
    """``(threshold, bands, rows)`` of the library's default method.

    Examples:
        >>> lsh_settings(0.9)
        (0.1, 64, 2)
    """
    threshold = default_lsh_threshold(identity)
    bands, rows = lsh_params(threshold, num_perm)
    return threshold, bands, rows


@dataclass
class OverlapResult:
    """The outcome of :func:`find_overlap`.

    Attributes:
        hits: the best hit of every query record that has one (identity and query
            coverage at or above the requested ones), in query order.
        summary: one :class:`dedup.claims.ThresholdCount` per threshold of
            :data:`DEFAULT_THRESHOLDS`: records found, estimated records that exist,
            estimated recall with its interval, tier breakdown.
        claims: the whole :class:`dedup.claims.Claims` (bands, warnings, calibration).
        query_count: distinct query identifiers read.
        reference_count: reference records read.
        method: the :class:`dedup.method.Method` that ran (tiers that could run).
        tiers: one :class:`TierReport` per tier, run or not.
        versions: versions of dedup and of the tools involved.
    """

    hits: list[Hit]
    summary: list[ThresholdCount]
    claims: Claims
    query_count: int
    reference_count: int
    method: Method
    tiers: dict[str, TierReport]
    versions: dict[str, str | None]
    seconds: float = 0.0

    @property
    def kind(self) -> str:
        return self.method.kind

    @property
    def identity(self) -> float:
        return self.method.identity

    @property
    def coverage(self) -> float:
        return self.method.coverage

    @property
    def reference_coverage(self) -> float:
        return self.method.reference_coverage

    @property
    def params(self) -> SketchParams:
        return self.method.params

    @property
    def lsh(self) -> dict[str, Any]:
        return {"bands": self.method.bands, "rows": self.method.rows}

    @property
    def calibration(self) -> dict[str, Any]:
        """Where the claimed recall comes from (``measured`` False: not measured for this method)."""
        return self.claims.calibration

    def count(self, threshold: float) -> int | None:
        """Query records with a best hit at or above ``threshold`` (1.0: exact duplicates)."""
        for row in self.summary:
            if row.threshold == threshold:
                return row.queries
        raise KeyError(
            f"no summary row for threshold {threshold}; rows: {[r.threshold for r in self.summary]}"
        )

    def method_description(self) -> dict[str, Any]:
        """The method's key and settings, the tiers' reports and versions: what makes a report reproducible."""
        return {
            "key": self.method.key(),
            **self.method.to_dict(),
            "tiers_run": {name: report.to_dict() for name, report in self.tiers.items()},
            "versions": dict(self.versions),
            "identity_definition": "identical columns / alignment columns incl. gaps (MMseqs2 fident)",
            "coverage_definition": "aligned residues of the query / query length (MMseqs2 qcov)",
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``summary`` (the claims), ``pairs`` and ``method``."""
        return {
            "summary": {
                "queries": self.query_count,
                "references": self.reference_count,
                **self.claims.to_dict(),
            },
            "pairs": [_pair_dict(h) for h in self.hits],
            "method": self.method_description(),
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


def load_calibration(kind_or_method: str | Method = "protein") -> dict[str, Any]:
    """The shipped calibration of a method (by its key), or an overview of what was measured for a kind.

    For a :class:`Method`: its entry (``measured`` True) or ``{"measured": False, "note":
    "recall not measured for this method", "nearest_measured": ...}``. For a kind: the keys
    and labels of its measured methods.

    Examples:
        >>> load_calibration(Method(kind="protein"))["measured"]
        True
        >>> load_calibration("text")["measured"]
        False
    """
    if isinstance(kind_or_method, Method):
        entry = lookup(kind_or_method)
        if entry is not None:
            return entry | {"measured": True}
        out: dict[str, Any] = {"measured": False, "note": "recall not measured for this method"}
        nearest = nearest_measured(kind_or_method)
        if nearest:
            out["nearest_measured"] = nearest
        return out
    methods = {
        key: entry.get("label")
        for key, entry in calibration_table().get("methods", {}).items()
        if entry.get("method", {}).get("kind") == kind_or_method
    }
    if not methods:
        return {"kind": kind_or_method, "measured": False, "note": "no method of this kind was measured"}
    return {"kind": kind_or_method, "measured": True, "methods": methods}


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
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    import Bio

    from . import __version__

    try:  # from the metadata: importing datasketch for its version took 0.4 s of an ad-hoc check
        datasketch_version: str | None = dist_version("datasketch")
    except PackageNotFoundError:  # pragma: no cover
        datasketch_version = None
    return {
        "dedup": __version__,
        "biopython": Bio.__version__,
        "datasketch": datasketch_version,
        "numpy": np.__version__,
        "kernels": _kernels.compiled_backend(),  # the C port or numba: what sketched, aligned and counted
    }


def find_overlap(
    query: Records,
    reference: Records | ReferenceIndex,
    *,
    kind: str = "protein",
    identity: float = 0.9,
    coverage: float = 0.8,
    reference_coverage: float = 0.0,
    tiers: Iterable[str] = LIBRARY_TIERS,
    params: SketchParams | None = None,
    threshold: float | None = None,
    bands: int | None = None,
    rows: int | None = None,
    mmseqs_settings: _mmseqs.MmseqsSettings | None = None,
    trim: bool = False,
    method: Method | None = None,
    progress: Callable[[str], None] | None = None,
    threads: int | None = None,
    aligner: str | None = None,
) -> OverlapResult:
    """Find, for each query record, its best match in the reference set.

    Args:
        query: a sequence file path, or ``(identifier, sequence)`` pairs, or a mapping.
        reference: the same, for the reference (e.g. training) set; a file is read in
            chunks into a compact band table. Or a :class:`dedup.refindex.ReferenceIndex` built
            from it, or its directory (``python -m dedup index``): then the sketch and LSH
            settings are the index's (others are refused, saying how to rebuild) and the
            pairs are those of the file.
        kind: ``"protein"``, ``"dna"``, ``"rna"`` or ``"text"``.
        identity: minimal identity (identical columns / alignment length), 0..1.
        coverage: minimal coverage of the query by the alignment, 0..1.
        reference_coverage: minimal coverage of the reference, 0..1 (0: any).
        tiers: which of ``"exact"``, ``"minhash"``, ``"containment"``, ``"mmseqs"`` to run
            (``containment``: :mod:`dedup.containment`, for queries still without a hit).
        params: sketch parameters of the MinHash tier (default: :func:`default_sketch_params`).
        threshold: LSH Jaccard threshold; sets bands and rows unless both are given.
        bands: LSH bands (with ``rows``).
        rows: LSH rows per band (with ``bands``).
        mmseqs_settings: how to run the mmseqs tier.
        trim: let verification report the part of an alignment that passes when the
            whole does not (:class:`dedup.verify.Verifier`, "Trimming"); off by default.
        method: a whole :class:`dedup.method.Method` (e.g. the registry's
            :func:`dedup.method.index_method`); the other settings must then be left
            at their defaults.
        progress: called with short progress messages (the CLI prints them on stderr).
        threads: threads for sketching and alignment, and the cap of the MMseqs2
            tier's ``--threads`` (default: every CPU). The hits do not depend on it.
        aligner: alignment backend, ``"numba"`` or ``"biopython"`` (default: numba
            when installed); Biopython aligns protein without the composition-bias correction,
            a method of its own key (:mod:`dedup.alignment`).

    Returns:
        An :class:`OverlapResult`; its recall claims are those measured for exactly its
        method's key, or none ("recall not measured for this method").

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
    if isinstance(reference, (str, os.PathLike)) and is_index(reference):
        reference = ReferenceIndex.open(reference)
    prebuilt = reference if isinstance(reference, ReferenceIndex) else None
    if prebuilt is not None:
        if method is None:
            prebuilt.check_params(params, threshold, bands, rows)
            if prebuilt.params.kind != kind:
                raise IndexMismatchError(
                    f"{prebuilt.directory} indexes {prebuilt.params.kind} sequences, not {kind}"
                )
            params, bands, rows, threshold = prebuilt.params, prebuilt.bands, prebuilt.rows, None
        else:
            prebuilt.check_params(method.params, None, method.bands, method.rows)
    if method is None:
        method = _method_from_arguments(
            kind,
            identity,
            coverage,
            reference_coverage,
            tiers,
            params,
            threshold,
            bands,
            rows,
            mmseqs_settings,
            trim,
        )
    elif (kind, identity, coverage, reference_coverage, tuple(tiers), trim) != (
        "protein",
        0.9,
        0.8,
        0.0,
        LIBRARY_TIERS,
        False,
    ) or any(v is not None for v in (params, threshold, bands, rows, mmseqs_settings)):
        raise ValueError("give either method= or the separate settings (kind, identity, ...), not both")
    say = progress or (lambda _msg: None)

    queries = read_sequences(query, kind=method.kind)
    say(f"read {len(queries)} query records")
    threads = resolve_threads(threads)
    # Work per distinct sequence, fanned out to identifiers (a repeated identifier keeps its best hit).
    position: dict[str, int] = {}
    distinct: list[tuple[str, str]] = []
    for _qid, seq in queries:
        if seq not in position:
            position[seq] = len(distinct)
            distinct.append((str(len(distinct)), seq))
    index: MemoryIndex | ReferenceIndex
    if prebuilt is not None:
        index = prebuilt
        say(f"index {index.directory}: {index.n_records} reference records ({len(index)} distinct sequences)")
    else:
        source = iter_reference(reference, kind=method.kind)  # type: ignore[arg-type]
        # Built for these queries only (their band keys; the seed table of those the containment
        # tier searches): the same candidates, at a small part of the memory of a whole table.
        index = MemoryIndex.build(
            source,
            method,
            sketch="minhash" in method.tiers,
            say=say,
            threads=threads,
            queries=[s for _q, s in distinct if s],
        )
        say(f"read {index.records} reference records ({len(index)} distinct sequences)")
    best, reports = run_tiers(distinct, index, method, say=say, threads=threads, aligner=aligner)
    ran = effective_method(method, reports)
    per_id: dict[str, Hit] = {}
    for qid, seq in queries:
        hit = best.get(str(position[seq])) if seq else None
        if hit is None:
            continue
        hit = replace(hit, query=qid, reference=index.name(hit.reference))
        cur = per_id.get(qid)
        if cur is None or hit.sort_key() > cur.sort_key():
            per_id[qid] = hit
    hits_out = list(per_id.values())
    n_queries = len({qid for qid, _s in queries})
    claims = summarise(
        [(h.identity, h.tier, _is_identical(h)) for h in hits_out], n_queries, ran, keep_below=True
    )
    versions = _versions()
    versions["mmseqs"] = reports["mmseqs"].version
    result = OverlapResult(
        hits=hits_out,
        summary=claims.rows,
        claims=claims,
        query_count=n_queries,
        reference_count=index.n_records,
        method=ran,
        tiers=reports,
        versions=versions,
        seconds=time.perf_counter() - started,
    )
    say(f"done in {result.seconds:.1f} s: {len(hits_out)} of {n_queries} query records have a hit")
    return result


def _method_from_arguments(
    kind: str,
    identity: float,
    coverage: float,
    reference_coverage: float,
    tiers: Iterable[str],
    params: SketchParams | None,
    threshold: float | None,
    bands: int | None,
    rows: int | None,
    mmseqs_settings: _mmseqs.MmseqsSettings | None,
    trim: bool,
) -> Method:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    params = params or default_sketch_params(kind)
    if params.kind != kind:
        raise ValueError(f"params are for kind {params.kind!r} but kind is {kind!r}; pass matching params")
    if bands is None or rows is None:
        bands, rows = lsh_params(
            threshold if threshold is not None else default_lsh_threshold(identity), params.num_perm
        )
    return Method(
        kind=kind,
        identity=identity,
        coverage=coverage,
        reference_coverage=reference_coverage,
        tiers=tuple(tiers),
        sketch=params,
        bands=bands,
        rows=rows,
        trim=trim,
        mmseqs=mmseqs_settings or _mmseqs.MmseqsSettings(),
    )


def _is_identical(hit: Hit) -> bool:
    return hit.tier == "exact" or (
        hit.identity >= 1.0 and hit.query_coverage >= 1.0 and hit.reference_coverage >= 1.0
    )


def iter_reference(source: Records, *, kind: str) -> Iterable[tuple[str, str]]:
    """``(identifier, normalised sequence)`` of a reference, streamed from a file (validated as read).

    A file is read once, record by record; a parse error stops the check with the error.
    """
    if isinstance(source, (str, os.PathLike)):
        return ((r.identifier, r.sequence) for r in iter_records(source, kind=kind, allow_duplicate_ids=True))
    return read_sequences(source, kind=kind)
