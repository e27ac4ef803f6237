"""Records pages of versions of growing size: time per page, and the plan PostgreSQL chose for it.

Creates a throwaway PostgreSQL database, migrates it, registers the first 1,000, 10,000 and
``--records`` proteins of Swiss-Prot 2014 (``../large-data``, ``get-large.sh``) as three datasets
(``manage.py register_dataset``), splits each into train (the first 80% of its records) and test
(``manage.py register_split``), gathers table statistics (``ANALYZE``, as autovacuum would), then
asks each version and its test part for pages of 50 records by cursor
(``/api/v1/versions/REF/records/``, ``/api/v1/parts/UUID/records/``) at their start, middle and
end, in process (Django's test client, no server, read cache off). Per page: the
median wall time of ``--repeat`` requests, the page query's execution time in PostgreSQL
(``EXPLAIN ANALYZE``) and the plan's outer nodes. Drops the database at the end.

A page's cost should not grow with the version: the query walks the (version, position) index and
stops after 51 rows. Run it at two commits to compare them.

Usage:
    python benchmarks/bench_records_pages.py [--records 50000] [--repeat 30] [--pg postgresql://...]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from _common import LARGE, REPO, psql

SWISSPROT = LARGE / "swissprot-2014.fasta"


def first_records(n: int, target: Path) -> None:
    """The first ``n`` FASTA records of Swiss-Prot 2014, as they are in the file."""
    seen = 0
    with open(SWISSPROT) as src, open(target, "w") as out:
        for line in src:
            if line.startswith(">"):
                seen += 1
                if seen > n:
                    break
            out.write(line)


def plan_summary(node: dict, depth: int = 0) -> list[str]:
    """The node types of a JSON plan, outermost first, four levels deep, past InitPlans and SubPlans."""
    name = node["Node Type"] + (f" on {node['Relation Name']}" if "Relation Name" in node else "")
    if "Index Name" in node:
        name += f" ({node['Index Name']})"
    names = [name]
    children = [
        c for c in node.get("Plans", []) if c.get("Parent Relationship") not in ("InitPlan", "SubPlan")
    ]
    if depth < 3 and children:
        names += plan_summary(children[0], depth + 1)
    return names


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=50_000, help="records of the largest version")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    if not SWISSPROT.exists():
        print(f"{SWISSPROT} is missing: run ../shared/data/get-large.sh", file=sys.stderr)
        return 2

    db = f"leakledger_bench_records_{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="leakledger-records-"))
    sys.path.insert(0, str(REPO))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=f"{args.pg}/{db}",
        LEAKLEDGER_DATA_DIR=str(work / "data"),
        LEAKLEDGER_API_CACHE_SECONDS="0",
    )
    os.environ.pop("CELERY_BROKER_URL", None)
    psql(args.pg, f"CREATE DATABASE {db}")
    rows = []
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext, override_settings

        override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}).enable()
        call_command("migrate", verbosity=0)
        sizes = sorted({1_000, 10_000, args.records})
        for n in sizes:
            fasta = work / f"sp{n}.fasta"
            first_records(n, fasta)
            started = time.perf_counter()
            call_command("register_dataset", str(fasta), name=f"sp{n}", kind="protein", verbosity=0)
            ids = [line[1:].split()[0] for line in fasta.read_text().splitlines() if line.startswith(">")]
            mapping = work / f"sp{n}.split.json"
            mapping.write_text(json.dumps({"train": ids[: n * 4 // 5], "test": ids[n * 4 // 5 :]}))
            call_command("register_split", f"sp{n}@1", name="cut", mapping=str(mapping), verbosity=0)
            print(
                f"registered sp{n}@1 ({n:,} records) in {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        client = Client()
        from registry.models import SplitPart

        pages = []
        for n in sizes:
            pages += [
                (f"sp{n}@1", f"/api/v1/versions/sp{n}@1/records/", n, at) for at in (None, n // 2, n - 60)
            ]
            test = SplitPart.objects.get(split__version__dataset__name=f"sp{n}", name="test")
            pages += [
                (f"sp{n}@1 test part", f"/api/v1/parts/{test.uuid}/records/", n, at)
                for at in (None, n * 9 // 10, n - 60)
            ]
        for what, url, n, at in pages:
            query = "page_size=50"
            if at is not None:
                query += "&cursor=" + urllib.parse.quote(base64.b64encode(f"p={at}".encode()).decode())
            path = f"{url}?{query}"
            connection.queries_log.clear()  # full (9,000 entries) after the registrations: nothing new would show
            with CaptureQueriesContext(connection) as captured:
                response = client.get(path, HTTP_ACCEPT="application/json")
            assert response.status_code == 200, (path, response.content[:300])
            assert len(response.json()["results"]) == 50, path
            page_sql = captured.captured_queries[-1]["sql"]  # now: a new connection clears the log
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                client.get(path, HTTP_ACCEPT="application/json")
                times.append((time.perf_counter() - started) * 1000)
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + page_sql)
                explained = cursor.fetchone()[0]
            explained = json.loads(explained) if isinstance(explained, str) else explained
            rows.append(
                (
                    what,
                    n,
                    "first" if at is None else f"after {at:,}",
                    statistics.median(times),
                    explained[0]["Execution Time"],
                    " > ".join(plan_summary(explained[0]["Plan"])),
                )
            )
        connection.close()
    finally:
        psql(args.pg, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")

    print(f"command: python benchmarks/bench_records_pages.py {' '.join(sys.argv[1:])}")
    print(
        f"machine: {os.cpu_count()} cores; PostgreSQL; median of {args.repeat} requests per page, in process"
    )
    print()
    print("| records of | version's records | page | median ms | SQL execution ms | plan (outer nodes) |")
    print("|---|---:|---|---:|---:|---|")
    for ref, n, page, ms, sql_ms, plan in rows:
        print(f"| {ref} | {n:,} | {page} | {ms:.2f} | {sql_ms:.2f} | {plan} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
