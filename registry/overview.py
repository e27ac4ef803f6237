"""Joined reads across the registry for pages that show many objects at once: search, counts, the
overlap matrix, leaderboards, a version's standing overlap, a model's lineage graph.

Everything here reads stored reports; nothing runs detection. Results are plain data (dicts and
small dataclasses) so that the web views stay thin and the numbers are the reports' own: a page
shows ``summary["thresholds"][i]["fraction"]`` exactly as the API returns it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from .models import (
    ContaminationReport,
    Dataset,
    DatasetVersion,
    Derivation,
    Evaluation,
    Job,
    MLModel,
    ModelTraining,
    ModelVersion,
    OverlapHit,
    OverlapReport,
    Record,
    RecordSet,
    Split,
)
from .overlap import engine
from .overlap.selectors import test_sets, training_sets
from .selectors import model_version_chain

DEFAULT_THRESHOLD = 0.9
RECORD_SET_RELATED = ("version__dataset", "part__split")
LIVE = (Job.State.PENDING, Job.State.RUNNING)


def threshold_label(identity: float) -> str:
    """``exact`` for 1.0, ``>=90%`` for 0.9: the labels the reports' summaries use."""
    return "exact" if identity >= 1.0 else f">={round(identity * 100)}%"


def summary_row(summary: dict | None, identity: float) -> dict | None:
    """The row of a report summary for ``identity`` (a fraction), or ``None`` when it was not computed."""
    for row in (summary or {}).get("thresholds", []):
        if abs(float(row.get("identity", -1)) - identity) < 1e-9:
            return row
    return None


def registry_generation() -> tuple:
    """Changes whenever anything a page shows may have changed: a version, record set, training
    declaration, evaluation or report is added, or a job is created or finishes. One query; a cache
    key for derived pages and badges, so that a cached page is never older than the data."""
    from django.db import connection

    tables = [
        (m._meta.db_table, "id")
        for m in (
            DatasetVersion,
            RecordSet,
            ModelTraining,
            Evaluation,
            OverlapReport,
            ContaminationReport,
            Job,
        )
    ] + [(Job._meta.db_table, "finished_at")]
    sql = "SELECT " + ", ".join(f"(SELECT MAX({col}) FROM {table})" for table, col in tables)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return tuple(cursor.fetchone())


# -- home ----------------------------------------------------------------------------------------


def registry_counts() -> dict[str, int]:
    return {
        "datasets": Dataset.objects.count(),
        "versions": DatasetVersion.objects.count(),
        "models": MLModel.objects.count(),
        "model_versions": ModelVersion.objects.count(),
        "evaluations": Evaluation.objects.count(),
        "overlap_reports": OverlapReport.objects.count(),
    }


def search(query: str, *, limit: int = 50) -> dict[str, list]:
    """Datasets, benchmarks (test sets) and models whose name, description or kind contains ``query``."""
    q = query.strip()
    if not q:
        return {"datasets": [], "benchmarks": [], "models": []}
    datasets = list(
        Dataset.objects.filter(Q(name__icontains=q) | Q(description__icontains=q) | Q(kind__iexact=q))
        .annotate(n_versions=Count("versions"))
        .order_by("name")[:limit]
    )
    benchmarks = list(
        test_sets().filter(
            Q(version__dataset__name__icontains=q)
            | Q(version__dataset__description__icontains=q)
            | Q(version__dataset__kind__iexact=q)
            | Q(part__split__name__icontains=q)
        )[:limit]
    )
    models = list(
        ModelVersion.objects.filter(Q(model__name__icontains=q) | Q(model__description__icontains=q))
        .select_related("model", "base__model")
        .order_by("model__name", "id")[:limit]
    )
    return {"datasets": datasets, "benchmarks": benchmarks, "models": models}


def recent_versions(limit: int = 8) -> list[DatasetVersion]:
    return list(DatasetVersion.objects.select_related("dataset").order_by("-created_at", "-id")[:limit])


def recent_evaluations(limit: int = 8) -> list[Evaluation]:
    return list(
        Evaluation.objects.select_related(
            "model_version__model", "record_set__version__dataset", "record_set__part__split"
        ).order_by("-created_at", "-id")[:limit]
    )


# -- the overlap matrix --------------------------------------------------------------------------


