"""Compiled fast path for batch sketching (C or numba, optional), and :func:`jit` for every kernel.

:func:`minhash_kernel` returns the compiled kernel, which computes, for many protein or DNA/RNA sequences at once,
exactly what :mod:`dedup.sketch`'s numpy path computes: shingle hashes as in
:mod:`dedup.shingle`, then datasketch's ``affine32`` MinHash.

Every kernel's Python body is its specification. :func:`jit` returns its C port
(:mod:`dedup._native`, built once with the machine's C compiler) when there is one, else the
body compiled by numba, else None (callers then use a numpy or Python path; the values are the
same on all three). The C port spares a process numba's import and registries (0.35-0.45 s);
``DEDUP_NO_NATIVE=1`` skips it, ``DEDUP_NO_NUMBA=1`` skips numba. numba is imported lazily, on
the first kernel call, so that ``import dedup`` stays fast, and caches its machine code on disk
(``cache=True``), so only the first process ever to call a kernel pays its compile time.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from dedup import _native

__all__ = ["AVAILABLE", "NUMBA_AVAILABLE", "compiled_backend", "import_numba", "jit", "minhash_kernel"]

#: True when numba is importable and not disabled with ``DEDUP_NO_NUMBA=1``. Checked
#: without importing numba (about 0.15 s), which happens on the first kernel call.
NUMBA_AVAILABLE = (
    os.environ.get("DEDUP_NO_NUMBA", "") in ("", "0") and importlib.util.find_spec("numba") is not None
)

#: True when a compiled kernel can be had: numba (above), or the C port when it is not disabled
#: (``DEDUP_NO_NATIVE=1``) and a C compiler is on PATH (whether it builds is known on first use;
#: without numba a failed build leaves the callers' numpy or Python paths).
AVAILABLE = NUMBA_AVAILABLE or _native.possible()


def _minhash_kernel_py(
    buf: np.ndarray,
    starts: np.ndarray,
    table: np.ndarray,
    nucleotide: bool,
    k: int,
    a: np.ndarray,
    b: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled by numba; the Python body is the specification
    n = starts.shape[0] - 1
    num_perm = a.shape[0]
    max_len = 1
    for i in range(n):
        max_len = max(max_len, starts[i + 1] - starts[i])
    hs = np.empty(max_len, dtype=np.uint32)
    bits = np.uint64(2 if nucleotide else 5)
    mask = np.uint64((1 << (2 * k if nucleotide else 5 * k)) - 1)
    top_shift = np.uint64(2 * (k - 1))
    short_bit = np.uint64(1) << np.uint64(63)
    c33 = np.uint64(33)
    m1 = np.uint64(0xFF51AFD7ED558CCD)
    m2 = np.uint64(0xC4CEB9FE1A85EC53)
    f1 = np.uint32(0x85EBCA6B)
    f2 = np.uint32(0xC2B2AE35)
    for i in range(n):
        lo = starts[i]
        length = starts[i + 1] - lo
        nh = 0
        fwd = np.uint64(0)
        rev = np.uint64(0)
        run = 0
        for j in range(length):
            c = table[buf[lo + j]]
            if nucleotide:
                if c == 255:
                    run = 0
                    fwd = np.uint64(0)
                    rev = np.uint64(0)
                    continue
                c64 = np.uint64(c)
                fwd = ((fwd << bits) | c64) & mask
                rev = (rev >> bits) | ((np.uint64(3) - c64) << top_shift)
            else:
                fwd = ((fwd << bits) | np.uint64(c)) & mask
            run += 1
            if run >= k:
                v = min(fwd, rev) if nucleotide else fwd
                v ^= v >> c33
                v *= m1
                v ^= v >> c33
                v *= m2
                v ^= v >> c33
                hs[nh] = np.uint32(v >> np.uint64(32))
                nh += 1
        if 0 < length < k and run == length:
            # Short input: the whole sequence is one shingle. rev holds the
            # reverse complement shifted to a k-mer's top bits; realign it.
            v = fwd
            if nucleotide:
                v = min(fwd, rev >> np.uint64(2 * (k - length)))
            v |= short_bit
            v ^= v >> c33
            v *= m1
            v ^= v >> c33
            v *= m2
            v ^= v >> c33
            hs[0] = np.uint32(v >> np.uint64(32))
            nh = 1
        # datasketch affine32: fmix32 pre-mix, then min over a * h + b mod 2**32.
        for j in range(nh):
            h = hs[j]
            h ^= h >> np.uint32(16)
            h = np.uint32(h * f1)
            h ^= h >> np.uint32(13)
            h = np.uint32(h * f2)
            h ^= h >> np.uint32(16)
            hs[j] = h
        for p in range(num_perm):
            ap = a[p]
            bp = b[p]
            m = np.uint32(0xFFFFFFFF)
            for j in range(nh):
                x = np.uint32(ap * hs[j] + bp)
                if x < m:
                    m = x
            out[i, p] = m


_NUMBA_LOCK = threading.Lock()


def import_numba() -> Any:
    """numba, imported with its numpy support but without SciPy (None if numba is broken).

    The first compiled call (even one served from the on-disk cache) makes numba load its
    numpy support, ``numba.np.arraymath``, which probes for a BLAS by importing
    ``scipy.linalg.cython_blas`` (0.18 s of CPU here), and ``import numba`` imports ``scipy``
    for a version check (0.01 s). No dedup kernel uses SciPy (the probe only decides how a
    compiled ``np.correlate`` / ``np.convolve`` is done), so both are imported here with
    SciPy's import failing (``sys.modules[name] = None``, removed again at once). A process
    that already imported SciPy keeps it: nothing is blocked then. Thread-safe (the seed
    table may be built on a thread of its own while the main thread sketches).
    """
    with _NUMBA_LOCK:
        if "numba.np.arraymath" in sys.modules:
            return sys.modules["numba"]
        # the outermost SciPy module not imported yet, if any: numba's imports of it then fail
        blocked = next((m for m in ("scipy", "scipy.linalg.cython_blas") if m not in sys.modules), None)
        if blocked is not None:
            sys.modules[blocked] = None  # type: ignore[assignment]
        try:
            numba = importlib.import_module("numba")
            importlib.import_module("numba.np.arraymath")
        except ImportError:  # pragma: no cover - a broken numba installation
            return None
        finally:
            if blocked is not None and sys.modules.get(blocked, 0) is None:
                del sys.modules[blocked]
        return numba


def jit(fn: Callable[..., Any]) -> Any:
    """``fn``'s C port, else ``fn`` compiled by numba (``nogil``, cached on disk, no bounds checks), else None."""
    native = _native.kernel(fn)
    if native is not None:
        return native
    if not NUMBA_AVAILABLE:
        return None
    numba = import_numba()
    if numba is None:  # pragma: no cover - a broken numba installation
        return None
    return numba.njit(cache=True, nogil=True, boundscheck=False)(fn)


def compiled_backend() -> str | None:
    """What a compiled kernel runs as: ``"c <library file>"``, ``"numba <version>"``, or None (neither).

    Loads (builds, on the first call ever) the C port to know.

    Examples:
        >>> compiled_backend().split()[0] in ("c", "numba")
        True
    """
    if _native.library() is not None:
        return f"c {Path(_native.status()['path']).name}"
    if not NUMBA_AVAILABLE:
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"numba {version('numba')}"
    except PackageNotFoundError:  # pragma: no cover - numba run from a source tree
        return "numba"


@functools.cache
def minhash_kernel() -> Any:
    """The compiled kernel (numba-compiled :func:`_minhash_kernel_py`), or None without numba."""
    return jit(_minhash_kernel_py)
