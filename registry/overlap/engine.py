"""The registry's side of an overlap check: queries, references, storage and fan-out to records.

The algorithm is dedup's one pipeline (:func:`dedup.pipeline.run_tiers`: exact, minhash,
mmseqs); this module supplies its :class:`dedup.pipeline.CandidateIndex` over the database
(:class:`BandKeyIndex`: the persistent band-key table joined in SQL, signatures and residues
read from the store), and maps hits between distinct sequences back to records and record
sets. Claims come from dedup's one summariser (:func:`dedup.claims.summarise`), with the
recall measured for exactly the method's key.

Work is done per distinct sequence and fanned out to records at the end: a sequence that occurs
in many records or sets is aligned once.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dedup import mmseqs as dedup_mmseqs
from dedup.arrays import sorted_unique
from dedup.claims import DEFAULT_THRESHOLDS
from dedup.claims import summarise as claims_summarise
from dedup.jaccard_identity import ESTIMATED_TIER, apply_estimates, relation_for
from dedup.llsk import sketch_record_hash
from dedup.lsh import band_keys
from dedup.method import Method, index_method
from dedup.overlap import load_calibration
from dedup.parsing import iter_records, sequence_sha256
from dedup.pipeline import effective_method, run_tiers
from dedup.sketch import SignatureBatch

from ..mmseqs import deployment_mmseqs, mmseqs_available, mmseqs_path
from ..models import Record, RecordSet, SketchSettings
from ..services.digest import record_hash, version_digest
from . import index, storage

#: Identity thresholds reported by standing checks, highest first. Below 0.8 only the MMseqs2
#: tier sees reliably (k-mer MinHash recall falls like identity ** k).
THRESHOLDS = (0.95, 0.9, 0.8)
THRESHOLDS_WITH_MMSEQS = (0.95, 0.9, 0.8, 0.7, 0.5, 0.3)
TIER_ORDER = {"exact": 0, "minhash": 1, "containment": 2, "mmseqs": 3, ESTIMATED_TIER: 4}
EMPTY = np.uint32(0xFFFFFFFF)

Progress = Callable[..., None]


def registry_method(
    kind: str,
    *,
    identity: float,
    coverage: float = 0.8,
    tiers: tuple[str, ...] = ("exact", "minhash"),
    mmseqs_settings: dedup_mmseqs.MmseqsSettings | None = None,
) -> Method:
    """The registry's method: dedup's :func:`dedup.method.index_method` with this deployment's MMseqs2."""
    mm = mmseqs_settings or deployment_mmseqs()
    return index_method(kind, identity=identity, coverage=coverage, tiers=tiers, mmseqs=mm)


def standing_method(kind: str, *, mmseqs: bool | None = None) -> Method:
    """The method of standing checks and contamination reports (settings.LEAKLEDGER decides MMseqs2)."""
    from django.conf import settings as django_settings

    if mmseqs is None:
        mmseqs = (
            bool(django_settings.LEAKLEDGER.get("MMSEQS_ENABLED")) and kind != "text" and mmseqs_available()
        )
    tiers = ("exact", "minhash", "mmseqs") if mmseqs else ("exact", "minhash")
    return registry_method(kind, identity=min(THRESHOLDS_WITH_MMSEQS if mmseqs else THRESHOLDS), tiers=tiers)


def method_thresholds(method: Method) -> list[float]:
    """The identity thresholds a report of this method lists (exact row excluded), highest first."""
    return [t for t in DEFAULT_THRESHOLDS if t < 1.0 and t + 1e-9 >= method.identity]


@dataclass
class QuerySide:
    """The query records, with their distinct sequences (work is done per distinct sequence)."""

    label: str
    kind: str
    identifiers: list[str]
    record_ids: list[int | None]
    seq_index: np.ndarray  # record -> distinct sequence
    residues: list[str]  # distinct sequences
    shas: list[str]
    sequence_ids: list[int | None]  # registered Sequence id of each distinct sequence, if any
    digest: str
    record_set: RecordSet | None = None

    def __len__(self) -> int:
        return len(self.identifiers)


def _distinct(rows: list[tuple[str, str]]) -> tuple[np.ndarray, list[str], list[str]]:
    position: dict[str, int] = {}
    residues: list[str] = []
    shas: list[str] = []
    seq_index = np.empty(len(rows), dtype=np.int64)
    for i, (sha, seq) in enumerate(rows):
        u = position.get(sha)
        if u is None:
            u = position[sha] = len(residues)
            residues.append(seq)
            shas.append(sha)
        seq_index[i] = u
    return seq_index, residues, shas


