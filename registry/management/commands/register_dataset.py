from pathlib import Path

from django.utils import timezone

from ... import services
from ...models import RecordSet
from ..base import Progress, RegistryCommand, queued_lines, queued_since


class Command(RegistryCommand):
    help = (
        "Validate FILE whole and register it as a new version of dataset NAME. Nothing is written if any "
        "record is invalid. Identical content already registered under NAME returns that version."
    )

    def add_command_arguments(self, parser):
        parser.add_argument(
            "file",
            type=Path,
            help="FASTA(.gz), CSV, TSV, JSONL, PDB or mmCIF; or a .llsk sketch file (a sketch-only version)",
        )
        parser.add_argument("--name", required=True, help="dataset name, e.g. flip-bind")
        parser.add_argument("--kind", required=True, choices=["protein", "dna", "rna", "text"])
        parser.add_argument("--version", dest="dataset_version", help="version label (default: next integer)")
        parser.add_argument(
            "--format",
            choices=["fasta", "csv", "tsv", "jsonl", "pdb", "mmcif", "llsk"],
            help="file format (default: from the file name, then its content); llsk: a sketch file",
        )
        parser.add_argument("--derived-from", metavar="REF", help="name@version this version was made from")
        parser.add_argument(
            "--transform", default="", help="how it was derived, e.g. 'clustered at 30%% with MMseqs2'"
        )
        parser.add_argument("--license", default="", help="licence of the dataset (first version only)")
        parser.add_argument(
            "--description", default="", help="description of the dataset (first version only)"
        )
        parser.add_argument("--source", default="", help="where the data comes from: URL, DOI")
        parser.add_argument(
            "--role",
            choices=["training", "benchmark"],
            default="",
            help="register as a training set or a benchmark (test set) for standing overlap checks",
        )
        parser.add_argument(
            "--author",
            action="append",
            default=[],
            metavar="'FAMILY, GIVEN'",
            help="an author of the data, as citations name them (repeatable, in order; first version only)",
        )
        parser.add_argument(
            "--force-kind",
            action="store_true",
            help="register as --kind even when the content looks like another kind (nucleotides or "
            "labels as protein)",
        )
        parser.add_argument("--id-column", default="id", help="CSV/TSV/JSONL identifier column (default: id)")
        parser.add_argument(
            "--sequence-column", default="sequence", help="CSV/TSV/JSONL sequence column (default: sequence)"
        )
        parser.add_argument(
            "--skip-identical-duplicates",
            action="store_true",
            help="drop records repeated verbatim (same id, description and sequence); "
            "a repeated id with other content is still an error",
        )

    def act(self, options) -> dict:
        started = timezone.now()
        if options["format"] == "llsk" or str(options["file"]).endswith(".llsk"):
            # A sketch file (leakledger sketch): a sketch-only version, without residues.
            from registry.services.sketch_ingest import sketch_version_register

            registration = sketch_version_register(
                path=options["file"],
                dataset_name=options["name"],
                kind=options["kind"],
                version=options["dataset_version"],
                license=options["license"],
                description=options["description"],
                source=options["source"],
                role=options["role"],
                authors=options["author"],
                on_progress=Progress(options["file"].name),
            )
            record_sets = RecordSet.objects.filter(version=registration.version)
            return {**registration.to_dict(), "jobs": queued_since(started, record_sets=record_sets)}
        registration = services.dataset_version_register(
            path=options["file"],
            dataset_name=options["name"],
            kind=options["kind"],
            version=options["dataset_version"],
            file_format=options["format"],
            license=options["license"],
            description=options["description"],
            source=options["source"],
            derived_from=options["derived_from"],
            transform=options["transform"],
            role=options["role"],
            force_kind=options["force_kind"],
            authors=options["author"],
            id_column=options["id_column"],
            sequence_column=options["sequence_column"],
            skip_identical_duplicates=options["skip_identical_duplicates"],
            on_progress=Progress(options["file"].name),
        )
        record_sets = RecordSet.objects.filter(version=registration.version)
        return {**registration.to_dict(), "jobs": queued_since(started, record_sets=record_sets)}

    def summarise(self, result: dict) -> str:
        verb = "registered" if result["created"] else "already registered"
        lines = [
            f"{verb} {result['ref']}",
            f"  digest   {result['digest']}",
            f"  records  {result['records']:,} ({result['residues']:,} residues"
            + (", not on the server: sketch-only)" if result.get("sketch_only") else ")"),
        ]
        if result["skipped_duplicates"]:
            lines.append(f"  skipped  {result['skipped_duplicates']:,} verbatim duplicate record(s)")
        lines.extend(f"  note     {m}" for m in result["messages"])
        lines.extend(queued_lines(result["jobs"]))
        return "\n".join(lines)
