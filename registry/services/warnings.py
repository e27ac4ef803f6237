"""Warnings that protect the science: accepted, but a reader of the result must know.

Each function returns sentences (empty when all is well); the commands print them as ``warning``
lines and put them under ``warnings`` in ``--json``.
"""

from django.db.models import Count

from .. import selectors
from ..models import Evaluation, EvaluationScore, ModelVersion, Record, RecordSet, Split
from ..overlap.selectors import test_sets

#: scores covering less than this fraction of the evaluated records are warned about
SCORES_COVERAGE = 0.9
#: a reported metric further than this (absolute, and relative to the mean) from the per-record mean
METRIC_GAP_ABSOLUTE = 0.05
METRIC_GAP_RELATIVE = 0.1
#: a split whose parts together cover less than this fraction of its version
SPLIT_COVERAGE = 0.01


def _benchmark_reason(record_set: RecordSet) -> str | None:
    if record_set.part_id is not None and record_set.part.role == "test":
        return "a test part"
    if record_set.part_id is None and record_set.version.role == "benchmark":
        return "a registered benchmark"
    if record_set.evaluations.exists():
        return "a set models are evaluated on"
    return None


def model_warnings(version: ModelVersion) -> list[str]:
    """Training on a benchmark (or on a whole version that contains a test part) contaminates it."""
    out = []
    benchmarks = list(test_sets())
    for rs in version.trained_on.select_related("version__dataset", "part__split").order_by("id"):
        reason = _benchmark_reason(rs)
        if reason:
            out.append(
                f"{version.ref} is trained on {rs.ref}, {reason} (role benchmark/test): every evaluation on "
                "it, or on a set that overlaps it, will report contamination."
            )
        if rs.part_id is None:
            inside = [b.ref for b in benchmarks if b.version_id == rs.version_id and b.part_id is not None]
            if inside:
                out.append(
                    f"{version.ref} is trained on the whole of {rs.ref}, which contains the test part(s) "
                    f"{', '.join(inside)}: train on the train part instead (name@version/split:part)."
                )
    return out


def evaluation_warnings(evaluation: Evaluation) -> list[str]:
    out = []
    test_set = evaluation.record_set
    ancestry = selectors.training_ancestry(evaluation.model_version)
    if any(rs.pk == test_set.pk for rs in ancestry):
        out.append(
            f"{evaluation.model_version.ref} was trained on {test_set.ref} itself: this evaluation measures "
            "memorisation, not generalisation."
        )
    n_records = selectors.record_set_records(test_set).count()
    per_metric = {
        row["metric"]: row["n"]
        for row in EvaluationScore.objects.filter(evaluation=evaluation)
        .values("metric")
        .annotate(n=Count("id"))
    }
    for metric, n in sorted(per_metric.items()):
        if n < SCORES_COVERAGE * n_records:
            out.append(
                f"scores cover {n:,} of {n_records:,} records ({n / n_records:.1%}) for {metric}: the per-record "
                "and clean-subset means are over those records only."
            )
            break
    means = _score_means(evaluation)
    for metric, reported in sorted(evaluation.metrics.items()):
        mean = means.get(metric)
        if mean is None:
            continue
        gap = abs(reported - mean)
        if gap > METRIC_GAP_ABSOLUTE and gap > METRIC_GAP_RELATIVE * max(abs(mean), abs(reported)):
            out.append(
                f"reported {metric}={reported:g} is far from the mean of its per-record scores ({mean:.4g}): "
                "the clean-subset value is such a mean, so compare it with that, not with the reported one "
                "(or check that the scores file is the one of this evaluation)."
            )
    return out


def _score_means(evaluation: Evaluation) -> dict[str, float]:
    from django.db.models import Avg

    return {
        row["metric"]: row["mean"]
        for row in EvaluationScore.objects.filter(evaluation=evaluation)
        .values("metric")
        .annotate(mean=Avg("value"))
    }


def split_warnings(split: Split) -> list[str]:
    total = split.version.record_count
    covered = Record.objects.filter(splitmembership__part__split=split).values("id").distinct().count()
    if total and covered < SPLIT_COVERAGE * total:
        return [
            f"the split covers {covered:,} of {total:,} records ({covered / total:.2%}) of {split.version.ref}: "
            "is the mapping complete (or its identifiers those of this version)?"
        ]
    return []
