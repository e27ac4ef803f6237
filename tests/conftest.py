"""Shared test helpers: where the real data lives, and markers for data that only CI has."""

import ctypes
import os
import signal
import sys
import urllib.parse
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"


def _broker_of_this_worker() -> None:
    """Under pytest-xdist (``-n 2``), each worker process gets Redis databases of its own.

    pytest-django gives each worker its own test database (``test_<name>_gw0``, ``_gw1``); the broker
    must be split the same way, or a worker started by one process's tests would take the jobs of the
    other's (on a database where they do not exist). Worker ``gwN`` uses database ``base - 2N`` of
    ``LEAKLEDGER_TEST_BROKER_URL`` and the client's live server the one below it
    (tests/client/conftest.py): 15 and 14 for gw0, 13 and 12 for gw1.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    url = os.environ.get("LEAKLEDGER_TEST_BROKER_URL", "")
    if not worker.startswith("gw") or not url:
        return
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise pytest.UsageError(
            f"LEAKLEDGER_TEST_BROKER_URL={url}: parallel workers (-n) need a Redis broker"
        )
    db = int(parts.path.strip("/") or 0) - 2 * int(worker[2:])
    if db < 1:
        raise pytest.UsageError(
            f"LEAKLEDGER_TEST_BROKER_URL={url} leaves no Redis database for worker {worker} "
            "(each worker takes two, counting down): use a higher database number or fewer workers"
        )
    os.environ["LEAKLEDGER_TEST_BROKER_URL"] = urllib.parse.urlunsplit(parts._replace(path=f"/{db}"))


_broker_of_this_worker()


def _verify_compiled_selects() -> None:
    """Every query of the tests checks the cache of compiled SELECTs (``registry/db/compiled.py``).

    ``verify`` compiles each cached query in full as well and fails on any difference. The settings
    are read before this file (pytest-django loads them first), so the setting is changed here; the
    environment carries it to the Celery workers and servers that the tests start.
    ``LEAKLEDGER_SQL_CACHE=on`` (or ``off``) in the environment runs the tests as production runs.
    """
    from django.conf import settings

    os.environ.setdefault("LEAKLEDGER_SQL_CACHE", "verify")
    if settings.configured or os.environ.get("DJANGO_SETTINGS_MODULE"):  # not when a script imports this file
        settings.LEAKLEDGER_SQL_CACHE = os.environ["LEAKLEDGER_SQL_CACHE"]


_verify_compiled_selects()


# Looked up before any fork: the child runs one foreign call between fork and exec, nothing that locks.
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def die_with_parent() -> None:
    """``preexec_fn`` of the servers and workers tests start: killed when the test process dies.

    A test run that is interrupted (or killed) never runs its fixtures' teardown; a Celery worker
    left behind keeps consuming from the test broker and takes the next run's jobs. On Linux the
    kernel sends the child SIGKILL when its parent dies (``PR_SET_PDEATHSIG``); elsewhere nothing.
    """
    if _PRCTL is not None:
        _PRCTL(1, int(signal.SIGKILL))  # 1 = PR_SET_PDEATHSIG


def shared_data_path() -> Path:
    """The larger real data set (``../shared/data``), or ``$LEAKLEDGER_SHARED_DATA``."""
    return Path(os.environ.get("LEAKLEDGER_SHARED_DATA", REPO.parent / "shared" / "data")).resolve()


def pytest_collection_modifyitems(config, items):
    if (shared_data_path() / "GROUND_TRUTH.md").exists():
        return
    reason = (
        f"needs the real data in {shared_data_path()} (../shared/data beside the repository, "
        "or set LEAKLEDGER_SHARED_DATA); CI always has it"
    )
    for item in items:
        if "shared_data" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


# --- PostgreSQL: dead rows of rolled-back tests are vacuumed, as autovacuum would -----------------------
# Each test runs in a transaction that is rolled back; on PostgreSQL the rows it wrote stay in the tables
# and their indexes as dead tuples until a VACUUM. CI's server runs with autovacuum off, so over one
# session the band-key table grew to 2.3 million dead rows (242 MB) and every later candidate query
# (an index probe per band key) read through them: 10 s a query, most of the PostgreSQL suite's time.
# After each test, the tables with many dead rows are vacuumed (milliseconds while they are small).
_BLOCKER = pytest.StashKey[object]()
DEAD_ROWS_BEFORE_VACUUM = 10_000


@pytest.fixture(scope="session", autouse=True)
def _vacuum_access(request, django_db_blocker):
    request.config.stash[_BLOCKER] = django_db_blocker


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    result = yield  # the test's fixtures are torn down: its transaction is rolled back
    blocker = item.config.stash.get(_BLOCKER, None)
    from django.db import connection

    test_db = str(connection.settings_dict.get("NAME") or "").startswith("test_")
    if blocker is None or connection.vendor != "postgresql" or not test_db:
        return result
    with blocker.unblock():
        if connection.in_atomic_block:
            return result
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(relname) FROM pg_stat_user_tables "
                "WHERE n_dead_tup > %s",
                [DEAD_ROWS_BEFORE_VACUUM],
            )
            for (table,) in cursor.fetchall():
                cursor.execute(f"VACUUM {table}")
    return result


@pytest.fixture
def shared_data() -> Path:
    return shared_data_path()


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session", autouse=True)
def collected_static(tmp_path_factory):
    """Static files collected once per run, as `manage.py collectstatic` does for a deployment.

    Pages name hashed files from the manifest (CompressedManifestStaticFilesStorage), so with DEBUG off
    a template with `{% static %}` needs it. WhiteNoise looks files up per request here
    (``WHITENOISE_AUTOREFRESH``) instead of scanning the folder for every test client (~80 ms each);
    the browser tests serve the folder exactly as production does (tests/web/conftest.py).
    """
    from django.core.management import call_command
    from django.test.utils import override_settings

    root = tmp_path_factory.mktemp("static")
    with override_settings(STATIC_ROOT=root, WHITENOISE_AUTOREFRESH=True):
        call_command("collectstatic", interactive=False, verbosity=0)
        yield root
