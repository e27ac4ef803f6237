"""Jobs: background work with state, progress and errors, safe against killed workers.

A job is claimed with a conditional ``UPDATE ... WHERE state='pending'`` (or a running job whose
heartbeat went stale, i.e. its worker died), so two workers never run it at once; the Celery
task is ``acks_late``, so a killed worker's task is delivered again and the job resumes. Each
handler must be idempotent: it writes its results under unique constraints, or not at all.

While a job runs on PostgreSQL, a :class:`Lease` thread of the worker renews its heartbeat every
``JOB_HEARTBEAT_SECONDS`` on a connection of its own, whatever the job is doing (a long join that
reports no progress included), and writes its progress there too, so that progress is visible while
the job's own transaction is open. A heartbeat older than ``JOB_STALE_SECONDS`` means the worker is
dead; only then may another worker claim the job. Each claim counts an attempt; the attempt number is
the lease's token, so a worker that lost its lease cannot overwrite its successor's state.
"""

import logging
import shutil
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from dedup.errors import DedupError

from ..errors import RegistryError
from ..models import Job

logger = logging.getLogger(__name__)

HANDLERS: dict[str, Callable[[Job], dict]] = {}


def _transient_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OperationalError, InterfaceError]
    try:  # raw cursor calls (COPY) raise psycopg's own errors, which Django does not wrap
        import psycopg

        errors += [psycopg.OperationalError, psycopg.InterfaceError]
    except ImportError:  # SQLite-only installation
        pass
    return tuple(errors)


# Failures of the environment, not of the job: a dropped or terminated connection (AdminShutdown,
# "sending copy data failed", "server closed the connection"), a locked SQLite file. The job is
# retried with backoff rather than failed, up to JOB_MAX_ATTEMPTS.
TRANSIENT = _transient_errors()


def stale_threshold() -> timedelta:
    """How long a running job may go without a heartbeat before it counts as dead (``JOB_STALE_SECONDS``)."""
    return timedelta(seconds=settings.LEAKLEDGER["JOB_STALE_SECONDS"])


def max_attempts() -> int:
    return int(settings.LEAKLEDGER["JOB_MAX_ATTEMPTS"])


# The Celery task that runs a job (``registry.tasks.run_job``): set by RegistryConfig.ready(), so
# this module never imports registry.tasks (which imports this module).
_TASK: list = []


def job_task_register(task) -> None:
    """Set the Celery task jobs are published to (``registry.apps.RegistryConfig.ready`` does it once)."""
    _TASK[:] = [task]


def _task():
    if not _TASK:
        raise RuntimeError("no job task registered: the registry app is not ready (INSTALLED_APPS?)")
    return _TASK[0]


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


def job_files_release(job: Job) -> None:
    """Remove the upload a finished job was handed (``delete_after``): nothing will read it again."""
    payload = job.payload or {}
    upload = payload.get("path") or payload.get("source")
    if payload.get("delete_after") and upload:
        upload_discard(upload)


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
    """Publish the job's task once the surrounding transaction commits (see ``job_publish``)."""
    transaction.on_commit(lambda: job_publish(job))


def jobs_run_inline() -> bool:
    """True without a broker (eager mode): a job runs inside the request that creates it."""
    return bool(_task().app.conf.task_always_eager)


def job_publish(job: Job) -> bool:
    """Hand the job's task to the broker, waiting at most ``BROKER_PUBLISH_TIMEOUT`` seconds or so.

    Returns False when the broker cannot take it (down, unreachable, hung): the job stays pending,
    with its file, marked ``progress.broker = "unavailable"``, and ``recover_jobs`` enqueues it once
    the broker is back. The request that created it is answered all the same (202). Without a broker
    (eager mode) the job runs here, and its own errors propagate as before.
    """
    run_job = _task()
    if jobs_run_inline():
        run_job.delay(str(job.uuid))
        return True
    try:
        run_job.apply_async(args=[str(job.uuid)], retry=True)
    except Exception as exc:  # kombu's OperationalError, socket errors, timeouts: the broker, not the job
        logger.warning("job %s: the broker did not take it (%s); recover_jobs will enqueue it", job.uuid, exc)
        progress = {**(job.progress or {}), "broker": "unavailable"}
        Job.objects.filter(pk=job.pk, state=Job.State.PENDING).update(progress=progress)
        job.progress = progress
        return False
    return True


