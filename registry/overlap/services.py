"""Writes of the overlap service: indexing, standing checks, reports, contamination reports, queries.

Job kinds and payloads (all ids are UUIDs, as strings):

- ``sketch``: ``{"record_set": uuid}``: index the record set, then enqueue the standing checks
  it takes part in (``overlap`` jobs for every test x training pair without a report).
- ``overlap``: ``{"query_set": uuid, "reference_set": uuid}``: one standing report; or
  ``{"evaluation": uuid}``: the evaluation's contamination report.
- ``query``: ``{"source": path or ref, "kind", "against": [refs] | ["all"], "against_model",
  "identity", "coverage", "tiers"}``: an ad-hoc check; the result is :func:`overlap_query`'s dict.

Every result is written in one transaction at the end under a unique constraint: a killed worker
leaves no partial report, and a re-run (or a concurrent duplicate) writes nothing twice.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.db import IntegrityError, transaction

from dedup.errors import ParseError
from dedup.method import Method

from .. import selectors as registry_selectors
from ..errors import InputRejected, NotFound, RegistryError
from ..models import (
    ContaminationReport,
    Evaluation,
    EvaluationScore,
    Job,
    OverlapHit,
    OverlapReport,
    RecordSet,
)
from ..models.overlap import hit_order
from ..services.jobs import ProgressReporter, job_create, job_handler, run_with_upload
from . import engine, index, selectors

RECORD_SET_RELATED = ("version__dataset", "part__split")


def _record_set(uuid: str) -> RecordSet:
    try:
        return RecordSet.objects.select_related(*RECORD_SET_RELATED).get(uuid=uuid)
    except RecordSet.DoesNotExist:
        raise NotFound(f"No record set {uuid}.") from None


# -- indexing and standing checks ---------------------------------------------------------------


def record_set_index_enqueue(record_set: RecordSet, *, user=None) -> Job:
    """Enqueue the ``sketch`` job of a record set (on commit of the surrounding transaction)."""
    return job_create(kind=Job.Kind.SKETCH, payload={"record_set": str(record_set.uuid)}, user=user)


def standing_pairs(record_set: RecordSet) -> list[tuple[RecordSet, RecordSet]]:
    """(test set, training set) pairs the record set takes part in, by its current roles."""
    kind = record_set.version.dataset.kind
    roles = selectors.record_set_roles(record_set)
    pairs = []
    if "test" in roles:
        pairs += [
            (record_set, t) for t in selectors.training_sets(kind) if selectors.comparable(record_set, t)
        ]
    if "training" in roles:
        pairs += [(t, record_set) for t in selectors.test_sets(kind) if selectors.comparable(t, record_set)]
    return pairs


def standing_checks_enqueue(record_set: RecordSet) -> list[Job]:
    """Enqueue an ``overlap`` job for every standing pair that has no report and no live job yet."""
    jobs = []
    for query_set, reference_set in standing_pairs(record_set):
        method = engine.standing_method(query_set.version.dataset.kind)
        if OverlapReport.objects.filter(
            query_set=query_set, reference_set=reference_set, method_key=method.key()
        ).exists():
            continue
        payload = {"query_set": str(query_set.uuid), "reference_set": str(reference_set.uuid)}
        live = Job.objects.filter(
            kind=Job.Kind.OVERLAP,
            state__in=[Job.State.PENDING, Job.State.RUNNING],
            payload__query_set=payload["query_set"],
            payload__reference_set=payload["reference_set"],
        )
        if live.exists():
            continue
        jobs.append(job_create(kind=Job.Kind.OVERLAP, payload=payload))
    return jobs


@job_handler(Job.Kind.SKETCH)
def sketch_job(job: Job) -> dict:
    record_set = _record_set(job.payload["record_set"])
    result = index.index_record_set(record_set, on_progress=ProgressReporter(job))
    enqueued = standing_checks_enqueue(record_set)
    return {**result, "overlap_jobs": [str(j.uuid) for j in enqueued]}


# -- standing reports ----------------------------------------------------------------------------


def overlap_report_compute(
    *,
    query_set: RecordSet,
    reference_set: RecordSet,
    method: Method | None = None,
    on_progress=None,
) -> OverlapReport:
    """The report of ``query_set`` against ``reference_set``: the stored one, or computed and stored now."""
    method = method or engine.standing_method(query_set.version.dataset.kind)
    key = method.key()
    existing = OverlapReport.objects.filter(query_set=query_set, reference_set=reference_set, method_key=key)
    if (found := existing.first()) is not None:
        return found
    if query_set.version.dataset.kind != reference_set.version.dataset.kind:
        raise RegistryError(
            f"{query_set.ref} holds {query_set.version.dataset.kind} and {reference_set.ref} holds "
            f"{reference_set.version.dataset.kind}: overlap is computed between sets of one kind."
        )
    started = time.perf_counter()
    index.index_record_set(query_set, on_progress=on_progress)
    index.index_record_set(reference_set, on_progress=on_progress)
    query = engine.query_from_record_set(query_set)
    result = engine.overlap_run(query, [reference_set], method, on_progress=on_progress)
    settings = index.sketch_settings_get(method.kind)
    hits = [
        OverlapHit(
            query_record_id=query.record_ids[qi],
            reference_record_id=ph.reference.record_id,
            identity=min(ph.hit.identity, 1.0),
            query_coverage=None if ph.hit.query_coverage is None else min(ph.hit.query_coverage, 1.0),
            reference_coverage=None
            if ph.hit.reference_coverage is None
            else min(ph.hit.reference_coverage, 1.0),
            jaccard=ph.hit.jaccard,
            tier=ph.hit.tier,
        )
        for (qi, _), ph in result.best.items()
    ]
    method_info = engine.method_description(result.method, settings, result.tiers_run)
    method_info["timings"] = {k: round(v, 3) for k, v in result.timings.items()}
    method_info["counters"] = result.counters
    try:
        with transaction.atomic():
            report = OverlapReport.objects.create(
                query_set=query_set,
                reference_set=reference_set,
                method_key=key,
                settings=settings,
                tiers=result.tiers_run_names(),
                thresholds=engine.method_thresholds(result.method),
                coverage=method.coverage,
                query_digest=query.digest,
                reference_digest=engine.record_set_digest(reference_set),
                query_records=len(query),
                reference_records=engine.record_set_records(reference_set).count(),
                summary=result.summary(),
                method=method_info,
                duration_seconds=round(time.perf_counter() - started, 3),
            )
            order = sorted(hits, key=lambda h: hit_order(h.identity, h.query_coverage, h.query_record_id))
            for rank, hit in enumerate(order):
                hit.report, hit.rank = report, rank
            OverlapHit.objects.bulk_create(order, batch_size=5000)
    except IntegrityError:  # a concurrent job stored the same report first: it is as good as ours
        if (found := existing.first()) is not None:
            return found
        raise
    return report


@job_handler(Job.Kind.OVERLAP)
def overlap_job(job: Job) -> dict:
    progress = ProgressReporter(job)
    if "evaluation" in job.payload:
        evaluation = registry_selectors.evaluation_get(job.payload["evaluation"])
        report = contamination_report_compute(evaluation=evaluation, on_progress=progress)
        return {"contamination_report": str(report.uuid), "summary": report.summary}
    report = overlap_report_compute(
        query_set=_record_set(job.payload["query_set"]),
        reference_set=_record_set(job.payload["reference_set"]),
        on_progress=progress,
    )
    return {"overlap_report": str(report.uuid), "summary": report.summary}


# -- contamination reports -----------------------------------------------------------------------


def contamination_report_enqueue(evaluation: Evaluation) -> Job:
    return job_create(kind=Job.Kind.OVERLAP, payload={"evaluation": str(evaluation.uuid)})


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 6) if values else None


def contamination_report_compute(*, evaluation: Evaluation, on_progress=None) -> ContaminationReport:
    """The evaluation's record set against its model's training ancestry (the model and its bases).

    Reuses (or computes) one overlap report per training set, then takes each test record's best
    hit over all of them. When per-record scores exist, every metric is recomputed as the mean
    over the clean records at each threshold, beside the mean over all scored records.
    """
    test_set = RecordSet.objects.select_related(*RECORD_SET_RELATED).get(pk=evaluation.record_set_id)
    kind = test_set.version.dataset.kind
    method = engine.standing_method(kind)
    existing = ContaminationReport.objects.filter(evaluation=evaluation, method_key=method.key())
    if (found := existing.first()) is not None:
        return found
    ancestry = [
        rs
        for rs in registry_selectors.training_ancestry(evaluation.model_version)
        if rs.version.dataset.kind == kind
    ]
    reports = [
        overlap_report_compute(query_set=test_set, reference_set=rs, method=method, on_progress=on_progress)
        for rs in ancestry
    ]
    best: dict[int, tuple[float, str, bool]] = {}
    interval_of: dict[int, list[float] | None] = {}
    for record_id, ident, qcov, rcov, tier, jac, qlen, rlen in OverlapHit.objects.filter(
        report__in=reports
    ).values_list(
        "query_record_id",
        "identity",
        "query_coverage",
        "reference_coverage",
        "tier",
        "jaccard",
        "query_record__sequence__length",
        "reference_record__sequence__length",
    ):
        cur = best.get(record_id)
        identical = engine.is_identical(ident, qcov, rcov, tier)
        if cur is None or (ident, identical) > (cur[0], cur[2]):
            best[record_id] = (ident, tier, identical)
            if tier == engine.ESTIMATED_TIER:
                interval_of[record_id] = engine.estimated_interval(method, jac, qlen, rlen)
    n_records = engine.record_set_records(test_set).count()
    tiers_run = sorted({t for r in reports for t in r.tiers}, key=lambda t: engine.TIER_ORDER[t])
    ran = method.with_tiers(tuple(tiers_run)) if tiers_run else method
    summary = engine.summarise(list(best.values()), n_records, ran)
    sketch_only = [rs.ref for rs in ancestry if rs.version.sketch_only]
    if sketch_only:
        engine.with_estimates(
            summary,
            [interval_of.get(r) for r, b in best.items() if b[1] == engine.ESTIMATED_TIER],
            ran,
            sketch_only,
        )
    scores: dict[str, list[tuple[int, float]]] = {}
    for record_id, metric, value in EvaluationScore.objects.filter(evaluation=evaluation).values_list(
        "record_id", "metric", "value"
    ):
        scores.setdefault(metric, []).append((record_id, value))
    summary["full_metrics"] = {
        m: {"mean": _mean([v for _, v in rows]), "records": len(rows)} for m, rows in sorted(scores.items())
    }
    summary["reported_metrics"] = evaluation.metrics
    for row in summary["thresholds"]:
        t = row["identity"]

        def contaminated(record_id: int, t=t) -> bool:
            hit = best.get(record_id)
            if hit is None:
                return False
            return hit[2] if t >= 1.0 else hit[0] + 1e-9 >= t

        row["clean_records"] = n_records - row["records"]
        row["clean_metrics"] = {
            m: {"mean": _mean(vals := [v for r, v in rows if not contaminated(r)]), "records": len(vals)}
            for m, rows in sorted(scores.items())
        }
    summary["training_ancestry"] = [rs.ref for rs in ancestry]
    summary["model_version"] = evaluation.model_version.ref
    settings = index.sketch_settings_get(kind)
    method_info = engine.method_description(ran, settings, {t: {"ran": True} for t in tiers_run})
    method_info["test_digest"] = reports[0].query_digest if reports else engine.record_set_digest(test_set)
    method_info["training_digests"] = {r.reference_set.ref: r.reference_digest for r in reports}
    try:
        with transaction.atomic():
            report = ContaminationReport.objects.create(
                evaluation=evaluation, method_key=method.key(), summary=summary, method=method_info
            )
            report.overlap_reports.set(reports)
    except IntegrityError:
        if (found := existing.first()) is not None:
            return found
        raise
    return report


# -- ad-hoc queries ------------------------------------------------------------------------------


def query_and_references(
    *,
    source: str,
    kind: str | None = None,
    file_format: str | None = None,
    against: list[str] | None = None,
    against_model: str | None = None,
) -> tuple[engine.QuerySide, str, list[RecordSet]]:
    """The query side (a file, validated whole, or a registered record set), its kind and the reference sets.

    ``against``: ``["all"]`` (default: every training set of the kind) or references; or
    ``against_model``: a model version's training ancestry.
    """
    if against and against_model:
        raise RegistryError("give --against or --against-model, not both.", fields={"against": ["exclusive"]})
    path = Path(source)
    if path.is_file():
        kind = kind or "protein"
        try:
            query = engine.query_from_file(path, kind=kind, file_format=file_format)
        except ParseError as exc:
            raise InputRejected(str(exc), fields=exc.to_dict()) from exc
    else:
        try:
            record_set = registry_selectors.record_set_get(source)
        except RegistryError:
            raise NotFound(
                f"{source!r} is neither a file nor a registered record set (name@version[/split:part])."
            ) from None
        if kind and kind != record_set.version.dataset.kind:
            raise RegistryError(f"{source} holds {record_set.version.dataset.kind} data, not {kind}.")
        kind = record_set.version.dataset.kind
        query = engine.query_from_record_set(record_set)
    if against_model:
        model_version = registry_selectors.model_version_get(against_model)
        references = [
            rs
            for rs in registry_selectors.training_ancestry(model_version)
            if rs.version.dataset.kind == kind
        ]
    elif not against or against == ["all"]:
        references = list(selectors.training_sets(kind))
    else:
        references = [registry_selectors.record_set_get(ref) for ref in against]
        for rs in references:
            if rs.version.dataset.kind != kind:
                raise RegistryError(f"{rs.ref} holds {rs.version.dataset.kind} data, not {kind}.")
    return query, kind, references


def overlap_query(
    *,
    source: str,
    kind: str | None = None,
    file_format: str | None = None,
    against: list[str] | None = None,
    against_model: str | None = None,
    identity: float = 0.9,
    coverage: float = 0.8,
    tiers: tuple[str, ...] = ("exact", "minhash"),
    on_progress=None,
) -> dict:
    """Check a file (registered or not) or a registered record set against registered record sets.

    ``against``: ``["all"]`` (default: every training set of the kind) or references; or
    ``against_model``: a model version's training ancestry. Returns ``summary``, ``pairs``,
    ``method``, ``query_digest`` and the references with their digests.
    """
    started = time.perf_counter()
    query, kind, references = query_and_references(
        source=source, kind=kind, file_format=file_format, against=against, against_model=against_model
    )
    try:
        method = engine.registry_method(kind, identity=identity, coverage=coverage, tiers=tuple(tiers))
    except ValueError as exc:
        raise RegistryError(str(exc)) from None
    result = engine.overlap_run(query, references, method, on_progress=on_progress)
    settings = index.sketch_settings_get(kind)
    set_refs = {rs.pk: rs.ref for rs in references}
    method_info = engine.method_description(result.method, settings, result.tiers_run)
    return {
        "query": query.label,
        "query_digest": query.digest,
        "query_records": len(query),
        "references": [
            {"ref": rs.ref, "digest": engine.record_set_digest(rs), "records": rs_count}
            for rs, rs_count in ((rs, engine.record_set_records(rs).count()) for rs in references)
        ],
        "summary": result.summary(),
        "pairs": result.pairs(set_refs),
        "method": method_info,
        "timings": {k: round(v, 3) for k, v in result.timings.items()}
        | {"total": round(time.perf_counter() - started, 3)},
        "counters": result.counters,
    }


@job_handler(Job.Kind.QUERY)
def query_job(job: Job) -> dict:
    def work(options: dict) -> dict:
        options.pop("user_id", None)
        tiers = options.pop("tiers", None)
        if isinstance(tiers, str):
            tiers = tuple(t.strip() for t in tiers.split(",") if t.strip())
        return overlap_query(
            **options, tiers=tuple(tiers or ("exact", "minhash")), on_progress=ProgressReporter(job)
        )

    return run_with_upload(job, work)
