"""A real Celery worker, at its default log level, logs one line per job (issue 12, item 7)."""

import re

import pytest

from registry import services
from registry.models import Job
from tests.registry.test_overlap_worker import BROKER, _wait, broker_app, to_broker, worker  # noqa: F401

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not BROKER, reason="needs a broker: set LEAKLEDGER_TEST_BROKER_URL"),
]


def test_the_worker_logs_one_line_per_job_at_its_default_level(request, tmp_path, bind_test, data_dir):
    start_worker = request.getfixturevalue("worker")
    request.getfixturevalue("to_broker")
    import os

    if "postgres" not in os.environ.get("DATABASE_URL", ""):
        pytest.skip("needs PostgreSQL (DATABASE_URL): the worker process must see the test database")
    proc = start_worker()
    services.dataset_version_register(path=bind_test, dataset_name="t", kind="protein", role="benchmark")
    job = Job.objects.get(kind="sketch")
    _wait(lambda: Job.objects.filter(pk=job.pk, state="succeeded").exists(), what="the sketch job")
    log = tmp_path / "worker0.log"
    _wait(lambda: str(job.uuid) in log.read_text(), timeout=30, what="the log line")
    assert proc.poll() is None
    lines = [line for line in log.read_text().splitlines() if str(job.uuid) in line]
    assert len(lines) == 1 and re.search(rf"job {job.uuid} sketch succeeded in [0-9.]+s", lines[0]), lines
