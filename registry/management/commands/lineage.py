from ...selectors import lineage
from ..base import RegistryCommand, job_line

SHOWN_REPORTS = 10


def _metrics(values: dict) -> str:
    """``{"mcc": {"mean": 0.43, "records": 250}}`` (per-record means) or ``{"mcc": 0.43}`` (reported)."""
    parts = []
    for name, value in values.items():
        if isinstance(value, dict):
            mean = "n/a" if value.get("mean") is None else f"{value['mean']:.4g}"
            parts.append(f"{name}={mean} ({value.get('records', 0):,} records)")
        else:
            parts.append(f"{name}={value:.4g}")
    return ", ".join(parts)


def _no_report_lines(jobs: list[dict]) -> list[str]:
    """Why there is no contamination report yet: its job is pending, running or failed, or none exists."""
    if not jobs:
        return ["  contamination: not queued (run `manage.py recover_jobs`, or record the evaluation again)"]
    job = jobs[-1]
    if job["state"] == "failed":
        return [f"  contamination: FAILED, no report: {job_line(job)}"]
    if job["state"] == "succeeded":
        return [f"  contamination: no report although its job finished: {job_line(job)}"]
    return [
        f"  contamination: {job['state']}: no report yet, so no claim either way ({job_line(job)})",
        "  (follow it with `manage.py jobs`; a worker must be running when CELERY_BROKER_URL is set)",
    ]


def _contamination_lines(report: dict | None, shown: int = 10, jobs: list[dict] | None = None) -> list[str]:
    if report is None:
        return _no_report_lines(jobs or [])
    summary = report["summary"]
    lines = [
        f"  contamination of {report['record_set']} against the training ancestry "
        f"({summary['query_records']:,} test records, query coverage >= {summary['coverage']:.0%}):"
    ]
    if summary.get("full_metrics"):
        lines.append(
            f"    {'all records':<10} {'':>16} {'':>8}  per-record means: {_metrics(summary['full_metrics'])}"
        )
    for row in summary["thresholds"]:
        clean = f"  clean subset: {_metrics(row['clean_metrics'])}" if row.get("clean_metrics") else ""
        recall = f"recall {row['recall']:.3f}" if row.get("recall") is not None else "recall not measured"
        lines.append(
            f"    {row['label']:<10} {row['records']:>7,} ({row['fraction']:>6.1%})  {recall}{clean}"
        )
    worst = sorted(report.get("contaminated", []), key=lambda h: (-h["identity"], -h["coverage"], h["query"]))
    if worst:
        lines.append(f"  most similar test records (of {len(worst):,}):")
        for hit in worst[:shown]:
            lines.append(
                f"    {hit['query']:<20} {hit['identity']:>6.1%} identity, {hit['coverage']:>6.1%} coverage  "
                f"{hit['reference_set']} {hit['reference']} ({hit['tier']})"
            )
    return lines


class Command(RegistryCommand):
    help = "Ancestors and descendants of a dataset version or model version (name@version) or an evaluation (UUID)."

    def add_command_arguments(self, parser):
        parser.add_argument("ref", help="name@version of a dataset or model version, or an evaluation UUID")

    def act(self, options) -> dict:
        return lineage(options["ref"])

    def summarise(self, result: dict) -> str:
        kind = result["type"]
        if kind == "dataset_version":
            lines = [
                f"dataset version {result['ref']}  ({result['records']:,} records, digest {result['digest']})"
            ]
            lines += [f"  derived from  {e['source']}  ({e['transform']})" for e in result["ancestors"]]
            lines += [f"  derived into  {e['target']}  ({e['transform']})" for e in result["descendants"]]
            lines += [f"  split part    {s['ref']} ({s['role']}, {s['records']:,})" for s in result["splits"]]
            lines += [
                f"  attestation   {a['split']}: {a['text']}" for a in result.get("split_attestations", [])
            ]
            lines += [f"  trained       {m}" for m in result["models_trained_on_it"]]
            lines += [
                f"  evaluation    {e['uuid']}  {e['model']} on {e['on']}" for e in result["evaluations_on_it"]
            ]
            lines += [f"  pending       {job_line(j)}" for j in result["pending_jobs"]]
            reports = result["overlap_reports"]  # worst first
            for report in reports[:SHOWN_REPORTS]:
                counts = ", ".join(
                    f"{t['label']} {t['records']:,} ({t['fraction']:.1%})" for t in report["thresholds"]
                )
                lines.append(f"  overlap       {report['query_set']} vs {report['reference_set']}: {counts}")
            if len(reports) > SHOWN_REPORTS:
                more = len(reports) - SHOWN_REPORTS
                lines.append(
                    f"  ... and {more:,} more overlap report{'s' if more > 1 else ''} (lineage --json lists all)"
                )
            return "\n".join(lines)
        if kind == "model_version":
            lines = [f"model version {result['ref']}"]
            lines += [f"  base          {b}" for b in result["bases"]]
            lines += [f"  fine-tuned    {m}" for m in result["fine_tuned"]]
            lines += [f"  trained on    {r}" for r in result["trained_on"]]
            inherited = [r for r in result["training_ancestry"] if r not in result["trained_on"]]
            lines += [f"  inherited     {r}" for r in inherited]
            lines += [f"  evaluation    {e['uuid']} on {e['on']}" for e in result["evaluations"]]
            return "\n".join(lines)
        metrics = ", ".join(f"{k}={v:g}" for k, v in result["metrics"].items())
        lines = [f"evaluation {result['uuid']}", f"  {result['model']} on {result['on']}: {metrics}"]
        ancestry = result["model_lineage"]["training_ancestry"]
        lines.append(f"  training ancestry: {', '.join(ancestry) or 'none'}")
        lines += _contamination_lines(result["contamination"], jobs=result.get("contamination_jobs"))
        return "\n".join(lines)