@dataclass
class Cell:
    """One (test set, training set) pair: ``state`` is report, pending, failed or unchecked."""

    state: str
    report_uuid: str | None = None
    records: int | None = None
    fraction: float | None = None
    recall: float | None = None
    by_tier: dict = field(default_factory=dict)
    query_records: int | None = None


@dataclass
class Matrix:
    threshold: float
    thresholds: list[float]
    rows: list[RecordSet]
    columns: list[RecordSet]
    cells: dict[tuple[int, int], Cell]
    recalls: list[float | None]

    def grid(self) -> list[tuple[RecordSet, list[Cell | None]]]:
        """Rows in order, each with its cells in column order (``None``: not comparable)."""
        return [(r, [self.cells.get((r.pk, c.pk)) for c in self.columns]) for r in self.rows]

    def leaking_pairs(self) -> int:
        return sum(1 for c in self.cells.values() if c.state == "report" and (c.records or 0) > 0)

    def pending_pairs(self) -> int:
        return sum(1 for c in self.cells.values() if c.state == "pending")


def _live_jobs() -> tuple[set[str], set[tuple[str, str]], set[tuple[str, str]]]:
    """Record sets still being indexed, pairs with an overlap job live, pairs whose job failed."""
    indexing, live_pairs, failed_pairs = set(), set(), set()
    jobs = Job.objects.filter(
        Q(kind=Job.Kind.SKETCH, state__in=LIVE)
        | Q(kind=Job.Kind.OVERLAP, state__in=[*LIVE, Job.State.FAILED], payload__has_key="query_set")
    ).values_list("kind", "state", "payload")
    for kind, state, payload in jobs:
        if kind == Job.Kind.SKETCH:
            indexing.add(payload.get("record_set"))
            continue
        pair = (payload.get("query_set"), payload.get("reference_set"))
        if state in LIVE:
            live_pairs.add(pair)
        elif state == Job.State.FAILED:
            failed_pairs.add(pair)
    return indexing, live_pairs, failed_pairs


def overlap_matrix(threshold: float = DEFAULT_THRESHOLD, *, kind: str | None = None) -> Matrix:
    """Test sets x training sets of the same kind; each cell from the pair's latest stored report.

    A pair without a report is ``pending`` while a job for it (or the indexing of either set) is
    queued or running, ``failed`` when its job failed, and ``unchecked`` otherwise: never clean.
    """
    rows = list(test_sets(kind))
    columns = list(training_sets(kind))
    reports = (
        OverlapReport.objects.filter(
            query_set__in=[r.pk for r in rows], reference_set__in=[c.pk for c in columns]
        )
        .order_by("id")
        .values_list("query_set_id", "reference_set_id", "uuid", "summary")
    )
    latest = {(q, r): (uuid, summary) for q, r, uuid, summary in reports}
    thresholds = sorted(
        {float(row["identity"]) for _, summary in latest.values() for row in summary.get("thresholds", [])},
        reverse=True,
    ) or [1.0, 0.95, DEFAULT_THRESHOLD, 0.8]
    indexing, live_pairs, failed_pairs = _live_jobs()
    cells: dict[tuple[int, int], Cell] = {}
    recalls: list[float | None] = []
    for row in rows:
        for col in columns:
            if row.version.dataset.kind != col.version.dataset.kind or not _comparable(row, col):
                continue
            found = latest.get((row.pk, col.pk))
            if found is not None:
                line = summary_row(found[1], threshold)
                cell = Cell(
                    state="report",
                    report_uuid=str(found[0]),
                    records=None if line is None else line["records"],
                    fraction=None if line is None else line["fraction"],
                    recall=None if line is None else line.get("recall"),
                    by_tier={} if line is None else line.get("by_tier", {}),
                    query_records=found[1].get("query_records"),
                )
                recalls.append(cell.recall)
            else:
                pair = (str(row.uuid), str(col.uuid))
                if pair in live_pairs or str(row.uuid) in indexing or str(col.uuid) in indexing:
                    cell = Cell(state="pending")
                elif pair in failed_pairs:
                    cell = Cell(state="failed")
                else:
                    cell = Cell(state="unchecked")
            cells[(row.pk, col.pk)] = cell
    return Matrix(threshold, thresholds, rows, columns, cells, recalls)


def _comparable(query_set: RecordSet, reference_set: RecordSet) -> bool:
    from .overlap.selectors import comparable

    return comparable(query_set, reference_set)


