"""The Celery application.

With ``CELERY_BROKER_URL`` unset, tasks run eagerly in the calling process (the embedded
default: nothing to start). With a broker URL (Redis or RabbitMQ), workers started with
``celery -A config worker`` run them.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("leakledger")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

import registry.worker_log  # noqa: E402,F401 - one log line per job in the worker
