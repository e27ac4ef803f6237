"""API list pages of large versions, parts and overlap reports: time per page, and PostgreSQL's plan.

A page's cost should not grow with what it pages through. Creates a throwaway PostgreSQL database,
migrates it and registers real data (Swiss-Prot 2014, ``../large-data``, ``get-large.sh``):

- the first 1,000, 10,000 and ``--records`` proteins as three benchmark datasets
  (``manage.py register_dataset --role benchmark``), each split into train (its first 80%) and
  test (``manage.py register_split``);
- proteins 5,001 to 15,000 as a training set, so that the standing checks compute each benchmark's
  overlap report against it (eager jobs; thousands of verbatim copies, and near-duplicates).

Then it gathers table statistics (``ANALYZE``, as autovacuum would) and asks, in process (Django's
test client, no server, read cache off), for pages of 50 by cursor: records of each version
(``/api/v1/versions/REF/records/``) and of its test part (``/api/v1/parts/UUID/records/``) at
their start, middle and end, and hits of each report (``/api/v1/overlap-reports/UUID/hits/``):
the first page and the pages 40 and 200 ``next`` links on (inside the thousands of hits at
identity 1.0). Per page: the median wall time of
``--repeat`` requests, the page query's execution time in PostgreSQL (``EXPLAIN ANALYZE``) and the
plan's outer nodes. Then it reads every page of each report by its next links, as a client
reading a whole report does, and counts the hits it got and the distinct ones (stopping at twice
the pages a report needs). Drops the database at the end. Run it at two commits to compare them.

Usage:
    python benchmarks/bench_api_pages.py [--records 50000] [--repeat 30] [--pg postgresql://...]
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

from _common import LARGE, REPO, fasta_slice, psql

SWISSPROT = LARGE / "swissprot-2014.fasta"


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


def local(url: str) -> str:
    """A ``next`` link as a path the test client takes."""
    return urllib.parse.urlsplit(url)._replace(scheme="", netloc="").geturl()


def cursor(position: str) -> str:
    return urllib.parse.quote(base64.b64encode(f"p={position}".encode()).decode())


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

    db = f"leakledger_bench_pages_{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="leakledger-api-pages-"))
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

        from registry.models import OverlapReport, SplitPart

        override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}).enable()
        call_command("migrate", verbosity=0)
        sizes = sorted({1_000, 10_000, args.records})
        for n in sizes:
            fasta = work / f"sp{n}.fasta"
            ids = fasta_slice(SWISSPROT, 1, n, fasta)
            started = time.perf_counter()
            call_command(
                "register_dataset", str(fasta), name=f"sp{n}", kind="protein", role="benchmark", verbosity=0
            )
            print(f"registered sp{n}@1 in {time.perf_counter() - started:.1f} s", file=sys.stderr)
            mapping = work / f"sp{n}.split.json"
            mapping.write_text(json.dumps({"train": ids[: n * 4 // 5], "test": ids[n * 4 // 5 :]}))
            call_command("register_split", f"sp{n}@1", name="cut", mapping=str(mapping), verbosity=0)
            print(
                f"registered sp{n}@1 ({n:,} records) in {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )
        train = work / "train.fasta"
        fasta_slice(SWISSPROT, 5_001, 15_000, train)
        started = time.perf_counter()
        call_command(
            "register_dataset", str(train), name="train", kind="protein", role="training", verbosity=0
        )
        print(
            f"registered train@1 and its standing reports in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        with connection.cursor() as db_cursor:
            db_cursor.execute("ANALYZE")
        client = Client()

        def get(path: str) -> dict:
            response = client.get(path, HTTP_ACCEPT="application/json")
            assert response.status_code == 200, (path, response.content[:300])
            return response.json()

        pages = []
        for n in sizes:
            version = f"/api/v1/versions/sp{n}@1/records/?page_size=50"
            pages += [(f"records of sp{n}@1", n, "first", version)]
            pages += [
                (f"records of sp{n}@1", n, f"after {at:,}", f"{version}&cursor={cursor(str(at))}")
                for at in (n // 2, n - 60)
            ]
            test = SplitPart.objects.get(split__version__dataset__name=f"sp{n}", name="test")
            part = f"/api/v1/parts/{test.uuid}/records/?page_size=50"
            pages += [(f"records of sp{n}@1 test part", n, "first", part)]
            pages += [
                (f"records of sp{n}@1 test part", n, f"after {at:,}", f"{part}&cursor={cursor(str(at))}")
                for at in (n * 9 // 10, n - 60)
            ]
        walks = []
        reports = OverlapReport.objects.filter(reference_set__version__dataset__name="train")
        for report in reports.select_related("query_set__version__dataset", "query_set__part__split"):
            hits = f"/api/v1/overlap-reports/{report.uuid}/hits/?page_size=50"
            total = report.hits.count()
            what = f"hits of {report.query_set.ref} vs train@1 ({total:,} hits)"
            pages.append((what, report.query_records, "first", hits))
            # Every page by its next link, as a client reading the whole report does (at most 2x the pages
            # it needs: a cursor that comes back to pages it gave would not stop).
            url, seen, n_pages = hits, [], 0
            while url and n_pages < 2 * (total // 50 + 1):
                body = get(url)
                seen += [h["query"] for h in body["results"]]
                n_pages += 1
                if n_pages in (40, 200) and body["next"]:
                    pages.append((what, report.query_records, f"{n_pages} pages on", local(body["next"])))
                url = body["next"] and local(body["next"])
            walks.append((what, total, n_pages, len(seen), len(set(seen)), url is None))
        for what, n, page, path in pages:
            connection.queries_log.clear()  # full (9,000 entries) after the registrations: nothing new would show
            with CaptureQueriesContext(connection) as captured:
                body = get(path)
            page_sql = captured.captured_queries[-1]["sql"]  # now: a new connection clears the log
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                client.get(path, HTTP_ACCEPT="application/json")
                times.append((time.perf_counter() - started) * 1000)
            with connection.cursor() as db_cursor:
                db_cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + page_sql)
                explained = db_cursor.fetchone()[0]
            explained = json.loads(explained) if isinstance(explained, str) else explained
            rows.append(
                (
                    what,
                    n,
                    page,
                    len(body["results"]),
                    statistics.median(times),
                    explained[0]["Execution Time"],
                    " > ".join(plan_summary(explained[0]["Plan"])),
                )
            )
        connection.close()
    finally:
        psql(args.pg, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")

    print(f"command: python benchmarks/bench_api_pages.py {' '.join(sys.argv[1:])}")
    print(
        f"machine: {os.cpu_count()} cores; PostgreSQL; median of {args.repeat} requests per page, in process"
    )
    print()
    print("| page of | version's records | page | rows | median ms | SQL execution ms | plan (outer nodes) |")
    print("|---|---:|---|---:|---:|---:|---|")
    for what, n, page, count, ms, sql_ms, plan in rows:
        print(f"| {what} | {n:,} | {page} | {count} | {ms:.2f} | {sql_ms:.2f} | {plan} |")
    print()
    print("Every page of each report by its next links:")
    print()
    print("| report | hits | pages read | hits read | distinct | reached the end |")
    print("|---|---:|---:|---:|---:|---|")
    for what, total, n_pages, n_seen, distinct, ended in walks:
        print(
            f"| {what.removeprefix('hits of ')} | {total:,} | {n_pages:,} | {n_seen:,} | {distinct:,} | {'yes' if ended else 'no'} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
