"""The test suite's own guard: a worker or server started by a test dies with the test process."""

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_child_started_with_die_with_parent_is_killed_when_its_parent_is():
    # A parent that starts a long-lived child the way the worker fixtures do, prints its pid, then waits.
    code = (
        "import subprocess, sys, time\n"
        "from tests.conftest import die_with_parent\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], preexec_fn=die_with_parent)\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    child_pid = int(parent.stdout.readline())
    os.kill(child_pid, 0)  # alive
    parent.send_signal(signal.SIGKILL)  # as when a test run is killed: no teardown runs
    parent.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(child_pid, 0)
        except ProcessLookupError:
            return
        # a zombie still answers kill(0) until reaped by init; its state tells
        try:
            with open(f"/proc/{child_pid}/stat") as fh:
                if fh.read().split(") ")[1].startswith("Z"):
                    return
        except FileNotFoundError:  # reaped meanwhile
            return
        time.sleep(0.05)
    os.kill(child_pid, signal.SIGKILL)
    pytest.fail(f"child {child_pid} outlived its killed parent")
