"""Joined reads: resolving references, record sets, lineage and training ancestry."""

import uuid as uuid_module
from pathlib import Path

from django.db.models import QuerySet

from .errors import NotFound, RegistryError
from .models import (
    DatasetVersion,
    Derivation,
    Evaluation,
    Job,
    ModelVersion,
    Record,
    RecordSet,
    SplitPart,
)
from .refs import parse_ref
from .suggest import did_you_mean


def version_get(ref: str) -> DatasetVersion:
    parsed = parse_ref(ref, allow_part=False)
    try:
        return DatasetVersion.objects.select_related("dataset").get(
            dataset__name=parsed.name, version=parsed.version
        )
    except DatasetVersion.DoesNotExist:
        raise NotFound(f"No dataset version {ref!r}.{_version_hint(parsed.name, parsed.version)}") from None


def _version_hint(name: str, version: str) -> str:
    """The versions of a known dataset, or names close to an unknown one, and where to list them."""
    versions = list(DatasetVersion.objects.filter(dataset__name=name).values_list("version", flat=True))
    if versions:
        return (
            f" {name} has versions: {', '.join(versions)}.{did_you_mean(version, versions)} "
            f"List them with `manage.py list versions {name}`."
        )
    refs = [
        f"{n}@{v}" for n, v in DatasetVersion.objects.values_list("dataset__name", "version").order_by("id")
    ]
    return f"{did_you_mean(f'{name}@{version}', refs)} List versions with `manage.py list versions`."


def record_set_get(ref: str) -> RecordSet:
    """The record set for ``name@version`` (the whole version) or ``name@version/split:part``."""
    parsed = parse_ref(ref)
    version = version_get(f"{parsed.name}@{parsed.version}")
    if parsed.split is None:
        return RecordSet.objects.select_related("version__dataset").get(version=version, part__isnull=True)
    try:
        part = SplitPart.objects.select_related("split").get(
            split__version=version, split__name=parsed.split, name=parsed.part
        )
    except SplitPart.DoesNotExist:
        known = sorted(
            f"{p.split.name}:{p.name}"
            for p in SplitPart.objects.filter(split__version=version).select_related("split")
        )
        raise NotFound(
            f"{version.ref} has no split part {parsed.split}:{parsed.part}; "
            f"known parts: {', '.join(known) or 'none (register one with register_split)'}."
            + did_you_mean(f"{parsed.split}:{parsed.part}", known)
        ) from None
    return RecordSet.objects.select_related("version__dataset", "part__split").get(part=part)


def record_set_records(record_set: RecordSet) -> QuerySet[Record]:
    """The records of a record set, in file order."""
    if record_set.part_id is None:
        return Record.objects.filter(version_id=record_set.version_id).order_by("position")
    return Record.objects.filter(splitmembership__part_id=record_set.part_id).order_by("position")


def model_version_get(ref: str) -> ModelVersion:
    parsed = parse_ref(ref, allow_part=False)
    try:
        return ModelVersion.objects.select_related("model", "base__model").get(
            model__name=parsed.name, version=parsed.version
        )
    except ModelVersion.DoesNotExist:
        refs = [
            f"{n}@{v}" for n, v in ModelVersion.objects.values_list("model__name", "version").order_by("id")
        ]
        raise NotFound(
            f"No model version {ref!r}.{did_you_mean(ref, refs)} List them with `manage.py list models`, or "
            f"register it with `manage.py register_model {ref} ...`."
        ) from None


def evaluation_get(identifier: str) -> Evaluation:
    try:
        key = uuid_module.UUID(identifier)
    except ValueError:
        raise RegistryError(
            f"{identifier!r} is not an evaluation UUID (a dataset or model version is name@version). List "
            "evaluations with `manage.py list evaluations`.",
            code="invalid_reference",
        ) from None
    try:
        return Evaluation.objects.select_related("model_version__model", "record_set__version__dataset").get(
            uuid=key
        )
    except Evaluation.DoesNotExist:
        raise NotFound(
            f"No evaluation {identifier}. List evaluations with `manage.py list evaluations`."
        ) from None


def model_version_chain(model_version: ModelVersion) -> list[ModelVersion]:
    """The model version followed by its bases, nearest first."""
    chain = [model_version]
    seen = {model_version.pk}
    current = model_version
    while current.base_id is not None and current.base_id not in seen:
        current = ModelVersion.objects.select_related("model", "base").get(pk=current.base_id)
        chain.append(current)
        seen.add(current.pk)
    return chain


