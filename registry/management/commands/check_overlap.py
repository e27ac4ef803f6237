import argparse
import csv
from pathlib import Path

from django.core.management.base import CommandError

from dedup.claims import format_claims

from ...overlap import services
from ...overlap.screen import overlap_screen
from ..base import Progress, RegistryCommand, job_line, pending_for

# Exit code of --fail-above when too much of the benchmark overlaps (1: an error, 2: refused input),
# the same as the client's `leakledger check --fail-above`.
EXIT_OVERLAP = 3

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
        parser.add_argument(
            "--fail-above",
            type=_fraction,
            metavar="F",
            help=f"a CI gate: exit {EXIT_OVERLAP} when more than the fraction F (0.01 = 1%%) of the records "
            "has a match at --identity or above, printing the offenders on stderr",
        )

    def handle(self, *args, **options):
        super().handle(*args, **options)
        if options.get("fail_above") is not None and getattr(self, "result", None) is not None:
            gate_check(self.result, options["identity"], options["fail_above"], self.stderr)

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
        result["pending_jobs"] = pending_for(options["source"])
        self.result = result
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
        lines.append(f"  method key   {summary['method_key']}")
        lines.extend(f"  {line}" for line in format_claims(summary))
        worst = result["pairs"][: getattr(self, "top", 10)]
        if worst:
            lines.append(
                "  worst offenders (query -> reference, identity, coverage, reference coverage, tier):"
            )
            for p in worst:
                lines.append(
                    f"    {p['query']} -> {p['reference_set']} {p['reference']}  "
                    f"{p['identity']:.3f}  {_cov(p['coverage'])}  {_cov(p['reference_coverage'])}  {p['tier']}"
                )
        # This check ran now; the standing jobs of a registered set may not have, and say so.
        lines += [f"  pending  {job_line(j)}" for j in result.get("pending_jobs", [])]
        return "\n".join(lines)


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction in [0, 1) (0.01 = 1%)")
    return value


def gate_check(result: dict, identity: float, fail_above: float, stream, listed: int = 50) -> None:
    """Raise ``CommandError`` (exit ``EXIT_OVERLAP``) when more than ``fail_above`` of the query overlaps.

    The fraction is the summary row of ``identity`` (the lowest threshold checked); the offenders
    are the query records whose best pair reaches it.
    """
    rows = [r for r in result["summary"]["thresholds"] if abs(r["identity"] - identity) < 1e-9]
    row = rows[-1]
    total = result["summary"]["query_records"]
    verdict = f"{row['records']:,} of {total:,} records ({row['fraction']:.2%}) have a match at {row['label']} identity"
    if row["fraction"] <= fail_above:
        stream.write(f"check_overlap: passed: {verdict}; the limit is {fail_above:.2%} (--fail-above)\n")
        return
    best: dict[str, dict] = {}
    for pair in result["pairs"]:
        reaches = pair["identity"] + 1e-9 >= row["identity"] and (row["identity"] < 1.0 or _identical(pair))
        if reaches and (pair["query"] not in best or pair["identity"] > best[pair["query"]]["identity"]):
            best[pair["query"]] = pair
    offenders = sorted(best.values(), key=lambda p: (-p["identity"], -(p["coverage"] or 0.0), p["query"]))
    stream.write("offenders (query -> reference set, reference, identity, coverage, tier):\n")
    for p in offenders[:listed]:
        stream.write(
            f"  {p['query']} -> {p['reference_set']} {p['reference']}  {p['identity']:.3f}  {_cov(p['coverage'])}  {p['tier']}\n"
        )
    if len(offenders) > listed:
        stream.write(f"  ... and {len(offenders) - listed:,} more (--pairs-out FILE or --json for all)\n")
    raise CommandError(
        f"overlap gate failed: {verdict}, more than {fail_above:.2%} (--fail-above)", returncode=EXIT_OVERLAP
    )


def _cov(value: float | None) -> str:
    """A coverage as printed: ``  n/a`` for an estimated hit (nothing aligned, not measured)."""
    return "  n/a" if value is None else f"{value:.3f}"


def _identical(pair: dict) -> bool:
    """The exact row counts identical sequences only, not a query inside a longer reference."""
    whole = (pair["coverage"] or 0.0) >= 1.0 and (pair.get("reference_coverage") or 1.0) >= 1.0
    return pair["tier"] == "exact" or (pair["identity"] >= 1.0 and whole)
