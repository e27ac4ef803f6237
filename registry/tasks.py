"""Celery tasks: thin. A task takes a job's UUID, and ``registry.services.jobs`` does the rest."""

from celery import shared_task

from .services import jobs


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    autoretry_for=jobs.TRANSIENT,
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
)
def run_job(job_uuid: str) -> None:
    jobs.job_run(job_uuid)
