"""``leakledger``: the client's verbs for shells and CI pipelines.

Exit codes: 0 success (and, for ``check --fail-above``, overlap at or below the limit);
1 an error (server unreachable, refused for a reason other than bad input, a job failed);
2 bad input or usage (a refused file, field or reference; the message names file, line, record);
3 ``check --fail-above``: more of the benchmark overlaps than allowed (the offenders are printed).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import sys
from pathlib import Path
from typing import Any

from . import __version__, config
from .client import CITATION_FORMATS, Client
from .errors import ApiError, InputRejected, LeakLedgerError
from .models import OverlapResult

EXIT_OK, EXIT_ERROR, EXIT_INPUT, EXIT_OVERLAP = 0, 1, 2, 3
KINDS = ["protein", "dna", "rna", "text"]
FORMATS = ["fasta", "csv", "tsv", "jsonl", "pdb", "mmcif"]


def _pairs(items: list[str] | None, flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"leakledger: {flag} {item!r} is not KEY=VALUE")
        out[key] = value
    return out


def _number(value: str, flag: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise SystemExit(f"leakledger: {flag}: {value!r} is not a number") from None


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction in [0, 1) (0.01 = 1%)")
    return value


def _common_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default: dict[str, Any] = {"default": argparse.SUPPRESS} if suppress else {}
    parser.add_argument(
        "--url",
        help="the server (default: LEAKLEDGER_URL, the config file, http://127.0.0.1:8000)",
        **default,
    )
    parser.add_argument("--token", help="API token (default: LEAKLEDGER_TOKEN, the config file)", **default)
    parser.add_argument(
        "--json", action="store_true", help="print machine-readable JSON on stdout", **default
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr", **default)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leakledger",
        description="LeakLedger from the shell: register data, models and evaluations; check a benchmark "
        "for overlap with training data (and fail a CI step when it does).",
        epilog="Server and token: --url/--token, else LEAKLEDGER_URL/LEAKLEDGER_TOKEN, else "
        "~/.config/leakledger/config.toml (leakledger login). Exit codes: 0 ok; 1 error; 2 bad input; "
        "3 check --fail-above: too much overlap.",
    )
    _common_options(parser, suppress=False)
    parser.add_argument("--version", action="version", version=f"leakledger-client {__version__}")
    # The same options are accepted after the command too (`leakledger login --url ... --token ...`).
    common = argparse.ArgumentParser(add_help=False)
    _common_options(common, suppress=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add = functools.partial(sub.add_parser, parents=[common])

    p = add("register", help="upload a file as a dataset version (streamed; waits for the ingest)")
    p.add_argument("file", type=Path)
    p.add_argument("--name", required=True, help="dataset name (created if new)")
    p.add_argument("--kind", choices=KINDS, help="required for a new dataset")
    p.add_argument("--version", dest="dataset_version", help="version label (default: next number)")
    p.add_argument("--license")
    p.add_argument("--description")
    p.add_argument("--source")
    p.add_argument("--derived-from", metavar="NAME@V")
    p.add_argument("--transform")
    p.add_argument("--role", choices=["training", "benchmark"])
    p.add_argument("--format", choices=[*FORMATS, "llsk"], help="llsk: a sketch file (leakledger sketch)")
    p.add_argument("--id-column")
    p.add_argument("--sequence-column")
    p.add_argument("--skip-identical-duplicates", action="store_true")

    p = add(
        "sketch",
        help="sketch a private sequence file locally into a .llsk file: sha256, length and MinHash "
        "signature per record, never the residues (register it with `leakledger register FILE.llsk`)",
    )
    p.add_argument("file", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.llsk")
    p.add_argument("--kind", choices=KINDS, default="protein")
    p.add_argument("--format", choices=FORMATS)
    p.add_argument("--skip-identical-duplicates", action="store_true")

    p = add("split", help="register a split of a version")
    p.add_argument("version", metavar="NAME@V")
    p.add_argument("--name", required=True)
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--mapping", type=Path, help='{"part": [ids]} JSON or id<TAB>part lines')
    group.add_argument("--from-header", metavar="KEY", help="read KEY=part from each record's header")
    p.add_argument("--role", action="append", metavar="PART=ROLE", help="train, validation, test or other")
    p.add_argument("--allow-shared-ids", action="store_true")

    p = add("model", help="register a model version")
    p.add_argument("ref", metavar="NAME@V")
    p.add_argument("--trained-on", nargs="+", default=[], metavar="REF", help="record sets")
    p.add_argument("--base", metavar="NAME@V", help="the model version it was fine-tuned from")
    p.add_argument("--code-url")
    p.add_argument("--param", action="append", metavar="KEY=VALUE")
    p.add_argument("--description")
    p.add_argument("--exist-ok", action="store_true", help="an identical registered version is fine")

    p = add("evaluate", help="record an evaluation (and print its contamination with --wait)")
    p.add_argument("model_version", metavar="NAME@V")
    p.add_argument("--on", required=True, metavar="REF", help="the record set evaluated on")
    p.add_argument("--metric", action="append", required=True, metavar="NAME=VALUE")
    p.add_argument("--scores", type=Path, help="CSV/TSV: an id column and one column per metric")
    p.add_argument("--code-ref")
    p.add_argument("--wait", action="store_true", help="wait for the contamination report and print it")

    p = add("contamination", help="an evaluation's contamination report (waits for it)")
    p.add_argument("evaluation", metavar="UUID")
    p.add_argument("--no-wait", action="store_true")

    p = add("wait", help="wait for a job and print its result")
    p.add_argument("job", metavar="UUID")
    p.add_argument("--timeout", type=float)

    p = add("cite", help="cite a dataset version or an evaluation")
    p.add_argument("target", metavar="NAME@V|UUID")
    p.add_argument("--format", choices=CITATION_FORMATS, default="bibtex")

    p = add("download", help="records of a version or split part to a file (sha256 checked)")
    p.add_argument("ref", metavar="REF")
    p.add_argument("-o", "--output", type=Path)
    p.add_argument("--format", choices=["fasta", "csv"], default="fasta")

    p = add(
        "check",
        help="does a benchmark overlap training data? (--fail-above for a CI gate)",
        description="Check BENCH (a file, sent but not registered, or a record set reference) against every "
        "training set (default), named record sets or local files (--against), or a model version's training "
        "ancestry (--against-model). With --fail-above F, exit 3 when more than the fraction F of the benchmark "
        "has a match at --identity or above, printing the offenders.",
    )
    p.add_argument("benchmark", metavar="BENCH")
    p.add_argument("--against", nargs="+", metavar="REF|FILE")
    p.add_argument("--against-model", metavar="NAME@V")
    p.add_argument("--identity", type=float, default=0.9, help="lowest identity that counts (default 0.9)")
    p.add_argument(
        "--coverage", type=float, default=0.8, help="minimal coverage of the benchmark record (0.8)"
    )
    p.add_argument("--tiers", help="comma-separated: exact,minhash,mmseqs (default exact,minhash)")
    p.add_argument("--kind", choices=KINDS, help="kind of BENCH's sequences (default protein)")
    p.add_argument("--format", choices=FORMATS)
    p.add_argument(
        "--fail-above", type=_fraction, metavar="F", help="exit 3 when the overlapping fraction > F"
    )
    p.add_argument("--top", type=int, default=50, help="offenders listed (default 50)")
    p.add_argument("--pairs-out", type=Path, metavar="FILE.tsv", help="every best pair as TSV")

    p = add("login", help="save the server URL and token to the config file (mode 600)")
    p.add_argument("--config", type=Path, help=f"default {config.config_path()}")

    add("whoami", help="show which server and token would be used, and whether the server answers")
    return parser


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    if args.json:
        if dataclasses.is_dataclass(data) and not isinstance(data, type):
            data = getattr(data, "raw", None) or dataclasses.asdict(data)
        print(json.dumps(data, indent=2, default=str))
    else:
        print(text)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except InputRejected as exc:
        return _fail(args, exc, EXIT_INPUT)
    except ApiError as exc:
        return _fail(args, exc, EXIT_INPUT if exc.status == 400 else EXIT_ERROR)
    except (FileNotFoundError, ValueError) as exc:
        print(f"leakledger: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except LeakLedgerError as exc:
        print(f"leakledger: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("leakledger: interrupted (background work goes on on the server)", file=sys.stderr)
        return 130


def _fail(args: argparse.Namespace, exc: ApiError, code: int) -> int:
    if args.json:
        print(json.dumps({"error": exc.to_dict(), "status": exc.status}, indent=2))
    where = [f"{k} {exc.fields[k]}" for k in ("file", "line", "record") if k in exc.fields]
    print(f"leakledger: {exc.detail}", file=sys.stderr)
    if where:
        print(f"  at {', '.join(where)}", file=sys.stderr)
    if exc.fields.get("hint"):
        print(f"  hint: {exc.fields['hint']}", file=sys.stderr)
    print(f"  ({exc.method} {exc.url}: HTTP {exc.status}, code {exc.code})", file=sys.stderr)
    return code


def _run(args: argparse.Namespace) -> int:
    if args.command == "login":
        return _login(args)
    if args.command == "sketch":  # local: no server, no token
        header = Client.sketch(
            args.file,
            args.output,
            kind=args.kind,
            format=args.format,
            skip_identical_duplicates=args.skip_identical_duplicates,
        )
        _emit(
            args,
            header,
            f"sketched {header['records']:,} records of {args.file} into {args.output}\n"
            f"  params   {header['sketch_params']}\n  digest   {header['digest']}\n"
            "  holds    sha256, length and MinHash signature per record; no residues, no descriptions",
        )
        return 0
    client = Client(args.url, args.token, progress=False if args.quiet else None)
    command = args.command
    if command == "whoami":
        root = client.transport.json("GET", "")
        _emit(
            args,
            {"server": client.settings.url, "token_from": client.settings.token_from, "root": root},
            client.settings.describe() + "\nthe server answers.",
        )
    elif command == "register" and (args.format == "llsk" or args.file.name.endswith(".llsk")):
        v = client.register_sketch(
            args.file,
            name=args.name,
            kind=args.kind,
            version=args.dataset_version,
            license=args.license,
            description=args.description,
            source=args.source,
            role=args.role or "training",
        )
        what = "registered" if v.created is not False else "already registered (identical content)"
        _emit(
            args,
            {**v.raw, "created": v.created},
            f"{what} {v.ref} (sketch-only: no residues on the server)\n  digest   {v.digest}\n"
            f"  records  {v.record_count:,} ({v.residue_count:,} residues, not uploaded)",
        )
    elif command == "register":
        v = client.register_dataset(
            args.file,
            name=args.name,
            kind=args.kind,
            version=args.dataset_version,
            license=args.license,
            description=args.description,
            source=args.source,
            derived_from=args.derived_from,
            transform=args.transform,
            role=args.role,
            format=args.format,
            id_column=args.id_column,
            sequence_column=args.sequence_column,
            skip_identical_duplicates=args.skip_identical_duplicates,
        )
        what = "registered" if v.created is not False else "already registered (identical content)"
        _emit(
            args,
            {**v.raw, "created": v.created},
            f"{what} {v.ref}\n  digest   {v.digest}\n  records  {v.record_count:,} ({v.residue_count:,} residues)",
        )
    elif command == "split":
        s = client.register_split(
            args.version,
            name=args.name,
            mapping=args.mapping,
            from_header=args.from_header,
            roles=_pairs(args.role, "--role") or None,
            allow_shared_ids=args.allow_shared_ids,
        )
        parts = "\n".join(f"  {p.ref}  {p.role:<10} {p.record_count:>8,} records" for p in s.parts)
        _emit(args, s, f"registered split {s.name} of {s.version}\n{parts}")
    elif command == "model":
        params: dict[str, Any] = {}
        for key, value in _pairs(args.param, "--param").items():
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        m = client.register_model(
            args.ref,
            trained_on=args.trained_on,
            base=args.base,
            code_url=args.code_url,
            parameters=params or None,
            description=args.description,
            exist_ok=args.exist_ok,
        )
        _emit(
            args,
            m,
            f"registered {m.ref}\n  trained on {', '.join(m.trained_on) or '-'}\n  base {m.base or '-'}",
        )
    elif command == "evaluate":
        metrics = {k: _number(v, "--metric") for k, v in _pairs(args.metric, "--metric").items()}
        e = client.record_evaluation(
            args.model_version, on=args.on, metrics=metrics, scores=args.scores, code_ref=args.code_ref
        )
        if args.wait:
            report = client.contamination(e)
            _emit(args, {**e.raw, "contamination": report.raw}, f"evaluation {e.uuid}\n{report}")
        else:
            _emit(args, e, f"evaluation {e.uuid} of {e.model_version} on {e.record_set}\n  {e.url}")
    elif command == "contamination":
        report = client.contamination(args.evaluation, wait=not args.no_wait)
        _emit(args, report, str(report))
    elif command == "wait":
        job = client.wait(args.job, timeout=args.timeout)
        _emit(args, job, f"job {job.uuid} ({job.kind}) {job.state}\n{json.dumps(job.result, indent=2)}")
    elif command == "cite":
        text = client.cite(args.target, args.format)
        print(text if text.endswith("\n") else text + "\n", end="")
    elif command == "download":
        path = client.download(args.ref, args.output, format=args.format)
        _emit(args, {"ref": args.ref, "path": str(path)}, f"wrote {path}")
    elif command == "check":
        return _check(client, args)
    return EXIT_OK


def _check(client: Client, args: argparse.Namespace) -> int:
    result = client.check(
        args.benchmark,
        against=args.against,
        against_model=args.against_model,
        identity=args.identity,
        coverage=args.coverage,
        tiers=[t.strip() for t in args.tiers.split(",") if t.strip()] if args.tiers else None,
        kind=args.kind,
        format=args.format,
    )
    if args.pairs_out:
        with open(args.pairs_out, "w", encoding="utf-8") as out:
            columns = ["query", "reference_set", "reference", "identity", "coverage", "jaccard", "tier"]
            out.write("\t".join(columns) + "\n")
            for pair in result.pairs:
                out.write(
                    "\t".join("" if getattr(pair, c) is None else str(getattr(pair, c)) for c in columns)
                    + "\n"
                )
    _emit(args, result.raw or dataclasses.asdict(result), str(result))
    if args.fail_above is None:
        return EXIT_OK
    return gate(result, identity=args.identity, fail_above=args.fail_above, top=args.top)


def gate(result: OverlapResult, *, identity: float, fail_above: float, top: int = 50) -> int:
    """``EXIT_OVERLAP`` (offenders on stderr) when more than ``fail_above`` of the benchmark overlaps."""
    row = result.threshold(identity)
    verdict = (
        f"{row.records:,} of {result.query_records:,} benchmark records ({row.fraction:.2%}) have a match at "
        f"{row.label} identity"
    )
    if row.fraction <= fail_above:
        print(
            f"leakledger check: passed: {verdict}; the limit is {fail_above:.2%} (--fail-above)",
            file=sys.stderr,
        )
        return EXIT_OK
    print(f"leakledger check: FAILED: {verdict}, more than {fail_above:.2%} (--fail-above)", file=sys.stderr)
    offenders = result.offenders(identity)
    print("offenders (benchmark record -> training set, record, identity, coverage, tier):", file=sys.stderr)
    for pair in offenders[:top]:
        print(f"  {pair.line()}", file=sys.stderr)
    if len(offenders) > top:
        print(f"  ... and {len(offenders) - top:,} more (--top N, --pairs-out FILE, --json)", file=sys.stderr)
    return EXIT_OVERLAP


def _login(args: argparse.Namespace) -> int:
    if not args.url or not args.token:
        print(
            "leakledger login: give --url and --token (the token from manage.py create_token)",
            file=sys.stderr,
        )
        return EXIT_INPUT
    client = Client(args.url, args.token, progress=False)
    client.transport.json("GET", "")  # the server answers (raises otherwise)
    path = config.write_config_file(url=args.url, token=args.token, path=args.config)
    print(f"saved {client.settings.url} and the token to {path} (readable by you only)")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
