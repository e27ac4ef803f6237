"""Warnings that protect the science: accepted, but a reader of the result must know.

The one source of these texts. Each ``*_notices`` function returns ``Notice``s (a stable code for
programs, a sentence for people; empty when all is well): the API returns them as ``warnings``
objects in its create answers. The ``*_warnings`` functions are their sentences, which the commands
print as ``warning`` lines and put under ``warnings`` in ``--json``.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Count

from .. import selectors
from ..models import Evaluation, EvaluationScore, Job, ModelVersion, Record, RecordSet, Split
from ..overlap.selectors import contamination_report_for_evaluation, test_sets

#: scores covering less than this fraction of the evaluated records are warned about
SCORES_COVERAGE = 0.9
#: a reported metric further than this (absolute, and relative to the mean) from the per-record mean
METRIC_GAP_ABSOLUTE = 0.05
METRIC_GAP_RELATIVE = 0.1
#: a split whose parts together cover less than this fraction of its version
SPLIT_COVERAGE = 0.01


@dataclass(frozen=True)
class Notice:
    """Something a registration accepted but its reader must know: ``code`` for programs, ``message`` for people."""

    code: str
    message: str

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


def messages(notices: list[Notice]) -> list[str]:
    return [n.message for n in notices]


def _benchmark_reason(record_set: RecordSet) -> str | None:
    if record_set.part_id is not None and record_set.part.role == "test":
        return "a test part"
    if record_set.part_id is None and record_set.version.role == "benchmark":
        return "a registered benchmark"
    if record_set.evaluations.exists():
        return "a set models are evaluated on"
    return None


def model_warnings(version: ModelVersion) -> list[str]:
    return messages(model_notices(version))


def model_notices(version: ModelVersion) -> list[Notice]:
    """Training on a benchmark (or on a whole version that contains a test part) contaminates it."""
    out = []
    benchmarks = list(test_sets())
    for rs in version.trained_on.select_related("version__dataset", "part__split").order_by("id"):
        reason = _benchmark_reason(rs)
        if reason:
            out.append(
                Notice(
                    "trained_on_benchmark",
                    f"{version.ref} is trained on {rs.ref}, {reason} (role benchmark/test): every evaluation "
                    "on it, or on a set that overlaps it, will report contamination.",
                )
            )
        if rs.part_id is None:
            inside = [b.ref for b in benchmarks if b.version_id == rs.version_id and b.part_id is not None]
            if inside:
                out.append(
                    Notice(
                        "trained_on_test_part",
                        f"{version.ref} is trained on the whole of {rs.ref}, which contains the test part(s) "
                        f"{', '.join(inside)}: train on the train part instead (name@version/split:part).",
                    )
                )
    return out


def evaluation_warnings(evaluation: Evaluation) -> list[str]:
    return messages(evaluation_notices(evaluation))


def evaluation_notices(evaluation: Evaluation) -> list[Notice]:
    """Memorisation, scores that cover few records, a reported metric far from its per-record mean."""
    out = []
    test_set = evaluation.record_set
    ancestry = selectors.training_ancestry(evaluation.model_version)
    if any(rs.pk == test_set.pk for rs in ancestry):
        out.append(
            Notice(
                "trained_on_evaluated_set",
                f"{evaluation.model_version.ref} was trained on {test_set.ref} itself: this evaluation "
                "measures memorisation, not generalisation.",
            )
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
                Notice(
                    "scores_coverage",
                    f"scores cover {n:,} of {n_records:,} records ({n / n_records:.1%}) for {metric}: the "
                    "per-record and clean-subset means are over those records only.",
                )
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
                Notice(
                    "metric_far_from_mean",
                    f"reported {metric}={reported:g} is far from the mean of its per-record scores ({mean:.4g}): "
                    "the clean-subset value is such a mean, so compare it with that, not with the reported one "
                    "(or check that the scores file is the one of this evaluation).",
                )
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
    return messages(split_notices(split))


def split_notices(split: Split) -> list[Notice]:
    """A split whose parts cover a tiny fraction of its version."""
    total = split.version.record_count
    covered = Record.objects.filter(splitmembership__part__split=split).values("id").distinct().count()
    if total and covered < SPLIT_COVERAGE * total:
        return [
            Notice(
                "split_coverage",
                f"the split covers {covered:,} of {total:,} records ({covered / total:.2%}) of "
                f"{split.version.ref}: is the mapping complete (or its identifiers those of this version)?",
            )
        ]
    return []


# --- the contamination headline after an evaluation -----------------------------------------------


def when(iso: str | None) -> str:
    """``2026-12-01T08:50:01.123+00:00`` -> ``2026-12-01 08:50:01 UTC`` (what a person reads)."""
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def contamination_headline(report: dict) -> str:
    """``exact 13 of 250 test records (5.2%), >=90% 13 (5.2%); clean subset mcc=0.4 (237 records)``."""
    summary = report["summary"]
    rows = summary["thresholds"]
    n = summary["query_records"]
    counts = ", ".join(
        f"{r['label']} {r['records']:,} of {n:,} test records ({r['fraction']:.1%})"
        if i == 0
        else f"{r['label']} {r['records']:,} ({r['fraction']:.1%})"
        for i, r in enumerate(rows)
    )
    loosest = rows[-1] if rows else {}
    clean = [
        f"{m}={v['mean']:.4g} ({v['records']:,} records)"
        for m, v in (loosest.get("clean_metrics") or {}).items()
        if v.get("mean") is not None
    ]
    tail = f"; clean subset at {loosest['label']}: {', '.join(clean)}" if clean else ""
    return f"{counts} in the training ancestry{tail}"


def contamination_notice(evaluation: Evaluation) -> Notice:
    """The evaluation's contamination headline, or *pending* (and since when) until its report exists.

    Its message is what follows ``contamination:`` in the CLI's output.
    """
    report = contamination_report_for_evaluation(evaluation, hits=False)
    if report is not None:
        return Notice("contamination", contamination_headline(report))
    live = [
        job
        for job in selectors.jobs_about(
            record_sets=[evaluation.record_set], evaluations=[evaluation], live_only=True
        )
        if job.kind == Job.Kind.OVERLAP
    ]
    since = f" since {when(live[0].created_at.isoformat())}" if live else ""
    return Notice("contamination_pending", f"pending{since}: no report yet, so no claim either way")
