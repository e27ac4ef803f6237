"""Overlap service at scale: register Swiss-Prot 2014 with its index, then query DeepLoc's test set.

Each phase runs in a fresh child process against a fresh throwaway database (so peak RSS is the
phase's own): register N Swiss-Prot records end to end (parse, write, sketch, index; the sketch
job runs eagerly in the same process, as it would in a worker), then check DeepLoc's test set
(2,768, an unregistered file) against the registered version at >= 90% identity, 80% coverage.
MMseqs2 runs the same search in the same benchmark for recall and the time ratio.

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

REPO = Path(__file__).resolve().parent.parent
SWISSPROT = Path(os.environ.get("LEAKLEDGER_LARGE_DATA", REPO.parent / "large-data")) / "swissprot-2014.fasta"
SHARED = Path(os.environ.get("LEAKLEDGER_SHARED_DATA", REPO.parent / "shared" / "data"))
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
    seen = 0
    with open(SWISSPROT) as src, open(out, "w") as dst:
        for line in src:
            if line.startswith(">"):
                seen += 1
                if seen > n:
                    break
            dst.write(line)
    return out


def phase(db: str, size: int, workdir: Path) -> dict:
    """One child process: fresh database, register with index, query; prints its numbers as JSON."""
    if db == "postgres":
        name = f"ll_bench_overlap_{size}"
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
    }


def mmseqs_truth(workdir: Path) -> tuple[set[str], float]:
    """DeepLoc test records with an MMseqs2 hit in Swiss-Prot 2014 at >= 90% identity, 80% query coverage."""
    sys.path.insert(0, str(REPO))
    from dedup.mmseqs import MmseqsSettings, mmseqs_search
    from dedup.parsing import iter_records

    cache = workdir / "mmseqs-deeploc-vs-swissprot.json"
    if cache.exists():
        data = json.loads(cache.read_text())
        return set(data["found"]), data["seconds"]
    query = [(r.identifier, r.sequence) for r in iter_records(DEEPLOC, kind="protein")]
    reference = ((r.identifier, r.sequence) for r in iter_records(SWISSPROT, kind="protein"))
    t0 = time.perf_counter()
    hits = mmseqs_search(
        query,
        reference,
        kind="protein",
        identity=IDENTITY,
        coverage=COVERAGE,
        settings=MmseqsSettings(threads=2),
    )
    seconds = time.perf_counter() - t0
    found = {h.query for h in hits}
    cache.write_text(json.dumps({"found": sorted(found), "seconds": seconds}))
    return found, seconds


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
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.phase:
        print(json.dumps(phase(args.db, args.size, args.workdir)))
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
        truth, seconds = mmseqs_truth(args.workdir)
        ours = set(full[0]["found"])
        recall = len(truth & ours) / len(truth) if truth else 1.0
        print(
            f"MMseqs2 easy-search (2 threads, -s 7.5, no prebuilt index): {seconds:.1f} s, {len(truth)} DeepLoc "
            f"records at >= 90%; ours found {len(truth & ours)} of them: recall {recall:.4f}; ours only: "
            f"{len(ours - truth)}; time ratio MMseqs2/ours {seconds / full[0]['query_s']:.1f}x"
        )
        missed = sorted(truth - ours)[:20]
        if missed:
            print("missed (first 20):", " ".join(missed))


if __name__ == "__main__":
    main()