def job_claim(job_uuid: str) -> Job | None:
    """Take the job for this worker, or ``None`` when it is finished or another live worker has it.

    A running job is taken over only when its heartbeat is stale (its worker died). A job that has
    already been claimed ``JOB_MAX_ATTEMPTS`` times (a worker killed every time, e.g. out of memory)
    fails instead of running again.
    """
    now = timezone.now()
    claimable = Q(state=Job.State.PENDING) | Q(
        state=Job.State.RUNNING, heartbeat_at__lt=now - stale_threshold()
    )
    exhausted = Job.objects.filter(claimable, uuid=job_uuid, attempts__gte=max_attempts()).first()
    if exhausted is not None:
        _fail(exhausted, _gave_up(exhausted, "its worker stopped before it finished"), attempt=None)
        return None
    updated = Job.objects.filter(claimable, uuid=job_uuid).update(
        state=Job.State.RUNNING,
        started_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
    )
    if not updated:
        return None
    return Job.objects.get(uuid=job_uuid)


def _gave_up(job: Job, why: str) -> dict:
    return {
        "detail": f"gave up after {job.attempts} attempt(s): {why}",
        "code": "retries_exhausted",
        "hint": "the registry's database or workers were failing; register the file again once they are healthy",
    }


def _fail(job: Job, error: dict, *, attempt: int | None) -> None:
    """Record the job as failed (only if ``attempt`` still holds its lease) and release its files."""
    running = Job.objects.filter(pk=job.pk).exclude(state__in=[Job.State.SUCCEEDED, Job.State.FAILED])
    if attempt is not None:
        running = running.filter(attempts=attempt)
    running.update(state=Job.State.FAILED, error=error, finished_at=timezone.now())
    job_files_release(job)


class Lease:
    """A thread that renews a running job's heartbeat and writes its latest progress.

    It has its own database connection, so its writes commit at once even while the job holds a
    long transaction (an ingest's write), and it beats whatever the job's thread is doing. Writes are
    conditional on the attempt that holds the lease.
    """

    def __init__(self, job: Job):
        self.job = job
        self.attempt = job.attempts
        self.heartbeat = float(settings.LEAKLEDGER["JOB_HEARTBEAT_SECONDS"])
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._progress: dict | None = None
        self._thread = threading.Thread(target=self._run, name=f"lease-{job.uuid}", daemon=True)

    def __enter__(self) -> "Lease":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=self.heartbeat + 30)

    def report(self, progress: dict) -> None:
        with self._lock:
            self._progress = progress

    def _run(self) -> None:
        from django.db import connections

        last_beat = time.monotonic()
        tick = min(1.0, self.heartbeat)
        try:
            while not self._stop.wait(tick):
                with self._lock:
                    progress, self._progress = self._progress, None
                if progress is None and time.monotonic() - last_beat < self.heartbeat:
                    continue
                fields: dict = {"heartbeat_at": timezone.now()}
                if progress is not None:
                    fields["progress"] = progress
                try:
                    Job.objects.filter(pk=self.job.pk, state=Job.State.RUNNING, attempts=self.attempt).update(
                        **fields
                    )
                    last_beat = time.monotonic()
                except DatabaseError as exc:  # try again at the next tick, on a fresh connection
                    logger.warning("job %s: heartbeat failed (%s)", self.job.uuid, exc)
                    connections["default"].close()
        finally:
            connections["default"].close()


class ProgressReporter:
    """Records a job's progress at most every ``interval`` seconds, and at every change of stage.

    Under a :class:`Lease` (PostgreSQL workers) the lease's thread writes it, outside the job's
    transaction; otherwise (SQLite, one process) it is written here.
    """

    def __init__(self, job: Job, interval: float = 1.0):
        self.job = job
        self.interval = interval
        self._last = 0.0

    def __call__(self, stage: str, done: int, total: int | None = None, **extra) -> None:
        now = time.monotonic()
        if now - self._last < self.interval and stage == (self.job.progress or {}).get("stage"):
            return  # a new stage is always recorded: it says what the job is waiting on
        self._last = now
        progress = {"stage": stage, "done": done, "total": total, **extra}
        self.job.progress = progress
        lease = getattr(self.job, "lease", None)
        if lease is not None:
            lease.report(progress)
        else:
            Job.objects.filter(pk=self.job.pk).update(progress=progress, heartbeat_at=timezone.now())


def _leased() -> bool:
    # SQLite allows one writer: a second connection would wait for the job's own transaction.
    return connection.vendor != "sqlite"


def job_run(job_uuid: str) -> Job | None:
    """Claim and run a job to completion, recording its result or its error."""
    job = job_claim(job_uuid)
    if job is None:
        return None
    if _leased():
        job.lease = Lease(job)
        with job.lease:
            return _run_claimed(job)
    return _run_claimed(job)


