from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "LeakLedger registry"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Wire the job machinery here, once, instead of jobs.py importing tasks.py (which imports
        # jobs.py): the Celery task is the enqueuer, and the modules that register job handlers are
        # imported so that every process (web, worker, command) knows every job kind.
        from . import tasks
        from .overlap import services as _overlap_services  # noqa: F401  (registers sketch, overlap, query)
        from .services import attestations as _attestations  # noqa: F401  (registers split_verify)
        from .services import ingest as _ingest  # noqa: F401  (registers ingest)
        from .services import jobs
        from .services import split_generation as _split_generation  # noqa: F401  (registers split_make)

        jobs.job_task_register(tasks.run_job)
