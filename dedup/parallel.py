"""How many threads dedup's compiled kernels use, and an ordered parallel map over them.

The sketch and alignment kernels are compiled with numba ``nogil=True``: while one
runs it does not hold Python's GIL, so plain threads run them on several cores at
once, with no process start-up and no copying of the sequences. Work is cut into
independent items whose results are put back in input order, so a result never
depends on the number of threads (``tests/dedup/test_parallel.py``).

``threads=None`` means every CPU this process may run on
(``os.sched_getaffinity``); a Celery worker passes its share instead
(``LEAKLEDGER_THREADS`` in ``config/settings.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["available_cpus", "parallel_map", "resolve_threads"]

T = TypeVar("T")
R = TypeVar("R")


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the platform has one).

    Examples:
        >>> available_cpus() >= 1
        True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - platforms without affinity masks
        return max(1, os.cpu_count() or 1)


def resolve_threads(threads: int | None) -> int:
    """The number of threads to use: ``threads``, or every available CPU for ``None``.

    Raises:
        ValueError: ``threads`` is not a positive integer.

    Examples:
        >>> resolve_threads(2)
        2
        >>> resolve_threads(None) == available_cpus()
        True
    """
    if threads is None:
        return available_cpus()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer (or None for every CPU), got {threads!r}")
    return threads


def parallel_map(fn: Callable[[T], R], items: Sequence[T] | Iterable[T], threads: int) -> list[R]:
    """``[fn(x) for x in items]``, run on ``threads`` threads, results in input order.

    Worth it only when ``fn`` spends its time in code that releases the GIL (the
    numba kernels); with one thread or one item it runs inline.

    Examples:
        >>> parallel_map(lambda x: x * x, range(5), threads=2)
        [0, 1, 4, 9, 16]
    """
    items = list(items)
    if threads <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=min(threads, len(items)), thread_name_prefix="dedup") as pool:
        return list(pool.map(fn, items))
