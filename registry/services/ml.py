"""Registering model versions and recording evaluations."""

import csv
import math
from pathlib import Path

from django.db import transaction

from .. import selectors
from ..errors import Conflict, Forbidden, InputRejected, RegistryError
from ..models import Evaluation, EvaluationScore, MLModel, ModelTraining, ModelVersion
from ..models.names import validate_name, validate_version
from ..refs import parse_ref
from ..suggest import did_you_mean
from .hooks import evaluation_created, record_set_created
from .ingest import _check_field


def _user_or_none(user):
    return user if user is not None and user.is_authenticated else None


def model_can_write(user, model: MLModel) -> bool:
    """May ``user`` add versions or evaluations to ``model``? Its owner and staff may.

    A model registered from the command line has no owner: it is the operator's, so over the API
    only staff may add to it (as for datasets). ``user=None`` is the local operator (CLI).
    """
    if user is None:
        return True
    if not user.is_authenticated:
        return False
    return user.is_superuser or user.is_staff or (model.owner_id is not None and model.owner_id == user.pk)


def model_version_register(
    *,
    ref: str,
    trained_on: list[str],
    base: str | None = None,
    code_url: str = "",
    parameters: dict | None = None,
    description: str = "",
    user=None,
    idempotent: bool = False,
) -> ModelVersion:
    """Register ``name@version``, trained on record sets, optionally fine-tuned from ``base``.

    With ``idempotent``, registering a version again with identical arguments returns it (its
    ``created`` attribute is False), as datasets do; other arguments are a ``Conflict`` that says
    which differ. The returned version's ``created`` is True when it was written now.
    """
    parsed = parse_ref(ref, allow_part=False)
    _check_field(validate_name, parsed.name, "name")
    _check_field(validate_version, parsed.version, "version")
    if not trained_on and base is None:
        raise RegistryError(
            "a model version needs --trained-on (a record set) or --base (the model it was fine-tuned from).",
            fields={"trained_on": ["required"]},
        )
    record_sets = [selectors.record_set_get(r) for r in trained_on]
    base_version = selectors.model_version_get(base) if base else None
    with transaction.atomic():
        model, _ = MLModel.objects.get_or_create(
            name=parsed.name, defaults={"owner": _user_or_none(user), "description": description}
        )
        if not model_can_write(user, model):
            raise Forbidden(f"only the owner of model {model.name!r} may add versions.")
        existing = (
            model.versions.select_related("model", "base__model").filter(version=parsed.version).first()
        )
        if existing is not None:
            differences = _differences(existing, record_sets, base_version, code_url, parameters or {})
            if idempotent and not differences:
                existing.created = False
                return existing
            if differences:
                raise Conflict(
                    f"{ref} is already registered with other arguments: {'; '.join(differences.values())}. "
                    "Model versions are immutable: register these arguments as a new version.",
                    fields={name: [text] for name, text in differences.items()},
                )
            raise Conflict(f"{ref} is already registered; model versions are immutable: use a new version.")
        version = ModelVersion.objects.create(
            model=model,
            version=parsed.version,
            base=base_version,
            code_url=code_url,
            parameters=parameters or {},
            created_by=_user_or_none(user),
        )
        ModelTraining.objects.bulk_create(
            [ModelTraining(model_version=version, record_set=rs) for rs in dict.fromkeys(record_sets)]
        )
        for record_set in record_sets:
            record_set_created(record_set)  # now a training set: standing checks against benchmarks
    version.created = True
    return version


def _differences(
    existing: ModelVersion, record_sets, base_version, code_url: str, parameters: dict
) -> dict[str, str]:
    """What a second registration of ``existing`` would change, in words by argument (empty: identical)."""
    out = {}
    had = sorted(rs.ref for rs in existing.trained_on.select_related("version__dataset", "part__split"))
    now = sorted({rs.ref for rs in record_sets})
    if had != now:
        out["trained_on"] = f"trained on {', '.join(had) or 'nothing'} (now {', '.join(now) or 'nothing'})"
    if existing.base_id != (base_version.pk if base_version else None):
        out["base"] = (
            f"base {existing.base.ref if existing.base else 'none'} (now {base_version.ref if base_version else 'none'})"
        )
    if existing.code_url != code_url:
        out["code_url"] = f"code URL {existing.code_url or 'none'!r} (now {code_url or 'none'!r})"
    if existing.parameters != parameters:
        out["parameters"] = f"parameters {existing.parameters} (now {parameters})"
    return out


