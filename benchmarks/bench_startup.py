"""What a process pays to start a check, with the C kernels and with numba's, back to back.

Rows (each command in its own child process, ``--repeat`` runs interleaved C / numba, fastest and
median wall time, CPU time and peak RSS of the fastest run; ``_common.timed``):

1. ``python -c "import dedup.__main__"``: the interpreter, numpy and dedup, no kernel;
2. ``python -m dedup overlap`` of one query against two references (fixtures): start-up plus one
   call of every kernel of the default tiers (sketch, align, containment count and seed build);
3. the main pair (DeepFRI nrPDB-GO test, 3,416, against FLIP secondary-structure train, 10,792)
   against its prebuilt index (``python -m dedup index``, built before the rows, untimed), at
   >= 90%, ``--threads 2``; needs ``../shared/data`` (skipped with a note without it);
4. the main pair from the two FASTA files (the index built in memory), as 3.

"C" is the default (the kernels' C port, :mod:`dedup._native`, built before the rows); "numba" is
``DEDUP_NO_NATIVE=1`` (the same specifications compiled by numba, its on-disk cache warmed before
the rows). Both report the same hits: the script checks that the JSON pairs are identical.

Usage::

    python benchmarks/bench_startup.py [--repeat 7] [--workdir /tmp/bench-startup]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import REPO, SHARED, compile_bytecode, loadavg, timed

FIXTURES = REPO / "fixtures"
MAIN_QUERY = SHARED / "splits" / "deepfri-nrpdb" / "nrPDB-GO_2019.06.18_test_sequences.fasta"
MAIN_REF = SHARED / "splits" / "flip-secondary-structure" / "train.fasta"


def env_for(backend: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env["DEDUP_NO_NATIVE"] = "1" if backend == "numba" else ""
    return env


def pairs_of(cmd: list[str], backend: str) -> list:
    out = subprocess.run(cmd + ["--json"], env=env_for(backend), capture_output=True, text=True, check=True)
    d = json.loads(out.stdout)
    return sorted((p["query"], p["reference"], p["identity"], p["tier"]) for p in d["pairs"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "bench-startup")
    args = ap.parse_args()
    compile_bytecode()
    args.workdir.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    q1, r2 = args.workdir / "one.fasta", args.workdir / "two.fasta"
    seqs = [line for line in (FIXTURES / "flip_bind_split" / "test.fasta").read_text().split(">") if line][:3]
    q1.write_text(">" + seqs[0])
    r2.write_text(">" + seqs[0] + ">" + seqs[1] + ">" + seqs[2])
    rows: list[tuple[str, list[str]]] = [
        ("import dedup.__main__ (no kernel)", [py, "-c", "import dedup.__main__"]),
        ("overlap, 1 query vs 3 references (fixtures)", [py, "-m", "dedup", "overlap", str(q1), str(r2)]),
    ]
    if MAIN_QUERY.exists() and MAIN_REF.exists():
        index = args.workdir / "main.llidx"
        shutil.rmtree(index, ignore_errors=True)
        subprocess.run([py, "-m", "dedup", "index", str(MAIN_REF), "-o", str(index)], env=env_for("c"),
                       check=True, capture_output=True)  # fmt: skip
        common = ["--identity", "0.9", "--coverage", "0.8", "--threads", "2"]
        rows += [
            ("main pair, prebuilt index", [py, "-m", "dedup", "overlap", str(MAIN_QUERY), str(index), *common]),
            ("main pair, from the FASTA files", [py, "-m", "dedup", "overlap", str(MAIN_QUERY), str(MAIN_REF), *common]),
        ]  # fmt: skip
    else:
        print(f"main pair: not measured ({MAIN_QUERY} not found; set LEAKLEDGER_SHARED_DATA)")
    for backend in ("c", "numba"):  # build the C library, fill numba's cache
        for _label, cmd in rows[1:]:
            subprocess.run(cmd, env=env_for(backend), check=True, capture_output=True)
    for label, cmd in rows[1:]:
        same = pairs_of(cmd, "c") == pairs_of(cmd, "numba")
        print(f"{label}: the same pairs with the C and the numba kernels: {same}")
        if not same:
            sys.exit("the two kernels disagree: not timed")
    print()
    print(f"load average before: {loadavg():.1f}; {args.repeat} runs each, interleaved")
    print()
    print(
        "| command | kernels | fastest wall s | median wall s | CPU s (fastest) | peak RSS MiB | numba / C (median) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for label, cmd in rows:
        runs: dict[str, list[dict]] = {"c": [], "numba": []}
        for _ in range(args.repeat):
            for backend in runs:
                runs[backend].append(timed(cmd, env=env_for(backend)))
        med = {b: statistics.median(r["wall"] for r in runs[b]) for b in runs}
        for backend, label_b in (("c", "C port"), ("numba", "numba")):
            best = min(runs[backend], key=lambda r: r["wall"])
            ratio = f"{med['numba'] / med['c']:.2f}x" if backend == "numba" else ""
            print(f"| {label} | {label_b} | {best['wall']:.3f} | {med[backend]:.3f} | {best['cpu']:.2f} | "
                  f"{best['rss']:.0f} | {ratio} |")  # fmt: skip
    print()
    print(f"load average after: {loadavg():.1f}")


if __name__ == "__main__":
    main()