def report_pairs(report: OverlapReport) -> QuerySet:
    """Every stored best hit of a report, most similar first, as value tuples (for a TSV download)."""
    return (
        OverlapHit.objects.filter(report=report)
        .order_by("rank")
        .values_list(
            "query_record__identifier",
            "reference_record__identifier",
            "identity",
            "query_coverage",
            "reference_coverage",
            "jaccard",
            "tier",
        )
    )


# -- a version's card ----------------------------------------------------------------------------


def version_card(version: DatasetVersion) -> dict:
    """Everything a dataset card shows besides citations: versions, splits, derivations, record sets."""
    dataset = version.dataset
    record_sets = list(
        RecordSet.objects.filter(version=version).select_related(*RECORD_SET_RELATED).order_by("id")
    )
    splits = list(Split.objects.filter(version=version).prefetch_related("parts").order_by("name"))
    part_sets = {rs.part_id: rs for rs in record_sets if rs.part_id is not None}
    return {
        "dataset": dataset,
        "versions": list(dataset.versions.order_by("created_at", "id")),
        "record_sets": record_sets,
        "whole": next(rs for rs in record_sets if rs.part_id is None),
        "splits": [
            {"split": s, "parts": [(p, part_sets.get(p.pk)) for p in s.parts.order_by("name")]}
            for s in splits
        ],
        "derived_from": list(
            Derivation.objects.filter(target=version).select_related("source__dataset").order_by("id")
        ),
        "derivations": list(
            Derivation.objects.filter(source=version).select_related("target__dataset").order_by("id")
        ),
        "models_trained": list(
            ModelVersion.objects.filter(trained_on__in=record_sets)
            .select_related("model")
            .distinct()
            .order_by("id")
        ),
        "evaluations": list(
            Evaluation.objects.filter(record_set__in=record_sets)
            .select_related("model_version__model", *(f"record_set__{r}" for r in RECORD_SET_RELATED))
            .order_by("-created_at", "-id")
        ),
    }


def standing_overlap(record_set: RecordSet, threshold: float = DEFAULT_THRESHOLD) -> dict:
    """The record set against every registered counterpart, and the union over all of them.

    ``as_test_set`` and ``as_training_set`` list ``(counterpart, report uuid, summary row)``;
    ``union`` is the number and fraction of the set's records with a hit at ``threshold`` in any
    stored report where it is the query (what the version badge shows); ``pending`` counts the pairs
    still being computed.
    """
    related = [f"query_set__{r}" for r in RECORD_SET_RELATED] + [
        f"reference_set__{r}" for r in RECORD_SET_RELATED
    ]
    as_query = list(
        OverlapReport.objects.filter(query_set=record_set).select_related(*related).defer("method")
    )
    as_reference = list(
        OverlapReport.objects.filter(reference_set=record_set).select_related(*related).defer("method")
    )
    records = _union_hits(as_query, threshold)
    n = record_set.part.record_count if record_set.part_id else record_set.version.record_count
    live = Job.objects.filter(
        Q(kind__in=[Job.Kind.SKETCH, Job.Kind.OVERLAP]),
        Q(state__in=LIVE),
        Q(payload__record_set=str(record_set.uuid))
        | Q(payload__query_set=str(record_set.uuid))
        | Q(payload__reference_set=str(record_set.uuid)),
    ).count()
    return {
        "record_set": record_set,
        "as_test_set": [(r.reference_set, r, summary_row(r.summary, threshold)) for r in as_query],
        "as_training_set": [(r.query_set, r, summary_row(r.summary, threshold)) for r in as_reference],
        "union": {
            "records": records,
            "fraction": (records / n) if n else 0.0,
            "query_records": n,
            "reports": len(as_query),
        },
        "pending": live,
        "threshold": threshold,
    }


