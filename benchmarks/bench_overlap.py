"""Overlap service at scale: register Swiss-Prot 2014 with its index, then query DeepLoc's test set.

Each phase runs in a fresh child process against a fresh throwaway database (so peak RSS is the
phase's own): register N Swiss-Prot records end to end (parse, write, sketch, index; the sketch
job runs eagerly in the same process, as it would in a worker), then check DeepLoc's test set
(2,768, an unregistered file) against the registered version at >= 90% identity, 80% coverage.
MMseqs2 answers the same question as an expert runs it, in the same benchmark (``createdb`` +
``createindex`` timed beside our registration + index; ``search --min-seq-id 0.9 -c 0.8
--cov-mode 2`` at the default sensitivity and at ``-s 1`` beside our query), and every row's recall
is measured against the ground truth (MMseqs2 ``-s 7.5``, GROUND_TRUTH.md's command).

Usage (PostgreSQL at 127.0.0.1:5432, user postgres, trust auth; SQLite in a temporary file):

    python benchmarks/bench_overlap.py                       # PostgreSQL, 46k and 459k, with MMseqs2
    python benchmarks/bench_overlap.py --db sqlite --sizes 45950
    python benchmarks/bench_overlap.py --phase --db postgres --size 45950   # one phase (child)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import LARGE, REPO, SHARED, fasta_slice, loadavg
from bench_peers import TRUTH_CMD, mmseqs_prep, run_mmseqs

SWISSPROT = LARGE / "swissprot-2014.fasta"
DEEPLOC = SHARED / "splits" / "deeploc1" / "deeploc_test_set.fasta"
PG = "postgres://postgres@127.0.0.1:5432/"
IDENTITY, COVERAGE = 0.9, 0.8


def subset(n: int, workdir: Path) -> Path:
    """The first ``n`` records of Swiss-Prot 2014 (the whole file when n >= its size)."""
    if n >= 459_503:
        return SWISSPROT
    out = workdir / f"swissprot-{n}.fasta"
    if out.exists():
        return out
    fasta_slice(SWISSPROT, 1, n, out)
    return out


def phase(db: str, size: int, workdir: Path, db_name: str = "ll_bench_overlap") -> dict:
    """One child process: fresh database, register with index, query; prints its numbers as JSON."""
    if db == "postgres":
        name = f"{db_name}_{size}"
        for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)
        os.environ["DATABASE_URL"] = PG + name
    else:
        path = workdir / f"bench-{size}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ["LEAKLEDGER_DATA_DIR"] = str(workdir / "var")
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from registry import services
    from registry.models import Job
    from registry.overlap import services as overlap_services

    call_command("migrate", verbosity=0)
    if os.environ.get("BENCH_UNLOGGED") and db == "postgres":  # experiment: band keys without WAL
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE registry_bandkey SET UNLOGGED")
    fasta = subset(size, workdir)
    t0 = time.perf_counter()
    reg = services.dataset_version_register(
        path=fasta, dataset_name="swissprot", kind="protein", version="2014", role="training"
    )
    register_total = time.perf_counter() - t0
    rss_register = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sketch = Job.objects.get(kind=Job.Kind.SKETCH).result
    times = []
    result = None
    for _ in range(3):  # first run cold (caches), best of the rest
        t0 = time.perf_counter()
        result = overlap_services.overlap_query(
            source=str(DEEPLOC),
            kind="protein",
            against=["swissprot@2014"],
            identity=IDENTITY,
            coverage=COVERAGE,
        )
        times.append(time.perf_counter() - t0)
    rows = {r["label"]: r for r in result["summary"]["thresholds"]}
    found = sorted({p["query"] for p in result["pairs"] if p["identity"] + 1e-9 >= IDENTITY})
    return {
        "db": db,
        "size": reg.version.record_count,
        "register_total_s": round(register_total, 1),
        "index_s": sketch["seconds"],
        "index_sketch_s": sketch["sketch_seconds"],
        "index_write_s": sketch["write_seconds"],
        "ingest_s": round(register_total - sketch["seconds"], 1),
        "peak_rss_mb": round(rss_register),
        "query_cold_s": round(times[0], 2),
        "query_s": round(min(times[1:]), 2),
        "query_timings": result["timings"],
        "query_counters": result["counters"],
        "exact": rows["exact"]["records"],
        "ge90": rows[">=90%"]["records"],
        "found": found,
        "exact_ids": sorted({p["query"] for p in result["pairs"] if p.get("tier") == "exact"}),
    }


def truth_deeploc(workdir: Path) -> set[str]:
    """DeepLoc test records with an MMseqs2 hit in Swiss-Prot 2014 at >= 90% identity, 80% query coverage.

    The reference answer, with ``../shared/data/GROUND_TRUTH.md``'s command (``-s 7.5``, alignment
    mode 3, ``--max-seqs 1000``); computed once and kept in ``workdir`` because it is the truth, not
    a timed result (the timed MMseqs2 runs below are never cached).
    """
    m8 = workdir / "truth-deeploc-vs-swissprot2014.m8"
    if not m8.exists():
        print("computing the ground truth with mmseqs easy-search -s 7.5 (once; several minutes)", flush=True)
        subprocess.run(
            ["mmseqs", "easy-search", str(DEEPLOC), str(SWISSPROT), f"{m8}.part", str(workdir / "truth-tmp"),
             "--threads", str(os.cpu_count()), *TRUTH_CMD],
            check=True, capture_output=True,
        )  # fmt: skip
        os.replace(f"{m8}.part", m8)
    found = set()
    with open(m8) as fh:
        for line in fh:
            f = line.rstrip("\n").split("\t")
            if float(f[2]) + 1e-9 >= IDENTITY and float(f[11]) + 1e-9 >= COVERAGE:
                found.add(f[0])
    return found


def mmseqs_expert(workdir: Path) -> list[dict]:
    """MMseqs2 as an expert runs it for this question, on the same two files, nothing cached.

    ``createdb`` of both files + ``createindex`` of Swiss-Prot (the "prep" row, beside our
    registration + index), then ``search --min-seq-id 0.9 -c 0.8 --cov-mode 2 --alignment-mode 3``
    at the default sensitivity and at ``-s 1`` (beside our query), on all cores.
    """
    out = workdir / "mmseqs-run"
    subprocess.run(["rm", "-rf", str(out)], check=True)
    out.mkdir(parents=True)
    files = {"q": DEEPLOC, "r": SWISSPROT}
    cores = os.cpu_count() or 1
    before = loadavg()
    prep, qdb, rdb = mmseqs_prep(files, out, cores)
    rows = [
        {
            "tool": "mmseqs prep (createdb x2 + createindex)",
            **prep,
            "found": None,
            "load": [before, loadavg()],
        }
    ]
    before = loadavg()
    for row, pairs in run_mmseqs(files, IDENTITY, out, cores, qdb, rdb):
        rows.append({**row, "found": {q for q, _ in pairs}, "load": [before, loadavg()]})
        before = loadavg()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--sizes", default="45950,459503", help="Swiss-Prot records per phase")
    parser.add_argument("--phase", action="store_true", help="run one phase (internal)")
    parser.add_argument("--size", type=int)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "ll-bench-overlap")
    parser.add_argument("--no-mmseqs", action="store_true")
    parser.add_argument(
        "--db-name",
        default="ll_bench_overlap",
        help="PostgreSQL database name prefix (dropped and created per phase: NAME_<size>); "
        "give each concurrent run its own",
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.phase:
        print(json.dumps(phase(args.db, args.size, args.workdir, args.db_name)))
        return
    results = []
    for size in [int(s) for s in args.sizes.split(",")]:
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--phase",
                "--db",
                args.db,
                "--size",
                str(size),
                "--workdir",
                str(args.workdir),
                "--db-name",
                args.db_name,
            ],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            sys.exit(f"phase {size} failed:\n{proc.stderr[-3000:]}")
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        r = results[-1]
        print(
            f"[{r['db']} {r['size']:,}] register {r['register_total_s']} s (ingest {r['ingest_s']}, index "
            f"{r['index_s']}: sketch {r['index_sketch_s']}, write {r['index_write_s']}), peak RSS "
            f"{r['peak_rss_mb']} MB; query {r['query_s']} s (cold {r['query_cold_s']}); exact {r['exact']}, "
            f">=90% {r['ge90']}; timings {r['query_timings']}; counters {r['query_counters']}",
            flush=True,
        )
    print()
    print(
        "| database | Swiss-Prot records | register + index (s) | of which index (s) | peak RSS (MB) "
        "| DeepLoc query (s) | records >= 90% |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['db']} | {r['size']:,} | {r['register_total_s']} | {r['index_s']} | {r['peak_rss_mb']} "
            f"| {r['query_s']} | {r['ge90']} |"
        )
    if len(results) > 1:
        print(
            f"\nquery time growth {results[0]['size']:,} -> {results[-1]['size']:,}: "
            f"{results[-1]['query_s'] / results[0]['query_s']:.2f}x"
        )
    full = [r for r in results if r["size"] >= 459_503]
    if full and not args.no_mmseqs:
        truth = truth_deeploc(args.workdir)
        exact = set(full[0]["exact_ids"])
        r = full[0]

        def recall(found: set[str]) -> str:
            hit, nonexact = len(found & truth), truth - exact
            return (
                f"{hit} | {hit / len(truth):.4f} | {len(found & nonexact) / len(nonexact):.3f} | {len(found - truth)}"
                if truth and nonexact
                else "-"
            )

        print(
            f"\nDeepLoc test vs Swiss-Prot 2014 at >= 90% identity, 80% query coverage: truth {len(truth)} "
            f"(MMseqs2 -s 7.5, GROUND_TRUTH.md), of which {len(truth - exact)} non-exact\n"
        )
        print(
            "| what | wall s | CPU s | peak RSS MB | found in truth | recall | non-exact recall | not in truth | load |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
        print(
            f"| ours: register + index ({r['db']}) | {r['register_total_s']} | | {r['peak_rss_mb']} | | | | | |"
        )
        print(
            f"| ours: query (warm; cold {r['query_cold_s']}) | {r['query_s']} | | | {recall(set(r['found']))} | |"
        )
        for m in mmseqs_expert(args.workdir):
            cells = recall(m["found"]) if m["found"] is not None else " | | | "
            print(
                f"| {m['tool']} | {m['wall']:.1f} | {m['cpu']:.1f} | {m['rss']:.0f} | {cells} "
                f"| {m['load'][0]:.1f}/{m['load'][1]:.1f} |"
            )


if __name__ == "__main__":
    main()
