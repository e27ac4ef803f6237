"""Load test of the read API: gunicorn on PostgreSQL, 50 concurrent clients (wrk) for 60 s.

Creates a throwaway PostgreSQL database, migrates it, registers the real fixture data
(``manage.py seed_api``), starts gunicorn on a loopback port and drives a mix of read
endpoints (lists, details, records, lineage, evaluations with contamination) with wrk, then
prints p50/p90/p99 latency, throughput and errors, and drops the database.

Usage:
    python benchmarks/bench_api_load.py [--duration 60] [--connections 50] [--workers 4] [--threads 4]

Needs wrk (``apt-get install -y wrk``) and a PostgreSQL server reachable as
``postgresql://postgres@127.0.0.1:5432`` (``--pg`` to change it). Only loopback addresses.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

LUA = r"""
local paths = {%(paths)s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1], {["Accept"] = "application/json"})
end
done = function(summary, latency, requests)
  local out = io.open("%(out)s", "w")
  out:write(string.format(
    '{"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "max_us": %%d, ' ..
    '"mean_us": %%f, "non_2xx": %%d, "connect": %%d, "read": %%d, "write": %%d, "timeout": %%d}',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout))
  out:close()
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def psql(pg: str, sql: str) -> None:
    subprocess.run(["psql", f"{pg}/postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument(
        "--only", action="append", help="drive only this path (repeatable), to isolate one endpoint"
    )
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=60,
        help="CONN_MAX_AGE for the server (persistent database connections; 0 = a new connection per request)",
    )
    parser.add_argument(
        "--cache-seconds",
        type=int,
        default=5,
        help="LEAKLEDGER_API_CACHE_SECONDS for the server (anonymous read cache; 0 = off; default 5, the project's)",
    )
    parser.add_argument(
        "--throttle",
        action="store_true",
        help="keep DRF's throttling on (off by default: see the comment below)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2

    db = f"leakledger_bench_api_{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="leakledger-load-"))
    # The project's settings, with persistent database connections as a production deployment sets them.
    (work / "bench_settings.py").write_text(
        "from config.settings import *  # noqa: F403\n"
        f"DATABASES['default']['CONN_MAX_AGE'] = {args.conn_max_age}\n"
        "DATABASES['default']['CONN_HEALTH_CHECKS'] = True\n"
        # Throttling would answer 429 at this rate by design, and DRF's throttle keeps every request's
        # timestamp of the last minute in one cache entry: at hundreds of requests a second that list
        # (pickled on every request) would dominate what is measured. Off for the load test.
        + ("" if args.throttle else "REST_FRAMEWORK = {**REST_FRAMEWORK, 'DEFAULT_THROTTLE_CLASSES': []}\n")
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(work), str(REPO), os.environ.get("PYTHONPATH", "")]),
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "DATABASE_URL": f"{args.pg}/{db}",
        "LEAKLEDGER_DATA_DIR": str(work / "data"),
        "LEAKLEDGER_API_CACHE_SECONDS": str(args.cache_seconds),
    }
    env.pop("CELERY_BROKER_URL", None)
    python = sys.executable
    gunicorn = str(Path(python).parent / "gunicorn")
    server = None
    psql(args.pg, f"CREATE DATABASE {db}")
    try:
        subprocess.run(
            [python, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO, env=env, check=True
        )
        seeded = json.loads(
            subprocess.run(
                [python, "manage.py", "seed_api", "--user", "bench"],
                cwd=REPO,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        port = free_port()
        server = subprocess.Popen(
            [
                gunicorn,
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.workers),
                "--threads",
                str(args.threads),
                "--worker-class",
                "gthread",
                "--access-logfile",
                "/dev/null",
                "--error-logfile",
                str(work / "gunicorn.log"),
            ],
            cwd=REPO,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/api/v1/datasets/", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        evaluation = seeded["evaluation"]
        paths = [
            "/api/v1/datasets/",
            "/api/v1/datasets/flip-bind/",
            "/api/v1/versions/",
            "/api/v1/versions/flip-bind@1/",
            "/api/v1/versions/flip-bind@1/records/?page_size=50",
            "/api/v1/versions/globins@1/records/?page_size=50&search=HBA",
            "/api/v1/versions/flip-bind@1/lineage/",
            "/api/v1/splits/?version=flip-bind@1",
            "/api/v1/derivations/",
            "/api/v1/models/",
            "/api/v1/model-versions/",
            "/api/v1/model-versions/binder@2/",
            "/api/v1/evaluations/",
            f"/api/v1/evaluations/{evaluation}/",
            "/api/v1/overlap-reports/",
        ]
        if args.only:
            paths = args.only
        single = {}
        for path in paths:  # warm up, check every path answers 200, and time it alone (median of 20)
            times = []
            for _ in range(21):
                started = time.perf_counter()
                with urllib.request.urlopen(base + path, timeout=30) as response:
                    assert response.status == 200, path
                    response.read()
                times.append(time.perf_counter() - started)
            single[path] = sorted(times[1:])[10] * 1000
        out = work / "wrk.json"
        script = work / "mix.lua"
        script.write_text(LUA % {"paths": ", ".join(json.dumps(p) for p in paths), "out": out})
        subprocess.run(
            [
                "wrk",
                "-t",
                str(args.wrk_threads),
                "-c",
                str(args.connections),
                "-d",
                f"{args.duration}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                base,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        result = json.loads(out.read_text())
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        psql(args.pg, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        shutil.rmtree(work, ignore_errors=True)

    print("one client, one request at a time (median of 20, ms):")
    for path, ms in single.items():
        print(f"  {ms:6.1f}  {path}")
    seconds = result["duration_us"] / 1e6
    errors = result["non_2xx"] + result["connect"] + result["read"] + result["write"] + result["timeout"]
    print(
        f"machine: {os.cpu_count()} cores; gunicorn {args.workers} workers x {args.threads} threads (gthread); "
        f"CONN_MAX_AGE={args.conn_max_age}; throttling {'on' if args.throttle else 'off'}; anonymous read cache {args.cache_seconds} s; "
        f"PostgreSQL; wrk {args.connections} connections, {args.duration} s, {len(paths)} read endpoints in turn"
    )
    print("| requests | req/s | p50 ms | p90 ms | p99 ms | max ms | errors (non-2xx + socket) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {result['requests']:,} | {result['requests'] / seconds:,.0f} | {result['p50_us'] / 1000:.1f} | "
        f"{result['p90_us'] / 1000:.1f} | {result['p99_us'] / 1000:.1f} | {result['max_us'] / 1000:.1f} | "
        f"{errors} |"
    )
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
