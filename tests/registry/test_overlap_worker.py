"""A real Celery worker killed (SIGKILL) in the middle of indexing and of a report.

Needs PostgreSQL (``DATABASE_URL``) and a broker (``LEAKLEDGER_TEST_BROKER_URL``, or
``CELERY_BROKER_URL``), as ``.ci/run`` sets them. The test process creates the jobs (its own Celery
stays eager, so ``job_enqueue`` is pointed at the broker here); a ``celery -A config worker``
subprocess, on the pytest-django test database, runs them.

After the kill the job is left ``running`` with the dead worker's heartbeat. In production the
broker redelivers the unacknowledged task (``acks_late``) and ``job_claim`` takes the job over once
its heartbeat is stale (``LEAKLEDGER_JOB_STALE_SECONDS``); the test makes the heartbeat stale and
redelivers the task itself, instead of waiting.
"""

import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from celery import Celery
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from registry import services
from registry.models import BandKey, Job, OverlapHit, OverlapReport, Record, SequenceSketch
from registry.overlap import index
from registry.services import jobs
from tests.conftest import REPO, die_with_parent, shared_data_path
from tests.registry.workers import BROKER, WORKER_MARKS, wait, waiting_on_lock

pytestmark = WORKER_MARKS


@pytest.fixture
def to_broker(monkeypatch, broker_app):
    """Jobs created by this process go to the real broker instead of running eagerly here."""

    def enqueue(job):
        transaction.on_commit(lambda: broker_app.send_task("registry.tasks.run_job", args=[str(job.uuid)]))

    monkeypatch.setattr(jobs, "job_enqueue", enqueue)
    return broker_app


@pytest.fixture
def worker(tmp_path):
    """Start/stop ``celery -A config worker`` on the test database; ``start()`` returns the process."""
    db = connection.settings_dict
    url = f"postgresql://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": BROKER,
        "LEAKLEDGER_DATA_DIR": str(tmp_path / "var"),
        # Small index chunks, so that "the middle of indexing" lasts long enough to be hit.
        "LEAKLEDGER_INDEX_CHUNK": "25",
    }
    procs = []

    def start():
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-P",
                "solo",
                "-c",
                "1",
                "-l",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=REPO,
            env=env,
            stdout=open(tmp_path / f"worker{len(procs)}.log", "w"),  # noqa: SIM115 - closed with the process
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _redeliver(job: Job, app: Celery) -> None:
    """What the broker and the stale-heartbeat rule do after a worker death, without the wait."""
    Job.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - jobs.stale_threshold() - timedelta(seconds=1)
    )
    app.send_task("registry.tasks.run_job", args=[str(job.uuid)])


def test_killed_while_indexing_resumes_without_duplicates(worker, to_broker, data_dir, bind_all):
    proc = worker()
    version = services.dataset_version_register(
        path=bind_all,
        dataset_name="flip-bind-all",
        kind="protein",
        version="1",
        skip_identical_duplicates=True,
    ).version
    distinct = Record.objects.filter(version=version).values("sequence_id").distinct().count()
    settings = index.sketch_settings_get("protein")
    job = Job.objects.get(kind=Job.Kind.SKETCH)
    # Kill between chunks: some sequences indexed, not all.
    wait(lambda: 0 < SequenceSketch.objects.filter(settings=settings).count() < distinct, what="indexing")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    job.refresh_from_db()
    assert job.state == Job.State.RUNNING
    partial = SequenceSketch.objects.filter(settings=settings).count()
    assert 0 < partial < distinct
    # Every committed chunk is whole: band keys exactly for the sequences that have a signature.
    assert BandKey.objects.filter(settings=settings).count() == partial * settings.bands

    worker()
    _redeliver(job, to_broker)
    wait(lambda: Job.objects.get(pk=job.pk).state == Job.State.SUCCEEDED, what="the job to finish")
    job.refresh_from_db()
    assert job.attempts == 2
    assert job.result["already"] == partial and job.result["sketched"] == distinct - partial
    assert SequenceSketch.objects.filter(settings=settings).count() == distinct
    assert BandKey.objects.filter(settings=settings).count() == distinct * settings.bands


@pytest.mark.shared_data
@pytest.mark.slow
def test_killed_while_reporting_leaves_no_partial_report(worker, to_broker, data_dir):
    data = shared_data_path() / "splits"
    train = data / "flip-secondary-structure" / "train.fasta"
    test = data / "deepfri-nrpdb" / "nrPDB-GO_2019.06.18_test_sequences.fasta"
    proc = worker()
    # Writes of hits wait (reads go on) while another connection holds the table in SHARE mode: the job
    # computes the whole report, inserts the report's row and waits at its hits, in one transaction,
    # and is killed there. (Sleeping a second after the job started raced with a computation that
    # takes less than that on a vacuumed database.)
    hits_lock = connections.create_connection(DEFAULT_DB_ALIAS)
    hits_lock.set_autocommit(False)
    try:
        with hits_lock.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {OverlapHit._meta.db_table} IN SHARE MODE")
        services.dataset_version_register(
            path=train, dataset_name="netsurfp-train", kind="protein", role="training"
        )
        services.dataset_version_register(
            path=test, dataset_name="nrpdb-go-test", kind="protein", role="benchmark"
        )
        job = wait(
            lambda: Job.objects.filter(kind=Job.Kind.OVERLAP, state=Job.State.RUNNING).first(),
            timeout=300,
            what="the overlap job to start",
        )
        wait(lambda: waiting_on_lock(OverlapHit._meta.db_table), timeout=300, what="the job at its hits")
        assert not OverlapReport.objects.exists()  # its row is written, not committed
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        hits_lock.rollback()
        hits_lock.close()
    assert Job.objects.get(pk=job.pk).state == Job.State.RUNNING
    assert not OverlapReport.objects.exists() and not OverlapHit.objects.exists()

    worker()
    _redeliver(job, to_broker)

    def finished():
        # Whenever a report is visible, it is whole: its hits are all there.
        for report in OverlapReport.objects.all():
            rows = {r["label"]: r for r in report.summary["thresholds"]}
            assert OverlapHit.objects.filter(report=report).count() == rows[">=80%"]["records"]
        return Job.objects.get(pk=job.pk).state == Job.State.SUCCEEDED

    wait(finished, timeout=300, interval=0.2, what="the report")
    report = OverlapReport.objects.get()
    assert report.query_set.version.dataset.name == "nrpdb-go-test"
    rows = {r["label"]: r for r in report.summary["thresholds"]}
    assert rows["exact"]["records"] == 312  # GROUND_TRUTH.md: exact 312 of 3,416