def training_ancestry(model_version: ModelVersion) -> list[RecordSet]:
    """Everything the model version or any base in its chain was trained on."""
    chain_ids = [m.pk for m in model_version_chain(model_version)]
    return list(
        RecordSet.objects.filter(trained_models__in=chain_ids)
        .select_related("version__dataset", "part__split")
        .distinct()
        .order_by("id")
    )


def _derivation_walk(version: DatasetVersion, *, upstream: bool) -> list[Derivation]:
    """Derivation edges reachable from ``version`` upstream (its sources) or downstream, nearest first."""
    near, far = ("target_id", "source_id") if upstream else ("source_id", "target_id")
    edges, frontier, seen = [], [version.pk], {version.pk}
    while frontier:
        batch = list(
            Derivation.objects.filter(**{f"{near}__in": frontier}).select_related(
                "source__dataset", "target__dataset"
            )
        )
        frontier = [getattr(e, far) for e in batch if getattr(e, far) not in seen]
        seen.update(frontier)
        edges.extend(batch)
    return edges


def version_derivations(version: DatasetVersion) -> tuple[list[Derivation], list[Derivation]]:
    """``(version_ancestors(version), version_descendants(version))``, walking both ways at once: one
    query per level of the deeper side (a version without derivations costs one query, not two)."""
    from django.db.models import Q

    from .version_reads import walk_both_ways

    def fetch(up, down):
        return list(
            Derivation.objects.filter(Q(target_id__in=up) | Q(source_id__in=down)).select_related(
                "source__dataset", "target__dataset"
            )
        )

    return walk_both_ways(version.pk, fetch)


def version_ancestors(version: DatasetVersion) -> list[Derivation]:
    """Derivation edges leading into ``version``, transitively (nearest first)."""
    return _derivation_walk(version, upstream=True)


def version_descendants(version: DatasetVersion) -> list[Derivation]:
    """Derivation edges leading out of ``version``, transitively (nearest first)."""
    return _derivation_walk(version, upstream=False)


def _version_summary(version: DatasetVersion) -> dict:
    return {
        "ref": version.ref,
        "uuid": str(version.uuid),
        "digest": version.digest,
        "records": version.record_count,
    }


def _edge(edge: Derivation) -> dict:
    return {"source": edge.source.ref, "target": edge.target.ref, "transform": edge.transform}


def _standing_reports(record_sets: list[RecordSet]) -> list[dict]:
    """Overlap reports of any of the record sets, each once, worst first (as ``lineage_of_version`` shows
    them): one query for all of them, in the order that ``reports_for_record_set`` per record set gives."""
    from django.db.models import Q

    from .models import OverlapReport
    from .overlap.selectors import comparable

    ids = [rs.pk for rs in record_sets]
    reports = list(
        OverlapReport.objects.filter(Q(query_set__in=ids) | Q(reference_set__in=ids))
        .select_related(
            *(f"{side}__{r}" for side in ("query_set", "reference_set") for r in RECORD_SET_RELATED)
        )
        .defer("method")
        .order_by("id")
    )
    by_pk = {rs.pk: rs for rs in record_sets}
    standing: dict[str, dict] = {}
    for record_set in record_sets:  # as the test set, then as the training set, oldest report first
        mine = [r for r in reports if r.query_set_id == record_set.pk]
        mine += [r for r in reports if r.reference_set_id == record_set.pk]
        for report in mine:
            query, reference = by_pk.get(report.query_set_id), by_pk.get(report.reference_set_id)
            if query is not None and reference is not None and not comparable(query, reference):
                continue  # the set against itself (a contamination report) or its own parts: not an overlap
            standing.setdefault(
                str(report.uuid),
                {
                    "uuid": str(report.uuid),
                    "query_set": report.query_set.ref,
                    "reference_set": report.reference_set.ref,
                    "thresholds": [
                        {k: row[k] for k in ("label", "records", "fraction")}
                        for row in report.summary["thresholds"]
                    ],
                },
            )
    return sorted(
        standing.values(),
        key=lambda r: [-t["fraction"] for t in reversed(r["thresholds"])] + [r["reference_set"]],
    )  # worst first: the largest fraction at the loosest threshold, then the next


RECORD_SET_RELATED = ("version__dataset", "part__split")


