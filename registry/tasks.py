"""Celery tasks: thin. A task takes a job's UUID, and ``registry.services.jobs`` does the rest."""

from celery import shared_task
from django.conf import settings

from .services import jobs


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    autoretry_for=jobs.TRANSIENT,
    retry_backoff=True,
    retry_backoff_max=300,
    # One more than a job's attempts: the job itself decides when a transient fault is final.
    max_retries=int(settings.LEAKLEDGER["JOB_MAX_ATTEMPTS"]),
)
def run_job(job_uuid: str) -> None:
    jobs.job_run(job_uuid)
