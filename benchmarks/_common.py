"""Helpers shared by the benchmark scripts: data locations, timing a child process, load average.

The scripts run as ``python benchmarks/NAME.py``, which puts this directory on ``sys.path``.
"""

from __future__ import annotations

import json
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


def fasta_slice(source: Path, first: int, last: int, target: Path) -> list[str]:
    """Write FASTA records ``first`` to ``last`` (1-based, inclusive) of ``source`` to ``target``, as they
    are in the file; their identifiers."""
    seen, ids = 0, []
    with open(source) as src, open(target, "w") as out:
        for line in src:
            if line.startswith(">"):
                seen += 1
                if seen > last:
                    break
                if seen >= first:
                    ids.append(line[1:].split()[0])
            if seen >= first:
                out.write(line)
    return ids


def compile_bytecode() -> None:
    """Write the bytecode of the project's packages, as ``pip install`` does for an installed package.

    With ``PYTHONDONTWRITEBYTECODE`` set (as on this project's machines), every ``python -m dedup``
    of a checkout would compile its modules again, about 0.1 s a process that no installed copy
    pays; the timings are of the program, not of the compiler.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    packages = [str(REPO / name) for name in ("dedup", "registry", "api", "web", "config", "client")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *[p for p in packages if Path(p).is_dir()]],
                   env=env, check=True, stdout=subprocess.DEVNULL)  # fmt: skip


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


# -- HTTP load with wrk (bench_api_load.py, bench_pages.py) ------------------------------------------

WRK_LUA = r"""
local paths = {%(paths)s}
local headers = {%(headers)s}
local i = 0
local threads = 0
setup = function(thread)
  thread:set("offset", threads * 997)
  threads = threads + 1
end
init = function(args)
  i = offset or 0
end
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1], headers)
end
done = function(summary, latency, requests)
  local out = io.open("%(out)s", "w")
  out:write(string.format(
    '{"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "max_us": %%d, ' ..
    '"mean_us": %%f, "non_2xx": %%d, "connect": %%d, "read": %%d, "write": %%d, "timeout": %%d}',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout))
  out:close()
end
"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def psql(pg: str, sql: str) -> None:
    """Run one statement on the server's ``postgres`` database (CREATE / DROP DATABASE)."""
    subprocess.run(["psql", f"{pg}/postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True)


def wait_until_up(url: str, tries: int = 100) -> None:
    """Poll ``url`` until the server answers (any status), 0.2 s apart."""
    import urllib.error
    import urllib.request

    for _ in range(tries):
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)


def wrk_run(
    base: str,
    paths: list[str],
    work: Path,
    *,
    name: str,
    headers: dict | None = None,
    connections: int = 50,
    duration: int = 60,
    threads: int = 2,
) -> dict:
    """Drive ``paths`` in turn (each wrk thread from its own offset) on ``base`` with wrk; its summary.

    Returns wrk's numbers (``requests``, ``duration_us``, ``p50_us`` ... ``max_us``, error counts) and
    ``errors`` (their sum), ``req_per_s``, and the 1-minute load average before and after the run.
    """
    out = work / f"wrk-{name}.json"
    script = work / f"wrk-{name}.lua"
    script.write_text(
        WRK_LUA
        % {
            "paths": ", ".join(json.dumps(p) for p in paths),
            "headers": ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in (headers or {}).items()),
            "out": out,
        }
    )
    load_before = loadavg()
    subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--timeout", "10s",
         "-s", str(script), base],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    result = json.loads(out.read_text())
    result["errors"] = sum(result[k] for k in ("non_2xx", "connect", "read", "write", "timeout"))
    result["req_per_s"] = result["requests"] / (result["duration_us"] / 1e6)
    result["load_before"], result["load_after"] = load_before, loadavg()
    return result


def wrk_cells(result: dict) -> str:
    """``requests | req/s | p50 ms | p90 ms | p99 ms | max ms | errors`` of a ``wrk_run`` result."""
    r = result
    return (
        f"{r['requests']:,} | {r['req_per_s']:,.0f} | {r['p50_us'] / 1000:.1f} | {r['p90_us'] / 1000:.1f} | "
        f"{r['p99_us'] / 1000:.1f} | {r['max_us'] / 1000:.1f} | {r['errors']}"
    )