def parse_metrics(pairs: list[str]) -> dict[str, float]:
    """``["auc=0.91", "f1=0.8"]`` -> ``{"auc": 0.91, "f1": 0.8}``, with clear errors."""
    metrics: dict[str, float] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise RegistryError(f"metric {pair!r} is not NAME=VALUE.", fields={"metric": [pair]})
        try:
            number = float(value)
        except ValueError:
            raise RegistryError(
                f"metric {name!r}: {value!r} is not a number.", fields={"metric": [pair]}
            ) from None
        if not math.isfinite(number):
            raise RegistryError(
                f"metric {name!r}: {value!r} is not a finite number.", fields={"metric": [pair]}
            )
        if name in metrics:
            raise RegistryError(f"metric {name!r} is given twice.", fields={"metric": [pair]})
        metrics[name] = number
    if not metrics:
        raise RegistryError("give at least one --metric NAME=VALUE.", fields={"metric": ["required"]})
    return metrics


def read_scores(path: Path, record_ids: dict[str, int]) -> tuple[list[str], list[tuple[int, str, float]]]:
    """Per-record scores: a CSV or TSV with an ``id`` column and one numeric column per metric."""
    try:
        handle = open(path, newline="", encoding="utf-8")  # noqa: SIM115 (closed by the with below)
    except FileNotFoundError:
        raise InputRejected(f"{path}: no such file.") from None
    with handle:
        try:
            sample = handle.read(4096)
        except UnicodeDecodeError:
            raise InputRejected(f"{path}: not UTF-8 text.") from None
        handle.seek(0)
        first_line = sample.splitlines()[0] if sample else ""
        delimiter = "\t" if "\t" in first_line else ","
        reader = csv.DictReader(handle, delimiter=delimiter)
        columns = reader.fieldnames or []
        if "id" not in columns or len(columns) < 2:
            raise InputRejected(
                f"{path}, line 1: the header needs an 'id' column and at least one metric column; found {columns}."
            )
        metric_names = [c for c in columns if c != "id"]
        rows: list[tuple[int, str, float]] = []
        seen: set[str] = set()
        for lineno, row in enumerate(reader, start=2):
            identifier = (row.get("id") or "").strip()
            if identifier not in record_ids:
                raise InputRejected(
                    f"{path}, line {lineno}: record {identifier!r} is not in the evaluated record set."
                    + did_you_mean(identifier, record_ids)
                )
            if identifier in seen:
                raise InputRejected(f"{path}, line {lineno}: record {identifier!r} is scored twice.")
            seen.add(identifier)
            for metric in metric_names:
                raw = (row.get(metric) or "").strip()
                try:
                    value = float(raw)
                except ValueError:
                    raise InputRejected(
                        f"{path}, line {lineno}, record {identifier!r}: {metric}={raw!r} is not a number."
                    ) from None
                if not math.isfinite(value):
                    raise InputRejected(
                        f"{path}, line {lineno}, record {identifier!r}: {metric} is not finite."
                    )
                rows.append((record_ids[identifier], metric, value))
    return metric_names, rows


def evaluation_record(
    *,
    model_ref: str,
    on_ref: str,
    metrics: dict[str, float],
    scores_path: str | Path | None = None,
    code_ref: str = "",
    user=None,
) -> Evaluation:
    """Record an immutable evaluation; its contamination report is computed in the background."""
    model_version = selectors.model_version_get(model_ref)
    record_set = selectors.record_set_get(on_ref)
    metric_names: list[str] = []
    rows: list[tuple[int, str, float]] = []
    if scores_path is not None:
        record_ids = dict(selectors.record_set_records(record_set).values_list("identifier", "id"))
        metric_names, rows = read_scores(Path(scores_path), record_ids)
    with transaction.atomic():
        evaluation = Evaluation.objects.create(
            model_version=model_version,
            record_set=record_set,
            metrics=metrics,
            code_ref=code_ref,
            scores_metric_names=metric_names,
            created_by=_user_or_none(user),
        )
        EvaluationScore.objects.bulk_create(
            [EvaluationScore(evaluation=evaluation, record_id=r, metric=m, value=v) for r, m, v in rows],
            batch_size=5000,
        )
        record_set_created(record_set)  # now a test set: standing checks against training sets
        evaluation_created(evaluation)
    return evaluation
