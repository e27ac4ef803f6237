"""Helpers shared by the benchmark scripts: data locations, timing a child process, load average.

The scripts run as ``python benchmarks/NAME.py``, which puts this directory on ``sys.path``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _data_dir(env: str, *parts: str) -> Path:
    """``$env``, else ``../parts`` beside the checkout (or beside ``../wt/``, for a git worktree)."""
    if os.environ.get(env):
        return Path(os.environ[env])
    candidates = (REPO.parent.joinpath(*parts), REPO.parent.parent.joinpath(*parts))
    return next((p for p in candidates if p.exists()), candidates[0])


SHARED = _data_dir("LEAKLEDGER_SHARED_DATA", "shared", "data")
LARGE = _data_dir("LEAKLEDGER_LARGE_DATA", "large-data")


def loadavg() -> float:
    """The 1-minute load average."""
    return os.getloadavg()[0]


def timed(cmd: list[str], *, env: dict | None = None, stdout=subprocess.DEVNULL) -> dict:
    """Run ``cmd``: wall seconds, CPU seconds (user + sys, with its children) and peak RSS (MiB).

    The peak RSS is GNU time's ``%M`` of the command (``/usr/bin/time``): a child's own
    ``ru_maxrss`` from ``wait4`` starts at this process's resident size when it forks (measured:
    a child running ``true`` from a 500 MiB Python reported 511 MiB), so a large benchmark script
    would inflate every row it times. Without ``/usr/bin/time``, the ``wait4`` value is used.
    """
    time_bin = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss_file:
        full = [time_bin, "-f", "%M", "-o", rss_file.name, *cmd] if time_bin else cmd
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, env=env, stdout=stdout, stderr=subprocess.PIPE)
        stderr = proc.stderr.read() if proc.stderr else b""
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        if status != 0:
            sys.exit(f"failed ({status}): {' '.join(cmd)}\n{stderr.decode(errors='replace')[-3000:]}")
        text = rss_file.read().strip().splitlines()
    rss = int(text[-1]) / 1024 if time_bin and text and text[-1].isdigit() else usage.ru_maxrss / 1024
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": rss}
