"""SQL queries and time per request, one client alone, in process: the mixes of the load benchmarks.

Runs Django's test client against the database of ``DATABASE_URL`` (no server, no wrk) and prints,
for every distinct URL, the number of SQL queries and the median wall time of ``--repeat`` requests
(after one warm-up). The read cache and the page cache are off, so that every request is Django's.

    # the API mix of bench_api_load.py (registers the fixture data first: manage.py seed_api, idempotent)
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/NAME python benchmarks/profile_requests.py api
    DATABASE_URL=... python benchmarks/profile_requests.py api --token   # as an authenticated client
    # the pages of bench_pages.py, on a database that bench_pages.py's seeding filled
    DATABASE_URL=... python benchmarks/profile_requests.py pages
    # the whole mix of 2,000 requests in its seeded order: Python CPU per request (time.process_time)
    DATABASE_URL=... python benchmarks/profile_requests.py api --mix [--token] [--cprofile FILE]
    # every distinct URL's answer (status, content type, JSON), to compare two builds on one database
    DATABASE_URL=... python benchmarks/profile_requests.py api --dump FILE
    # the garbage collector's pauses over the mix, with and without gc.freeze() after the warm-up
    # (what config/gunicorn.conf.py's post_worker_init does in each worker)
    DATABASE_URL=... python benchmarks/profile_requests.py api --mix --gc [--gc-freeze]

Less noisy than the load runs on a shared machine: query counts do not depend on the load at all.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["LEAKLEDGER_API_CACHE_SECONDS"] = "0"
os.environ["LEAKLEDGER_PAGE_CACHE_SECONDS"] = "0"
os.environ.pop("CELERY_BROKER_URL", None)


def profile(client, paths: list[str], headers: dict, repeat: int) -> list[tuple[str, int, float, float]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    out = []
    for path in paths:
        response = client.get(path, **headers)  # warm-up, and it must answer
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
        times, cpu = [], []
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as queries:
                started, started_cpu = time.perf_counter(), time.process_time()
                client.get(path, **headers)
                cpu.append((time.process_time() - started_cpu) * 1000)
                times.append((time.perf_counter() - started) * 1000)
        out.append((path, len(queries.captured_queries), statistics.median(times), statistics.median(cpu)))
    return out


def gc_pauses(freeze: bool):
    """Start timing every collection of the garbage collector (after ``gc.freeze()`` if ``freeze``);
    returns a function that stops and gives, per generation: collections, total and longest ms."""
    import gc

    if freeze:
        gc.collect()
        gc.freeze()
    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    started = [0.0]

    def timer(phase, info):
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses[info["generation"]].append((time.perf_counter() - started[0]) * 1000)

    gc.callbacks.append(timer)

    def stop() -> dict:
        gc.callbacks.remove(timer)
        if freeze:
            gc.unfreeze()
        return {g: (len(p), sum(p), max(p, default=0.0)) for g, p in pauses.items()}

    return stop


def run_mix(client, mix: list[str], headers: dict, rounds: int, cprofile: str | None) -> list[float]:
    """CPU milliseconds per request of the whole mix, ``rounds`` times (after one warm-up round)."""
    import cProfile

    for path in set(mix):
        client.get(path, **headers)
    out = []
    for i in range(rounds):
        profiler = cProfile.Profile(time.process_time) if cprofile and i == rounds - 1 else None
        started = time.process_time()
        if profiler:
            profiler.enable()
        for path in mix:
            client.get(path, **headers)
        if profiler:
            profiler.disable()
            profiler.dump_stats(cprofile)
        out.append((time.process_time() - started) * 1000 / len(mix))
    return out


def dump(client, paths: list[str], headers: dict, target: str) -> None:
    answers = {}
    for path in paths:
        response = client.get(path, **headers)
        body = response.content.decode()
        answers[path] = {
            "status": response.status_code,
            "content_type": response.get("Content-Type"),
            "body": json.loads(body) if body else None,
        }
    Path(target).write_text(json.dumps(answers, indent=1))  # key order kept: it is part of the answer


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["api", "pages"])
    parser.add_argument("--token", action="store_true", help="send Authorization: Token ... (api)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--mix", action="store_true", help="CPU ms per request over the whole mix (api)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the mix with --mix")
    parser.add_argument("--cprofile", help="with --mix: write the last round's cProfile stats here")
    parser.add_argument("--dump", help="write every distinct URL's answer as JSON to this file (api)")
    parser.add_argument("--gc", action="store_true", help="with --mix: the garbage collector's pauses")
    parser.add_argument(
        "--gc-freeze", action="store_true", help="with --gc: gc.freeze() after the warm-up, as the workers do"
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import override_settings

    # As the load benchmarks' servers: DRF's throttle would answer 429 at this rate.
    override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}).enable()

    sys.path.insert(0, str(REPO / "benchmarks"))
    client = Client()
    headers = {"HTTP_ACCEPT": "application/json"}
    if args.what == "api":
        import io

        from bench_api_load import build_mix

        out = io.StringIO()
        call_command("seed_api", "--user", "bench", stdout=out)
        seeded = json.loads(out.getvalue().strip().splitlines()[-1])
        if args.token:
            from django.contrib.auth import get_user_model
            from rest_framework.authtoken.models import Token

            key = Token.objects.get_or_create(user=get_user_model().objects.get(username="bench"))[0].key
            headers["HTTP_AUTHORIZATION"] = f"Token {key}"
        mix = build_mix(lambda p: client.get(p, **headers).json(), seeded)
        if args.mix:
            if args.gc:
                for path in set(mix):  # what a worker has loaded before it freezes
                    client.get(path, **headers)
                stop = gc_pauses(args.gc_freeze)
            cpu = run_mix(client, mix, headers, args.rounds, args.cprofile)
            print(
                f"{len(mix)} requests x {args.rounds} rounds, CPU ms per request (time.process_time): "
                + " ".join(f"{ms:.2f}" for ms in cpu)
            )
            if args.gc:
                print(
                    f"garbage collector{' after gc.freeze()' if args.gc_freeze else ''}, over those rounds:"
                )
                for generation, (count, total, longest) in stop().items():
                    print(
                        f"  generation {generation}: {count} collections, {total:.0f} ms in all, longest {longest:.1f} ms"
                    )
            return 0
        paths = sorted(set(mix))
        if args.dump:
            dump(client, paths, headers, args.dump)
            print(f"{len(paths)} answers written to {args.dump}")
            return 0
    else:
        from bench_pages import PAGES

        paths = list(PAGES.values())
        headers = {}
    rows = profile(client, paths, headers, args.repeat)
    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"{len(rows)} URLs, median of {args.repeat} requests each, one client, in process")
    print(f"{'queries':>7}  {'ms':>7}  {'cpu ms':>7}  path")
    for path, queries, ms, cpu in sorted(rows, key=lambda r: (-r[1], -r[2])):
        print(f"{queries:7d}  {ms:7.1f}  {cpu:7.1f}  {path}")
    total_q = sum(r[1] for r in rows)
    print(f"total: {total_q} queries, {sum(r[2] for r in rows):.1f} ms over {len(rows)} URLs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