def query_from_file(path: str | Path, *, kind: str, file_format: str | None = None) -> QuerySide:
    """Parse an unregistered file (validated whole, like a registration) into a query."""
    identifiers, hashes, rows = [], [], []
    for rec in iter_records(path, kind=kind, format=file_format):
        identifiers.append(rec.identifier)
        hashes.append(record_hash(rec.identifier, rec.description, rec.sequence))
        rows.append((sequence_sha256(rec.sequence), rec.sequence))
    seq_index, residues, shas = _distinct(rows)
    known = storage.sequence_ids_by_sha(shas)
    return QuerySide(
        label=str(path),
        kind=kind,
        identifiers=identifiers,
        record_ids=[None] * len(identifiers),
        seq_index=seq_index,
        residues=residues,
        shas=shas,
        sequence_ids=[known.get(s) for s in shas],
        digest=version_digest(hashes),
    )


def record_set_records(record_set: RecordSet):
    records = Record.objects.all()
    if record_set.part_id is None:
        return records.filter(version_id=record_set.version_id)
    return records.filter(splitmembership__part_id=record_set.part_id)


def record_set_digest(record_set: RecordSet) -> str:
    """The version digest for a whole version; for a split part, the same recipe over its records."""
    if record_set.part_id is None:
        return record_set.version.digest
    if record_set.version.sketch_only:
        rows = record_set_records(record_set).values_list(
            "identifier", "sequence__sha256", "sequence__length"
        )
        return version_digest([sketch_record_hash(i, s, n) for i, s, n in rows.iterator(chunk_size=5000)])
    rows = record_set_records(record_set).values_list("identifier", "description", "sequence__residues")
    return version_digest([record_hash(i, d, s) for i, d, s in rows.iterator(chunk_size=5000)])


def query_from_record_set(record_set: RecordSet) -> QuerySide:
    if record_set.version.sketch_only:
        from ..errors import RegistryError

        raise RegistryError(
            f"{record_set.ref} is sketch-only (no residues): it can be checked against, as a training set, "
            "but not used as the query of a check."
        )
    rows = list(
        record_set_records(record_set)
        .order_by("position")
        .values_list("id", "identifier", "sequence_id", "sequence__sha256", "sequence__residues")
    )
    seq_index, residues, shas = _distinct([(r[3], r[4]) for r in rows])
    seq_ids: list[int | None] = [None] * len(residues)
    for r, u in zip(rows, seq_index.tolist(), strict=False):
        seq_ids[u] = r[2]
    return QuerySide(
        label=record_set.ref,
        kind=record_set.version.dataset.kind,
        identifiers=[r[1] for r in rows],
        record_ids=[r[0] for r in rows],
        seq_index=seq_index,
        residues=residues,
        shas=shas,
        sequence_ids=seq_ids,
        digest=record_set_digest(record_set),
        record_set=record_set,
    )


@dataclass
class RefRecord:
    record_set_id: int
    record_id: int
    identifier: str
    position: int


def reference_records(references: list[RecordSet], sequence_ids: list[int]) -> dict[int, list[RefRecord]]:
    """Records of the reference sets holding each sequence (first by position), by sequence id."""
    out: dict[int, list[RefRecord]] = defaultdict(list)
    whole = {rs.version_id: rs.pk for rs in references if rs.part_id is None}
    parts = {rs.part_id: rs.pk for rs in references if rs.part_id is not None}
    for sid, owner, is_part, rid, ident, pos in storage.reference_rows(
        list(whole), list(parts), sorted(set(sequence_ids))
    ):
        out[sid].append(RefRecord(parts[owner] if is_part else whole[owner], rid, ident, pos))
    for refs in out.values():
        refs.sort(key=lambda r: (r.record_set_id, r.position))
    return out


@dataclass
class SeqHit:
    """A verified hit between a distinct query sequence and a reference sequence."""

    identity: float
    query_coverage: float | None  # None: not measured (estimated from Jaccard)
    reference_coverage: float | None
    jaccard: float | None
    tier: str
    interval: list[float] | None = None  # estimated hits: [q05, median, q95] of the identity

    def rank(self) -> tuple:
        return (
            self.identity,
            self.query_coverage or 0.0,
            self.reference_coverage or 0.0,
            -TIER_ORDER[self.tier],
        )

    def identical(self) -> bool:
        return is_identical(self.identity, self.query_coverage, self.reference_coverage, self.tier)


def is_identical(
    identity: float, query_coverage: float | None, reference_coverage: float | None, tier: str
) -> bool:
    """Identical sequences: found by the exact tier, or aligned end to end without a difference."""
    if tier == "exact":
        return True
    if query_coverage is None or reference_coverage is None:  # not aligned
        return False
    return identity >= 1.0 and query_coverage >= 1.0 and reference_coverage >= 1.0


