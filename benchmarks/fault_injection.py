"""Fault injection: rerun each fault of issue 13 (items 1-5) several times and count what survived.

Each attempt is one run of a worker test in ``tests/registry/test_faults_worker.py``: a real Celery
worker (or two) on PostgreSQL, the fault injected for real (two users racing for a new dataset; a job
blocked longer than the recovery threshold while recover_jobs runs every half second; the worker's
connection terminated with ``pg_terminate_backend`` during ``COPY``; a throwaway redis-server stopped
or SIGSTOPped while gunicorn takes an upload; a worker SIGKILLed in the middle of its write). An attempt
*survived* when every invariant of the test held (no lost request or file, no job run twice, no write
into another user's dataset, no half version, no orphan spool file); otherwise it is *lost*, and the
first failed assertion is printed.

Usage (PostgreSQL and a broker, as .ci/run sets them; use your own database name and redis db):

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/ll_mine \\
    LEAKLEDGER_TEST_BROKER_URL=redis://127.0.0.1:6379/7 \\
    nice .venv/bin/python benchmarks/fault_injection.py --repeat 3
"""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TESTS = "tests/registry/test_faults_worker.py"
FAULTS = [
    (
        "1. two users race for a new dataset",
        "test_two_users_racing_for_a_new_dataset_cannot_write_into_each_others",
    ),
    (
        "2. job outlives the recovery threshold",
        "test_a_job_running_longer_than_the_recovery_threshold_is_not_started_twice",
    ),
    (
        "3. connection terminated during COPY",
        "test_a_connection_terminated_during_copy_is_retried_and_the_job_succeeds",
    ),
    (
        "3. every attempt terminated (gives up)",
        "test_a_job_that_keeps_failing_transiently_fails_for_good_and_releases_its_file",
    ),
    (
        "4. broker stopped during an upload",
        "test_an_upload_during_a_broker_outage_is_kept_and_runs_once_the_broker_is_back[stopped]",
    ),
    (
        "4. broker hung (SIGSTOP) during an upload",
        "test_an_upload_during_a_broker_outage_is_kept_and_runs_once_the_broker_is_back[hung]",
    ),
    (
        "5. worker SIGKILLed mid-write",
        "test_progress_is_visible_during_the_write_and_a_killed_ingest_leaves_no_spool",
    ),
]


def attempt(test: str) -> tuple[bool, float, str]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        started = time.monotonic()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "--reuse-db",
                f"--junitxml={report}",
            ]
            + [f"{TESTS}::{test}"],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        seconds = time.monotonic() - started
        if not report.exists():
            return False, seconds, "pytest wrote no report"
        case = ET.parse(report).getroot().find(".//testcase")
        if case is None:
            return False, seconds, "test not collected"
        problem = case.find("failure") if case.find("failure") is not None else case.find("error")
        skipped = case.find("skipped")
        if skipped is not None:
            return False, seconds, "skipped: " + (skipped.get("message") or "")
        if problem is not None:
            return False, seconds, (problem.get("message") or "failed").splitlines()[0][:160]
        return True, seconds, ""


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3, help="attempts per fault (default 3)")
    parser.add_argument("--only", default="", help="run the faults whose label contains this text")
    args = parser.parse_args()
    if "postgres" not in os.environ.get("DATABASE_URL", "") or not os.environ.get(
        "LEAKLEDGER_TEST_BROKER_URL"
    ):
        parser.error("set DATABASE_URL (PostgreSQL) and LEAKLEDGER_TEST_BROKER_URL (see the usage above)")
    print(f"machine: {platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}\n")
    rows = []
    for label, test in FAULTS:
        if args.only and args.only not in label:
            continue
        results = [attempt(test) for _ in range(args.repeat)]
        survived = sum(ok for ok, _, _ in results)
        mean = sum(s for _, s, _ in results) / len(results)
        rows.append((label, len(results), survived, len(results) - survived, mean))
        for ok, _, why in results:
            if not ok:
                print(f"  lost in {label}: {why}", flush=True)
    print("| fault | attempts | survived | lost | seconds per attempt (mean, whole test) |")
    print("|---|---:|---:|---:|---:|")
    for label, attempts, survived, lost, mean in rows:
        print(f"| {label} | {attempts} | {survived} | {lost} | {mean:.1f} |")
    return 0 if all(lost == 0 for *_, lost, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
