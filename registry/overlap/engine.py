"""The overlap computation: a query (a record set or an unregistered file) against reference record sets.

Tiers, cheapest first, each saying what it found:

1. ``exact``: the query's sequences looked up by sha256 and joined to the reference records
   through ``Record.sequence`` (an index lookup per distinct sequence, no signatures needed).
2. ``minhash``: the remaining queries' band keys go into a temporary table and one join on the
   persistent band-key index gives candidate sequences; candidates outside the reference sets
   are dropped; each candidate's Jaccard is estimated from the stored signatures, and the best
   ``max_candidates`` per query (by Jaccard) are verified by alignment
   (``dedup.verify.Verifier``), stopping at the first one at or above the highest threshold.
3. ``mmseqs``: the remaining queries searched against the reference sets' sequences with
   ``mmseqs easy-search`` when requested and installed; otherwise reported as not run.

Work is done per distinct sequence and fanned out to records at the end: a sequence that occurs
in many records or sets is aligned once.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dedup import mmseqs as dedup_mmseqs
from dedup.lsh import band_keys
from dedup.overlap import load_calibration
from dedup.parsing import iter_records, sequence_sha256
from dedup.sketch import sketch_batch
from dedup.verify import TIERS, Verifier

from ..models import Record, RecordSet, SketchSettings
from ..services.digest import record_hash, version_digest
from . import index, storage

#: Identity thresholds reported by standing checks, highest first. Below 0.8 only the MMseqs2
#: tier sees reliably (k-mer MinHash recall falls like identity ** k).
THRESHOLDS = (0.95, 0.9, 0.8)
THRESHOLDS_WITH_MMSEQS = (0.95, 0.9, 0.8, 0.7, 0.5, 0.3)
TIER_ORDER = {"exact": 0, "minhash": 1, "mmseqs": 2}
EMPTY = np.uint32(0xFFFFFFFF)

Progress = Callable[..., None]


@dataclass(frozen=True)
class Method:
    """Everything that decides a verdict; its :meth:`key` identifies stored reports.

    Examples:
        >>> m = Method(kind="protein", tiers=("exact", "minhash"), thresholds=(0.95, 0.9), coverage=0.8,
        ...            settings_key="protein:k5:p128:s1:affine32:ll-shingle-v1:b37r3")
        >>> len(m.key()), m.identity
        (64, 0.9)
    """

    kind: str
    tiers: tuple[str, ...]
    thresholds: tuple[float, ...]
    coverage: float
    settings_key: str
    min_jaccard: float = 0.05
    max_candidates: int = 200

    def __post_init__(self) -> None:
        unknown = [t for t in self.tiers if t not in TIERS]
        if unknown or not self.tiers:
            raise ValueError(
                f"tiers must be a non-empty subset of {', '.join(TIERS)}, got {list(self.tiers)}"
            )
        for value in (*self.thresholds, self.coverage):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"identity and coverage are fractions from 0 to 1 (e.g. 0.9), got {value!r}")
        if not self.thresholds:
            raise ValueError("give at least one identity threshold")

    @property
    def identity(self) -> float:
        """The lowest threshold: pairs below it are not kept."""
        return min(self.thresholds)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["tiers"] = list(self.tiers)
        d["thresholds"] = sorted(self.thresholds, reverse=True)
        return d

    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()


def standing_method(kind: str, *, mmseqs: bool | None = None) -> Method:
    """The method of standing checks and contamination reports (settings.LEAKLEDGER decides MMseqs2)."""
    from django.conf import settings as django_settings

    if mmseqs is None:
        conf = django_settings.LEAKLEDGER
        mmseqs = (
            bool(conf.get("MMSEQS_ENABLED"))
            and kind != "text"
            and dedup_mmseqs.available(conf.get("MMSEQS_PATH", "mmseqs"))
        )
    tiers = ("exact", "minhash", "mmseqs") if mmseqs else ("exact", "minhash")
    return Method(
        kind=kind,
        tiers=tiers,
        thresholds=THRESHOLDS_WITH_MMSEQS if mmseqs else THRESHOLDS,
        coverage=0.8,
        settings_key=index.sketch_settings_key(kind),
    )


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
    rows = record_set_records(record_set).values_list("identifier", "description", "sequence__residues")
    return version_digest([record_hash(i, d, s) for i, d, s in rows.iterator(chunk_size=5000)])


def query_from_record_set(record_set: RecordSet) -> QuerySide:
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
    query_coverage: float
    reference_coverage: float
    jaccard: float | None
    tier: str

    def rank(self) -> tuple:
        return (self.identity, self.query_coverage, self.reference_coverage, -TIER_ORDER[self.tier])

    def identical(self) -> bool:
        return is_identical(self.identity, self.query_coverage, self.reference_coverage, self.tier)


def is_identical(identity: float, query_coverage: float, reference_coverage: float, tier: str) -> bool:
    """Identical sequences: found by the exact tier, or aligned end to end without a difference."""
    return tier == "exact" or (identity >= 1.0 and query_coverage >= 1.0 and reference_coverage >= 1.0)


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
        return summarise(
            [(ph.hit.identity, ph.hit.tier, ph.hit.identical()) for ph in self.best_per_record().values()],
            len(self.query),
            self.method,
            list(self.tiers_run_names()),
        )

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
                    "coverage": round(ph.hit.query_coverage, 4),
                    "reference_coverage": round(ph.hit.reference_coverage, 4),
                    "jaccard": None if ph.hit.jaccard is None else round(ph.hit.jaccard, 4),
                    "tier": ph.hit.tier,
                }
            )
        return rows


def summarise(
    best: list[tuple[float, str, bool]], n_records: int, method: Method, tiers_run: list[str]
) -> dict:
    """Per threshold: query records whose best hit reaches it, the fraction, by tier, measured recall.

    ``best`` holds ``(identity, tier, identical)`` of each query record's best hit; the ``exact``
    row counts identical sequences only (a query inside a longer reference has identity 1 but is
    not identical).

    Examples:
        >>> m = Method(kind="protein", tiers=("exact",), thresholds=(0.9,), coverage=0.8, settings_key="s")
        >>> s = summarise([(1.0, "exact", True), (1.0, "minhash", False), (0.93, "minhash", False)], 6, m, ["exact"])
        >>> s["thresholds"][0]["records"], s["thresholds"][1]["records"], s["thresholds"][1]["fraction"]
        (1, 3, 0.5)
    """
    calibration = load_calibration(method.kind)
    recall_table = calibration.get("recall", {}) if calibration.get("measured") else {}
    combo = "+".join(tiers_run)
    rows = []
    for t in (1.0, *sorted(method.thresholds, reverse=True)):
        if t >= 1.0:
            selected = [tier for _, tier, identical in best if identical]
        else:
            selected = [tier for ident, tier, _ in best if ident + 1e-9 >= t]
        key = "exact" if t >= 1.0 else f"{t:.2f}"
        rows.append(
            {
                "identity": t,
                "label": "exact" if t >= 1.0 else f">={round(t * 100)}%",
                "records": len(selected),
                "fraction": round(len(selected) / n_records, 6) if n_records else 0.0,
                "by_tier": {name: selected.count(name) for name in tiers_run},
                "recall": recall_table.get(combo, {}).get(key),
            }
        )
    return {"query_records": n_records, "coverage": method.coverage, "thresholds": rows}


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
    from django.conf import settings as django_settings

    return {
        **method.to_dict(),
        "key": method.key(),
        "tiers_run": tiers_run,
        "sketch": {
            "settings": settings.key,
            "params": index.params_of(settings).to_dict(),
            "bands": settings.bands,
            "rows": settings.rows,
            "lsh_threshold": settings.threshold,
        },
        "tool_versions": tool_versions(django_settings.LEAKLEDGER.get("MMSEQS_PATH", "mmseqs")),
        "calibration": load_calibration(method.kind),
        "notes": [
            "identity = identical columns / alignment length (MMseqs2 fident); coverage = of the query record",
            "a query whose sequence has an exact hit is not searched by the other tiers",
            "the minhash tier verifies up to max_candidates candidates per query sequence in order of "
            "estimated Jaccard and stops at the first at or above the highest threshold",
            f"the calibration table was measured with dedup.find_overlap's banding; this index uses "
            f"{settings.bands} bands x {settings.rows} rows (LSH threshold {settings.threshold}), which on the "
            "calibration's main pair finds the same pairs at >= 95% and >= 90% identity "
            "(benchmarks/README.md, 'Overlap service')",
        ],
    }


def _query_signatures(query: QuerySide, todo: np.ndarray, settings: SketchSettings) -> np.ndarray:
    """Signatures of the distinct query sequences ``todo``: stored ones read, the others sketched now."""
    out = np.empty((len(todo), settings.num_perm), dtype=np.uint32)
    known = [query.sequence_ids[u] for u in todo.tolist()]
    stored = storage.signatures_read(settings.pk, [s for s in known if s is not None], settings.num_perm)
    missing = []
    for i, sid in enumerate(known):
        sig = stored.get(sid) if sid is not None else None
        if sig is None:
            missing.append(i)
        else:
            out[i] = sig
    if missing:
        from django.conf import settings as django_settings

        out[missing] = sketch_batch(
            [query.residues[todo[i]] for i in missing],
            index.params_of(settings),
            threads=django_settings.LEAKLEDGER["THREADS"],
        )
    return out


def overlap_run(
    query: QuerySide,
    references: list[RecordSet],
    method: Method,
    *,
    on_progress: Progress | None = None,
    mmseqs_settings: dedup_mmseqs.MmseqsSettings | None = None,
) -> OverlapResult:
    """Run the method's tiers for ``query`` against ``references``; best hit per (query record, set)."""
    from django.conf import settings as django_settings

    say = on_progress or (lambda *a, **k: None)
    settings = index.sketch_settings_get(method.kind)
    timings: dict[str, float] = {}
    counters: dict[str, int] = {}
    tiers_run: dict[str, dict] = {}
    n_u = len(query.residues)
    seq_hits: dict[tuple[int, int], SeqHit] = {}  # (distinct query seq, reference sequence id)
    ref_map: dict[int, list[RefRecord]] = {}
    settled = np.zeros(n_u, dtype=bool)  # has an exact hit, or one at the highest threshold
    top = max(method.thresholds)

    def keep(u: int, sid: int, hit: SeqHit) -> None:
        cur = seq_hits.get((u, sid))
        if cur is None or hit.rank() > cur.rank():
            seq_hits[(u, sid)] = hit

    # Every reference set must be in the index before the minhash tier can see it.
    if "minhash" in method.tiers:
        t0 = time.perf_counter()
        index.band_keys_ensure(settings)
        for rs in references:
            index.index_record_set(rs)
        timings["index_references"] = time.perf_counter() - t0

    if "exact" in method.tiers:
        t0 = time.perf_counter()
        by_seq: dict[int, list[int]] = defaultdict(list)
        for u, sid in enumerate(query.sequence_ids):
            if sid is not None:
                by_seq[sid].append(u)
        found = reference_records(references, list(by_seq))
        ref_map.update(found)
        for sid in found:
            for u in by_seq[sid]:
                keep(u, sid, SeqHit(1.0, 1.0, 1.0, 1.0, "exact"))
                settled[u] = True
        timings["exact"] = time.perf_counter() - t0
        counters["exact_sequences"] = int(settled.sum())
        tiers_run["exact"] = {"ran": True}
        say("exact", int(settled.sum()), n_u)

    if "minhash" in method.tiers:
        t0 = time.perf_counter()
        todo = np.flatnonzero(~settled)
        say("minhash", 0, len(todo))
        sigs = _query_signatures(query, todo, settings)
        nonempty = ~(sigs == EMPTY).all(axis=1)
        todo, sigs = todo[nonempty], sigs[nonempty]
        keys = band_keys(sigs, settings.bands, settings.rows)
        timings["minhash_sketch"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        cands = storage.candidate_pairs(settings.pk, keys)  # (row in todo, sequence id)
        timings["minhash_candidates_sql"] = time.perf_counter() - t1
        counters["candidates_registry"] = len(cands)
        t1 = time.perf_counter()
        own = np.array([query.sequence_ids[u] if query.sequence_ids[u] is not None else -1 for u in todo])
        if len(cands) and "exact" in method.tiers:
            cands = cands[cands[:, 1] != own[cands[:, 0]]]  # the same sequence: the exact tier's business
        cand_seqs = np.unique(cands[:, 1]).tolist() if len(cands) else []
        found = reference_records(references, [s for s in cand_seqs if s not in ref_map])
        ref_map.update(found)
        if len(cands):
            in_refs = np.isin(cands[:, 1], np.fromiter(ref_map.keys(), dtype=np.int64, count=len(ref_map)))
            cands = cands[in_refs]
        counters["candidates_in_references"] = len(cands)
        rsig = storage.signatures_read(settings.pk, np.unique(cands[:, 1]).tolist(), settings.num_perm)
        if len(cands):
            ref_sigs = np.stack([rsig[s] for s in cands[:, 1].tolist()])
            jac = (sigs[cands[:, 0]] == ref_sigs).mean(axis=1)
        else:
            jac = np.empty(0)
        keep_mask = jac >= method.min_jaccard
        cands, jac = cands[keep_mask], jac[keep_mask]
        order = np.lexsort((-jac, cands[:, 0])) if len(cands) else np.empty(0, dtype=np.int64)
        cands, jac = cands[order], jac[order]
        residues = storage.residues_read(np.unique(cands[:, 1]).tolist())
        timings["minhash_fetch"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        verifier = Verifier(kind=method.kind, identity=method.identity, coverage=method.coverage)
        per_query = 0
        previous = -1
        for (row, sid), j in zip(cands.tolist(), jac.tolist(), strict=False):
            u = int(todo[row])
            if row != previous:
                previous, per_query = row, 0
                verifier.clear_cache()
            if settled[u] or per_query >= method.max_candidates:
                continue
            per_query += 1
            hit = verifier.verify(str(u), query.residues[u], str(sid), residues[sid], jaccard=j)
            if hit is not None:
                keep(u, sid, SeqHit(hit.identity, hit.query_coverage, hit.reference_coverage, j, "minhash"))
                if hit.identity + 1e-9 >= top:
                    settled[u] = True
        timings["minhash_verify"] = time.perf_counter() - t1
        counters.update({f"verify_{k}": v for k, v in verifier.stats.to_dict().items() if isinstance(v, int)})
        tiers_run["minhash"] = {"ran": True, "settings": settings.key}
        say("minhash", len(cands), len(cands))

    if "mmseqs" in method.tiers:
        conf = django_settings.LEAKLEDGER
        mm = dedup_mmseqs.capped(
            mmseqs_settings or dedup_mmseqs.MmseqsSettings(executable=conf.get("MMSEQS_PATH", "mmseqs")),
            conf["THREADS"],
        )
        reason = dedup_mmseqs.unavailable_reason(mm.executable)
        if method.kind == "text":
            reason = "MMseqs2 does not search text"
        if reason:
            tiers_run["mmseqs"] = {"ran": False, "reason": reason}
        else:
            t0 = time.perf_counter()
            todo = np.flatnonzero(~settled).tolist()
            ref_ids = _reference_sequence_ids(references)
            ref_res = storage.residues_read(ref_ids)
            say("mmseqs", 0, len(todo))
            hits = dedup_mmseqs.mmseqs_search(
                [(str(u), query.residues[u]) for u in todo],
                [(str(s), r) for s, r in ref_res.items()],
                kind=method.kind,
                identity=method.identity,
                coverage=method.coverage,
                settings=mm,
                on_progress=lambda stage: say(f"mmseqs {stage}", 0, len(todo)),
            )
            found = reference_records(
                references, [int(h.reference) for h in hits if int(h.reference) not in ref_map]
            )
            ref_map.update(found)
            for h in hits:
                keep(
                    int(h.query),
                    int(h.reference),
                    SeqHit(h.identity, h.query_coverage, h.reference_coverage, None, "mmseqs"),
                )
            timings["mmseqs"] = time.perf_counter() - t0
            tiers_run["mmseqs"] = {"ran": True, "settings": mm.to_dict()}

    # Fan out: best per (distinct query sequence, reference set), then to records.
    best_u: dict[tuple[int, int], tuple[SeqHit, RefRecord]] = {}
    for (u, sid), hit in seq_hits.items():
        for ref in ref_map.get(sid, ()):
            cur = best_u.get((u, ref.record_set_id))
            if cur is None or hit.rank() > cur[0].rank():
                best_u[(u, ref.record_set_id)] = (hit, ref)
    by_u: dict[int, list[tuple[int, SeqHit, RefRecord]]] = defaultdict(list)
    for (u, set_id), (hit, ref) in best_u.items():
        by_u[u].append((set_id, hit, ref))
    best: dict[tuple[int, int], PairHit] = {}
    for qi, u in enumerate(query.seq_index.tolist()):
        for set_id, hit, ref in by_u.get(u, ()):
            best[(qi, set_id)] = PairHit(qi, set_id, ref, hit)
    return OverlapResult(query, references, method, best, tiers_run, timings, counters)


def _reference_sequence_ids(references: list[RecordSet]) -> list[int]:
    ids: set[int] = set()
    for rs in references:
        ids.update(record_set_records(rs).values_list("sequence_id", flat=True))
    return sorted(ids)