@dataclass
class PairHit:
    query_index: int
    reference_set_id: int
    reference: RefRecord
    hit: SeqHit


@dataclass
class OverlapResult:
    query: QuerySide
    references: list[RecordSet]
    method: Method
    best: dict[tuple[int, int], PairHit]  # (query record index, reference set id) -> best hit
    tiers_run: dict[str, dict]
    timings: dict[str, float] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)

    def best_per_record(self) -> dict[int, PairHit]:
        """Over all reference sets: the best hit of each query record that has one."""
        out: dict[int, PairHit] = {}
        for (qi, _), ph in self.best.items():
            cur = out.get(qi)
            if cur is None or ph.hit.rank() > cur.hit.rank():
                out[qi] = ph
        return out

    def summary(self) -> dict[str, Any]:
        best = self.best_per_record().values()
        summary = summarise(
            [(ph.hit.identity, ph.hit.tier, ph.hit.identical()) for ph in best], len(self.query), self.method
        )
        sketch_only = [rs.ref for rs in self.references if rs.version.sketch_only]
        if sketch_only:
            with_estimates(
                summary,
                [ph.hit.interval for ph in best if ph.hit.tier == ESTIMATED_TIER],
                self.method,
                sketch_only,
            )
        return summary

    def tiers_run_names(self) -> list[str]:
        return [name for name, info in self.tiers_run.items() if info.get("ran")]

    def pairs(self, set_refs: dict[int, str]) -> list[dict[str, Any]]:
        rows = []
        for (qi, sid), ph in sorted(self.best.items(), key=lambda kv: (-kv[1].hit.identity, kv[0])):
            rows.append(
                {
                    "query": self.query.identifiers[qi],
                    "reference_set": set_refs[sid],
                    "reference": ph.reference.identifier,
                    "identity": round(ph.hit.identity, 4),
                    "coverage": None if ph.hit.query_coverage is None else round(ph.hit.query_coverage, 4),
                    "reference_coverage": None
                    if ph.hit.reference_coverage is None
                    else round(ph.hit.reference_coverage, 4),
                    "jaccard": None if ph.hit.jaccard is None else round(ph.hit.jaccard, 4),
                    "tier": ph.hit.tier,
                    **({"identity_interval": ph.hit.interval} if ph.hit.tier == ESTIMATED_TIER else {}),
                }
            )
        return rows


def with_estimates(
    summary: dict, intervals: list[list[float] | None], method: Method, sketch_only: list[str]
) -> dict:
    """Mark a summary as made (partly) against sketch-only references, with the estimated hits' intervals."""
    estimates = [(lo, mid, hi) for lo, mid, hi in (i for i in intervals if i is not None)]
    return apply_estimates(summary, estimates, relation_for(method.params), references=sketch_only)


def estimated_interval(method: Method, jaccard: float | None, query_length: int, reference_length: int):
    """``[q05, median, q95]`` of an estimated hit (dedup/jaccard_identity.json), or ``None``."""
    relation = relation_for(method.params)
    if relation is None or jaccard is None:
        return None
    found = relation.interval(jaccard, query_length, reference_length)
    return None if found is None else list(found)


def summarise(best: list[tuple[float, str, bool]], n_records: int, method: Method) -> dict:
    """The claims per threshold (dedup's one summariser), as stored in a report's ``summary``.

    ``best`` holds ``(identity, tier, identical)`` of each query record's best hit; ``method``
    is the method that ran (its tiers narrowed to those that ran).

    Examples:
        >>> from dedup.method import Method
        >>> m = Method(kind="text", tiers=("exact",), identity=0.9)
        >>> s = summarise([(1.0, "exact", True), (1.0, "minhash", False), (0.93, "minhash", False)], 6, m)
        >>> s["thresholds"][0]["records"], s["thresholds"][1]["records"], s["thresholds"][1]["fraction"]
        (1, 3, 0.5)
    """
    return claims_summarise(best, n_records, method, keep_below=False).to_dict()


def tool_versions(mmseqs_path: str = "mmseqs") -> dict[str, str | None]:
    import Bio
    import datasketch

    import dedup

    return {
        "dedup": getattr(dedup, "__version__", None),
        "biopython": Bio.__version__,
        "datasketch": getattr(datasketch, "__version__", None),
        "numpy": np.__version__,
        "mmseqs": dedup_mmseqs.version(mmseqs_path) if dedup_mmseqs.available(mmseqs_path) else None,
    }


