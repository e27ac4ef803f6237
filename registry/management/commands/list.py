from django.db.models import Count

from ... import selectors
from ...models import Dataset, DatasetVersion, Evaluation, ModelVersion
from ...overlap.selectors import contamination_report_for_evaluation
from ..base import RegistryCommand, contamination_headline, job_line, when

WHAT = ["datasets", "versions", "models", "evaluations", "jobs"]


def _evaluation_status(evaluation: Evaluation) -> str:
    report = contamination_report_for_evaluation(evaluation, hits=False)
    if report is not None:
        return contamination_headline(report)
    jobs = selectors.jobs_to_dicts(selectors.jobs_about(evaluations=[evaluation]))
    return f"contamination {jobs[-1]['state']}" if jobs else "contamination not queued"


class Command(RegistryCommand):
    help = (
        "List what is registered: datasets, versions [DATASET], models [MODEL], evaluations [MODEL@V], "
        "jobs. `show REF` shows one of them in full."
    )

    def add_command_arguments(self, parser):
        parser.add_argument("what", choices=WHAT)
        parser.add_argument(
            "name", nargs="?", help="only these: a dataset (versions), a model (models, evaluations)"
        )
        parser.add_argument(
            "--limit", type=int, default=100, help="at most this many (default 100; jobs: 20)"
        )

    def act(self, options) -> dict:
        what, name, limit = options["what"], options["name"], options["limit"]
        if what == "datasets":
            qs = Dataset.objects.annotate(n=Count("versions")).order_by("name")[:limit]
            return {
                "datasets": [
                    {
                        "name": d.name,
                        "kind": d.kind,
                        "versions": d.n,
                        "license": d.license,
                        "source": d.source,
                    }
                    for d in qs
                ]
            }
        if what == "versions":
            qs = DatasetVersion.objects.select_related("dataset").order_by(
                "dataset__name", "created_at", "id"
            )
            if name:
                qs = qs.filter(dataset__name=name)
            return {
                "versions": [
                    {
                        "ref": v.ref,
                        "records": v.record_count,
                        "role": v.role or None,
                        "digest": v.digest,
                        "created_at": v.created_at.isoformat(),
                    }
                    for v in qs[:limit]
                ]
            }
        if what == "models":
            qs = ModelVersion.objects.select_related("model", "base__model").order_by(
                "model__name", "created_at"
            )
            if name:
                qs = qs.filter(model__name=name)
            return {
                "models": [
                    {
                        "ref": m.ref,
                        "base": m.base.ref if m.base else None,
                        "trained_on": [
                            rs.ref for rs in m.trained_on.select_related("version__dataset", "part__split")
                        ],
                        "evaluations": m.evaluations.count(),
                    }
                    for m in qs[:limit]
                ]
            }
        if what == "evaluations":
            qs = Evaluation.objects.select_related(
                "model_version__model", "record_set__version__dataset", "record_set__part__split"
            ).order_by("created_at", "id")
            if name:
                model = selectors.model_version_get(name) if "@" in name else None
                qs = qs.filter(model_version=model) if model else qs.filter(model_version__model__name=name)
            return {
                "evaluations": [
                    {
                        "uuid": str(e.uuid),
                        "model": e.model_version.ref,
                        "on": e.record_set.ref,
                        "metrics": e.metrics,
                        "contamination": _evaluation_status(e),
                        "created_at": e.created_at.isoformat(),
                    }
                    for e in qs[:limit]
                ]
            }
        return {"jobs": selectors.jobs_to_dicts(selectors.jobs_list(limit=min(limit, 20)))}

    def summarise(self, result: dict) -> str:
        [(what, rows)] = result.items()
        if not rows:
            return f"no {what} registered"
        if what == "datasets":
            return "\n".join(
                f"{d['name']:<30} {d['kind']:<8} {d['versions']} version{'s' if d['versions'] != 1 else ''}"
                f"  {d['license'] or '-'}  {d['source']}"
                for d in rows
            )
        if what == "versions":
            return "\n".join(
                f"{v['ref']:<40} {v['records']:>10,} records  {v['role'] or '':<9}  {v['digest'][:12]}…  "
                f"{when(v['created_at'])}"
                for v in rows
            )
        if what == "models":
            return "\n".join(
                f"{m['ref']:<30} trained on {', '.join(m['trained_on']) or '-'}"
                + (f"; fine-tuned from {m['base']}" if m["base"] else "")
                + f"; {m['evaluations']} evaluation(s)"
                for m in rows
            )
        if what == "evaluations":
            return "\n".join(
                f"{e['uuid']}  {e['model']} on {e['on']}: "
                + ", ".join(f"{k}={v:g}" for k, v in e["metrics"].items())
                + f"\n    {e['contamination']}"
                for e in rows
            )
        return "\n".join(job_line(j) for j in rows)
