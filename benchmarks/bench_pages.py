"""Load test of the pages for people: the overlap matrix and a leaderboard, 20 benchmarks x 20 training sets.

Creates a throwaway PostgreSQL database and registers real data: 20 benchmarks cut from DeepFRI's
GO test set (3,416 PDB chains, ~171 each) and 20 training sets cut from FLIP's secondary-structure
train set (10,792 proteins, ~540 each): the standing checks compute all 400 overlap reports (the
pair DeepFRI test x FLIP train really overlaps: 18% of the test chains at >= 90% identity). Then
20 model versions, each trained on one training set, are evaluated on the first benchmark (its
leaderboard: 20 rows, each with a contamination report). gunicorn serves the project on a
loopback port with the API's anonymous read cache off, once per ``--page-cache`` value (0: every
request renders the page; 300: rendered pages are kept under a key of the registry's state, the
default), and wrk drives each page with 50 connections; the script prints p50/p90/p99 per page,
throughput and errors, and drops the database. Pages read stored reports only: no detection runs
during the measurement.

Usage:
    python benchmarks/bench_pages.py [--duration 30] [--connections 50] [--workers 2] [--page-cache 0,300]
        [--data ../shared/data]

Needs wrk (``apt-get install -y wrk``), PostgreSQL at ``postgresql://postgres@127.0.0.1:5432``
(``--pg``) and the shared data folder. Only loopback addresses.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _common import REPO, free_port, psql, wait_until_up, wrk_cells, wrk_run

BENCHMARKS, TRAINING_SETS, MODELS = 20, 20, 20
PAGES = {"overlap matrix": "/overlap/", "leaderboard": "/leaderboards/deepfri-go-test-00@1/"}


def chunks(path: Path, n: int, out: Path, stem: str) -> list[Path]:
    """Cut a FASTA file into ``n`` consecutive pieces of (nearly) equal record counts."""
    from Bio.SeqIO.FastaIO import SimpleFastaParser

    with open(path) as handle:
        records = list(SimpleFastaParser(handle))
    size = -(-len(records) // n)
    files = []
    for i in range(n):
        piece = out / f"{stem}-{i:02d}.fasta"
        piece.write_text("".join(f">{title}\n{seq}\n" for title, seq in records[i * size : (i + 1) * size]))
        files.append(piece)
    return files


def seed(data: Path, work: Path) -> dict:
    """Register the benchmarks, training sets, models and evaluations (runs inside Django)."""
    import django

    django.setup()
    from registry.models import OverlapReport
    from registry.services import dataset_version_register, evaluation_record, model_version_register

    started = time.perf_counter()
    tests = chunks(
        data / "splits/deepfri-nrpdb/nrPDB-GO_2019.06.18_test_sequences.fasta", BENCHMARKS, work, "go"
    )
    trains = chunks(data / "splits/flip-secondary-structure/train.fasta", TRAINING_SETS, work, "ss")
    for i, path in enumerate(trains):
        dataset_version_register(
            path=path,
            dataset_name=f"flip-ss-train-{i:02d}",
            kind="protein",
            role="training",
            skip_identical_duplicates=True,
        )
    for i, path in enumerate(tests):
        dataset_version_register(
            path=path, dataset_name=f"deepfri-go-test-{i:02d}", kind="protein", role="benchmark"
        )
    for i in range(MODELS):
        model_version_register(ref=f"model-{i:02d}@1", trained_on=[f"flip-ss-train-{i:02d}@1"])
        evaluation_record(
            model_ref=f"model-{i:02d}@1", on_ref="deepfri-go-test-00@1", metrics={"fmax": 0.4 + i / 100}
        )
    return {"reports": OverlapReport.objects.count(), "seconds": round(time.perf_counter() - started, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=30, help="seconds of load per page")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="gunicorn worker processes")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("LEAKLEDGER_SHARED_DATA", REPO.parent / "shared" / "data")),
    )
    parser.add_argument(
        "--page-cache",
        default="0,300",
        help="LEAKLEDGER_PAGE_CACHE_SECONDS values to measure, one server each (0: every request renders)",
    )
    parser.add_argument("--seed-into", type=Path, help=argparse.SUPPRESS)  # internal: the seeding subprocess
    args = parser.parse_args()
    if args.seed_into:
        print(json.dumps(seed(args.data.resolve(), args.seed_into)))
        return 0
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    if not (args.data / "splits/deepfri-nrpdb").is_dir():
        print(f"no shared data in {args.data}: pass --data or set LEAKLEDGER_SHARED_DATA", file=sys.stderr)
        return 2

    db = f"leakledger_bench_pages_{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="leakledger-pages-"))
    (work / "bench_settings.py").write_text(
        "from config.settings import *  # noqa: F403\n"
        "DATABASES['default']['CONN_MAX_AGE'] = 60\n"
        "REST_FRAMEWORK = {**REST_FRAMEWORK, 'DEFAULT_THROTTLE_CLASSES': []}\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(work), str(REPO), os.environ.get("PYTHONPATH", "")]),
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "DATABASE_URL": f"{args.pg}/{db}",
        "LEAKLEDGER_DATA_DIR": str(work / "data"),
        "LEAKLEDGER_API_CACHE_SECONDS": "0",
        "LEAKLEDGER_MMSEQS_ENABLED": "0",
    }
    env.pop("CELERY_BROKER_URL", None)
    python = sys.executable
    server = None
    results = {}
    psql(args.pg, f"CREATE DATABASE {db}")
    try:
        for command in (["migrate", "--noinput", "-v", "0"], ["collectstatic", "--noinput", "-v", "0"]):
            subprocess.run([python, "manage.py", *command], cwd=REPO, env=env, check=True)
        seeded = json.loads(
            subprocess.run(
                [python, __file__, "--seed-into", str(work), "--data", str(args.data)],
                cwd=REPO,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        for page_cache in [int(v) for v in args.page_cache.split(",")]:
            port = free_port()
            server = subprocess.Popen(
                [
                    str(Path(python).parent / "gunicorn"),
                    "config.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    str(args.workers),
                    "--access-logfile",
                    "/dev/null",
                    "--error-logfile",
                    str(work / "gunicorn.log"),
                ],
                cwd=REPO,
                env={**env, "LEAKLEDGER_PAGE_CACHE_SECONDS": str(page_cache)},
            )
            base = f"http://127.0.0.1:{port}"
            wait_until_up(base + "/overlap/")
            for name, path in PAGES.items():
                times = []
                for _ in range(21):  # warm up, check it answers, time one client alone (median of 20)
                    started = time.perf_counter()
                    with urllib.request.urlopen(base + path, timeout=30) as response:
                        assert response.status == 200, path
                        body = response.read()
                    times.append(time.perf_counter() - started)
                result = wrk_run(
                    base,
                    [path],
                    work,
                    name=str(len(results)),
                    connections=args.connections,
                    duration=args.duration,
                    threads=args.wrk_threads,
                )
                results[(name, page_cache)] = {
                    **result,
                    "path": path,
                    "single_ms": sorted(times[1:])[10] * 1000,
                    "bytes": len(body),
                }
            server.terminate()
            server.wait(timeout=30)
            server = None
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        psql(args.pg, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"registered {BENCHMARKS} benchmarks x {TRAINING_SETS} training sets, {MODELS} evaluations: "
        f"{seeded['reports']} overlap reports in {seeded['seconds']} s"
    )
    print(
        f"machine: {os.cpu_count()} cores; gunicorn {args.workers} sync workers; PostgreSQL; CONN_MAX_AGE=60; "
        f"API read cache off; wrk {args.connections} connections, {args.duration} s per page"
    )
    print(
        "| page | page cache | bytes | one client ms | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | load avg |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    failed = 0
    for (name, page_cache), r in results.items():
        failed += r["errors"]
        print(
            f"| {name} `{r['path']}` | {f'{page_cache} s' if page_cache else 'off'} | {r['bytes']:,} | "
            f"{r['single_ms']:.1f} | {wrk_cells(r)} | {r['load_before']:.1f} -> {r['load_after']:.1f} |"
        )
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
