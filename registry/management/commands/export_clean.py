from pathlib import Path

from ...services.export import clean_subset_export
from ..base import Progress, RegistryCommand


class Command(RegistryCommand):
    help = (
        "Write the clean subset of a benchmark as FASTA: its records with no hit in a model version's training "
        "ancestry at the identity threshold; optionally register it as a version derived from the benchmark."
    )

    def add_command_arguments(self, parser):
        parser.add_argument("benchmark", metavar="BENCH", help="name@version[/split:part] of the benchmark")
        parser.add_argument("--against-model", required=True, metavar="M@V", help="the model version")
        parser.add_argument(
            "--identity", type=float, default=0.9, help="remove records with a hit at >= this (0.9)"
        )
        parser.add_argument(
            "--coverage", type=float, default=0.8, help="... covering >= this of the record (0.8)"
        )
        parser.add_argument("--tiers", default="exact,minhash", help="comma-separated: exact,minhash,mmseqs")
        parser.add_argument("-o", "--output", type=Path, required=True, metavar="CLEAN.fasta")
        parser.add_argument(
            "--register",
            metavar="NAME",
            help="register the clean file as a benchmark version of dataset NAME, derived from BENCH's version",
        )

    def act(self, options) -> dict:
        return clean_subset_export(
            benchmark=options["benchmark"],
            against_model=options["against_model"],
            out=options["output"],
            identity=options["identity"],
            coverage=options["coverage"],
            tiers=tuple(t.strip() for t in options["tiers"].split(",") if t.strip()),
            register=options["register"],
            on_progress=Progress(options["benchmark"]),
        )

    def summarise(self, result: dict) -> str:
        lines = [
            f"wrote {result['clean']:,} of {result['query_records']:,} records of {result['benchmark']} to "
            f"{result['path']}",
            f"  removed  {result['removed']:,} with a hit at >= {result['identity']:.0%} identity "
            f"(coverage >= {result['coverage']:.0%}) in the training ancestry of {result['against_model']}",
            f"  tiers    {', '.join(result['tiers_run'])}",
        ]
        if result["registered"]:
            reg = result["registered"]
            lines.append(f"  registered {reg['ref']} (digest {reg['digest']}), derived from the benchmark:")
            lines.append(f"    {result['transform']}")
        return "\n".join(lines)
