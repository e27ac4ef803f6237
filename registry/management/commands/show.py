import uuid as uuid_module

from ... import selectors
from ...errors import NotFound
from ...models import Dataset, Evaluation, Job, MLModel
from ..base import RegistryCommand, job_line, when


class Command(RegistryCommand):
    help = (
        "Show one thing in full: a dataset or model (NAME), a dataset version or model version "
        "(NAME@VERSION), a split part (NAME@VERSION/SPLIT:PART), an evaluation or a job (UUID). "
        "`lineage REF` adds what it came from and what came of it."
    )

    def add_command_arguments(self, parser):
        parser.add_argument("ref", help="NAME, NAME@VERSION, NAME@VERSION/SPLIT:PART or a UUID")

    def act(self, options) -> dict:
        ref = options["ref"].strip()
        try:
            key = uuid_module.UUID(ref)
        except ValueError:
            key = None
        if key is not None:
            if Evaluation.objects.filter(uuid=key).exists():
                return {
                    "type": "evaluation",
                    **selectors.lineage_of_evaluation(selectors.evaluation_get(ref)),
                }
            if Job.objects.filter(uuid=key).exists():
                return {"type": "job", **selectors.jobs_to_dicts([selectors.job_get(ref)])[0]}
            raise NotFound(f"No evaluation or job {ref}. List them with `manage.py list evaluations|jobs`.")
        if "@" not in ref:
            return self._named(ref)
        if "/" in ref:
            rs = selectors.record_set_get(ref)
            return {
                "type": "split_part",
                "ref": rs.ref,
                "uuid": str(rs.uuid),
                "role": rs.part.role,
                "records": rs.part.record_count,
                "version": rs.version.ref,
                "digest_of_version": rs.version.digest,
            }
        return selectors.lineage(ref)

    def _named(self, name: str) -> dict:
        dataset = Dataset.objects.filter(name=name).first()
        if dataset is not None:
            return {
                "type": "dataset",
                "name": dataset.name,
                "kind": dataset.kind,
                "license": dataset.license,
                "source": dataset.source,
                "description": dataset.description,
                "versions": [
                    {"ref": v.ref, "records": v.record_count, "digest": v.digest}
                    for v in dataset.versions.select_related("dataset").order_by("created_at", "id")
                ],
            }
        model = MLModel.objects.filter(name=name).first()
        if model is not None:
            return {
                "type": "model",
                "name": model.name,
                "description": model.description,
                "versions": [
                    v.ref for v in model.versions.select_related("model").order_by("created_at", "id")
                ],
            }
        from ...suggest import did_you_mean

        names = list(Dataset.objects.values_list("name", flat=True)) + list(
            MLModel.objects.values_list("name", flat=True)
        )
        raise NotFound(
            f"No dataset or model named {name!r}.{did_you_mean(name, names)} List them with "
            "`manage.py list datasets` and `manage.py list models`."
        )

    def summarise(self, result: dict) -> str:
        kind = result["type"]
        if kind == "dataset":
            lines = [f"dataset {result['name']} ({result['kind']})"]
            lines += [f"  licence  {result['license'] or '-'}", f"  source   {result['source'] or '-'}"]
            if result["description"]:
                lines.append(f"  about    {result['description']}")
            lines += [
                f"  version  {v['ref']}  {v['records']:,} records  {v['digest']}" for v in result["versions"]
            ]
            return "\n".join(lines)
        if kind == "model":
            return "\n".join([f"model {result['name']}"] + [f"  version  {v}" for v in result["versions"]])
        if kind == "split_part":
            return "\n".join(
                [
                    f"split part {result['ref']} ({result['role']}, {result['records']:,} records)",
                    f"  of       {result['version']} (digest {result['digest_of_version']})",
                ]
            )
        if kind == "job":
            return job_line(result)
        if kind == "dataset_version":
            lines = [f"dataset version {result['ref']}", f"  digest   {result['digest']}"]
            lines += [f"  records  {result['records']:,}", f"  role     {result['role'] or '-'}"]
            lines += [
                f"  part     {s['ref']} ({s['role']}, {s['records']:,} records)" for s in result["splits"]
            ]
            lines += [f"  trained  {m}" for m in result["models_trained_on_it"]]
            return "\n".join(lines)
        if kind == "model_version":
            lines = [f"model version {result['ref']}"]
            lines += [f"  base        {b}" for b in result["bases"][:1]]
            lines += [f"  trained on  {r}" for r in result["trained_on"]]
            lines += [f"  code        {result['code_url']}"] if result["code_url"] else []
            lines += [f"  parameters  {result['parameters']}"] if result["parameters"] else []
            lines += [f"  evaluation  {e['uuid']} on {e['on']}" for e in result["evaluations"]]
            return "\n".join(lines)
        metrics = ", ".join(f"{k}={v:g}" for k, v in result["metrics"].items())
        return "\n".join(
            [
                f"evaluation {result['uuid']} ({when(result['created_at'])})",
                f"  {result['model']} on {result['on']}: {metrics}",
                f"  code     {result['code_ref'] or '-'}",
                f"  digest   {result['on_digest']}",
                f"  contamination: `manage.py lineage {result['uuid']}`",
            ]
        )