def lineage_of_version(version: DatasetVersion) -> dict:
    """A version's lineage: derivations both ways, splits, models, evaluations, pending jobs, standing
    overlap reports and split attestations. A fixed number of queries whatever the number of record
    sets, reports, splits or evaluations (one more per level of derivations)."""
    record_sets = list(
        RecordSet.objects.filter(version=version)
        .select_related(*RECORD_SET_RELATED)
        .order_by("created_at", "id")
    )
    trained = (
        ModelVersion.objects.filter(trained_on__in=record_sets)
        .select_related("model")
        .distinct()
        .order_by("id")
    )
    evaluations = Evaluation.objects.filter(record_set__in=record_sets).select_related(
        "model_version__model", "record_set__version__dataset", "record_set__part__split"
    )
    ancestors, descendants = version_derivations(version)
    return {
        "type": "dataset_version",
        **_version_summary(version),
        "role": version.role or None,
        "ancestors": [_edge(e) for e in ancestors],
        "descendants": [_edge(e) for e in descendants],
        "splits": [
            {"ref": rs.ref, "role": rs.part.role, "records": rs.part.record_count}
            for rs in record_sets
            if rs.part_id is not None
        ],
        "models_trained_on_it": [m.ref for m in trained],
        "evaluations_on_it": [
            {"uuid": str(e.uuid), "model": e.model_version.ref, "on": e.record_set.ref} for e in evaluations
        ],
        "pending_jobs": jobs_to_dicts(jobs_about(record_sets=record_sets, live_only=True)),
        "overlap_reports": _standing_reports(record_sets),
        "split_attestations": _split_attestations(version),
    }


def _split_attestations(version: DatasetVersion) -> list[dict]:
    """Per split of the version, its latest attestation's one-line text (or that it was never verified)."""
    from django.db.models import Prefetch

    from .split_selectors import attestation_text, latest_attestations

    out = []
    splits = version.splits.order_by("name").prefetch_related(
        Prefetch("attestations", latest_attestations(), to_attr="latest_attestations")
    )
    for split in splits:
        attestation = split.latest_attestations[0] if split.latest_attestations else None
        out.append(
            {
                "split": f"{version.ref}/{split.name}",
                "attestation": str(attestation.uuid) if attestation else None,
                "claim_holds": attestation.claim_holds if attestation else None,
                "text": attestation_text(attestation) if attestation else "not verified (run verify_split)",
            }
        )
    return out


def lineage_of_model_version(model_version: ModelVersion) -> dict:
    chain = model_version_chain(model_version)
    descendants, frontier = [], [model_version.pk]
    while frontier:
        batch = list(ModelVersion.objects.filter(base_id__in=frontier).select_related("model"))
        descendants.extend(batch)
        frontier = [m.pk for m in batch]
    return {
        "type": "model_version",
        "ref": model_version.ref,
        "uuid": str(model_version.uuid),
        "bases": [m.ref for m in chain[1:]],
        "fine_tuned": [m.ref for m in descendants],
        "trained_on": [
            rs.ref
            for rs in model_version.trained_on.select_related("version__dataset", "part__split").order_by(
                "id"
            )
        ],
        "training_ancestry": [rs.ref for rs in training_ancestry(model_version)],
        "evaluations": [
            {"uuid": str(e.uuid), "on": e.record_set.ref, "metrics": e.metrics}
            for e in model_version.evaluations.select_related(
                "record_set__version__dataset", "record_set__part__split"
            )
        ],
        "code_url": model_version.code_url,
        "parameters": model_version.parameters,
    }


def lineage_of_evaluation(evaluation: Evaluation) -> dict:
    from .overlap.selectors import contamination_report_for_evaluation

    return {
        "type": "evaluation",
        "uuid": str(evaluation.uuid),
        "model": evaluation.model_version.ref,
        "on": evaluation.record_set.ref,
        "on_digest": evaluation.record_set.version.digest,
        "metrics": evaluation.metrics,
        "code_ref": evaluation.code_ref,
        "created_at": evaluation.created_at.isoformat(),
        "model_lineage": lineage_of_model_version(evaluation.model_version),
        "contamination": contamination_report_for_evaluation(evaluation),
        # the contamination report's job (pending, running or failed while there is no report)
        "contamination_jobs": jobs_to_dicts(jobs_about(evaluations=[evaluation])),
    }