def _run_claimed(job: Job) -> Job:
    handler = HANDLERS.get(job.kind)
    attempt = job.attempts
    mine = Job.objects.filter(pk=job.pk, state=Job.State.RUNNING, attempts=attempt)
    try:
        if handler is None:
            raise RegistryError(f"no handler for jobs of kind {job.kind!r}")
        result = handler(job)
    except RegistryError as exc:
        error = {**exc.fields, **exc.to_dict()} if exc.fields else exc.to_dict()
        error.setdefault("message", exc.detail)
        _fail(job, error, attempt=attempt)
        job.refresh_from_db()
        return job
    except DedupError as exc:
        # The overlap library refused its input or its external program (MMseqs2) failed: the job's
        # answer, with the library's message (which says how to fix the call), not a crash to re-raise.
        logger.warning("job %s (%s) failed: %s", job.uuid, job.kind, exc)
        _fail(
            job,
            {"detail": str(exc), "code": "overlap_error", "error": exc.__class__.__name__},
            attempt=attempt,
        )
        job.refresh_from_db()
        return job
    except TRANSIENT as exc:
        # The database or the network failed, not the job: hand it back for the retry (tasks.py), or,
        # if even that write fails, to recover_jobs once its heartbeat is stale. The last attempt fails.
        try:
            if attempt >= max_attempts():
                _fail(job, _gave_up(job, f"{exc.__class__.__name__}: {exc}".strip()), attempt=attempt)
                logger.error("job %s: failed after %d attempts: %s", job.uuid, attempt, exc)
                return job
            mine.update(state=Job.State.PENDING)
        except DatabaseError:
            logger.warning("job %s: could not hand it back after a transient error", job.uuid)
        raise
    except Exception as exc:  # a bug, not bad input: record it so the job is not left running forever
        logger.exception("job %s (%s) failed", job.uuid, job.kind)
        error = {"detail": f"internal error: {exc.__class__.__name__}: {exc}", "code": "internal_error"}
        _fail(job, error, attempt=attempt)
        raise
    if getattr(job, "lease", None) is None:  # under a lease, this object holds the latest progress
        job.refresh_from_db(fields=["progress"])
    done = {**(job.progress or {}), "stage": "done"}
    if done.get("total") is not None:  # progress writes are rate-limited: the last one may lag
        done["done"] = done["total"]
    if not mine.update(
        state=Job.State.SUCCEEDED, result=result, progress=done, finished_at=timezone.now(), error=None
    ):
        logger.warning("job %s: attempt %d lost its lease before it finished", job.uuid, attempt)
    job.refresh_from_db()
    return job


def jobs_recover(*, stale_after: timedelta | None = None) -> list[Job]:
    """Enqueue again the jobs that no live worker is doing: pending for longer than ``stale_after``
    (the message was lost), pending because the broker could not take it (at once), or running with a
    stale heartbeat (the worker died); and remove spool files that no live job is writing.
    ``job_claim`` makes a duplicate delivery harmless. Run it from cron or a timer
    (``manage.py recover_jobs``), every minute or so."""
    stale_after = stale_after if stale_after is not None else stale_threshold()
    cutoff = timezone.now() - stale_after
    lost = list(
        Job.objects.filter(
            Q(state=Job.State.PENDING, created_at__lt=cutoff)
            | Q(state=Job.State.PENDING, progress__broker="unavailable")
            | Q(state=Job.State.RUNNING, heartbeat_at__lt=cutoff)
        ).order_by("created_at")
    )
    for job in lost:
        if job_publish(job) and (job.progress or {}).get("broker"):
            Job.objects.filter(pk=job.pk, state=Job.State.PENDING).update(
                progress={k: v for k, v in job.progress.items() if k != "broker"}
            )
    spool_files_remove(older_than=stale_after)
    return lost


def spool_files_remove(*, older_than: timedelta) -> list[Path]:
    """Remove working files (``DATA_DIR/tmp/spool-*``) of jobs whose worker died (SIGKILL, power loss).

    Every other exit path removes its own spool. Only files untouched for ``older_than`` whose job
    (``spool-<job uuid hex>-...``) is not running under a live lease go.
    """
    tmp = Path(settings.DATA_DIR) / "tmp"
    if not tmp.is_dir():
        return []
    cutoff = time.time() - older_than.total_seconds()
    alive = timezone.now() - older_than
    live = {
        u.hex
        for u in Job.objects.filter(state=Job.State.RUNNING, heartbeat_at__gte=alive).values_list(
            "uuid", flat=True
        )
    }
    removed = []
    for path in tmp.glob("spool-*"):
        owner = path.name.split("-", 2)[1] if path.name.count("-") >= 2 else ""  # spool-<job hex>-<random>
        try:
            if path.stat().st_mtime >= cutoff or owner in live:
                continue
            path.unlink()
        except FileNotFoundError:
            continue
        removed.append(path)
    return removed
