"""LEAKLEDGER_THREADS: a job's share of the CPUs, from the worker's concurrency, checked at start-up."""

import json
import os
import subprocess
import sys

from tests.conftest import REPO

CODE = (
    "import json, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); "
    "from django.conf import settings; "
    "print(json.dumps([settings.LEAKLEDGER['THREADS'], settings.CELERY_WORKER_CONCURRENCY, "
    "len(os.sched_getaffinity(0))]))"
)


def settings_with(**env):
    base = {k: v for k, v in os.environ.items() if not k.startswith("LEAKLEDGER_")}
    proc = subprocess.run(
        [sys.executable, "-c", CODE],
        env={**base, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    return proc


def test_default_threads_never_oversubscribe_the_worker():
    threads, concurrency, cpus = json.loads(settings_with().stdout)
    assert concurrency == cpus and threads == 1  # one job per CPU, one thread each
    threads, concurrency, cpus = json.loads(settings_with(LEAKLEDGER_WORKER_CONCURRENCY="1").stdout)
    assert (threads, concurrency) == (cpus, 1)  # one job at a time: it may use every CPU
    threads, _c, cpus = json.loads(settings_with(LEAKLEDGER_WORKER_CONCURRENCY="2").stdout)
    assert threads == max(1, cpus // 2)
    threads, _c, _cpus = json.loads(settings_with(LEAKLEDGER_THREADS="3").stdout)
    assert threads == 3


def test_bad_thread_settings_fail_at_start_up():
    proc = settings_with(LEAKLEDGER_THREADS="0")
    assert proc.returncode != 0 and "LEAKLEDGER_THREADS=0 must be at least 1" in proc.stderr
    proc = settings_with(LEAKLEDGER_WORKER_CONCURRENCY="two")
    assert proc.returncode != 0 and "is not an integer" in proc.stderr
