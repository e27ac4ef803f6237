"""What the real-worker tests share: the broker they use, their markers, and a bounded wait.

They need PostgreSQL (``DATABASE_URL``: the worker process must see the test database) and a broker
(``LEAKLEDGER_TEST_BROKER_URL``, or ``CELERY_BROKER_URL``), as ``.ci/run`` sets them.
"""

import os
import time

import pytest

BROKER = os.environ.get("LEAKLEDGER_TEST_BROKER_URL") or os.environ.get("CELERY_BROKER_URL")

WORKER_MARKS = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not BROKER, reason="needs a broker: set LEAKLEDGER_TEST_BROKER_URL (e.g. redis://127.0.0.1:6379/15)"
    ),
    pytest.mark.skipif(
        "postgres" not in os.environ.get("DATABASE_URL", ""),
        reason="needs PostgreSQL (DATABASE_URL): the worker process must see the test database",
    ),
]


def wait(predicate, timeout: float = 120.0, interval: float = 0.02, what: str = "condition"):
    """``predicate()``'s first true value, polled every ``interval`` s; fails after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def waiting_on_lock(table: str, count: int = 1) -> bool:
    """Whether at least ``count`` backends of the test database wait for a lock on a statement naming ``table``."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # activity is a snapshot per transaction
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE %s",
            [f"%{table}%"],
        )
        return cursor.fetchone()[0] >= count
