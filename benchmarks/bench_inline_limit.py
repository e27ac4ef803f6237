"""How long one upload holds a web worker without a broker (eager mode), at LEAKLEDGER_INLINE_MAX_BYTES.

Without a Celery broker an upload is registered inside its request. The bound on that work is
``LEAKLEDGER_INLINE_MAX_BYTES`` (decompressed bytes read; 8 MiB by default). This script times, through
the real API (Django's test client, SQLite in a temporary folder, the same view and job code as
gunicorn runs):

- a gzip "bomb": a small gzip of highly compressible text that decompresses far past the bound
  (refused once the bound is read);
- the largest real file under the bound: the first Swiss-Prot 2014 proteins up to the bound
  (``../large-data/swissprot-2014.fasta``), registered in full.

Usage: nice .venv/bin/python benchmarks/bench_inline_limit.py  (LEAKLEDGER_LARGE_DATA=/work/large-data)
"""

import argparse
import gzip
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    large = Path(os.environ.get("LEAKLEDGER_LARGE_DATA", REPO.parent / "large-data"))
    parser.add_argument("--swissprot", default=str(large / "swissprot-2014.fasta"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ll-inline-"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "LEAKLEDGER_DATA_DIR": str(work),
            "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
        }
    )
    os.environ.pop("CELERY_BROKER_URL", None)
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    call_command("migrate", verbosity=0)
    limit = settings.LEAKLEDGER["INLINE_MAX_BYTES"]
    client = APIClient()
    user = get_user_model().objects.create_user("bench")
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    def post(name: str, path: Path, kind: str):
        started = time.perf_counter()
        with open(path, "rb") as handle:
            response = client.post(
                f"/api/v1/datasets/{name}/versions/", {"file": handle, "kind": kind}, format="multipart"
            )
        return response, time.perf_counter() - started

    rows = []
    bomb = work / "comments.txt.gz"
    line = b"This comment is the same as the one before it, and the one after it, again and again.\n"
    with gzip.open(bomb, "wb") as out:
        for _ in range(20 * limit // len(line)):  # 20x the bound, decompressed
            out.write(line)
    response, seconds = post("bomb", bomb, "text")
    rows.append(
        ("gzip bomb (text)", bomb.stat().st_size, response.status_code, response.json()["code"], seconds)
    )

    swissprot = Path(args.swissprot)
    if swissprot.exists():
        head = work / "swissprot-head.fasta"
        with open(swissprot, "rb") as src, open(head, "wb") as out:
            size = 0
            record: list[bytes] = []
            for raw in src:
                if raw.startswith(b">") and record:
                    chunk = b"".join(record)
                    if size + len(chunk) > limit:
                        break
                    out.write(chunk)
                    size += len(chunk)
                    record = []
                record.append(raw)
        response, seconds = post("swissprot-head", head, "protein")
        body = response.json()
        rows.append(
            (
                f"Swiss-Prot head ({body.get('result', {}).get('records', '?'):,} proteins)",
                head.stat().st_size,
                response.status_code,
                body.get("state", body.get("code")),
                seconds,
            )
        )
    else:
        rows.append(("Swiss-Prot head", 0, 0, f"not measured: {swissprot} is missing", 0.0))

    print(f"machine: {platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"LEAKLEDGER_INLINE_MAX_BYTES = {limit:,}\n")
    print("| upload | bytes sent | status | outcome | seconds in the request |")
    print("|---|---:|---:|---|---:|")
    for label, size, status, outcome, seconds in rows:
        print(f"| {label} | {size:,} | {status} | {outcome} | {seconds:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
