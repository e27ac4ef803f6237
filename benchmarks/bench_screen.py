"""Whole-set screen: ``python -m dedup screen`` beside ``sourmash search --containment`` and ``gather``.

One test set against several training sets (Swiss-Prot 2014 and the training sets in
``../shared/data/splits``), protein k=10, scaled=100, in the same run:

1. ours, first call: ``python -m dedup screen TEST TRAIN... --save-sketches DIR --json`` (sketches
   every set, then answers);
2. ours, again with the saved ``.llsketch`` files (what a registry or a CI job does: the training
   sets' sketches are made once);
3. sourmash (PyPI ``sourmash``, in its own virtualenv, ``--sourmash``): ``sourmash sketch protein
   -p k=10,scaled=100`` per set (one signature per file), ``sourmash search --containment
   --threshold 0`` and ``sourmash gather --threshold-bp 0`` of the test signature against all;
4. truth for the smaller sets: the exact containment of the test set's distinct 10-mers, from
   Python sets of the k-mer strings (not from either tool's hashes).

Usage::

    python benchmarks/bench_screen.py --sourmash /tmp/sourmash-venv/bin/sourmash
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import LARGE, REPO, SHARED, loadavg, timed

sys.path.insert(0, str(REPO))

from dedup.overlap import read_sequences  # noqa: E402

SPLITS = SHARED / "splits"
TEST = SPLITS / "deeploc1" / "deeploc_test_set.fasta"
TRAINS = [
    LARGE / "swissprot-2014.fasta",
    SPLITS / "deeploc1" / "deeploc_our_val_set.fasta",
    SPLITS / "flip-bind" / "train.fasta",
    SPLITS / "flip-secondary-structure" / "train.fasta",
    SPLITS / "flip-gb1" / "train.fasta",
    SPLITS / "flip-conservation" / "train.fasta",
]
EXACT_MAX_BYTES = 50_000_000  # exact k-mer sets only for sets below this size (Swiss-Prot is not)
K, SCALED = 10, 100


def label(path: Path) -> str:
    return path.name if path.parent.name in ("large-data", "deeploc1") else f"{path.parent.name}/{path.name}"


def run(cmd: list[str]) -> tuple[dict, str]:
    """``cmd`` in a child process: its wall/CPU/peak-RSS row (with the load before and after) and stdout."""
    before = loadavg()
    with tempfile.TemporaryFile("w+") as out:
        row = timed(cmd, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=out)
        out.seek(0)
        text = out.read()
    return {**row, "load": (before, loadavg())}, text


def add(*rows: dict) -> dict:
    """Several commands as one row: times summed, the largest RSS, the first load before and last after."""
    return {
        "wall": sum(r["wall"] for r in rows),
        "cpu": sum(r["cpu"] for r in rows),
        "rss": max(r["rss"] for r in rows),
        "load": (rows[0]["load"][0], rows[-1]["load"][1]),
    }


def kmers(path: Path) -> set[str]:
    return {s[i : i + K] for _r, s in read_sequences(path, kind="protein") for i in range(len(s) - K + 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sourmash", help="sourmash executable (a separate virtualenv)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ll-bench-screen"))
    args = parser.parse_args(argv)
    work = args.workdir
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    # distinct names for files that share a base name (every FLIP split has train.fasta)
    linked = []
    for p in TRAINS:
        dst = work / "sets" / label(p).replace("/", "__")
        dst.parent.mkdir(exist_ok=True)
        dst.symlink_to(p)
        linked.append(dst)
    py = [sys.executable, "-m", "dedup", "screen", str(TEST)]
    opts = ["--k", str(K), "--scaled", str(SCALED), "--json", "--quiet"]
    sk = work / "sketches"
    first_s, out = run([*py, *map(str, linked), "--save-sketches", str(sk), *opts])
    ours = {r["train"]: r for r in json.loads(out)["screen"]}
    saved = [str(sk / f"{p.name}.llsketch") for p in linked]
    again_s, out2 = run([*py, *saved, *opts])
    assert {r["train"]: r["containment"] for r in json.loads(out2)["screen"]} == {
        t: r["containment"] for t, r in ours.items()
    }
    truth = {}
    truth_load = loadavg()
    t0 = time.perf_counter()
    test_kmers = kmers(TEST)
    for p in linked:
        if p.stat().st_size <= EXACT_MAX_BYTES:
            truth[p.name] = len(test_kmers & kmers(p)) / len(test_kmers)
    truth_s = time.perf_counter() - t0

    sm: dict[str, float] = {}
    gather: dict[str, float] = {}
    sm_times: dict[str, dict] = {}
    if args.sourmash:
        sigs = work / "sigs"
        sigs.mkdir()
        sketch_rows = []
        for p in [TEST, *linked]:
            row, _ = run([args.sourmash, "-q", "sketch", "protein", "-p", f"k={K},scaled={SCALED}",
                          str(p), "-o", str(sigs / f"{p.name}.sig"), "--name", p.name])  # fmt: skip
            sketch_rows.append(row)
        t_sketch = add(*sketch_rows)
        test_sig = str(sigs / f"{TEST.name}.sig")
        train_sigs = [str(sigs / f"{p.name}.sig") for p in linked]
        s_search, _ = run([args.sourmash, "-q", "search", "--containment", "--threshold", "0", "-n", "0",
                           "--protein", "-k", str(K), test_sig, *train_sigs, "-o", str(work / "search.csv")])  # fmt: skip
        with open(work / "search.csv") as fh:
            for row in csv.DictReader(fh):
                sm[row["name"]] = float(row["similarity"])
        s_gather, _ = run([args.sourmash, "-q", "gather", "--threshold-bp", "0", "--protein", "-k", str(K),
                           test_sig, *train_sigs, "-o", str(work / "gather.csv")])  # fmt: skip
        with open(work / "gather.csv") as fh:
            for row in csv.DictReader(fh):
                gather[row["name"]] = float(row["f_orig_query"])
        sm_times = {"sketch": t_sketch, "search": s_search, "gather": s_gather}

    print(f"# test {label(TEST)} against {len(linked)} training sets; protein k={K}, scaled={SCALED}")
    print(f"# machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print()
    print("| training set | ours containment [95% interval] | sourmash search --containment | "
          "sourmash gather f_orig_query (first match only is a containment) | exact (k-mer sets) |")  # fmt: skip
    print("|---|---|---:|---:|---:|")
    for r in sorted(ours.values(), key=lambda r: -r["containment"]):
        low, high = r["interval_95"]
        name = r["train"]
        ex = truth.get(name)
        print(
            f"| {name} | {r['containment']:.4f} [{low:.4f}-{high:.4f}] | "
            f"{sm.get(name, float('nan')):.4f} | {gather.get(name, float('nan')):.4f} | "
            f"{'not computed' if ex is None else f'{ex:.4f}'} |"
        )
    print()
    print("| run | wall s | CPU s | peak RSS MiB | load 1-min before/after |")
    print("|---|---:|---:|---:|---|")

    def line(name: str, r: dict) -> None:
        print(
            f"| {name} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['rss']:.0f} | {r['load'][0]:.1f}/{r['load'][1]:.1f} |"
        )

    line(f"dedup screen, first call (sketch all {len(linked) + 1} sets, answer)", first_s)
    line("dedup screen, again with saved sketches", again_s)
    if sm_times:
        line(f"sourmash sketch protein (all {len(linked) + 1} sets)", sm_times["sketch"])
        line("sourmash search --containment (saved signatures)", sm_times["search"])
        line("sourmash gather (saved signatures)", sm_times["gather"])
    print(
        f"| exact k-mer sets in Python (all but sets > {EXACT_MAX_BYTES // 10**6} MB; in this process) "
        f"| {truth_s:.1f} | | | {truth_load:.1f}/{loadavg():.1f} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