def version_overlap(version: DatasetVersion, threshold: float = DEFAULT_THRESHOLD) -> dict:
    """What the version badge says: of the version's records that were checked as a test set (the whole
    version, or its test parts), how many have a hit at ``threshold`` in any registered training set.

    Returns ``records``, ``checked_records`` (the denominator), ``fraction`` (``None`` when nothing
    was checked), ``reports`` and ``pending`` (live jobs for the version's record sets).
    """
    record_sets = list(RecordSet.objects.filter(version=version))
    reports = list(OverlapReport.objects.filter(query_set__in=record_sets).only("id", "query_set_id"))
    queried = {r.query_set_id for r in reports}
    if any(rs.part_id is None for rs in record_sets if rs.pk in queried):
        checked = version.record_count
    else:
        part_ids = [rs.part_id for rs in record_sets if rs.pk in queried]
        checked = (
            Record.objects.filter(splitmembership__part_id__in=part_ids).values("id").distinct().count()
            if part_ids
            else 0
        )
    records = _union_hits(reports, threshold)
    uuids = [str(rs.uuid) for rs in record_sets]
    pending = Job.objects.filter(
        Q(kind__in=[Job.Kind.SKETCH, Job.Kind.OVERLAP]),
        Q(state__in=LIVE),
        Q(payload__record_set__in=uuids)
        | Q(payload__query_set__in=uuids)
        | Q(payload__reference_set__in=uuids),
    ).count()
    return {
        "records": records,
        "checked_records": checked,
        "fraction": (records / checked) if checked else None,
        "reports": len(reports),
        "pending": pending,
        "threshold": threshold,
    }


def _union_hits(reports: list[OverlapReport], threshold: float) -> int:
    if not reports:
        return 0
    hits = OverlapHit.objects.filter(report__in=reports)
    if threshold >= 1.0:
        rows = hits.values_list("query_record_id", "identity", "query_coverage", "reference_coverage", "tier")
        return len({q for q, ident, qcov, rcov, tier in rows if engine.is_identical(ident, qcov, rcov, tier)})
    return hits.filter(identity__gte=threshold - 1e-9).values("query_record_id").distinct().count()


# -- models, evaluations, leaderboards -----------------------------------------------------------


def model_descendants(model_version: ModelVersion) -> list[ModelVersion]:
    """Fine-tuned descendants, transitively, nearest first."""
    found, frontier, seen = [], [model_version.pk], {model_version.pk}
    while frontier:
        batch = [
            m
            for m in ModelVersion.objects.filter(base_id__in=frontier).select_related("model")
            if m.pk not in seen
        ]
        seen.update(m.pk for m in batch)
        found.extend(batch)
        frontier = [m.pk for m in batch]
    return found


def lineage_graph(model_version: ModelVersion) -> dict:
    """Nodes and edges of a model version's lineage: its bases, its fine-tuned descendants, what each of
    them was trained on, and the evaluations of each, with their contamination at the default threshold.

    Nodes are ``{"id", "type" (record_set|model|evaluation), "label", "sub", "ref", "focus"}``;
    edges ``(source id, target id, label)``.
    """
    chain = model_version_chain(model_version)
    models = list(reversed(chain)) + model_descendants(model_version)
    model_ids = [m.pk for m in models]
    nodes: dict[str, dict] = {}
    edges: list[tuple[str, str, str]] = []
    for m in models:
        nodes[f"m{m.pk}"] = {
            "id": f"m{m.pk}",
            "type": "model",
            "label": m.ref,
            "sub": "this model" if m.pk == model_version.pk else ("base" if m in chain else "fine-tuned"),
            "ref": m.ref,
            "focus": m.pk == model_version.pk,
        }
        if m.base_id is not None and m.base_id in model_ids:
            edges.append((f"m{m.base_id}", f"m{m.pk}", "fine-tuned"))
    trainings = ModelTraining.objects.filter(model_version_id__in=model_ids).select_related(
        *(f"record_set__{r}" for r in RECORD_SET_RELATED)
    )
    for t in trainings.order_by("id"):
        rs = t.record_set
        nodes.setdefault(
            f"r{rs.pk}",
            {
                "id": f"r{rs.pk}",
                "type": "record_set",
                "label": rs.ref,
                "sub": f"{_record_count(rs):,} records",
                "ref": rs.version.ref,
                "focus": False,
            },
        )
        edges.append((f"r{rs.pk}", f"m{t.model_version_id}", "trained on"))
    evaluations = list(
        Evaluation.objects.filter(model_version_id__in=model_ids)
        .select_related(*(f"record_set__{r}" for r in RECORD_SET_RELATED))
        .order_by("id")
    )
    contamination = evaluation_contamination_map(evaluations)
    for e in evaluations:
        row = contamination.get(e.pk)
        sub = (
            "contamination pending"
            if row is None
            else f"{100 * row['fraction']:.1f}% contaminated at {threshold_label(DEFAULT_THRESHOLD)}"
            if row.get("fraction") is not None
            else "contamination not measured at >=90%"
        )
        nodes[f"e{e.pk}"] = {
            "id": f"e{e.pk}",
            "type": "evaluation",
            "label": f"on {e.record_set.ref}",
            "sub": sub,
            "ref": str(e.uuid),
            "focus": False,
            "leak": bool(row and row.get("records")),
        }
        edges.append((f"m{e.model_version_id}", f"e{e.pk}", "evaluated"))
    return {"nodes": list(nodes.values()), "edges": edges}


