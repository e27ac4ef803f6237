"""Jobs: background work with state, progress and errors, safe against killed workers.

A job is claimed with a conditional ``UPDATE ... WHERE state='pending'`` (or a running job whose
heartbeat went stale, i.e. its worker died), so two workers never run it at once; the Celery
task is ``acks_late``, so a killed worker's task is delivered again and the job resumes. Each
handler must be idempotent: it writes its results under unique constraints, or not at all.
"""

import logging
import shutil
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from ..errors import RegistryError
from ..models import Job

logger = logging.getLogger(__name__)

# A running job whose worker has not written a heartbeat for this long is taken to be dead.
STALE_AFTER = timedelta(minutes=5)
HANDLERS: dict[str, Callable[[Job], dict]] = {}
# How a job's UUID reaches a worker: set by RegistryConfig.ready() to the Celery task's delay, so
# this module never imports registry.tasks (which imports this module).
_ENQUEUE: list[Callable[[str], object]] = []
# Failures of the environment, not of the job: the job is retried rather than failed.
TRANSIENT = (OperationalError, InterfaceError)


def job_enqueuer_register(enqueue: Callable[[str], object]) -> None:
    """Set how jobs are sent to workers (``registry.apps.RegistryConfig.ready`` does it once)."""
    _ENQUEUE[:] = [enqueue]


def _send(job_uuid: str) -> None:
    if not _ENQUEUE:
        raise RuntimeError("no job enqueuer registered: the registry app is not ready (INSTALLED_APPS?)")
    _ENQUEUE[0](job_uuid)


def job_handler(kind: str):
    """Register the function that does the work of jobs of ``kind``; it returns the result dict."""

    def register(func: Callable[[Job], dict]) -> Callable[[Job], dict]:
        HANDLERS[kind] = func
        return func

    return register


def upload_discard(path: str | Path) -> None:
    """Remove a file uploaded for a job, with its private ``uploads/<random>/`` folder."""
    path = Path(path)
    uploads = (Path(settings.DATA_DIR) / "uploads").resolve()
    if path.resolve().parent.parent == uploads:
        shutil.rmtree(path.parent, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def run_with_upload(job: Job, work: Callable[[dict], dict]) -> dict:
    """Run ``work(options)`` on the job's payload; a ``delete_after`` upload is removed once it is of no
    more use: after success or a refusal, but not after a crash, so that a redelivered job can read it."""
    options = dict(job.payload)
    delete_after = options.pop("delete_after", False)
    upload = options.get("path") or options.get("source")
    try:
        result = work(options)
    except RegistryError:
        if delete_after:
            upload_discard(upload)
        raise
    if delete_after:
        upload_discard(upload)
    return result


def job_create(*, kind: str, payload: dict, user=None, enqueue: bool = True) -> Job:
    """Create a pending job and enqueue it when the surrounding transaction commits."""
    job = Job.objects.create(
        kind=kind,
        payload=payload,
        created_by=user if user is not None and user.is_authenticated else None,
        progress={"stage": "queued", "done": 0, "total": None},
    )
    if enqueue:
        job_enqueue(job)
    return job


def job_enqueue(job: Job) -> None:
    transaction.on_commit(lambda: _send(str(job.uuid)))


def job_claim(job_uuid: str) -> Job | None:
    """Take the job for this worker, or ``None`` when it is finished or another live worker has it."""
    now = timezone.now()
    claimable = Q(state=Job.State.PENDING) | Q(state=Job.State.RUNNING, heartbeat_at__lt=now - STALE_AFTER)
    updated = Job.objects.filter(claimable, uuid=job_uuid).update(
        state=Job.State.RUNNING,
        started_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
    )
    if not updated:
        return None
    return Job.objects.get(uuid=job_uuid)


class ProgressReporter:
    """Writes a job's progress at most every ``interval`` seconds (also its heartbeat)."""

    def __init__(self, job: Job, interval: float = 1.0):
        self.job = job
        self.interval = interval
        self._last = 0.0

    def __call__(self, stage: str, done: int, total: int | None = None, **extra) -> None:
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        progress = {"stage": stage, "done": done, "total": total, **extra}
        self.job.progress = progress
        Job.objects.filter(pk=self.job.pk).update(progress=progress, heartbeat_at=timezone.now())


def job_run(job_uuid: str) -> Job | None:
    """Claim and run a job to completion, recording its result or its error."""
    job = job_claim(job_uuid)
    if job is None:
        return None
    handler = HANDLERS.get(job.kind)
    try:
        if handler is None:
            raise RegistryError(f"no handler for jobs of kind {job.kind!r}")
        result = handler(job)
    except RegistryError as exc:
        error = {**exc.fields, **exc.to_dict()} if exc.fields else exc.to_dict()
        error.setdefault("message", exc.detail)
        Job.objects.filter(pk=job.pk).update(state=Job.State.FAILED, error=error, finished_at=timezone.now())
        job.refresh_from_db()
        return job
    except TRANSIENT:
        # The database or the network failed, not the job: hand it back for the retry (tasks.py), or,
        # if even that write fails, to recover_jobs once its heartbeat is stale.
        try:
            Job.objects.filter(pk=job.pk, state=Job.State.RUNNING).update(state=Job.State.PENDING)
        except DatabaseError:
            logger.warning("job %s: could not hand it back after a transient error", job.uuid)
        raise
    except Exception as exc:  # a bug, not bad input: record it so the job is not left running forever
        logger.exception("job %s (%s) failed", job.uuid, job.kind)
        error = {"detail": f"internal error: {exc.__class__.__name__}: {exc}", "code": "internal_error"}
        Job.objects.filter(pk=job.pk).update(state=Job.State.FAILED, error=error, finished_at=timezone.now())
        raise
    job.refresh_from_db(fields=["progress"])
    done = {**job.progress, "stage": "done"}
    if done.get("total") is not None:  # progress writes are rate-limited: the last one may lag
        done["done"] = done["total"]
    Job.objects.filter(pk=job.pk).update(
        state=Job.State.SUCCEEDED,
        result=result,
        progress=done,
        finished_at=timezone.now(),
        error=None,
    )
    job.refresh_from_db()
    return job


def jobs_recover(*, stale_after: timedelta = STALE_AFTER) -> list[Job]:
    """Enqueue again the jobs that no live worker is doing: pending for longer than ``stale_after``
    (the message was lost, e.g. the broker was down at commit) or running with a stale heartbeat
    (the worker died). ``job_claim`` makes a duplicate delivery harmless. Run it from cron or a timer
    (``manage.py recover_jobs``), every minute or so."""
    cutoff = timezone.now() - stale_after
    lost = list(
        Job.objects.filter(
            Q(state=Job.State.PENDING, created_at__lt=cutoff)
            | Q(state=Job.State.RUNNING, heartbeat_at__lt=cutoff)
        ).order_by("created_at")
    )
    for job in lost:
        _send(str(job.uuid))
    return lost