def method_description(method: Method, settings: SketchSettings, tiers_run: dict[str, dict]) -> dict:

    return {
        "key": method.key(),
        **method.to_dict(),
        "thresholds": method_thresholds(method),
        "tiers_run": tiers_run,
        "sketch": {
            "settings": settings.key,
            "params": index.params_of(settings).to_dict(),
            "bands": settings.bands,
            "rows": settings.rows,
            "lsh_threshold": settings.threshold,
        },
        "tool_versions": tool_versions(mmseqs_path()),
        "calibration": load_calibration(method),
        "notes": [
            "identity = identical columns / alignment length (MMseqs2 fident); coverage = of the query record",
            "a query whose sequence has an exact hit is not searched by the other tiers",
            "the minhash tier verifies up to max_candidates candidates per query sequence in order of "
            "estimated Jaccard and stops at the first at or above stop_at",
            "recall is the calibration measured for exactly this method key (dedup/calibration.json, "
            "python benchmarks/calibrate.py), or 'not measured'",
        ],
    }


class BandKeyIndex:
    """dedup's :class:`~dedup.pipeline.CandidateIndex` over the registry: keys are sequence ids.

    Candidates come from one join of the query band keys with the persistent band-key table;
    those whose sequence is in none of the reference sets are dropped.
    """

    def __init__(
        self, settings: SketchSettings, references: list[RecordSet], *, signatures_only: bool = False
    ) -> None:
        self.settings = settings
        self.references = references
        # Sketch-only references: signatures and sha256, no residues (dedup.pipeline runs no alignment).
        self.signatures_only = signatures_only
        self.ref_map: dict[int, list[RefRecord]] = {}
        self._absent: set[int] = set()
        self.seconds: dict[str, float] = defaultdict(float)

    def _in_references(self, sequence_ids: Iterable[int]) -> set[int]:
        todo = sorted({s for s in sequence_ids if s not in self.ref_map and s not in self._absent})
        if todo:
            found = reference_records(self.references, todo)
            self.ref_map.update(found)
            self._absent.update(s for s in todo if s not in found)
        return {s for s in sequence_ids if s in self.ref_map}

    def exact(self, shas: Sequence[str]) -> dict[str, Hashable]:
        ids = storage.sequence_ids_by_sha(list(shas))
        inside = self._in_references(ids.values())
        return {sha: sid for sha, sid in ids.items() if sid in inside}

    def candidates(self, signatures: SignatureBatch) -> tuple[np.ndarray, list[Hashable], np.ndarray]:
        t0 = time.perf_counter()
        sigs = signatures.check(index.params_of(self.settings))
        live = np.flatnonzero(~(sigs == EMPTY).all(axis=1))
        none = (np.empty(0, dtype=np.int64), [], np.empty(0))
        if not len(live):
            return none
        keys = band_keys(sigs[live], self.settings.bands, self.settings.rows)
        cands = storage.candidate_pairs(self.settings.pk, keys)  # (row in live, sequence id)
        self.seconds["candidates_sql"] += time.perf_counter() - t0
        if not len(cands):
            return none
        inside = self._in_references(sorted_unique(cands[:, 1]).tolist())
        cands = cands[np.isin(cands[:, 1], np.fromiter(inside, dtype=np.int64, count=len(inside)))]
        if not len(cands):
            return none
        rsig = storage.signatures_read(
            self.settings.pk, sorted_unique(cands[:, 1]).tolist(), self.settings.num_perm
        )
        ref_sigs = np.stack([rsig[s] for s in cands[:, 1].tolist()])
        rows = live[cands[:, 0]]
        jac = (sigs[rows] == ref_sigs).mean(axis=1)
        self.seconds["candidates"] += time.perf_counter() - t0
        return rows.astype(np.int64), [int(s) for s in cands[:, 1].tolist()], jac

    def residues(self, keys: Sequence[Hashable]) -> dict[Hashable, str]:
        return dict(storage.residues_read([int(k) for k in keys]))  # type: ignore[call-overload]

    def lengths(self, keys: Sequence[Hashable]) -> dict[Hashable, int]:
        return dict(storage.lengths_read([int(k) for k in keys]))  # type: ignore[call-overload]

    def sequences(self) -> Iterable[tuple[Hashable, str]]:
        ids = _reference_sequence_ids(self.references)
        self._in_references(ids)
        return storage.residues_read(ids).items()


