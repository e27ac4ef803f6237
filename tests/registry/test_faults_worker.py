"""Faults with a real Celery worker on PostgreSQL: races, live jobs, killed connections, broker outages.

Needs PostgreSQL (``DATABASE_URL``) and a broker (``LEAKLEDGER_TEST_BROKER_URL``), as ``.ci/run`` sets
them. The broker-outage tests start a throwaway ``redis-server`` of their own on a free port (they
never touch the broker the environment names) and a gunicorn serving the API on the test database.
``benchmarks/fault_injection.py`` reruns these tests and counts what survived.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from dedup.parsing import iter_records, sequence_sha256
from registry.models import Dataset, DatasetVersion, Job, Record, Sequence
from registry.services import jobs
from tests.conftest import FIXTURES, REPO, die_with_parent
from tests.registry.workers import BROKER, WORKER_MARKS, wait, waiting_on_lock

TRAIN = FIXTURES / "flip_bind_split" / "train.fasta"  # 1,110 proteins, 1,077 once verbatim repeats go
TRAIN_RECORDS = 1077
GLOBINS = FIXTURES / "hmmer_tutorial" / "globins45.fa"
LUPINE = FIXTURES / "biopython_fasta" / "lupine.nu"  # a cDNA
# What the workers run with: a short lease, so that "longer than the recovery threshold" is seconds.
STALE_SECONDS = 8  # eight heartbeats: a loaded CI machine delayed one renewal past 4 s
HEARTBEAT_SECONDS = 1

pytestmark = WORKER_MARKS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _db_url() -> str:
    db = connection.settings_dict
    return f"postgresql://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def lease_settings(settings, tmp_path):
    """This process uses what the workers use: the same data folder and the same lease."""
    settings.DATA_DIR = tmp_path / "var"
    settings.LEAKLEDGER = {
        **settings.LEAKLEDGER,
        "JOB_STALE_SECONDS": STALE_SECONDS,
        "JOB_HEARTBEAT_SECONDS": HEARTBEAT_SECONDS,
    }
    return settings


@pytest.fixture
def to_broker(monkeypatch, broker_app):
    """Jobs published by this process (created or recovered) go to the real broker."""

    def publish(job):
        broker_app.send_task("registry.tasks.run_job", args=[str(job.uuid)])
        return True

    monkeypatch.setattr(jobs, "job_publish", publish)
    return broker_app


@pytest.fixture
def processes():
    started: list[subprocess.Popen] = []
    yield started
    for proc in reversed(started):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def env(tmp_path, lease_settings):
    return {
        **os.environ,
        "DATABASE_URL": _db_url(),
        "CELERY_BROKER_URL": BROKER,
        "LEAKLEDGER_DATA_DIR": str(tmp_path / "var"),
        "LEAKLEDGER_JOB_STALE_SECONDS": str(STALE_SECONDS),
        "LEAKLEDGER_JOB_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
        "LEAKLEDGER_LOG_LEVEL": "INFO",
    }


@pytest.fixture
def worker(env, tmp_path, processes):
    """``start(**extra_env)`` starts ``celery -A config worker`` on the test database."""

    def start(**extra) -> subprocess.Popen:
        log = tmp_path / f"worker{len(processes)}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "-c", "1", "-l", "INFO"]
            + ["--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"w{len(processes)}@%h"],
            cwd=REPO,
            env={**env, **extra},
            stdout=open(log, "w"),  # noqa: SIM115 - closed with the process
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
        processes.append(proc)
        return proc

    return start


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _upload(client, name: str, path: Path, **fields):
    if path == TRAIN:
        fields.setdefault("skip_identical_duplicates", "true")
    with open(path, "rb") as handle:
        return client.post(
            f"/api/v1/datasets/{name}/versions/", {"file": handle, **fields}, format="multipart"
        )


def _job(response) -> Job:
    return Job.objects.get(uuid=response.json()["uuid"])


def _uploads(settings) -> list[Path]:
    root = Path(settings.DATA_DIR) / "uploads"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _finished(job: Job) -> bool:
    job.refresh_from_db()
    return job.is_finished


# --- 1. the dataset-creation race -------------------------------------------------------------------


def test_two_users_racing_for_a_new_dataset_cannot_write_into_each_others(worker, to_broker, lease_settings):
    User = get_user_model()
    other, owner = User.objects.create_user("other"), User.objects.create_user("owner")
    # Both requests are checked while the dataset does not exist yet: both are accepted.
    first = _upload(_client(other), "racek", TRAIN, kind="protein")
    second = _upload(_client(owner), "racek", LUPINE, kind="dna")
    assert first.status_code == second.status_code == 202
    a, b = _job(first), _job(second)
    with transaction.atomic():
        # Both jobs pass their own early checks (no dataset yet), parse, and then wait here, just before
        # their write transactions: released together, one creates the dataset and the other finds it.
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {DatasetVersion._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        worker(), worker()
        wait(lambda: waiting_on_lock(DatasetVersion._meta.db_table, 2), what="both jobs before their write")
    wait(lambda: _finished(a) and _finished(b), what="both jobs")
    dataset = Dataset.objects.get(name="racek")
    # Whichever job the worker ran first created the dataset; the other is refused under the dataset's
    # row lock, as its request would have been had it come a second later.
    winner, loser = (a, b) if dataset.owner == other else (b, a)
    assert (dataset.owner, dataset.kind) in {(other, "protein"), (owner, "dna")}
    assert winner.state == Job.State.SUCCEEDED
    assert loser.state == Job.State.FAILED and loser.error["code"] in {"conflict", "permission_denied"}
    assert list(DatasetVersion.objects.values_list("created_by", flat=True)) == [dataset.owner_id]
    assert _uploads(lease_settings) == []  # the refused job released its file too


# --- 2. a live job is never started twice -----------------------------------------------------------


def test_a_job_running_longer_than_the_recovery_threshold_is_not_started_twice(
    worker, to_broker, lease_settings
):
    owner = get_user_model().objects.create_user("owner")
    dataset = Dataset.objects.create(name="slow", kind="protein", owner=owner)
    job = _job(_upload(_client(owner), "slow", TRAIN))
    with transaction.atomic():
        # Hold the dataset's row lock: the job blocks in its write, reporting no progress, for longer
        # than the recovery threshold (a long join with no progress callback looks the same).
        Dataset.objects.select_for_update().get(pk=dataset.pk)
        worker(), worker()  # two idle workers: a second delivery would be taken at once
        wait(lambda: Job.objects.get(pk=job.pk).state == Job.State.RUNNING, what="the job to start")
        blocked_since = time.monotonic()
        while time.monotonic() - blocked_since < 3 * STALE_SECONDS:
            jobs.jobs_recover()  # what the every-minute timer does, many times over
            time.sleep(0.5)
        job.refresh_from_db()
        assert job.state == Job.State.RUNNING and job.attempts == 1
    wait(lambda: _finished(job), what="the job to finish")
    assert (job.state, job.attempts) == (Job.State.SUCCEEDED, 1)
    assert DatasetVersion.objects.filter(dataset=dataset).count() == 1


# --- 3. transient database faults during raw COPY -----------------------------------------------------


def _terminate_when(sql_like: str, timeout: float = 120.0, exclude=()) -> int:
    """Terminate the first other backend of this database whose current or last query matches."""
    with connection.cursor() as cursor:

        def find():
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND query LIKE %s AND NOT (pid = ANY(%s))",
                [sql_like, list(exclude)],
            )
            row = cursor.fetchone()
            return row[0] if row else None

        pid = wait(find, timeout=timeout, interval=0.005, what=f"a backend running {sql_like}")
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    return pid


def test_a_connection_terminated_during_copy_is_retried_and_the_job_succeeds(
    worker, to_broker, lease_settings
):
    owner = get_user_model().objects.create_user("owner")
    worker(LEAKLEDGER_BATCH_SIZE="2")  # hundreds of COPY statements: the fault lands inside one
    response = _upload(_client(owner), "copy-fault", TRAIN, kind="protein")
    job = _job(response)
    _terminate_when("COPY ll_stage_records%")
    wait(lambda: _finished(job), what="the job to finish")
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.attempts >= 2
    version = DatasetVersion.objects.get(dataset__name="copy-fault")
    assert version.record_count == Record.objects.filter(version=version).count() == TRAIN_RECORDS
    assert _uploads(lease_settings) == []


def test_a_job_that_keeps_failing_transiently_fails_for_good_and_releases_its_file(
    worker, to_broker, lease_settings
):
    owner = get_user_model().objects.create_user("owner")
    worker(LEAKLEDGER_BATCH_SIZE="2", LEAKLEDGER_JOB_MAX_ATTEMPTS="2")
    job = _job(_upload(_client(owner), "copy-fault", TRAIN, kind="protein"))
    killed: list[int] = []
    for _ in range(2):  # every attempt loses its connection
        killed.append(_terminate_when("COPY ll_stage_records%", exclude=killed))
    wait(lambda: _finished(job), what="the job to fail")
    assert job.state == Job.State.FAILED and job.error["code"] == "retries_exhausted"
    assert job.attempts == 2
    assert not DatasetVersion.objects.exists()
    assert _uploads(lease_settings) == []


# --- 5. after a crash ---------------------------------------------------------------------------------


def test_progress_is_visible_during_the_write_and_a_killed_ingest_leaves_no_spool(
    worker, to_broker, lease_settings
):
    owner = get_user_model().objects.create_user("owner")
    job = _job(_upload(_client(owner), "crash", TRAIN, kind="protein"))
    first = next(iter_records(TRAIN, kind="protein", allow_duplicate_ids=True))
    with transaction.atomic():
        # An uncommitted sequence of the file: the job's write waits on its unique key, inside its
        # own write transaction, until this block ends.
        Sequence.objects.create(
            sha256=sequence_sha256(first.sequence), residues=first.sequence, length=len(first.sequence)
        )
        proc = worker()

        def writing():
            job.refresh_from_db()
            return job.state == Job.State.RUNNING and job.progress.get("stage") == "write"

        # Written while the write transaction is open, by the lease's own connection.
        wait(writing, interval=0.05, what="progress of the write stage")
        spools = list((Path(lease_settings.DATA_DIR) / "tmp").glob("spool-*"))
        assert [p.name.split("-")[1] for p in spools] == [job.uuid.hex]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        transaction.set_rollback(True)
    assert not DatasetVersion.objects.exists()
    time.sleep(STALE_SECONDS + 1)
    worker()
    requeued = jobs.jobs_recover()
    assert [j.pk for j in requeued] == [job.pk]
    assert not any(p.exists() for p in spools)
    wait(lambda: _finished(job), what="the recovered job")
    assert (job.state, job.attempts) == (Job.State.SUCCEEDED, 2)
    assert DatasetVersion.objects.get().record_count == TRAIN_RECORDS


# --- 4. broker outage -----------------------------------------------------------------------------------


@pytest.fixture
def throwaway_redis(tmp_path, processes):
    """A redis-server of this test's own, on a free port: stop it, hang it, start it again."""
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server (Debian package redis-server) for a throwaway broker")
    port = _free_port()

    class Throwaway:
        url = f"redis://127.0.0.1:{port}/0"
        proc: subprocess.Popen | None = None

        def start(self):
            self.proc = subprocess.Popen(
                [
                    "redis-server",
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                stdout=subprocess.DEVNULL,
                cwd=tmp_path,
                preexec_fn=die_with_parent,
            )
            processes.append(self.proc)
            wait(lambda: _connects(port), timeout=20, what="redis-server")

        def stop(self):
            self.proc.terminate()
            self.proc.wait()

    broker = Throwaway()
    broker.start()
    return broker


def _connects(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


@pytest.fixture
def api_server(env, tmp_path, processes, throwaway_redis):
    """gunicorn (the production server) serving the API on the test database, publishing to the throwaway."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "1",
            "--timeout",
            "30",
        ],
        cwd=REPO,
        env={**env, "CELERY_BROKER_URL": throwaway_redis.url, "LEAKLEDGER_ALLOWED_HOSTS": "127.0.0.1"},
        stdout=open(tmp_path / "gunicorn.log", "w"),  # noqa: SIM115 - closed with the process
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent,
    )
    processes.append(proc)
    wait(lambda: _connects(port), timeout=30, what="gunicorn")
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("outage", ["stopped", "hung"])
def test_an_upload_during_a_broker_outage_is_kept_and_runs_once_the_broker_is_back(
    outage, worker, throwaway_redis, api_server, env, lease_settings
):
    owner = get_user_model().objects.create_user("owner")
    token = Token.objects.create(user=owner).key
    worker(CELERY_BROKER_URL=throwaway_redis.url)
    if outage == "stopped":
        throwaway_redis.stop()
    else:  # accepts connections, answers nothing
        throwaway_redis.proc.send_signal(signal.SIGSTOP)
    with open(GLOBINS, "rb") as handle:
        response = requests.post(
            f"{api_server}/api/v1/datasets/globins/versions/",
            files={"file": handle},
            data={"kind": "protein"},
            headers={"Authorization": f"Token {token}"},
            timeout=60,
        )
    assert response.status_code == 202, response.text[:500]
    body = response.json()
    job = Job.objects.get(uuid=body["uuid"])
    assert job.state == Job.State.PENDING and job.progress["broker"] == "unavailable"
    assert [p.name for p in _uploads(lease_settings)] == ["globins45.fa"]  # the pending job's file is kept
    if outage == "stopped":
        throwaway_redis.start()
    else:
        throwaway_redis.proc.send_signal(signal.SIGCONT)
    recover = subprocess.run(
        [sys.executable, "manage.py", "recover_jobs"],
        cwd=REPO,
        env={**env, "CELERY_BROKER_URL": throwaway_redis.url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert recover.returncode == 0, recover.stderr
    assert str(job.uuid) in recover.stdout
    wait(lambda: _finished(job), what="the recovered job")
    assert (job.state, job.attempts) == (Job.State.SUCCEEDED, 1)
    assert DatasetVersion.objects.get().record_count == 45
    assert _uploads(lease_settings) == []


def test_recovery_waits_for_a_broker_that_is_still_down(throwaway_redis, env, lease_settings):
    job = jobs.job_create(kind="ingest", payload={"path": "/nonexistent"}, enqueue=False)
    Job.objects.filter(pk=job.pk).update(progress={"stage": "queued", "broker": "unavailable"})
    throwaway_redis.stop()
    recover = subprocess.run(
        [sys.executable, "manage.py", "recover_jobs"],
        cwd=REPO,
        env={**env, "CELERY_BROKER_URL": throwaway_redis.url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert recover.returncode == 0, recover.stderr
    job.refresh_from_db()
    assert job.state == Job.State.PENDING and job.progress["broker"] == "unavailable"
