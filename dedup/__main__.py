"""Command line: ``python -m dedup overlap QUERY REFERENCE``, ``index``, ``screen`` and ``sketch``.

``index REFERENCE -o ref.llidx`` builds a reusable, memory-mapped reference index
(:mod:`dedup.refindex`) that ``overlap QUERY ref.llidx`` reuses. ``screen TEST TRAIN...``
answers the whole-set question first (:mod:`dedup.screen`): what fraction of the test set's
k-mers each training set holds, with a 95% interval.

``overlap`` prints, per identity threshold, how many query records have a match
in the reference (human table, or ``--json``), and can write every best pair to
a TSV (``--pairs-out``). ``sketch`` writes the MinHash signature of every record
as TSV (identifier, sha256, params key, hex of :meth:`dedup.sketch.Signature.to_bytes`).

Exit codes: 0 success, 2 bad input (unreadable or invalid file, bad option).
Progress goes to stderr (``--quiet`` silences it).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .alignment import BACKENDS
from .claims import format_claims
from .errors import DedupError, ParameterMismatchError
from .method import LIBRARY_TIERS, TIER_ORDER, index_method
from .mmseqs import MmseqsSettings
from .overlap import OverlapResult, default_sketch_params, find_overlap, read_sequences
from .params import SketchParams
from .parsing import KINDS, sequence_sha256
from .refindex import ReferenceIndex, build_index, is_index
from .screen import DEFAULT_SCALED, SCREEN_K, Containment, SetSketch, screen
from .sketch import Signature, sketch_chunks

#: The tiers ``--tiers`` accepts, in the order they run.
TIERS = TIER_ORDER

PAIR_COLUMNS = (
    "query",
    "reference",
    "identity",
    "coverage",
    "tier",
    "reference_coverage",
    "jaccard",
    "alignment_length",
)


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value > 1.0 and value <= 100.0:
        raise argparse.ArgumentTypeError(f"give a fraction from 0 to 1 (e.g. {value / 100:g} for {value:g}%)")
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a fraction from 0 to 1, got {text}")
    return value


def _threads(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _tiers(text: str) -> tuple[str, ...]:
    tiers = tuple(t.strip() for t in text.split(",") if t.strip())
    bad = [t for t in tiers if t not in TIERS]
    if bad or not tiers:
        raise argparse.ArgumentTypeError(
            f"tiers are a comma-separated subset of {','.join(TIERS)}, got {text!r}"
        )
    return tiers


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dedup", description="Train/test overlap of sequence data sets."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    ov = sub.add_parser(
        "overlap",
        help="count query records that match a reference record, per identity threshold",
        description="For each query record, find its best match in the reference (exact, MinHash + alignment, "
        "MMseqs2) and print counts per identity threshold.",
    )
    ov.add_argument("query", help="query sequence file (e.g. a test set): FASTA, CSV, TSV, JSONL, PDB, mmCIF")
    ov.add_argument(
        "reference",
        help="reference sequence file (e.g. a training set), or an index of one made by `python -m dedup index`",
    )
    ov.add_argument("--kind", choices=KINDS, default="protein", help="sequence kind (default: protein)")
    ov.add_argument("--identity", type=_fraction, default=0.9, help="minimal identity, 0..1 (default 0.9)")
    ov.add_argument(
        "--coverage", type=_fraction, default=0.8, help="minimal query coverage, 0..1 (default 0.8)"
    )
    ov.add_argument(
        "--reference-coverage",
        type=_fraction,
        default=0.0,
        help="minimal reference coverage, 0..1 (default 0)",
    )
    ov.add_argument(
        "--tiers",
        type=_tiers,
        default=None,
        help=f"comma-separated: {','.join(TIER_ORDER)} (default {','.join(LIBRARY_TIERS)}; with --index-method "
        "the registry's exact,minhash)",
    )
    ov.add_argument("--k", type=int, help="k-mer length of the MinHash tier (default per kind)")
    ov.add_argument(
        "--lsh-threshold", type=float, help="LSH Jaccard threshold (default from the calibration)"
    )
    ov.add_argument("--trim", action="store_true", help="report passing parts of longer alignments")
    ov.add_argument(
        "--index-method",
        action="store_true",
        help="use the method of a persistent band-key index (the registry's: 37 x 3 bands, at most 200 "
        "candidates per query, stop at the first at >= 95%%), to reproduce a registry report",
    )
    ov.add_argument("--mmseqs", default="mmseqs", help="mmseqs executable (default: mmseqs on PATH)")
    ov.add_argument(
        "--threads",
        type=_threads,
        help="threads for sketching and alignment, and the cap of mmseqs --threads (default: all CPUs); "
        "the results do not depend on it",
    )
    ov.add_argument(
        "--aligner",
        choices=BACKENDS,
        help="alignment backend: numba (compiled, default when installed; protein with MMseqs2's "
        "composition-bias correction) or biopython (the reference; it cannot apply the correction, so "
        "protein is aligned without it, a method of its own key)",
    )
    ov.add_argument("--json", action="store_true", help="print JSON: summary, pairs, method, calibration")
    ov.add_argument(
        "--pairs-out", metavar="FILE.tsv", help="write the best pair of every matched query as TSV"
    )
    ov.add_argument("--quiet", action="store_true", help="no progress messages on stderr")

    ix = sub.add_parser(
        "index",
        help="build a reusable reference index (sketches, band keys, k-mer seeds, sequences)",
        description="Sketch, band and seed-index a reference once; `python -m dedup overlap QUERY INDEX` then "
        "reuses it (memory-mapped) and refuses it if its parameters or the reference's sha256 do not match.",
    )
    ix.add_argument("reference", help="reference sequence file (e.g. a training set)")
    ix.add_argument("-o", "--output", required=True, help="index directory to write, e.g. ref.llidx")
    ix.add_argument("--kind", choices=KINDS, default="protein", help="sequence kind (default: protein)")
    ix.add_argument("--k", type=int, help="k-mer length (default per kind)")
    ix.add_argument(
        "--lsh-threshold", type=float, help="LSH Jaccard threshold (default from the calibration)"
    )
    ix.add_argument(
        "--threads",
        type=_threads,
        help="threads for sketching and the seed table (default: all CPUs); the index does not depend on it",
    )
    ix.add_argument("--quiet", action="store_true", help="no progress messages on stderr")

    sc = sub.add_parser(
        "screen",
        help="whole-set screen: the fraction of a test set's k-mers in each training set, with a 95%% interval",
        description="One FracMinHash sketch per set (dedup.screen): the containment of TEST in each TRAIN, "
        "highest first, with its 95%% Wilson interval. A TRAIN may be a sequence file, a saved .llsketch "
        "(--save-sketches) or an index made by `python -m dedup index`. With --records, the per-record "
        "overlap report follows for every TRAIN that holds sequences.",
    )
    sc.add_argument("test", help="test sequence file (or a .llsketch)")
    sc.add_argument(
        "train", nargs="+", help="training sets: sequence files, .llsketch files or .llidx indexes"
    )
    sc.add_argument("--kind", choices=KINDS, default="protein", help="sequence kind (default: protein)")
    sc.add_argument("--k", type=int, help="k-mer length (default: protein 10, dna/rna 21, text 5)")
    sc.add_argument(
        "--scaled", type=int, default=DEFAULT_SCALED, help=f"keep 1 k-mer in N (default {DEFAULT_SCALED})"
    )
    sc.add_argument("--save-sketches", metavar="DIR", help="save each set's sketch as DIR/<name>.llsketch")
    sc.add_argument(
        "--records", action="store_true", help="then run the per-record overlap against each TRAIN"
    )
    sc.add_argument(
        "--identity", type=_fraction, default=0.9, help="per-record: minimal identity (default 0.9)"
    )
    sc.add_argument(
        "--coverage", type=_fraction, default=0.8, help="per-record: minimal query coverage (0.8)"
    )
    sc.add_argument("--json", action="store_true", help="print JSON: screen rows (and per-record results)")
    sc.add_argument("--quiet", action="store_true", help="no progress messages on stderr")

    sk = sub.add_parser("sketch", help="MinHash signatures of a sequence file, as TSV")
    sk.add_argument("file", help="sequence file")
    sk.add_argument("--kind", choices=KINDS, default="protein")
    sk.add_argument("--k", type=int, help="k-mer length (default per kind)")
    sk.add_argument("--num-perm", type=int, default=128)
    sk.add_argument("--seed", type=int, default=1)
    sk.add_argument("--out", help="output file (default: stdout)")
    return parser


def _progress(quiet: bool):
    started = time.perf_counter()

    def say(message: str) -> None:
        if not quiet:
            print(f"[{time.perf_counter() - started:7.1f} s] {message}", file=sys.stderr, flush=True)

    return say


def format_summary(result: OverlapResult) -> str:
    """The human-readable table of claims per threshold, and what each tier did."""
    lines = [
        f"query records: {result.query_count:,}   reference records: {result.reference_count:,}   "
        f"kind: {result.kind}   identity >= {result.identity:g}   query coverage >= {result.coverage:g}",
        "",
        *format_claims(result.claims.to_dict()),
        "",
    ]
    for name, report in result.tiers.items():
        if report.ran:
            extra = f", {report.version}" if report.version else ""
            lines.append(
                f"tier {name}: ran in {report.seconds:.1f} s, best hits for {report.hits} query sequences{extra}"
            )
            skipped = report.stats.get("skipped_too_long", 0)
            if skipped:
                lines.append(
                    f"  {skipped} candidate pairs were too long to align (len(query) * len(reference) above "
                    "dedup.verify.DEFAULT_MAX_CELLS) and were not verified"
                )
        else:
            lines.append(f"tier {name}: not run ({report.reason})")
    partial = sum(1 for h in result.hits if h.reference_coverage < 0.8)
    if partial:
        lines.append(
            f"{partial} of {len(result.hits)} best hits cover less than 80% of their reference (the query is a "
            "fragment or domain of it): see reference_coverage in --pairs-out or --json"
        )
    return "\n".join(lines)


def write_pairs(result: OverlapResult, path: str) -> None:
    """Write the best pair of every matched query as TSV with a header row."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(PAIR_COLUMNS)
        for h in result.hits:
            writer.writerow(
                [
                    h.query,
                    h.reference,
                    f"{h.identity:.6f}",
                    f"{h.query_coverage:.6f}",
                    h.tier,
                    f"{h.reference_coverage:.6f}",
                    "" if h.jaccard is None else f"{h.jaccard:.6f}",
                    "" if h.alignment_length is None else h.alignment_length,
                ]
            )


