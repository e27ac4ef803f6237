"""Settings for a process that is dedup's own (``python -m dedup``), made before numpy is imported.

No part of dedup multiplies matrices, and every idle OpenBLAS thread that numpy starts spins a
core for about 0.1 s: on 2 cores the check's own second thread waited on it (``perf`` showed 13% of
a check's samples in ``blas_thread_server``; the main pair's check at ``--threads 1``, by hand with
``perf stat``, three runs each, alternately: 1.16-1.29 CPU seconds with OpenBLAS's default, 0.97-1.06
with one thread). So ``python -m dedup`` asks for one OpenBLAS
thread, unless the user set ``OPENBLAS_NUM_THREADS``; a program that imports dedup keeps its own.
"""

import os
import sys


def own_process(argv: list[str]) -> bool:
    """Whether ``argv`` (:data:`sys.orig_argv`) runs ``python -m dedup``.

    Examples:
        >>> own_process(["python", "-m", "dedup", "overlap", "q.fa", "r.fa"])
        True
        >>> own_process(["python", "-m", "pytest"]), own_process(["python", "train.py"])
        (False, False)
    """
    return "-m" in argv and argv[argv.index("-m") + 1 :][:1] == ["dedup"]


if "numpy" not in sys.modules and own_process(sys.orig_argv):
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