def overlap_run(
    query: QuerySide,
    references: list[RecordSet],
    method: Method,
    *,
    on_progress: Progress | None = None,
) -> OverlapResult:
    """Run dedup's pipeline for ``query`` against ``references``; best hit per (query record, set)."""
    from django.conf import settings as django_settings

    say = on_progress or (lambda *a, **k: None)
    settings = index.sketch_settings_get(method.kind)
    if "minhash" in method.tiers and (settings.bands, settings.rows, settings.params_key) != (
        method.bands,
        method.rows,
        method.params.key(),
    ):
        raise ValueError(
            f"the index holds {settings.key}; the method asks for {method.params.key()} with "
            f"{method.bands} x {method.rows} bands: use registry_method()"
        )
    timings: dict[str, float] = {}
    # Every reference set must be in the index before the minhash tier can see it.
    if "minhash" in method.tiers:
        t0 = time.perf_counter()
        index.band_keys_ensure(settings)
        for rs in references:
            index.index_record_set(rs)
        timings["index_references"] = time.perf_counter() - t0
    n_u = len(query.residues)

    def progress(message: str) -> None:
        say(message.split(":")[0], 0, n_u, message=message)

    # Sketch-only references (no residues) run apart: their MinHash candidates are estimated from
    # Jaccard, not aligned, and the tiers that need residues cannot run on them.
    groups = [
        (refs, signatures_only)
        for refs, signatures_only in (
            ([rs for rs in references if not rs.version.sketch_only], False),
            ([rs for rs in references if rs.version.sketch_only], True),
        )
        if refs
    ] or [(references, False)]
    ran = method
    tiers_run: dict[str, dict] = {}
    counters: dict[str, int] = {"query_sequences": n_u}
    by_u: dict[int, list[tuple[int, SeqHit, RefRecord]]] = defaultdict(list)
    for gi, (refs, signatures_only) in enumerate(groups):
        store = BandKeyIndex(settings, refs, signatures_only=signatures_only)
        best, reports = run_tiers(
            [(str(u), query.residues[u]) for u in range(n_u)],
            store,
            method,
            say=progress,
            threads=django_settings.LEAKLEDGER["THREADS"],
        )
        prefix = "sketch_only_" if signatures_only and len(groups) > 1 else ""
        if gi == 0:
            ran = effective_method(method, reports)
        for name, report in reports.items():
            if report.ran:
                timings[f"{prefix}{name}"] = report.seconds
        timings.update({f"{prefix}minhash_{k}": v for k, v in store.seconds.items()})
        counters.update(
            {
                f"{prefix}{name}_{k}": v
                for name, report in reports.items()
                for k, v in report.stats.items()
                if isinstance(v, int)
            }
        )
        group_tiers: dict[str, dict] = {}
        for name, report in reports.items():
            if report.ran:
                group_tiers[name] = {"ran": True, "settings": report.settings, "version": report.version}
            elif name in method.tiers:
                group_tiers[name] = {"ran": False, "reason": report.reason}
        if prefix:
            tiers_run["sketch_only_references"] = {
                "references": [rs.ref for rs in refs],
                "tiers": group_tiers,
            }
        else:
            tiers_run.update(group_tiers)
        # Fan out: the best sequence hit of each distinct query sequence, to every reference record set
        # holding that sequence, then to the query records.
        estimated_refs = [int(h.reference) for h in best.values() if h.tier == ESTIMATED_TIER]
        ref_lengths = store.lengths(estimated_refs) if estimated_refs else {}
        for qkey, hit in best.items():
            estimated = hit.tier == ESTIMATED_TIER
            seq_hit = SeqHit(
                hit.identity,
                None if estimated else hit.query_coverage,
                None if estimated else hit.reference_coverage,
                hit.jaccard,
                hit.tier,
                estimated_interval(
                    method,
                    hit.jaccard,
                    len(query.residues[int(qkey)]),
                    int(ref_lengths.get(int(hit.reference), 0)),
                )
                if estimated
                else None,
            )
            first: dict[int, RefRecord] = {}
            for ref in store.ref_map.get(int(hit.reference), ()):
                first.setdefault(ref.record_set_id, ref)
            for set_id, ref in first.items():
                by_u[int(qkey)].append((set_id, seq_hit, ref))
    pairs: dict[tuple[int, int], PairHit] = {}
    for qi, u in enumerate(query.seq_index.tolist()):
        for set_id, hit, ref in by_u.get(u, ()):
            pairs[(qi, set_id)] = PairHit(qi, set_id, ref, hit)
    return OverlapResult(query, references, ran, pairs, tiers_run, timings, counters)


def _reference_sequence_ids(references: list[RecordSet]) -> list[int]:
    ids: set[int] = set()
    for rs in references:
        ids.update(record_set_records(rs).values_list("sequence_id", flat=True))
    return sorted(ids)