def _overlap(args: argparse.Namespace) -> int:
    reference: Any = args.reference
    params: SketchParams | None = SketchParams(args.kind, args.k) if args.k else None
    if is_index(args.reference):
        reference = ReferenceIndex.open(args.reference)  # its sketch and banding are the index's
    elif params is None:
        params = default_sketch_params(args.kind)
    mm = MmseqsSettings(executable=args.mmseqs)  # find_overlap caps its threads at --threads
    if args.index_method:
        if args.k or args.lsh_threshold is not None or args.trim or args.reference_coverage:
            raise ValueError(
                "--index-method fixes the sketch, banding and coverage rule; drop --k/--lsh-threshold/--trim"
            )
        method = index_method(
            args.kind,
            identity=args.identity,
            coverage=args.coverage,
            tiers=args.tiers or ("exact", "minhash"),
            mmseqs=mm,
        )
        result = find_overlap(
            args.query,
            reference,
            method=method,
            progress=_progress(args.quiet),
            threads=args.threads,
            aligner=args.aligner,
        )
    else:
        result = _find(args, reference, params, mm)
    if args.pairs_out:
        write_pairs(result, args.pairs_out)
    if args.json:
        payload: dict[str, Any] = result.to_dict()
        payload["summary"]["counts"] = {row.label: row.queries for row in result.summary}
        sys.stdout.write(json.dumps(payload, indent=1) + "\n")  # one write, not one per token
    else:
        print(format_summary(result))
    return 0


