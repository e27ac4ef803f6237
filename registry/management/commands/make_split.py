from ...mmseqs import deployment_mmseqs
from ...services import split_generation as make
from ...split_selectors import attestation_to_dict
from ..base import Progress, RegistryCommand
from .verify_split import attestation_lines


class Command(RegistryCommand):
    help = (
        "Generate a split of a dataset version whose parts share no pair at or above an identity: the "
        "records' similarity graph (exact, MinHash + alignment, MMseqs2), its connected components packed "
        "whole into parts to meet the fractions; then verify it and store the attestation."
    )

    def add_command_arguments(self, parser):
        parser.add_argument("ref", help="name@version of the dataset version to split")
        parser.add_argument("--name", required=True, help="name of the new split")
        parser.add_argument(
            "--fractions",
            required=True,
            help="part=fraction pairs summing to 1, e.g. train=0.8,validation=0.1,test=0.1",
        )
        parser.add_argument(
            "--identity", type=float, default=0.3, help="no cross-part pair at or above this identity (0.3)"
        )
        parser.add_argument(
            "--coverage",
            type=float,
            default=0.5,
            help="an edge needs this coverage of the shorter record (0.5)",
        )
        parser.add_argument("--seed", type=int, default=0, help="seed of the tie-breaking shuffle (0)")
        parser.add_argument(
            "--tolerance",
            type=float,
            default=0.02,
            help="largest allowed |achieved - target| fraction per part (0.02)",
        )
        parser.add_argument(
            "--tiers",
            help="comma-separated, among exact, minhash, mmseqs (default: all three when installed)",
        )
        parser.add_argument(
            "--oversize",
            choices=["fail", "other"],
            default="fail",
            help="a component larger than the largest part: fail (default) or put it in a part named other",
        )
        parser.add_argument("--labels", metavar="FILE", help="CSV/TSV/JSONL with an id and a label column")
        parser.add_argument("--stratify-by", metavar="COLUMN", help="label column of --labels to stratify by")
        parser.add_argument("--labels-id-column", default="id", help="id column of --labels (id)")
        parser.add_argument(
            "--exclude-overlap-with",
            action="append",
            metavar="REF",
            help=f"keep records overlapping this record set out of the test part (repeatable; "
            f"{make.ALL_TRAINING} for every registered training set)",
        )
        parser.add_argument("--threads", type=int, help="MMseqs2 threads (default: every CPU)")
        parser.add_argument(
            "--mmseqs-sensitivity",
            type=float,
            help="MMseqs2 -s of the verification (7.5, the ground truth's)",
        )
        parser.add_argument(
            "--graph-sensitivity",
            type=float,
            help="MMseqs2 -s of the all-against-all graph search (default: as the verification); a lower "
            "value is faster, and the pairs it misses are found by the verification and joined",
        )
        parser.add_argument(
            "--max-rounds",
            type=int,
            default=3,
            help="plans made again after joining what verification found (3)",
        )

    def act(self, options) -> dict:
        labels = None
        if options["labels"] or options["stratify_by"]:
            if not (options["labels"] and options["stratify_by"]):
                from ...errors import RegistryError

                raise RegistryError("--labels and --stratify-by go together: the file and its label column.")
            labels = make.read_labels(options["labels"], options["stratify_by"], options["labels_id_column"])
        mm = {}
        if options["threads"]:
            mm["threads"] = options["threads"]
        if options["mmseqs_sensitivity"]:
            mm["sensitivity"] = options["mmseqs_sensitivity"]
        split, attestation = make.split_make(
            version_ref=options["ref"],
            name=options["name"],
            fractions=options["fractions"],
            identity=options["identity"],
            coverage=options["coverage"],
            seed=options["seed"],
            tolerance=options["tolerance"],
            tiers=options["tiers"].split(",") if options["tiers"] else None,
            oversize=options["oversize"],
            labels=labels,
            stratify_by=options["stratify_by"],
            exclude_overlap_with=options["exclude_overlap_with"],
            mmseqs_settings=deployment_mmseqs(**mm) if mm else None,
            graph_sensitivity=options["graph_sensitivity"],
            max_rounds=options["max_rounds"],
            on_progress=Progress("make_split"),
        )
        return {
            "split": str(split),
            "uuid": str(split.uuid),
            "parts": [
                {"name": p.name, "role": p.role, "records": p.record_count}
                for p in split.parts.order_by("name")
            ],
            "provenance": split.provenance,
            "attestation": attestation_to_dict(attestation),
        }

    def summarise(self, result: dict) -> str:
        prov = result["provenance"]
        graph, plan = prov["graph"], prov["plan"]
        lines = [
            f"made split {result['split']} at identity >= {prov['identity']:.0%}, coverage >= {prov['coverage']:.0%} "
            f"(seed {prov['seed']}, tiers {'+'.join(prov['tiers'])})",
            f"  graph: {graph['records']:,} records in {graph['components']:,} components "
            f"(largest {', '.join(str(s) for s in graph['largest_components'][:5])}; {graph['singletons']:,} "
            f"singletons) in {graph['seconds']:.1f} s",
        ]
        for p in result["parts"]:
            target = plan["targets"].get(p["name"])
            achieved = plan["achieved"].get(p["name"])
            share = f"{achieved:.1%} (target {target:.0%})" if target is not None else "oversized components"
            lines.append(f"  part {p['name']:<12} {p['role']:<10} {p['records']:>8,} records  {share}")
        lines += [f"  note: {note}" for note in prov.get("notes", [])]
        lines += [
            f"  round {r['round']}: {r['components']:,} components, {r['violations']:,} cross-part pair(s) "
            "found by the verification"
            + (" (joined, planned again)" if r["violations"] and r is not prov["rounds"][-1] else "")
            for r in prov.get("rounds", [])
        ]
        if prov["exclude_overlap_with"]:
            lines.append(
                f"  kept out of test: {prov['excluded_from_test']:,} record(s) overlapping "
                f"{', '.join(prov['exclude_overlap_with'])}"
            )
        lines.append(f"attestation {result['attestation']['uuid']}")
        lines += attestation_lines(result["attestation"])
        return "\n".join(lines)
