from ...selectors import lineage
from ..base import RegistryCommand


def _metrics(values: dict) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in values.items())


def _contamination_lines(report: dict | None, shown: int = 10) -> list[str]:
    if report is None:
        return ["  contamination: not computed yet (it runs in the background; try again shortly)"]
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
        recall = f"recall {row['recall']:.3f}" if row.get("recall") is not None else "recall n/a"
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
            for report in result["overlap_reports"]:
                counts = ", ".join(
                    f"{t['label']} {t['records']:,} ({t['fraction']:.1%})" for t in report["thresholds"]
                )
                lines.append(f"  overlap       {report['query_set']} vs {report['reference_set']}: {counts}")
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
        lines += _contamination_lines(result["contamination"])
        return "\n".join(lines)
