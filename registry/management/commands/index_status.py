from ...overlap import index
from ..base import RegistryCommand


class Command(RegistryCommand):
    help = (
        "Show the persistent LSH index: per sketch settings, sequences indexed, band keys, sequences missing."
    )

    def add_command_arguments(self, parser):
        parser.add_argument(
            "--build",
            action="store_true",
            help="index every registered sequence that is not indexed yet (normally the sketch "
            "jobs do it after each registration)",
        )

    def act(self, options) -> dict:
        built = []
        if options["build"]:
            from ...models import RecordSet

            for record_set in RecordSet.objects.select_related("version__dataset", "part__split"):
                built.append(index.index_record_set(record_set))
        return {"settings": index.index_status(), "built": built}

    def summarise(self, result: dict) -> str:
        if not result["settings"]:
            return "the index is empty (nothing registered yet)"
        lines = []
        for s in result["settings"]:
            lines.append(
                f"{s['settings']}: {s['sequences_indexed']:,} sequences, {s['band_keys']:,} band keys "
                f"({s['bands']} bands x {s['rows']} rows, LSH threshold {s['threshold']}); "
                f"{s['not_indexed']:,} of {s['sequences_of_kind']:,} {s['kind']} sequences not indexed"
            )
        for b in result["built"]:
            if b.get("sketched"):
                lines.append(f"  indexed {b['record_set']}: {b['sketched']:,} sequences")
        return "\n".join(lines)
