"""Reusable reference index: build once, query many times; beside MMseqs2's createdb + createindex.

Same run, same machine, one after the other, each in its own process under ``/usr/bin/time -v``
(wall time, CPU time, peak RSS):

1. ``python -m dedup index SWISSPROT -o sp.llidx`` (read, sketch, band, seed-index; memory-mapped files);
2. ``mmseqs createdb SWISSPROT db`` then ``mmseqs createindex db tmp --threads 2`` (MMseqs2's own
   reusable index of the same file, what ``mmseqs search`` reuses);
3. ``python -m dedup overlap DEEPLOC_TEST sp.llidx --json`` (exact + MinHash + containment tiers,
   identity >= 0.9, query coverage >= 0.8): the query time against the built index;
4. with ``--file-run``: the same ``overlap`` against the FASTA file itself (everything built in
   memory, on every call), to show what the index saves; its pairs must equal the index run's.

Usage::

    python benchmarks/bench_index.py                       # Swiss-Prot 2014 and DeepLoc 1.0 test
    python benchmarks/bench_index.py --file-run --workdir /tmp/ll-bench-index
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
from pathlib import Path

from _common import LARGE, REPO, SHARED, loadavg
from _common import timed as _timed

SWISSPROT = LARGE / "swissprot-2014.fasta"
DEEPLOC = SHARED / "splits" / "deeploc1" / "deeploc_test_set.fasta"


def timed(cmd: list[str], out: Path | None = None) -> dict:
    """``cmd`` in a child process: wall, CPU (user + sys) seconds, peak RSS (MiB), load before/after."""
    before = loadavg()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with open(out, "w") if out else open(os.devnull, "w") as fh:
        row = _timed(cmd, env=env, stdout=fh)
    return {**row, "load": (before, loadavg())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=SWISSPROT)
    parser.add_argument("--query", type=Path, default=DEEPLOC)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ll-bench-index"))
    parser.add_argument("--file-run", action="store_true", help="also run overlap against the FASTA itself")
    parser.add_argument("--skip-mmseqs", action="store_true")
    args = parser.parse_args(argv)
    work = args.workdir
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    py = [sys.executable, "-m", "dedup"]
    rows = []

    idx = work / "ref.llidx"
    build = timed([*py, "index", str(args.reference), "-o", str(idx), "--quiet"])
    rows.append(("dedup index (sketch, band, seed, sequences)", build))
    if not args.skip_mmseqs:
        db, tmp = work / "mmseqs" / "db", work / "mmseqs" / "tmp"
        db.parent.mkdir()
        createdb = timed(["mmseqs", "createdb", str(args.reference), str(db)])
        createindex = timed(["mmseqs", "createindex", str(db), str(tmp), "--threads", str(os.cpu_count())])
        rows.append(("mmseqs createdb", createdb))
        rows.append((f"mmseqs createindex --threads {os.cpu_count()}", createindex))
        both = {
            "wall": createdb["wall"] + createindex["wall"],
            "cpu": createdb["cpu"] + createindex["cpu"],
            "rss": max(createdb["rss"], createindex["rss"]),
            "load": (createdb["load"][0], createindex["load"][1]),
        }
        rows.append(("mmseqs createdb + createindex", both))
    query_json = work / "query.json"
    query = timed([*py, "overlap", str(args.query), str(idx), "--json", "--quiet"], out=query_json)
    rows.append(("dedup overlap QUERY ref.llidx (query time)", query))
    result = json.loads(query_json.read_text())
    if args.file_run:
        file_json = work / "file.json"
        file_run = timed(
            [*py, "overlap", str(args.query), str(args.reference), "--json", "--quiet"], out=file_json
        )
        rows.append(("dedup overlap QUERY REFERENCE.fasta (no index)", file_run))
        same = json.loads(file_json.read_text())["pairs"] == result["pairs"]
    manifest = json.loads((idx / "manifest.json").read_text())
    size = sum(f.stat().st_size for f in idx.iterdir()) / 2**20

    print(f"# reference {args.reference.name}: {manifest['reference']['records']:,} records, "
          f"{manifest['reference']['sequences']:,} distinct; query {args.query.name}; index {size:,.0f} MiB")  # fmt: skip
    print(f"# machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average at the end {os.getloadavg()[0]:.1f}")  # fmt: skip
    print()
    print("| step | wall s | CPU s | peak RSS MiB | load 1-min before/after |")
    print("|---|---:|---:|---:|---|")
    for name, r in rows:
        print(
            f"| {name} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['rss']:,.0f} "
            f"| {r['load'][0]:.1f}/{r['load'][1]:.1f} |"
        )
    print()
    tiers = result["method"]["tiers_run"]
    print(
        "query: "
        + ", ".join(f"{n} {t['seconds']:.1f} s ({t['hits']} hits)" for n, t in tiers.items() if t["ran"])
        + f"; counts {result['summary']['counts']}"
    )
    if args.file_run:
        print(f"pairs of the index run equal the file run's: {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
