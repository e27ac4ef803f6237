import csv
from pathlib import Path

from ...overlap import services
from ...overlap.screen import overlap_screen
from ..base import Progress, RegistryCommand

PAIR_COLUMNS = [
    "query",
    "reference_set",
    "reference",
    "identity",
    "coverage",
    "reference_coverage",
    "jaccard",
    "tier",
]


class Command(RegistryCommand):
    help = (
        "Check FILE (registered or not) or a registered record set REF for overlap with registered record sets: "
        "every training set (default), named sets, or a model version's training ancestry."
    )

    def add_command_arguments(self, parser):
        parser.add_argument(
            "source", metavar="FILE_OR_REF", help="a sequence file, or name@version[/split:part]"
        )
        parser.add_argument(
            "--kind",
            choices=["protein", "dna", "rna", "text"],
            help="kind of FILE's sequences (default protein; a REF knows its kind)",
        )
        parser.add_argument(
            "--format",
            choices=["fasta", "csv", "tsv", "jsonl", "pdb", "mmcif"],
            help="file format (default: from the file name, then its content)",
        )
        parser.add_argument(
            "--against",
            nargs="+",
            metavar="REF",
            help="'all' (every training set, the default) or record set references",
        )
        parser.add_argument(
            "--against-model",
            metavar="NAME@V",
            help="the training ancestry of a model version (its sets and its bases')",
        )
        parser.add_argument(
            "--identity", type=float, default=0.9, help="lowest identity reported (default 0.9)"
        )
        parser.add_argument(
            "--coverage", type=float, default=0.8, help="minimal coverage of the query record (default 0.8)"
        )
        parser.add_argument("--tiers", default="exact,minhash", help="comma-separated: exact,minhash,mmseqs")
        parser.add_argument(
            "--pairs-out",
            type=Path,
            metavar="FILE.tsv",
            help="write every best pair as TSV: " + ", ".join(PAIR_COLUMNS),
        )
        parser.add_argument("--top", type=int, default=10, help="worst offenders listed (default 10)")
        parser.add_argument(
            "--screen",
            action="store_true",
            help="first the whole-set screen (containment of the k-mers in each set, 95%% interval), "
            "then the per-record report",
        )
        parser.add_argument(
            "--screen-k", type=int, help="k-mer length of the screen (default: protein 10, dna 21)"
        )
        parser.add_argument(
            "--screen-scaled", type=int, default=100, help="screen keeps 1 k-mer in N (default 100)"
        )
        parser.add_argument("--screen-only", action="store_true", help="the whole-set screen alone")

    def act(self, options) -> dict:
        first = None
        if options["screen"] or options["screen_only"]:
            first = overlap_screen(
                source=options["source"],
                kind=options["kind"],
                file_format=options["format"],
                against=options["against"],
                against_model=options["against_model"],
                k=options["screen_k"],
                scaled=options["screen_scaled"],
            )
            if options["screen_only"]:
                return {"screen": first}
            if not getattr(self, "json_output", False):  # the first answer, before the per-record work
                self.stdout.write(self.summarise_screen(first))
        result = services.overlap_query(
            source=options["source"],
            kind=options["kind"],
            file_format=options["format"],
            against=options["against"],
            against_model=options["against_model"],
            identity=options["identity"],
            coverage=options["coverage"],
            tiers=tuple(t.strip() for t in options["tiers"].split(",") if t.strip()),
            on_progress=Progress(Path(options["source"]).name),
        )
        if options["pairs_out"]:
            with open(options["pairs_out"], "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
                writer.writerow(PAIR_COLUMNS)
                for pair in result["pairs"]:
                    writer.writerow(["" if pair[c] is None else pair[c] for c in PAIR_COLUMNS])
        self.top = options["top"]
        if first is not None:
            return {"screen": first} | result
        return result

    def summarise_screen(self, screen: dict) -> str:
        m = screen["method"]
        lines = [
            f"{screen['query']}: whole-set screen, {m['kind']} {m['k']}-mers, scaled={m['scaled']} "
            "(containment of the query's k-mers in each set, 95% interval)",
        ]
        for row in screen["screen"]:
            low, high = row["interval_95"]
            lines.append(
                f"  {100 * row['containment']:6.2f}%  [{100 * low:.2f}-{100 * high:.2f}%]  "
                f"{row['shared_hashes']:,}/{row['test_hashes']:,}  {row['train']}"
            )
        if not screen["screen"]:
            lines.append("  nothing to screen against (no training sets registered)")
        return "\n".join(lines)

    def summarise(self, result: dict) -> str:
        if "summary" not in result:  # --screen-only
            return self.summarise_screen(result["screen"])
        summary = result["summary"]
        refs = ", ".join(r["ref"] for r in result["references"]) or "nothing (no training sets registered)"
        lines = [
            f"{result['query']}: {summary['query_records']:,} records against {refs}",
            f"  query digest {result['query_digest']}",
            f"  tiers run    {', '.join(n for n, t in result['method']['tiers_run'].items() if t.get('ran'))}",
        ]
        for name, info in result["method"]["tiers_run"].items():
            if not info.get("ran"):
                lines.append(f"  tier {name} did not run: {info.get('reason')}")
        lines.append(f"  {'identity':>9}  {'records':>8}  {'fraction':>8}  recall (calibration)")
        for row in summary["thresholds"]:
            recall = "-" if row["recall"] is None else f"{row['recall']:.3f}"
            lines.append(f"  {row['label']:>9}  {row['records']:>8,}  {row['fraction']:>8.2%}  {recall}")
        worst = result["pairs"][: getattr(self, "top", 10)]
        if worst:
            lines.append(
                "  worst offenders (query -> reference, identity, coverage, reference coverage, tier):"
            )
            for p in worst:
                lines.append(
                    f"    {p['query']} -> {p['reference_set']} {p['reference']}  "
                    f"{p['identity']:.3f}  {p['coverage']:.3f}  {p['reference_coverage']:.3f}  {p['tier']}"
                )
        return "\n".join(lines)
