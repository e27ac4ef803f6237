from pathlib import Path

from django.utils import timezone

from ... import services
from ...overlap.selectors import contamination_report_for_evaluation
from ...services.warnings import contamination_notice, evaluation_warnings
from ..base import RegistryCommand, queued_lines, queued_since


class Command(RegistryCommand):
    help = (
        "Record an immutable evaluation of a model version on a record set. Its contamination report "
        "against the model's training ancestry is computed in the background."
    )

    def add_command_arguments(self, parser):
        parser.add_argument("model", help="model name@version")
        parser.add_argument(
            "--on", required=True, metavar="REF", help="the record set: name@version[/split:part]"
        )
        parser.add_argument(
            "--metric",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            required=True,
            help="a metric over the whole record set (repeatable)",
        )
        parser.add_argument(
            "--scores",
            type=Path,
            metavar="FILE",
            help="per-record scores: CSV/TSV with an 'id' column and one column per metric, so "
            "that metrics can be recomputed on the uncontaminated records",
        )
        parser.add_argument("--code-ref", default="", help="code reference (commit URL, tag)")

    def act(self, options) -> dict:
        started = timezone.now()
        evaluation = services.evaluation_record(
            model_ref=options["model"],
            on_ref=options["on"],
            metrics=services.parse_metrics(options["metric"]),
            scores_path=options["scores"],
            code_ref=options["code_ref"],
        )
        return {
            "uuid": str(evaluation.uuid),
            "model": evaluation.model_version.ref,
            "on": evaluation.record_set.ref,
            "metrics": evaluation.metrics,
            "scored_metrics": evaluation.scores_metric_names,
            "scores": evaluation.scores.count(),
            "jobs": queued_since(started, record_sets=[evaluation.record_set], evaluations=[evaluation]),
            "warnings": evaluation_warnings(evaluation),
            "contamination": contamination_report_for_evaluation(evaluation, hits=False),
            "contamination_headline": contamination_notice(evaluation).message,
        }

    def summarise(self, result: dict) -> str:
        metrics = ", ".join(f"{k}={v:g}" for k, v in result["metrics"].items())
        lines = [f"recorded evaluation {result['uuid']}", f"  {result['model']} on {result['on']}: {metrics}"]
        if result["scores"]:
            lines.append(f"  {result['scores']:,} per-record scores ({', '.join(result['scored_metrics'])})")
        lines.extend(f"  warning  {w}" for w in result["warnings"])
        lines.append(f"  contamination: {result['contamination_headline']}")
        lines.extend(queued_lines(result["jobs"]))
        lines.append(f"  contamination report in full: manage.py lineage {result['uuid']}")
        return "\n".join(lines)