def _find(
    args: argparse.Namespace, reference: Any, params: SketchParams | None, mm: MmseqsSettings
) -> OverlapResult:
    return find_overlap(
        args.query,
        reference,
        kind=args.kind,
        identity=args.identity,
        coverage=args.coverage,
        reference_coverage=args.reference_coverage,
        tiers=args.tiers or LIBRARY_TIERS,
        params=params,
        threshold=args.lsh_threshold,
        mmseqs_settings=mm,
        trim=args.trim,
        progress=_progress(args.quiet),
        threads=args.threads,
        aligner=args.aligner,
    )


def _sketch(args: argparse.Namespace) -> int:
    params = (
        SketchParams(args.kind, args.k, num_perm=args.num_perm, seed=args.seed)
        if args.k
        else SketchParams(
            args.kind, default_sketch_params(args.kind).k, num_perm=args.num_perm, seed=args.seed
        )
    )
    records = read_sequences(args.file, kind=args.kind)
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
    try:
        out.write("identifier\tsha256\tparams\tsignature_hex\n")
        seqs = (s for _i, s in records)
        row = 0
        for chunk in sketch_chunks(seqs, params):
            for values in chunk:
                identifier, seq = records[row]
                sig = Signature(params, values)
                out.write(f"{identifier}\t{sequence_sha256(seq)}\t{params.key()}\t{sig.to_bytes().hex()}\n")
                row += 1
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