def lineage(ref: str) -> dict:
    """Ancestors and descendants of a dataset version, a model version (``name@version``) or an evaluation (UUID)."""
    if "@" not in ref:
        return lineage_of_evaluation(evaluation_get(ref))
    parsed = parse_ref(ref, allow_part=False)
    version = (
        DatasetVersion.objects.select_related("dataset")
        .filter(dataset__name=parsed.name, version=parsed.version)
        .first()
    )
    if version is not None:
        return lineage_of_version(version)
    if ModelVersion.objects.filter(model__name=parsed.name, version=parsed.version).exists():
        return lineage_of_model_version(model_version_get(ref))
    if DatasetVersion.objects.filter(dataset__name=parsed.name).exists():
        raise NotFound(f"No dataset version {ref!r}.{_version_hint(parsed.name, parsed.version)}")
    if ModelVersion.objects.filter(model__name=parsed.name).exists():
        model_version_get(ref)  # raises, naming the model's versions
    refs = [f"{n}@{v}" for n, v in DatasetVersion.objects.values_list("dataset__name", "version")]
    refs += [f"{n}@{v}" for n, v in ModelVersion.objects.values_list("model__name", "version")]
    raise NotFound(
        f"{ref!r} is neither a dataset version nor a model version.{did_you_mean(ref, refs)} List them with "
        "`manage.py list versions` and `manage.py list models`."
    )


# -- jobs: what is queued, running, done or failed, and what it is about -------------------------


def job_get(identifier: str) -> Job:
    try:
        key = uuid_module.UUID(str(identifier))
    except ValueError:
        raise RegistryError(f"{identifier!r} is not a job UUID.", code="invalid_reference") from None
    try:
        return Job.objects.get(uuid=key)
    except Job.DoesNotExist:
        raise NotFound(f"No job {identifier}. List jobs with `manage.py jobs`.") from None


def _job_about(job: Job, refs: dict[str, str]) -> str:
    p = job.payload or {}
    if job.kind == Job.Kind.SKETCH:
        return f"index {refs.get(p.get('record_set'), p.get('record_set'))}"
    if job.kind == Job.Kind.OVERLAP and "evaluation" in p:
        return f"contamination report of evaluation {p['evaluation']}"
    if job.kind == Job.Kind.OVERLAP:
        query = refs.get(p.get("query_set"), p.get("query_set"))
        return f"overlap {query} vs {refs.get(p.get('reference_set'), p.get('reference_set'))}"
    if job.kind == Job.Kind.INGEST:
        return f"register {Path(str(p.get('path', '?'))).name} as {p.get('dataset_name', '?')}"
    return f"check {Path(str(p.get('source', '?'))).name}"


def jobs_to_dicts(jobs: list[Job]) -> list[dict]:
    """Jobs as plain data: state, progress, error, what each is about, and when."""
    ids = {(j.payload or {}).get(k) for j in jobs for k in ("record_set", "query_set", "reference_set")} - {
        None
    }
    refs = (
        {
            str(rs.uuid): rs.ref
            for rs in RecordSet.objects.filter(uuid__in=ids).select_related("version__dataset", "part__split")
        }
        if ids
        else {}
    )
    return [
        {
            "uuid": str(j.uuid),
            "kind": j.kind,
            "state": j.state,
            "about": _job_about(j, refs),
            "progress": j.progress,
            "error": j.error,
            "attempts": j.attempts,
            "created_at": j.created_at.isoformat(),
            "started_at": j.started_at.isoformat() if j.started_at else None,
            "finished_at": j.finished_at.isoformat() if j.finished_at else None,
        }
        for j in jobs
    ]


def jobs_list(*, state: str | None = None, kind: str | None = None, limit: int = 20) -> list[Job]:
    qs = Job.objects.all()
    if state:
        qs = qs.filter(state=state)
    if kind:
        qs = qs.filter(kind=kind)
    return list(qs.order_by("-created_at", "-id")[:limit])


def jobs_about(
    *,
    record_sets: list[RecordSet] = (),  # type: ignore[assignment]
    evaluations: list[Evaluation] = (),  # type: ignore[assignment]
    since=None,
    live_only: bool = False,
) -> list[Job]:
    """Jobs whose payload names one of the record sets (index, overlap) or evaluations (contamination),
    oldest first; ``since``: created at or after; ``live_only``: pending or running."""
    from django.db.models import Q

    uuids = [str(rs.uuid) for rs in record_sets]
    about = Q(payload__evaluation__in=[str(e.uuid) for e in evaluations])
    for key in ("record_set", "query_set", "reference_set"):
        about |= Q(**{f"payload__{key}__in": uuids})
    qs = Job.objects.filter(about)
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    if live_only:
        qs = qs.filter(state__in=[Job.State.PENDING, Job.State.RUNNING])
    return list(qs.order_by("created_at", "id"))