def _record_count(record_set: RecordSet) -> int:
    return record_set.part.record_count if record_set.part_id else record_set.version.record_count


def evaluation_contamination_map(
    evaluations: list[Evaluation], threshold: float = DEFAULT_THRESHOLD
) -> dict[int, dict]:
    """Evaluation pk -> the contamination report's summary row at ``threshold`` (absent: not computed yet).

    The row is ``{"records", "fraction", "recall", "clean_metrics", ..., "report": ContaminationReport}``;
    ``fraction`` is ``None`` when the report has no row for the threshold.
    """
    out: dict[int, dict] = {}
    reports = (
        ContaminationReport.objects.filter(evaluation__in=evaluations)
        .defer("method")
        .order_by("created_at", "id")
    )
    for report in reports:  # the latest wins, as in contamination_report_for_evaluation
        row = summary_row(report.summary, threshold)
        out[report.evaluation_id] = {
            **(row or {"records": None, "fraction": None}),
            "report": report,
            "full_metrics": report.summary.get("full_metrics", {}),
        }
    return out


def disclosure(model_version: ModelVersion, *, declared: bool, checked: bool) -> str:
    """How much a leaderboard reader can trust the model's training data: one of three labels."""
    if not declared:
        return "undisclosed"
    return "training data declared and checked" if checked else "declared, check pending"


def leaderboard(record_set: RecordSet, threshold: float = DEFAULT_THRESHOLD) -> dict:
    """Every evaluation on a test set, with contamination and clean-subset metrics at ``threshold``.

    ``metrics`` is the union of metric names; each row has ``metrics`` (as reported), ``clean``
    (metric -> mean over the clean subset, when per-record scores were given), ``fraction`` and
    ``records`` (contaminated test records), ``disclosure`` and ``recall`` of the check.
    """
    evaluations = list(
        Evaluation.objects.filter(record_set=record_set)
        .select_related("model_version__model")
        .annotate(declared=Count("model_version__modeltraining"))
        .order_by("created_at", "id")
    )
    contamination = evaluation_contamination_map(evaluations, threshold)
    metric_names = sorted({m for e in evaluations for m in e.metrics})
    rows = []
    for e in evaluations:
        row = contamination.get(e.pk)
        clean = {
            m: v.get("mean") for m, v in (row or {}).get("clean_metrics", {}).items() if isinstance(v, dict)
        }
        rows.append(
            {
                "evaluation": e,
                "model": e.model_version,
                "metrics": e.metrics,
                "clean": clean,
                "clean_records": (row or {}).get("clean_records"),
                "records": None if row is None else row.get("records"),
                "fraction": None if row is None else row.get("fraction"),
                "recall": None if row is None else row.get("recall"),
                "checked": row is not None,
                "disclosure": disclosure(e.model_version, declared=e.declared > 0, checked=row is not None),
            }
        )
    thresholds = sorted(
        {
            float(t["identity"])
            for row in contamination.values()
            for t in row["report"].summary.get("thresholds", [])
        },
        reverse=True,
    ) or [1.0, 0.95, DEFAULT_THRESHOLD, 0.8]
    return {"record_set": record_set, "metrics": metric_names, "rows": rows, "thresholds": thresholds}


def contamination_breakdown(report: ContaminationReport) -> list[dict]:
    """Per training set of the ancestry: its overlap report and the summary rows (records, by tier)."""
    related = [f"reference_set__{r}" for r in RECORD_SET_RELATED]
    return [
        {"reference_set": r.reference_set, "report": r, "thresholds": r.summary.get("thresholds", [])}
        for r in report.overlap_reports.select_related(*related).defer("method").order_by("id")
    ]