def _index(args: argparse.Namespace) -> int:
    params = SketchParams(args.kind, args.k) if args.k else None
    index = build_index(
        args.reference,
        args.output,
        kind=args.kind,
        params=params,
        threshold=args.lsh_threshold,
        progress=_progress(args.quiet),
        threads=args.threads,
    )
    m = index.manifest
    print(
        f"{args.output}: {index.n_records:,} records, {index.n_sequences:,} distinct sequences, "
        f"{index.params.key()}, LSH {index.bands} x {index.rows}, built in {m['build_seconds']} s"
    )
    return 0


def _set_sketch(path: str, args: argparse.Namespace, say) -> SetSketch:
    name = Path(path).name
    if path.endswith(".llsketch"):
        sk = SetSketch.load(path)
        want_k = args.k or SCREEN_K[args.kind]
        if (sk.kind, sk.k) != (args.kind, want_k):
            raise ParameterMismatchError(
                f"{path} is a {sk.kind} k={sk.k} sketch, not {args.kind} k={want_k}; pass --kind/--k to match "
                "or sketch the set again"
            )
        return sk
    if is_index(path):
        index = ReferenceIndex.open(path)
        seqs: Any = (s for _i, s in index.records)
        name = Path(index.manifest["reference"]["path"]).name
    else:
        seqs = (s for _i, s in read_sequences(path, kind=args.kind))
    say(f"screen: sketching {name}")
    sk = SetSketch.from_sequences(seqs, kind=args.kind, k=args.k, scaled=args.scaled, name=name, progress=say)
    if args.save_sketches:
        Path(args.save_sketches).mkdir(parents=True, exist_ok=True)
        sk.save(Path(args.save_sketches) / f"{name}.llsketch")
    return sk


def format_screen(rows: list[Containment], test: SetSketch) -> str:
    """The human-readable screen table."""
    lines = [
        f"test set {test.name}: {test.records:,} sequences, ~{test.hashes.size * test.scaled:,} distinct "
        f"{test.kind} {test.k}-mers ({test.hashes.size:,} sampled, scaled={test.scaled})",
        "",
        f"{'containment':>11}  {'95% interval':>15}  {'shared/sampled':>15}  training set",
    ]
    for r in rows:
        lines.append(
            f"{100 * r.containment:>10.2f}%  {100 * r.low:>6.2f}-{100 * r.high:>6.2f}%  "
            f"{f'{r.shared:,}/{r.sampled:,}':>15}  {r.train} (~{r.train_kmers:,} k-mers)"
        )
    lines.append("")
    lines.append(
        "containment: the fraction of the test set's distinct k-mers found in the training set (FracMinHash, "
        "dedup.screen); the interval is the sampling error only"
    )
    return "\n".join(lines)


def _screen(args: argparse.Namespace) -> int:
    say = _progress(args.quiet)
    test = _set_sketch(args.test, args, say)
    trains = [_set_sketch(t, args, say) for t in args.train]
    rows = screen(test, trains)
    payload: dict[str, Any] = {"screen": [r.to_dict() for r in rows], "k": test.k, "scaled": test.scaled}
    if not args.json:
        print(format_screen(rows, test))
    if args.records and not args.test.endswith(".llsketch"):
        payload["records"] = {}
        for train in args.train:
            if train.endswith(".llsketch"):
                continue
            reference: Any = ReferenceIndex.open(train) if is_index(train) else train
            result = find_overlap(
                args.test,
                reference,
                kind=args.kind,
                identity=args.identity,
                coverage=args.coverage,
                progress=say,
            )
            payload["records"][train] = result.to_dict()
            if not args.json:
                print(f"\nper-record overlap with {train}:")
                print(format_summary(result))
    if args.json:
        sys.stdout.write(json.dumps(payload, indent=1) + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "overlap":
            return _overlap(args)
        if args.command == "index":
            return _index(args)
        if args.command == "screen":
            return _screen(args)
        return _sketch(args)
    except (DedupError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
