"""One log line per job in a Celery worker, at the worker's default level (WARNING shows it too).

The ``leakledger.jobs`` logger has its own handler at INFO (``config/settings.py``, LOGGING), so that
an operator watching ``celery -A config worker`` sees each job start and end, with its outcome,
without raising the worker's log level. Eager runs (no broker: the CLI) log nothing here: the
command prints its own summary.
"""

import logging
import time

from celery import signals

logger = logging.getLogger("leakledger.jobs")
_started: dict[str, float] = {}


def _job_uuid(args) -> str | None:
    return str(args[0]) if args else None


@signals.task_prerun.connect
def _job_started(task_id=None, task=None, args=None, **_):
    if task is None or task.name != "registry.tasks.run_job" or task.request.is_eager:
        return
    _started[task_id] = time.monotonic()


@signals.task_postrun.connect
def _job_finished(task_id=None, task=None, args=None, **_):
    if task is None or task.name != "registry.tasks.run_job" or task.request.is_eager:
        return
    seconds = time.monotonic() - _started.pop(task_id, time.monotonic())
    uuid = _job_uuid(args)
    from .models import Job

    job = Job.objects.filter(uuid=uuid).only("kind", "state", "error", "progress").first()
    if job is None:
        logger.info("job %s: unknown (%.1fs)", uuid, seconds)
        return
    if job.state == Job.State.FAILED:
        detail = (job.error or {}).get("detail") or (job.error or {}).get("message") or ""
        logger.info("job %s %s failed after %.1fs: %s", uuid, job.kind, seconds, detail)
    else:
        logger.info("job %s %s %s in %.1fs", uuid, job.kind, job.state, seconds)
