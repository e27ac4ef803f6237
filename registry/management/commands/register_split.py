from django.utils import timezone

from ... import services
from ...models import RecordSet
from ...services.warnings import split_warnings
from ..base import RegistryCommand, parse_pairs, queued_lines, queued_since


class Command(RegistryCommand):
    help = (
        'Partition a dataset version into named parts, from a mapping file (JSON {"part": [ids]} or TSV '
        "id<TAB>part) or from a KEY=value tag in the FASTA headers (FLIP's SET=train)."
    )

    def add_command_arguments(self, parser):
        parser.add_argument("ref", help="name@version")
        parser.add_argument("--name", required=True, help="split name, e.g. one_vs_many")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--mapping", metavar="FILE", help="JSON {part: [ids]} or TSV id<TAB>part")
        source.add_argument(
            "--from-header", metavar="KEY", help="take each record's part from KEY=value in its header"
        )
        parser.add_argument(
            "--role",
            action="append",
            default=[],
            metavar="PART=ROLE",
            help="role of a part (train, validation, test, other); default from the part's name",
        )
        parser.add_argument(
            "--allow-shared-ids",
            action="store_true",
            help="accept ids that are in more than one part (they are reported, not refused)",
        )

        parser.add_argument(
            "--claims-max-identity",
            type=float,
            metavar="FRACTION",
            help="the guarantee the split claims: no two records in different parts at or above this "
            "identity (e.g. 0.3); verify_split tests it",
        )
        parser.add_argument(
            "--claims-coverage",
            type=float,
            metavar="FRACTION",
            help="coverage (of the later part's record) at which the claim is made; default: the verification's",
        )

    def act(self, options) -> dict:
        started = timezone.now()
        roles = dict(parse_pairs(options["role"], "--role"))
        split = services.split_register(
            version_ref=options["ref"],
            name=options["name"],
            mapping_path=options["mapping"],
            from_header=options["from_header"],
            roles=roles,
            allow_shared_ids=options["allow_shared_ids"],
            claimed_max_identity=options["claims_max_identity"],
            claimed_coverage=options["claims_coverage"],
        )
        parts = [
            {"ref": f"{split.version.ref}/{split.name}:{p.name}", "role": p.role, "records": p.record_count}
            for p in split.parts.order_by("name")
        ]
        record_sets = RecordSet.objects.filter(part__split=split)
        return {
            "split": f"{split.version.ref}/{split.name}",
            "uuid": str(split.uuid),
            "parts": parts,
            "jobs": queued_since(started, record_sets=record_sets),
            "warnings": split_warnings(split),
        }

    def summarise(self, result: dict) -> str:
        lines = [f"registered split {result['split']}"]
        lines.extend(f"  {p['ref']:<50} {p['role']:<10} {p['records']:>8,} records" for p in result["parts"])
        lines.extend(f"  warning  {w}" for w in result["warnings"])
        lines.extend(queued_lines(result["jobs"]))
        return "\n".join(lines)
