"""Joined reads of the overlap service: roles of record sets, reports, contamination reports.

The lead's ``lineage`` command and the API call :func:`contamination_report_for_evaluation`
and :func:`reports_for_record_set`; both return plain dicts ready for JSON.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from ..db.statements import Statement
from ..models import (
    ContaminationReport,
    Evaluation,
    Job,
    OverlapHit,
    OverlapReport,
    RecordSet,
    SplitPart,
    VersionRole,
)

TRAINING_PART_ROLES = (SplitPart.Role.TRAIN, SplitPart.Role.VALIDATION)


def training_sets(kind: str | None = None) -> QuerySet[RecordSet]:
    """Record sets a model was trained on, train/validation parts, and versions registered as training."""
    qs = RecordSet.objects.filter(
        Q(trained_models__isnull=False)
        | Q(part__role__in=TRAINING_PART_ROLES)
        | Q(part__isnull=True, version__role=VersionRole.TRAINING)
    )
    if kind is not None:
        qs = qs.filter(version__dataset__kind=kind)
    return qs.select_related("version__dataset", "part__split").distinct().order_by("id")


def test_sets(kind: str | None = None) -> QuerySet[RecordSet]:
    """Test parts, record sets an evaluation used, and versions registered as benchmarks."""
    qs = RecordSet.objects.filter(
        Q(evaluations__isnull=False)
        | Q(part__role=SplitPart.Role.TEST)
        | Q(part__isnull=True, version__role=VersionRole.BENCHMARK)
    )
    if kind is not None:
        qs = qs.filter(version__dataset__kind=kind)
    return qs.select_related("version__dataset", "part__split").distinct().order_by("id")


def record_set_roles(record_set: RecordSet) -> set[str]:
    """``{"training", "test"}``, either, or neither."""
    roles = set()
    if training_sets().filter(pk=record_set.pk).exists():
        roles.add("training")
    if test_sets().filter(pk=record_set.pk).exists():
        roles.add("test")
    return roles


def comparable(query_set: RecordSet, reference_set: RecordSet) -> bool:
    """Worth a standing check: not the same set, and not a whole version against its own part."""
    if query_set.pk == reference_set.pk:
        return False
    same_version = query_set.version_id == reference_set.version_id
    return not (same_version and (query_set.part_id is None or reference_set.part_id is None))


def _ref(record_set: RecordSet) -> str:
    return record_set.ref


def report_to_dict(report: OverlapReport, *, hits: bool = True, limit: int | None = None) -> dict:
    """A report as plain data: summary, method, digests, when, and the best hit of each query record."""
    out = {
        "uuid": str(report.uuid),
        "query_set": _ref(report.query_set),
        "reference_set": _ref(report.reference_set),
        "query_digest": report.query_digest,
        "reference_digest": report.reference_digest,
        "query_records": report.query_records,
        "reference_records": report.reference_records,
        "summary": report.summary,
        "method": report.method,
        "method_key": report.method_key,
        "created_at": report.created_at.isoformat(),
        "duration_seconds": report.duration_seconds,
    }
    if hits:
        rows = (
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
        if limit is not None:
            rows = rows[:limit]
        out["hits"] = [
            {
                "query": q,
                "reference_set": out["reference_set"],
                "reference": r,
                "identity": ident,
                "coverage": qcov,
                "reference_coverage": rcov,
                "jaccard": jac,
                "tier": tier,
            }
            for q, r, ident, qcov, rcov, jac, tier in rows
        ]
    return out


def reports_for_record_set(record_set: RecordSet, *, hits: bool = False) -> dict:
    """Standing reports where the record set is the query (a test set) or the reference (a training set),
    and overlap jobs still pending or running for it."""
    related = (
        "query_set__version__dataset",
        "query_set__part__split",
        "reference_set__version__dataset",
        "reference_set__part__split",
    )
    as_query = OverlapReport.objects.filter(query_set=record_set).select_related(*related).order_by("id")
    as_reference = (
        OverlapReport.objects.filter(reference_set=record_set).select_related(*related).order_by("id")
    )
    uuid = str(record_set.uuid)
    pending = Job.objects.filter(
        Q(kind__in=[Job.Kind.SKETCH, Job.Kind.OVERLAP]),
        Q(state__in=[Job.State.PENDING, Job.State.RUNNING]),
        Q(payload__record_set=uuid) | Q(payload__query_set=uuid) | Q(payload__reference_set=uuid),
    )
    return {
        "record_set": record_set.ref,
        "roles": sorted(record_set_roles(record_set)),
        "as_test_set": [report_to_dict(r, hits=hits) for r in as_query],
        "as_training_set": [report_to_dict(r, hits=hits) for r in as_reference],
        "pending_jobs": [
            {"uuid": str(j.uuid), "kind": j.kind, "state": j.state, "progress": j.progress} for j in pending
        ],
    }


def contamination_report_for_evaluation(evaluation: Evaluation, *, hits: bool = True) -> dict | None:
    """The evaluation's contamination report as plain data, or ``None`` while it is being computed.

    Keys: ``uuid``, ``evaluation``, ``model_version``, ``record_set``, ``training_ancestry`` (refs),
    ``summary`` (per threshold: contaminated records, fraction, metrics on the clean subset beside
    the full ones), ``method``, ``overlap_reports`` (uuids), ``created_at`` and, with ``hits``,
    ``contaminated``: each contaminated test record with its best hit over the whole ancestry.
    """
    report = ContaminationReport.objects.filter(evaluation=evaluation).order_by("-created_at", "-id").first()
    if report is None:
        return None
    out = {
        "uuid": str(report.uuid),
        "evaluation": str(evaluation.uuid),
        "model_version": evaluation.model_version.ref,
        "record_set": evaluation.record_set.ref,
        "training_ancestry": report.summary.get("training_ancestry", []),
        "summary": report.summary,
        "method": report.method,
        "overlap_reports": [str(u) for u in report.overlap_reports.values_list("uuid", flat=True)],
        "created_at": report.created_at.isoformat(),
    }
    if hits:
        out["contaminated"] = contaminated_records(report)
    return out


_REPORTS_OF = Statement(
    lambda evaluation_ids: (
        ContaminationReport.objects.filter(evaluation_id__in=evaluation_ids)
        .order_by("evaluation_id", "-created_at", "-id")
        .values_list("evaluation_id", "id", "uuid", "summary", "method_key", "created_at")
    )
)
_OVERLAP_REPORTS_OF = Statement(
    lambda report_ids: OverlapReport.objects.filter(contamination_reports__id__in=report_ids).values_list(
        "contamination_reports__id", "uuid"
    )
)


def contamination_summaries(evaluation_ids: list[int]) -> dict[int, dict]:
    """The latest contamination report of each evaluation as the API embeds it in the evaluation: without
    hits and with its method's key only (the method itself is in the report's own answer). Evaluations
    still pending are absent. Two kept statements for any number of evaluations."""
    latest: dict[int, tuple] = {}
    for evaluation_id, *report in _REPORTS_OF.run(evaluation_ids=list(evaluation_ids)):
        latest.setdefault(evaluation_id, tuple(report))  # newest first: the first row of each
    if not latest:
        return {}
    overlaps: dict[int, list[str]] = {}
    for report_id, overlap_uuid in _OVERLAP_REPORTS_OF.run(report_ids=[r[0] for r in latest.values()]):
        overlaps.setdefault(report_id, []).append(str(overlap_uuid))
    return {
        evaluation_id: {
            "uuid": str(report_uuid),
            "training_ancestry": summary.get("training_ancestry", []),
            "summary": summary,
            "method_key": method_key,
            "overlap_reports": sorted(overlaps.get(report_id, [])),
            "created_at": created_at.isoformat(),
        }
        for evaluation_id, (report_id, report_uuid, summary, method_key, created_at) in latest.items()
    }


def contaminated_records(report: ContaminationReport) -> list[dict]:
    """Best hit of each contaminated test record over every overlap report of a contamination report."""
    rows = OverlapHit.objects.filter(report__in=report.overlap_reports.all()).values_list(
        "query_record__identifier",
        "report__reference_set_id",
        "reference_record__identifier",
        "identity",
        "query_coverage",
        "reference_coverage",
        "jaccard",
        "tier",
    )
    refs = {
        rs.pk: rs.ref
        for rs in RecordSet.objects.filter(
            pk__in=report.overlap_reports.values("reference_set_id")
        ).select_related("version__dataset", "part__split")
    }
    best: dict[str, tuple] = {}
    for q, set_id, r, ident, qcov, rcov, jac, tier in rows:
        cur = best.get(q)
        if cur is None or (ident, qcov, rcov) > (cur[2], cur[3], cur[4]):
            best[q] = (set_id, r, ident, qcov, rcov, jac, tier)
    return [
        {
            "query": q,
            "reference_set": refs[v[0]],
            "reference": v[1],
            "identity": v[2],
            "coverage": v[3],
            "reference_coverage": v[4],
            "jaccard": v[5],
            "tier": v[6],
        }
        for q, v in sorted(best.items(), key=lambda kv: (-kv[1][2], kv[0]))
    ]


def overlap_report_get(identifier: str) -> OverlapReport:
    """A report by its UUID (render it with :func:`report_to_dict`); ``NotFound`` if there is none."""
    import uuid as uuid_module

    from ..errors import NotFound, RegistryError

    try:
        key = uuid_module.UUID(str(identifier))
    except ValueError:
        raise RegistryError(
            f"{identifier!r} is not an overlap report UUID.", code="invalid_reference"
        ) from None
    try:
        return OverlapReport.objects.select_related(
            "query_set__version__dataset",
            "query_set__part__split",
            "reference_set__version__dataset",
            "reference_set__part__split",
        ).get(uuid=key)
    except OverlapReport.DoesNotExist:
        raise NotFound(f"No overlap report {identifier}.") from None
