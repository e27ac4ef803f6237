"""Load test of the read API: gunicorn on PostgreSQL, 50 concurrent clients (wrk) for 60 s.

Creates a throwaway PostgreSQL database, migrates it, registers the real fixture data
(``manage.py seed_api``), gathers its table statistics (``ANALYZE``), starts gunicorn on a loopback
port and drives a mix of read endpoints (lists, details, records, lineage, evaluations with
contamination) with wrk, then prints p50/p90/p99 latency, throughput and errors, and drops the
database.

The mix is realistic rather than 15 fixed URLs: a seeded, weighted sequence of 2,000 requests over
every seeded object, 30% lists (with filters and pages), 20% details, 30% records pages (every
page of every version, and searches), 10% overlap reports and evaluations with their contamination,
10% version lineage. It runs in three modes, one after the other on the same database, each on a
freshly started server:
  cache    anonymous clients, the anonymous read cache on (``--cache-seconds``, the project's 5 s)
  nocache  anonymous clients, the cache off (LEAKLEDGER_API_CACHE_SECONDS=0): every request is Django's
  auth     clients sending ``Authorization: Token ...`` (never cached), cache setting as "cache"
The goal (p99 < 200 ms with 50 clients) is judged on "nocache" and "auth". ``--sql-cache on,off`` runs
every mode twice, with the project's cache of compiled SELECTs (registry/db/compiled.py) and without.

Usage:
    python benchmarks/bench_api_load.py [--duration 60] [--connections 50] [--modes cache,nocache,auth]
    python benchmarks/bench_api_load.py --modes nocache,auth --sql-cache on,off

Needs wrk (``apt-get install -y wrk``) and a PostgreSQL server reachable as
``postgresql://postgres@127.0.0.1:5432`` (``--pg`` to change it). Only loopback addresses.
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


def build_mix(get, seeded: dict, count: int = 2000, seed: int = 8) -> list[str]:
    """A weighted, shuffled sequence of read URLs over every seeded object (see the module docstring).

    ``get(path)`` answers a path with its decoded JSON (a live server, or Django's test client in
    ``profile_requests.py``); the records pages are found by following their ``next`` links.
    """
    import random
    from urllib.parse import urlsplit

    refs = seeded["versions"]
    names = sorted({ref.split("@")[0] for ref in refs})
    records = []
    for ref in refs:
        url = f"/api/v1/versions/{ref}/records/?page_size=50"
        while url:  # every page, by the cursor links the API gives
            records.append(url)
            nxt = get(url).get("next")
            url = None if not nxt else urlsplit(nxt)._replace(scheme="", netloc="").geturl()
    records += [
        f"/api/v1/versions/{ref}/records/?page_size=50&search={term}"
        for ref in refs
        for term in ("HB", "P0", "Q9", "A")
    ]
    groups = {
        "lists": (
            0.3,
            [
                "/api/v1/datasets/",
                "/api/v1/versions/",
                *[f"/api/v1/versions/?dataset={n}" for n in names],
                "/api/v1/splits/",
                "/api/v1/splits/?version=flip-bind@1",
                "/api/v1/derivations/",
                "/api/v1/models/",
                "/api/v1/model-versions/",
                "/api/v1/evaluations/",
                "/api/v1/overlap-reports/",
            ],
        ),
        "details": (
            0.2,
            [
                *[f"/api/v1/datasets/{n}/" for n in names],
                *[f"/api/v1/versions/{ref}/" for ref in refs],
                *[f"/api/v1/model-versions/{mv}/" for mv in seeded["model_versions"]],
                f"/api/v1/splits/{seeded['split']}/",
            ],
        ),
        "records": (0.3, records),
        "reports": (
            0.1,
            [
                f"/api/v1/evaluations/{seeded['evaluation']}/",
                *(
                    [f"/api/v1/overlap-reports/{seeded['overlap_report']}/"]
                    if seeded.get("overlap_report")
                    else []
                ),
            ],
        ),
        "lineage": (0.1, [f"/api/v1/versions/{ref}/lineage/" for ref in refs]),
    }
    rng = random.Random(seed)
    mix = []
    for weight, paths in groups.values():
        mix += [rng.choice(paths) for _ in range(round(weight * count))]
    rng.shuffle(mix)
    return mix


def http_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="gunicorn worker processes")
    parser.add_argument(
        "--worker-class",
        default="sync",
        choices=("sync", "gthread"),
        help="gunicorn worker class (default sync, as config/gunicorn.conf.py and README Production run it)",
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (gthread only)")
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
        "--no-pg-prepare",
        action="store_true",
        help="LEAKLEDGER_PG_PREPARE=0: client-side parameter binding, nothing prepared (Django's default)",
    )
    parser.add_argument(
        "--prepare-threshold",
        type=int,
        default=5,
        help="LEAKLEDGER_PG_PREPARE_THRESHOLD: runs of a statement before psycopg prepares it (default 5)",
    )
    parser.add_argument("--modes", default="cache,nocache,auth", help="comma-separated: cache, nocache, auth")
    parser.add_argument(
        "--sql-cache",
        default="on",
        help="LEAKLEDGER_SQL_CACHE of the server, comma-separated to run every mode once with each, one "
        "after the other on the same database (on, off: the project's cache of compiled SELECTs; default on)",
    )
    parser.add_argument(
        "--throttle",
        action="store_true",
        help="keep DRF's throttling on (off by default: see the comment below)",
    )
    args = parser.parse_args()
    sql_caches = args.sql_cache.split(",")
    if not set(sql_caches) <= {"on", "off"}:
        raise SystemExit(f"--sql-cache {args.sql_cache!r}: on, off, or both (on,off)")
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
        "LEAKLEDGER_PG_PREPARE": "0" if args.no_pg_prepare else "1",
        "LEAKLEDGER_PG_PREPARE_THRESHOLD": str(args.prepare_threshold),
    }
    env.pop("CELERY_BROKER_URL", None)
    python = sys.executable
    gunicorn = str(Path(python).parent / "gunicorn")
    server = None
    results = []
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
        token = subprocess.run(
            [python, "manage.py", "shell", "-c",
             "from django.contrib.auth import get_user_model; from rest_framework.authtoken.models import Token; "
             "print(Token.objects.get_or_create(user=get_user_model().objects.get(username='bench'))[0].key)"],
            cwd=REPO, env=env, check=True, capture_output=True, text=True,
        ).stdout.strip().splitlines()[-1]  # fmt: skip
        # Table statistics, as autovacuum gathers them shortly after a load in production: servers
        # set up for CI (this machine's among them) run with autovacuum off, and without statistics
        # PostgreSQL plans every join for one row.
        subprocess.run(["psql", f"{args.pg}/{db}", "-v", "ON_ERROR_STOP=1", "-qc", "ANALYZE"], check=True)
        for mode, sql_cache in [(m, c) for m in args.modes.split(",") for c in sql_caches]:
            if mode not in ("cache", "nocache", "auth"):
                raise SystemExit(f"unknown mode {mode!r}: choose from cache, nocache, auth")
            cache_seconds = 0 if mode == "nocache" else args.cache_seconds
            port = free_port()
            server = subprocess.Popen(
                [gunicorn, "-c", str(REPO / "config" / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
                 "--workers", str(args.workers), "--worker-class", args.worker_class,
                 *(["--threads", str(args.threads)] if args.worker_class == "gthread" else []),
                 "--access-logfile", "/dev/null",
                 "--error-logfile", str(work / "gunicorn.log")],
                cwd=REPO,
                env={**env, "LEAKLEDGER_API_CACHE_SECONDS": str(cache_seconds), "LEAKLEDGER_SQL_CACHE": sql_cache},
            )  # fmt: skip
            base = f"http://127.0.0.1:{port}"
            wait_until_up(f"{base}/api/v1/datasets/")
            paths = args.only or build_mix(lambda path, base=base: http_json(base + path), seeded)
            headers = {"Accept": "application/json"}
            if mode == "auth":
                headers["Authorization"] = f"Token {token}"
            single = {}
            for path in sorted(set(paths)):  # every path answers 200; one client alone (median of 5)
                times = []
                for _ in range(6):
                    started = time.perf_counter()
                    request = urllib.request.Request(base + path, headers=headers)
                    with urllib.request.urlopen(request, timeout=30) as response:
                        assert response.status == 200, path
                        response.read()
                    times.append(time.perf_counter() - started)
                single[path] = sorted(times[1:])[2] * 1000
            result = wrk_run(
                base,
                paths,
                work,
                name=mode,
                headers=headers,
                connections=args.connections,
                duration=args.duration,
                threads=args.wrk_threads,
            )
            results.append((mode, sql_cache, cache_seconds, result, single, len(set(paths))))
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
        f"machine: {os.cpu_count()} cores; gunicorn -c config/gunicorn.conf.py, {args.workers} workers "
        + (
            f"x {args.threads} threads (gthread); "
            if args.worker_class == "gthread"
            else "(sync: no keep-alive); "
        )
        + f"CONN_MAX_AGE={args.conn_max_age}; "
        + (
            "statements not prepared; "
            if args.no_pg_prepare
            else f"prepared after {args.prepare_threshold} runs; "
        )
        + f"throttling {'on' if args.throttle else 'off'}; PostgreSQL; "
        f"wrk {args.connections} connections, {args.duration} s per mode"
    )
    print(f"command: python benchmarks/bench_api_load.py {' '.join(sys.argv[1:])}")
    print()
    print(
        "| mode | SQL cache | cache s | distinct URLs | load before/after | requests | req/s | p50 ms | p90 ms "
        "| p99 ms | max ms | errors |"
    )
    print("|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    failed = 0
    for mode, sql_cache, cache_seconds, r, _single, distinct in results:
        failed += r["errors"]
        print(
            f"| {mode} | {sql_cache} | {cache_seconds} | {distinct} | {r['load_before']:.1f}/{r['load_after']:.1f} | {wrk_cells(r)} |"
        )
    for mode, sql_cache, _c, _r, single, _d in results:
        if mode == "cache":
            continue
        print(f"\nslowest paths, one client alone, mode {mode}, SQL cache {sql_cache} (median of 5, ms):")
        for path, ms in sorted(single.items(), key=lambda kv: -kv[1])[:8]:
            print(f"  {ms:6.1f}  {path}")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
