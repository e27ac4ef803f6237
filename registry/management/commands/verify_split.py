from ...mmseqs import deployment_mmseqs
from ...services import attestations
from ...split_selectors import attestation_to_dict
from ..base import Progress, RegistryCommand


def attestation_lines(att: dict, shown: int = 20) -> list[str]:
    """The attestation as the CLI prints it (verify_split, make_split, lineage)."""
    lines = [f"  {att['text']}"]
    for pair in att["pairs"]:
        counts = ", ".join(
            f"{row['label']} {row['queries']:,}" for row in pair["thresholds"] if row["queries"] is not None
        )
        top = f"max identity {pair['max_identity']:.2f}" if pair["max_identity"] is not None else "no hit"
        lines.append(
            f"  {pair['later']} ({pair['later_records']:,}) vs {pair['earlier']} ({pair['earlier_records']:,}): "
            f"{pair['violating_records']:,} record(s) with a hit; {counts}; {top}"
        )
    not_run = [f"{n}: {t['reason']}" for n, t in att["method"].get("tiers", {}).items() if not t["ran"]]
    if not_run:
        lines.append(f"  tiers not run: {'; '.join(not_run)}")
    for item in att["shared_ids"][:shown]:
        lines.append(f"  shared id    {item['identifier']} in {', '.join(item['parts'])}")
    if len(att["shared_ids"]) > shown:
        lines.append(f"  ... and {len(att['shared_ids']) - shown} more shared ids (--json lists all)")
    violations = att.get("violations", [])
    for v in violations[:shown]:
        lines.append(
            f"  violation    {v['later_part']}:{v['record']} ~ {v['earlier_part']}:{v['reference']}  "
            f"{v['identity']:.1%} identity, {v['coverage']:.1%} coverage ({v['tier']})"
        )
    if len(violations) > shown:
        lines.append(f"  ... and {len(violations) - shown:,} more violations (--json lists all)")
    return lines


class Command(RegistryCommand):
    help = (
        "Verify a split: search every pair of its parts (train x validation, train x test, validation x "
        "test) for cross-part overlap at an identity and coverage, list every violation and every id in "
        "several parts, and store the result with the split as an attestation."
    )

    def add_command_arguments(self, parser):
        parser.add_argument("ref", help="name@version/split, or the split's UUID")
        parser.add_argument(
            "--identity",
            type=float,
            help="attested identity: cross-part pairs at or above it are violations "
            "(default: the split's claim, else 0.3)",
        )
        parser.add_argument(
            "--coverage",
            type=float,
            help="minimal coverage of the later part's record (default: the claim's, else 0.5)",
        )
        parser.add_argument(
            "--tiers",
            help="comma-separated, among exact, minhash, mmseqs (default: all three when mmseqs is installed)",
        )
        parser.add_argument("--threads", type=int, help="MMseqs2 threads (default: every CPU)")

    def act(self, options) -> dict:
        split = attestations.split_get(options["ref"])
        tiers = options["tiers"].split(",") if options["tiers"] else None
        settings = deployment_mmseqs(threads=options["threads"]) if options["threads"] else None
        attestation = attestations.split_verify(
            split=split,
            identity=options["identity"],
            coverage=options["coverage"],
            tiers=tiers,
            mmseqs_settings=settings,
            on_progress=Progress("verify_split"),
        )
        return attestation_to_dict(attestation)

    def summarise(self, result: dict) -> str:
        return "\n".join([f"attestation {result['uuid']} of {result['split']}", *attestation_lines(result)])
