import json

from django.utils import timezone

from ... import services
from ...selectors import training_ancestry
from ...services.warnings import model_warnings
from ..base import RegistryCommand, parse_pairs, queued_lines, queued_since


class Command(RegistryCommand):
    help = "Register a model version, what it was trained on and the model it was fine-tuned from."

    def add_command_arguments(self, parser):
        parser.add_argument("ref", help="model name@version, e.g. bindnet@1.0")
        parser.add_argument(
            "--trained-on",
            action="append",
            default=[],
            metavar="REF",
            help="a record set it was trained on: name@version or name@version/split:part "
            "(repeat for several)",
        )
        parser.add_argument("--base", metavar="NAME@V", help="the model version it was fine-tuned from")
        parser.add_argument("--code-url", default="", help="URL of the training code")
        parser.add_argument(
            "--param",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="a free parameter (repeatable); VALUE is parsed as JSON when it can be",
        )
        parser.add_argument("--description", default="", help="description of the model (first version only)")

    def act(self, options) -> dict:
        started = timezone.now()
        parameters = {}
        for key, value in parse_pairs(options["param"], "--param"):
            try:
                parameters[key] = json.loads(value)
            except json.JSONDecodeError:
                parameters[key] = value
        version = services.model_version_register(
            ref=options["ref"],
            trained_on=options["trained_on"],
            base=options["base"],
            code_url=options["code_url"],
            parameters=parameters,
            description=options["description"],
            idempotent=True,
        )
        return {
            "ref": version.ref,
            "uuid": str(version.uuid),
            "base": version.base.ref if version.base else None,
            "trained_on": [rs.ref for rs in version.trained_on.order_by("id")],
            "training_ancestry": [rs.ref for rs in training_ancestry(version)],
            "parameters": version.parameters,
            "created": version.created,
            "warnings": model_warnings(version),
            "jobs": queued_since(started, record_sets=version.trained_on.all()),
        }

    def summarise(self, result: dict) -> str:
        lines = [
            f"registered model version {result['ref']}"
            if result["created"]
            else f"already registered {result['ref']} (identical arguments; nothing was written)"
        ]
        if result["base"]:
            lines.append(f"  fine-tuned from  {result['base']}")
        for ref in result["trained_on"]:
            lines.append(f"  trained on       {ref}")
        inherited = [r for r in result["training_ancestry"] if r not in result["trained_on"]]
        for ref in inherited:
            lines.append(f"  inherited        {ref} (through its base)")
        lines.extend(f"  warning          {w}" for w in result["warnings"])
        lines.extend(queued_lines(result["jobs"]))
        return "\n".join(lines)
