"""Job bookkeeping that needs no worker: fault classification, attempts, recovery of files and messages."""

import os
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.utils import timezone

from registry.models import Job
from registry.services import jobs

pytestmark = pytest.mark.django_db


def _upload(data_dir: Path, name: str = "x.fasta") -> Path:
    folder = Path(data_dir) / "uploads" / "0123456789abcdef"
    folder.mkdir(parents=True)
    path = folder / name
    path.write_text(">a\nMKV\n")
    return path


@pytest.mark.parametrize(
    "error",
    [
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.OperationalError("sending copy data failed: server closed the connection"),
        psycopg.InterfaceError("the connection is lost"),
    ],
)
def test_raw_psycopg_faults_hand_the_job_back_like_the_orms(data_dir, monkeypatch, error):
    def copy_failed(job):
        raise error

    monkeypatch.setitem(jobs.HANDLERS, "query", copy_failed)
    job = jobs.job_create(kind="query", payload={}, enqueue=False)
    with pytest.raises(type(error)):
        jobs.job_run(str(job.uuid))
    job.refresh_from_db()
    assert job.state == Job.State.PENDING and job.error is None


def test_the_last_attempt_fails_for_good_and_releases_the_upload(data_dir, settings, monkeypatch):
    settings.LEAKLEDGER = {**settings.LEAKLEDGER, "JOB_MAX_ATTEMPTS": 2}
    upload = _upload(data_dir)

    def copy_failed(job):
        raise psycopg.errors.AdminShutdown("terminating connection due to administrator command")

    monkeypatch.setitem(jobs.HANDLERS, "query", copy_failed)
    job = jobs.job_create(kind="query", payload={"source": str(upload), "delete_after": True}, enqueue=False)
    with pytest.raises(psycopg.errors.AdminShutdown):
        jobs.job_run(str(job.uuid))
    assert upload.exists()  # handed back: the retry will read it
    jobs.job_run(str(job.uuid))
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and job.error["code"] == "retries_exhausted" and job.attempts == 2
    assert "AdminShutdown" in job.error["detail"]
    assert not upload.parent.exists()


def test_a_bug_fails_the_job_and_releases_the_upload(data_dir, monkeypatch):
    upload = _upload(data_dir)

    def bug(job):
        raise KeyError("oops")

    monkeypatch.setitem(jobs.HANDLERS, "query", bug)
    job = jobs.job_create(kind="query", payload={"source": str(upload), "delete_after": True}, enqueue=False)
    with pytest.raises(KeyError):
        jobs.job_run(str(job.uuid))
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and job.error["code"] == "internal_error"
    assert not upload.parent.exists()


def test_a_job_whose_worker_keeps_dying_is_failed_once_its_attempts_are_spent(data_dir, settings):
    settings.LEAKLEDGER = {**settings.LEAKLEDGER, "JOB_MAX_ATTEMPTS": 3}
    upload = _upload(data_dir)
    job = jobs.job_create(kind="ingest", payload={"path": str(upload), "delete_after": True}, enqueue=False)
    stale = timezone.now() - jobs.stale_threshold() - timedelta(seconds=1)
    Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING, heartbeat_at=stale, attempts=3)
    assert jobs.job_claim(str(job.uuid)) is None
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and job.error["code"] == "retries_exhausted"
    assert not upload.parent.exists()


def test_a_live_lease_is_never_claimed(data_dir):
    job = jobs.job_create(kind="ingest", payload={}, enqueue=False)
    Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING, heartbeat_at=timezone.now(), attempts=1)
    assert jobs.job_claim(str(job.uuid)) is None
    job.refresh_from_db()
    assert (job.state, job.attempts) == (Job.State.RUNNING, 1)


def test_recovery_publishes_a_job_the_broker_refused_at_once(data_dir, bind_test):
    job = jobs.job_create(
        kind="ingest", payload={"path": str(bind_test), "dataset_name": "t", "kind": "protein"}, enqueue=False
    )
    Job.objects.filter(pk=job.pk).update(progress={"stage": "queued", "broker": "unavailable"})
    # Created a moment ago, so not yet "pending for too long": recovered because the broker refused it.
    assert [j.pk for j in jobs.jobs_recover()] == [job.pk]
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED and "broker" not in job.progress


def test_recover_removes_spool_files_of_dead_jobs_only(data_dir):
    tmp = Path(data_dir) / "tmp"
    tmp.mkdir(parents=True)
    live = jobs.job_create(kind="ingest", payload={}, enqueue=False)
    dead = jobs.job_create(kind="ingest", payload={}, enqueue=False)
    Job.objects.filter(pk=live.pk).update(state=Job.State.RUNNING, heartbeat_at=timezone.now())
    Job.objects.filter(pk=dead.pk).update(
        state=Job.State.FAILED, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    old = time.time() - 3600
    files = {
        "live": tmp / f"spool-{live.uuid.hex}-abc.marshal",
        "dead": tmp / f"spool-{dead.uuid.hex}-abc.marshal",
        "untagged": tmp / "spool-abc_12.marshal",
        "fresh": tmp / "spool-fresh.marshal",
    }
    for name, path in files.items():
        path.write_bytes(b"x")
        if name != "fresh":
            os.utime(path, (old, old))
    removed = jobs.spool_files_remove(older_than=timedelta(minutes=5))
    assert sorted(p.name for p in removed) == sorted([files["dead"].name, files["untagged"].name])
    assert files["live"].exists() and files["fresh"].exists()
