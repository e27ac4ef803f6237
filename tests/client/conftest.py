"""A live LeakLedger server for the client's tests, and the client importable from client/.

On PostgreSQL with a broker (``DATABASE_URL`` and ``LEAKLEDGER_TEST_BROKER_URL``, as ``.ci/run``
sets them) the server is the production path: gunicorn on a free port and a real Celery worker,
both on the pytest-django test database, so uploads answer 202 and the client waits for the jobs.
Otherwise (SQLite by default) it is pytest-django's ``live_server`` with jobs run in the request.
Either way the client talks HTTP to it; nothing is mocked.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import REPO, die_with_parent

CLIENT_DIR = REPO / "client"
if str(CLIENT_DIR) not in sys.path:
    sys.path.insert(0, str(CLIENT_DIR))

BROKER = os.environ.get("LEAKLEDGER_TEST_BROKER_URL")
WITH_WORKER = bool(BROKER) and "postgres" in os.environ.get("DATABASE_URL", "")


def _own_broker(url: str) -> str:
    """The broker URL with a Redis database of this server's own (the next one down).

    The worker tests of tests/registry start workers of their own on ``url``: this server's worker must
    never take their jobs (it has another data folder and other settings), even while it is still up.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        return url  # RabbitMQ: the package-scoped fixture below is stopped before tests/registry starts
    db = int(parts.path.strip("/") or 0)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{db - 1 if db else 1}"))


@dataclass
class Ledger:
    url: str
    token: str
    username: str
    with_worker: bool

    def env(self) -> dict[str, str]:
        """The environment of a process that uses this server through LEAKLEDGER_URL/TOKEN."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEAKLEDGER_")}
        env.update(
            LEAKLEDGER_URL=self.url,
            LEAKLEDGER_TOKEN=self.token,
            LEAKLEDGER_CONFIG=str(Path(os.devnull)),
            PYTHONPATH=os.pathsep.join([str(CLIENT_DIR), str(REPO)]),
        )
        return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer at {url}:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="package")
def _server_with_worker(django_db_setup, tmp_path_factory):
    """gunicorn + ``celery worker`` on the test database (PostgreSQL), for the client's tests."""
    from celery import Celery

    db = connection.settings_dict
    database_url = f"postgresql://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    var = tmp_path_factory.mktemp("ledger-var")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": _own_broker(BROKER),
        "LEAKLEDGER_DATA_DIR": str(var),
    }
    app = Celery("leakledger-client-tests", broker=env["CELERY_BROKER_URL"], set_as_current=False)
    with app.connection_for_write() as conn:  # stale messages of an earlier run must not run now
        conn.default_channel.queue_purge("celery")
    port = _free_port()
    logs = tmp_path_factory.mktemp("ledger-logs")
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
            ],
            cwd=REPO,
            env=env,
            stdout=open(logs / "gunicorn.log", "w"),  # noqa: SIM115 - closed with the process
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        ),
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "-l", "WARNING"]
            + ["--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=REPO,
            env=env,
            stdout=open(logs / "worker.log", "w"),  # noqa: SIM115 - closed with the process
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        ),
    ]
    url = f"http://127.0.0.1:{port}"
    _wait_until_up(url + "/api/v1/", procs[0], logs / "gunicorn.log")
    yield url
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def ledger(request, transactional_db, settings, tmp_path) -> Iterator[Ledger]:
    """A live server and a token of a fresh user ``alice`` on it."""
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from rest_framework.authtoken.models import Token

    if WITH_WORKER:
        url = request.getfixturevalue("_server_with_worker")
    else:
        from config.celery import app

        settings.DATA_DIR = tmp_path / "var"
        saved = {key: app.conf.get(key) for key in ("task_always_eager", "task_eager_propagates")}
        app.conf.update(task_always_eager=True, task_eager_propagates=True)
        request.addfinalizer(lambda: app.conf.update(saved))
        url = request.getfixturevalue("live_server").url
    cache.clear()
    user = get_user_model().objects.create_user("alice")
    token = Token.objects.create(user=user)
    yield Ledger(url=url, token=token.key, username="alice", with_worker=WITH_WORKER)
    if WITH_WORKER:
        _wait_for_the_workers_jobs()


def _wait_for_the_workers_jobs() -> None:
    """Let the worker finish the jobs a test left behind (a registration's standing checks, which the
    client does not wait for) before the test database is flushed: a job still writing while
    ``TRUNCATE`` takes its locks deadlocks the flush (seen in CI) and fails the next test's setup."""
    from registry.models import Job
    from tests.registry.workers import wait

    live = Job.objects.filter(state__in=[Job.State.PENDING, Job.State.RUNNING])
    wait(lambda: not live.exists(), timeout=120, interval=0.2, what="the worker's jobs to finish")


@pytest.fixture
def client_for(ledger):
    """``client_for()``: a ``leakledger_client.Client`` on the live server (no progress output)."""
    from leakledger_client import Client

    def make(token: str | None = "default", **kwargs):
        kwargs.setdefault("wait_timeout", 300)  # a dead worker fails the test instead of hanging it
        return Client(ledger.url, ledger.token if token == "default" else token, progress=False, **kwargs)

    return make


@pytest.fixture
def ll(client_for):
    return client_for()
