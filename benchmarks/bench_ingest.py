"""Ingestion benchmark: register a large real FASTA end to end through the CLI, in a child process.

Measures wall time, records/s and the child's peak RSS, on SQLite and on PostgreSQL, with a fresh
database each time. Run from the repository root:

    python benchmarks/bench_ingest.py [FASTA] [--databases sqlite,postgresql] [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]

FASTA defaults to ../large-data/swissprot-2014.fasta (build it with ../shared/data/get-large.sh).
Prints a markdown table (results are kept in benchmarks/README.md).
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path

from _common import LARGE

REPO = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run(env: dict, args: list[str]) -> tuple[float, int, str]:
    """Run manage.py in a child; return seconds, the child's peak RSS in MiB, and its stdout."""
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child: exec so that its peak RSS is its own
        os.chdir(REPO)
        fd = os.open(env["BENCH_OUT"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 1)
        os.execve(sys.executable, [sys.executable, "manage.py", *args], env)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - started
    output = Path(env["BENCH_OUT"]).read_text()
    if status != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed ({status}):\n{output}")
    return elapsed, usage.ru_maxrss // 1024, output


def bench(fasta: Path, database: str, pg_url: str, workdir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env["LEAKLEDGER_DATA_DIR"] = str(workdir)
    env["BENCH_OUT"] = str(workdir / "out.json")
    db_name = None
    if database == "postgresql":
        import psycopg

        db_name = f"bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db_name}"')
        env["DATABASE_URL"] = pg_url.rsplit("/", 1)[0] + "/" + db_name
    try:
        run(env, ["migrate", "-v", "0"])
        seconds, rss, output = run(
            env, ["register_dataset", str(fasta), "--name", "bench", "--kind", "protein", "--json"]
        )
    finally:
        if db_name:
            import psycopg

            with psycopg.connect(pg_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    result = json.loads(output)
    return {"database": database, "records": result["records"], "seconds": seconds, "rss_mib": rss}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("fasta", nargs="?", type=Path, default=LARGE / "swissprot-2014.fasta")
    parser.add_argument("--databases", default="postgresql,sqlite")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    if not args.fasta.exists():
        raise SystemExit(f"{args.fasta} not found: build it with ../shared/data/get-large.sh ../large-data")
    size_mb = args.fasta.stat().st_size / 1e6
    print(
        f"file: {args.fasta.name} ({size_mb:.0f} MB); machine: {os.cpu_count()} cores, {cpu_model()}; "
        f"python {platform.python_version()}"
    )
    print(
        f"load average before: {os.getloadavg()[0]:.2f}; command: python benchmarks/bench_ingest.py {' '.join(sys.argv[1:])}"
    )
    print("| database | records | seconds | records/s | MB/s | peak RSS (MiB) |")
    print("|---|---|---|---|---|---|")
    for database in args.databases.split(","):
        with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
            row = bench(args.fasta, database, args.pg_url, Path(tmp))
        print(
            f"| {row['database']} | {row['records']:,} | {row['seconds']:.1f} | "
            f"{row['records'] / row['seconds']:,.0f} | {size_mb / row['seconds']:.1f} | {row['rss_mib']:,} |",
            flush=True,
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
