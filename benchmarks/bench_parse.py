"""Parsing speed and peak memory of dedup.parsing.iter_records on real files.

Each case runs in its own child process pinned to one CPU, so its peak RSS is its own; the fastest of
``--repeat`` runs is kept (the machine is shared, single runs vary). For reference, Biopython's
``SimpleFastaParser`` reads the same FASTA without normalising, validating, identifiers or line
numbers.

Files: Swiss-Prot 2014 (``../large-data/swissprot-2014.fasta``, 459,503 proteins, 206 MB, built by
``../shared/data/get-large.sh``) when it exists, plus a gzip copy and CSV/JSONL conversions of its
first 100,000 records made once in ``--work`` (default ``/tmp/leakledger-bench``), and the fly DNA
upstream regions (``dm3-upstream2000.fa``); otherwise the largest FASTA files in
``../shared/data/splits``.

Usage::

    /work/venv/bin/python benchmarks/bench_parse.py [--repeat 3] [--work /tmp/leakledger-bench]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LARGE = Path(os.environ.get("LEAKLEDGER_LARGE_DATA", REPO.parent / "large-data"))
SHARED = Path(os.environ.get("LEAKLEDGER_SHARED_DATA", REPO.parent / "shared" / "data"))


def _rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(case: dict) -> dict:
    """Child process: parse one file, report time, records, residues and RSS."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    sys.path.insert(0, str(REPO))
    if case["method"] == "biopython":
        from Bio.SeqIO.FastaIO import SimpleFastaParser

        rss_import = _rss_mib()
        start = time.perf_counter()
        records = residues = 0
        with open(case["path"]) as fh:
            for _title, seq in SimpleFastaParser(fh):
                records += 1
                residues += len(seq)
    else:
        from dedup.parsing import iter_records

        rss_import = _rss_mib()
        start = time.perf_counter()
        records = residues = 0
        for rec in iter_records(case["path"], kind=case["kind"], format=case.get("format")):
            records += 1
            residues += len(rec.sequence)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "records": records,
        "residues": residues,
        "rss_import": rss_import,
        "rss_peak": _rss_mib(),
    }


def prepare(work: Path) -> list[dict]:
    swissprot = LARGE / "swissprot-2014.fasta"
    cases: list[dict] = []
    if swissprot.exists():
        work.mkdir(parents=True, exist_ok=True)
        gz = work / "swissprot-2014.fasta.gz"
        if not gz.exists():
            print(f"writing {gz} (gzip -6, once)", file=sys.stderr)
            with open(swissprot, "rb") as src, gzip.open(gz, "wb", compresslevel=6) as dst:
                while block := src.read(1 << 20):
                    dst.write(block)
        csv_path, jsonl_path = work / "swissprot-100k.csv", work / "swissprot-100k.jsonl"
        if not csv_path.exists() or not jsonl_path.exists():
            sys.path.insert(0, str(REPO))
            from dedup.parsing import iter_records

            with open(csv_path, "w", newline="") as c, open(jsonl_path, "w") as j:
                writer = csv.writer(c)
                writer.writerow(["id", "sequence", "description"])
                for i, rec in enumerate(iter_records(swissprot, kind="protein")):
                    if i == 100_000:
                        break
                    writer.writerow([rec.identifier, rec.sequence, rec.description])
                    j.write(
                        json.dumps(
                            {"id": rec.identifier, "sequence": rec.sequence, "description": rec.description}
                        )
                        + "\n"
                    )
        cases += [
            {"name": "Swiss-Prot 2014 FASTA", "path": str(swissprot), "kind": "protein", "method": "dedup"},
            {
                "name": "Swiss-Prot 2014 FASTA",
                "path": str(swissprot),
                "kind": "protein",
                "method": "biopython",
            },
            {"name": "Swiss-Prot 2014 FASTA.gz", "path": str(gz), "kind": "protein", "method": "dedup"},
            {
                "name": "Swiss-Prot first 100k, CSV",
                "path": str(csv_path),
                "kind": "protein",
                "method": "dedup",
            },
            {
                "name": "Swiss-Prot first 100k, JSONL",
                "path": str(jsonl_path),
                "kind": "protein",
                "method": "dedup",
            },
        ]
        dna = LARGE / "dm3-upstream2000.fa"
        if dna.exists():
            cases.append(
                {"name": "fly upstream 2 kb DNA", "path": str(dna), "kind": "dna", "method": "dedup"}
            )
    else:
        splits = sorted((SHARED / "splits").rglob("*.fasta"), key=lambda p: p.stat().st_size, reverse=True)[
            :3
        ]
        for path in splits:
            for method in ("dedup", "biopython"):
                cases.append(
                    {
                        "name": path.relative_to(SHARED).as_posix(),
                        "path": str(path),
                        "kind": "protein",
                        "method": method,
                    }
                )
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/leakledger-bench"))
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(json.loads(args.one))))
        return
    rows = []
    for case in prepare(args.work):
        best = None
        for _ in range(args.repeat):
            out = subprocess.run(
                [sys.executable, __file__, "--one", json.dumps(case)],
                check=True,
                capture_output=True,
                text=True,
            )
            result = json.loads(out.stdout)
            if best is None or result["seconds"] < best["seconds"]:
                best = result
        size = Path(case["path"]).stat().st_size
        rows.append((case, size, best))
        print(f"done: {case['name']} ({case['method']}) {best['seconds']:.2f} s", file=sys.stderr)
    print(
        "| file | reader | MB on disk | records | seconds | MB/s | records/s | RSS after import MiB | peak RSS MiB |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for case, size, r in rows:
        reader = "dedup iter_records" if case["method"] == "dedup" else "Bio SimpleFastaParser (no checks)"
        print(
            f"| {case['name']} | {reader} | {size / 1e6:.1f} | {r['records']:,} | {r['seconds']:.2f} | "
            f"{size / 1e6 / r['seconds']:.1f} | {r['records'] / r['seconds']:,.0f} | {r['rss_import']:.0f} | "
            f"{r['rss_peak']:.0f} |"
        )


if __name__ == "__main__":
    main()
