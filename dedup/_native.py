"""The compiled kernels in C (``_native.c``), built on first use with the machine's C compiler.

:func:`kernel` returns, for a kernel's Python specification (``_minhash_kernel_py``,
``_gotoh_local_py``, ``_seed_kernel_py``, ``_count_kernel_py``), a function with the same
arguments that runs the C port, or None when there is no C compiler, the build failed, or
``DEDUP_NO_NATIVE=1`` is set; :func:`dedup._kernels.jit` then compiles the specification with
numba instead. Both give the same values (``tests/dedup/test_native.py``).

Why: numba's import and registries cost about 0.35-0.45 s in every process that calls a kernel,
most of a small check's time (``benchmarks/README.md``, "Start-up without numba"); this library
loads in about a millisecond. The shared library is built once per source and compiler
(``cc -O3 -march=native -shared -fPIC``, about a second) into ``dedup/__pycache__`` or, where that is not
writable, ``$XDG_CACHE_HOME/leakledger`` (``~/.cache/leakledger``), written to a temporary name
and renamed, so concurrent first calls never load a half-written file. ctypes releases the GIL
during a call: threads run the kernels in parallel as with numba's ``nogil``.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shlex
import shutil
import sysconfig
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["kernel", "library", "possible", "screen", "shingles", "status"]

SOURCE = Path(__file__).with_name("_native.c")
FLAGS = ("-O3", "-funroll-loops", "-shared", "-fPIC", "-std=c11", "-fno-strict-aliasing")
#: Tried first: the alignment kernel's row loops vectorise for the machine's own SIMD width (see
#: benchmarks/README.md, "Start-up and the kernels in C"). The library is then keyed by the processor as well.
NATIVE_FLAGS = ("-march=native",)

_LOCK = threading.Lock()
_status: dict[str, Any] = {"loaded": False, "path": None, "reason": "not tried"}

_P = ctypes.c_void_p
_I64 = ctypes.c_int64
_I32 = ctypes.c_int32
_INT = ctypes.c_int

_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    "ll_minhash": (_INT, [_P, _P, _I64, _P, _INT, _I64, _P, _P, _I64, _P]),
    "ll_gotoh_local": (
        _INT,
        [_P, _I64, _P, _I64, _P, _P, _P, _I64, _P, _I64, _I32, _I32, _I32, _I32, _P, _P],
    ),
    "ll_seed": (_INT, [_P, _P, _I64, _I64, _INT, _P, _I64, _P, _P, _P, _P, _INT, _I64, _P, _I64, _P]),
    "ll_count": (_INT, [_P, _I64, _P, _P, _P, _P, _I64, _P, _P, _P, _P, _P, _P, _I64]),
    "ll_shingles": (_I64, [_P, _P, _I64, _I64, _INT, _P, _P, _P]),
    "ll_screen": (
        _INT,
        [_P, _P, _I64, _P, _P, _I64, ctypes.c_double, ctypes.c_double, ctypes.c_double, _I64, _P],
    ),
}


def _compiler() -> list[str] | None:
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or ""
    cmd = shlex.split(cc)
    if cmd and shutil.which(cmd[0]):
        return cmd
    for name in ("cc", "gcc", "clang"):
        if shutil.which(name):
            return [name]
    return None


def _cache_dirs() -> list[Path]:
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return [
        Path(__file__).parent / "__pycache__",
        home / "leakledger",
        Path(tempfile.gettempdir()) / f"leakledger-{uid}",  # this user's own: see _safe_to_load
    ]


def _safe_to_load(path: Path) -> None:
    """Refuse a library that another user could have written (a shared temporary directory)."""
    if not hasattr(os, "getuid"):  # pragma: no cover - not POSIX
        return
    for p in (path, path.parent):
        st = p.stat()
        if st.st_uid != os.getuid() or st.st_mode & 0o022:
            raise OSError(f"{p} is writable by another user or owned by one: not loaded")


def _processor() -> str:
    """The processor's model and features (Linux), else what :mod:`platform` knows: part of the key."""
    try:
        with open("/proc/cpuinfo") as fh:
            lines = [x for x in fh if x.startswith(("model name", "flags", "Features"))]
        return "".join(dict.fromkeys(lines))
    except OSError:
        return platform.processor() or platform.machine()


class _CompileError(OSError):
    """The compiler ran and refused the source (not a directory problem): no other directory is tried."""


def _build(cc: list[str], target: Path) -> None:
    import subprocess  # only when building: 5 ms of every process's start-up otherwise

    # the user's own cache directories are private; the package's __pycache__ keeps Python's default mode
    target.parent.mkdir(mode=0o700 if target.parent.name.startswith("leakledger") else 0o777, parents=True,
                        exist_ok=True)  # fmt: skip
    fd, tmp = tempfile.mkstemp(prefix=target.stem + ".", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        for extra in (NATIVE_FLAGS, ()):  # without -march=native where the compiler refuses it
            try:
                done = subprocess.run(
                    [*cc, *FLAGS, *extra, "-o", tmp, str(SOURCE)],
                    capture_output=True,
                    text=True,
                    timeout=300,
                    check=False,
                )
            except subprocess.SubprocessError as exc:  # a compiler that hangs
                raise _CompileError(f"{' '.join(cc)}: {exc}") from exc
            if done.returncode == 0:
                break
        else:
            raise _CompileError(f"{' '.join(cc)} failed: {done.stderr.strip()[:500]}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _disabled() -> bool:
    return os.environ.get("DEDUP_NO_NATIVE", "") not in ("", "0")


def possible() -> bool:
    """Whether the library may be had without building it yet: not disabled, a C compiler on PATH."""
    return not _disabled() and _compiler() is not None


def library() -> ctypes.CDLL | None:
    """The loaded library (built first if needed), or None; :func:`status` says why."""
    with _LOCK:
        return _load()


@functools.cache
def _load() -> ctypes.CDLL | None:
    if _disabled():
        _status.update(reason="disabled by DEDUP_NO_NATIVE")
        return None
    cc = _compiler()
    if cc is None:
        _status.update(reason="no C compiler (cc, gcc or clang) on PATH")
        return None
    key = hashlib.sha256(
        SOURCE.read_bytes()
        + " ".join([*cc, *FLAGS, *NATIVE_FLAGS, platform.machine(), platform.system(), _processor()]).encode()
    ).hexdigest()[:16]
    # A compiler that refused this source once is not run again by every later process: the
    # reason is kept in the user's cache directory (delete the file to try again).
    failed = _cache_dirs()[1] / f"_native-{key}.failed"
    if failed.exists():
        _status.update(
            reason=f"an earlier build failed ({failed}): {failed.read_text(errors='replace')[:600]}"
        )
        return None
    errors = []
    for d in _cache_dirs():
        path = d / f"_native-{key}.so"
        try:
            if not path.exists():
                _build(cc, path)
            _safe_to_load(path)
            lib = ctypes.CDLL(str(path))
        except _CompileError as exc:
            errors.append(f"{path}: {exc}")
            try:
                failed.parent.mkdir(parents=True, exist_ok=True)
                failed.write_text(str(exc))
            except OSError:
                pass
            break
        except OSError as exc:  # a directory that cannot be written, a file that does not load: the next one
            errors.append(f"{path}: {exc}")
            continue
        for name, (restype, argtypes) in _SIGNATURES.items():
            fn = getattr(lib, name)
            fn.restype = restype
            fn.argtypes = argtypes
        _status.update(loaded=True, path=str(path), reason=None)
        return lib
    _status.update(reason="; ".join(errors))
    return None


def status() -> dict[str, Any]:
    """``{"loaded": bool, "path": str | None, "reason": str | None}`` of the last :func:`library` call."""
    return dict(_status)


def _ptr(arr: np.ndarray, dtype: Any, name: str, *, writable: bool = False) -> int:
    if arr.dtype != dtype or not arr.flags.c_contiguous or (writable and not arr.flags.writeable):
        raise TypeError(
            f"native kernel argument {name}: expected a C-contiguous{' writable' if writable else ''} "
            f"{np.dtype(dtype).name} array, got {arr.dtype.name} (contiguous={arr.flags.c_contiguous})"
        )
    return arr.__array_interface__["data"][0] if arr.size else 0


def _check(rc: int, name: str) -> None:
    if rc != 0:
        raise MemoryError(f"native kernel {name}: out of memory")


def _minhash(lib: ctypes.CDLL) -> Callable[..., None]:
    fn = lib.ll_minhash

    def minhash(buf, starts, table, nucleotide, k, a, b, out) -> None:  # noqa: ANN001 - the numba kernel's arguments
        if out.ndim != 2 or out.shape[0] != starts.shape[0] - 1 or out.shape[1] != a.shape[0]:
            raise ValueError(f"native minhash: out has shape {out.shape}")
        rc = fn(_ptr(buf, np.uint8, "buf"), _ptr(starts, np.int64, "starts"), starts.shape[0] - 1,
                _ptr(table, np.uint8, "table"), int(bool(nucleotide)), int(k), _ptr(a, np.uint32, "a"),
                _ptr(b, np.uint32, "b"), a.shape[0], _ptr(out, np.uint32, "out", writable=True))  # fmt: skip
        _check(rc, "minhash")

    return minhash


def _gotoh(lib: ctypes.CDLL) -> Callable[..., None]:
    fn = lib.ll_gotoh_local

    def gotoh_local(a, b, ua, ub, matrix, qbias, match, mismatch, gap_open, gap_extend, ops, result) -> None:  # noqa: ANN001
        n_matrix = matrix.shape[0]
        if ops.shape[0] < a.shape[0] + b.shape[0] or result.shape[0] < 7:
            raise ValueError("native gotoh_local: ops or result too short")
        if qbias.shape[0] not in (0, a.shape[0]):
            raise ValueError("native gotoh_local: qbias is neither empty nor one score per query residue")
        rc = fn(_ptr(a, np.int32, "a"), a.shape[0], _ptr(b, np.int32, "b"), b.shape[0], _ptr(ua, np.int32, "ua"),
                _ptr(ub, np.int32, "ub"), _ptr(matrix, np.int32, "matrix"), n_matrix,
                _ptr(qbias, np.int32, "qbias"), qbias.shape[0], int(match), int(mismatch),
                int(gap_open), int(gap_extend), _ptr(ops, np.int8, "ops", writable=True),
                _ptr(result, np.int64, "result", writable=True))  # fmt: skip
        _check(rc, "gotoh_local")

    return gotoh_local


def _seed(lib: ctypes.CDLL) -> Callable[..., None]:
    fn = lib.ll_seed
    no_cursor = np.zeros(0, dtype=np.int64)

    def seed(buf, starts, k, protein, codes, bits, last, counts, postings, cursor, fill, first, only,  # noqa: ANN001
             rank_base) -> None:  # fmt: skip
        if not fill:  # the count pass never reads the cursor (the caller passes its counts there)
            cursor = no_cursor
        rc = fn(_ptr(buf, np.uint8, "buf"), _ptr(starts, np.int64, "starts"), starts.shape[0] - 1, int(k),
                int(bool(protein)), _ptr(codes, np.uint8, "codes"), int(bits),
                _ptr(last, np.int32, "last", writable=True), _ptr(counts, np.int32, "counts", writable=True),
                _ptr(postings, np.int32, "postings", writable=True), _ptr(cursor, np.int64, "cursor", writable=True),
                int(bool(fill)), int(first), _ptr(only, np.uint64, "only"), only.shape[0],
                _ptr(rank_base, np.int64, "rank_base"))  # fmt: skip
        _check(rc, "seed")

    return seed


def _count(lib: ctypes.CDLL) -> Callable[..., None]:
    fn = lib.ll_count

    def count(q_bounds, starts, lens, postings, need, n_refs, cnt, touched, passing, out_refs, out_counts,  # noqa: ANN001
              out_pass) -> None:  # fmt: skip
        n_q = q_bounds.shape[0] - 1
        if out_refs.shape[0] < n_q or out_counts.shape != out_refs.shape or out_pass.shape[0] < n_q:
            raise ValueError("native count: output arrays do not match the queries")
        rc = fn(_ptr(q_bounds, np.int64, "q_bounds"), n_q, _ptr(starts, np.int64, "starts"),
                _ptr(lens, np.int64, "lens"), _ptr(postings, np.int32, "postings"), _ptr(need, np.float64, "need"),
                int(n_refs), _ptr(cnt, np.int32, "cnt", writable=True), _ptr(touched, np.int64, "touched", writable=True),
                _ptr(passing, np.int64, "passing", writable=True), _ptr(out_refs, np.int64, "out_refs", writable=True),
                _ptr(out_counts, np.int64, "out_counts", writable=True),
                _ptr(out_pass, np.int64, "out_pass", writable=True), out_refs.shape[1])  # fmt: skip
        _check(rc, "count")

    return count


_PORTS: dict[str, Callable[[ctypes.CDLL], Callable[..., None]]] = {
    "_minhash_kernel_py": _minhash,
    "_gotoh_local_py": _gotoh,
    "_seed_kernel_py": _seed,
    "_count_kernel_py": _count,
}


def screen(
    codes: np.ndarray,
    offsets: np.ndarray,
    q_idx: np.ndarray,
    r_idx: np.ndarray,
    *,
    identity: float,
    coverage: float,
    reference_coverage: float,
    qgram_k: int,
) -> np.ndarray | None:
    """:meth:`dedup.bounds.Bounds.passes` (no reverse complement) for many pairs at once, or None without the library.

    ``codes[offsets[s]:offsets[s + 1]]`` are sequence ``s``'s int32 codes; pair ``p`` is query
    ``q_idx[p]`` against reference ``r_idx[p]``. Returns an int8 verdict per pair: 0 may pass, 1
    pruned by length, 2 by composition, 3 by the q-gram bound, -1 not decided (a code outside 0-127:
    the caller runs :meth:`~dedup.bounds.Bounds.passes`). One call instead of a dozen numpy calls per
    pair, which held the GIL for a third of a check's verification time.
    """
    lib = library()
    if lib is None:
        return None
    n_pairs = q_idx.shape[0]
    if r_idx.shape[0] != n_pairs:
        raise ValueError("native screen: q_idx and r_idx differ in length")
    verdict = np.empty(n_pairs, dtype=np.int8)
    rc = lib.ll_screen(_ptr(codes, np.int32, "codes"), _ptr(offsets, np.int64, "offsets"), offsets.shape[0] - 1,
                       _ptr(q_idx, np.int64, "q_idx"), _ptr(r_idx, np.int64, "r_idx"), n_pairs, float(identity),
                       float(coverage), float(reference_coverage), int(qgram_k),
                       _ptr(verdict, np.int8, "verdict", writable=True))  # fmt: skip
    _check(rc, "screen")
    return verdict


def shingles(buf: np.ndarray, starts: np.ndarray, k: int, protein: bool, codes: np.ndarray):
    """:func:`dedup.shingle.batch_shingle_hashes64` of encoded protein or DNA/RNA sequences, or None.

    ``buf[starts[i]:starts[i + 1]]`` is sequence ``i``'s ASCII; ``codes`` the residue table of
    :mod:`dedup.shingle`. Returns ``(hashes, offsets)`` as that function does.
    """
    lib = library()
    if lib is None:
        return None
    n = starts.shape[0] - 1
    out = np.empty(buf.shape[0] + n, dtype=np.uint64)
    offsets = np.empty(n + 1, dtype=np.int64)
    m = lib.ll_shingles(_ptr(buf, np.uint8, "buf"), _ptr(starts, np.int64, "starts"), n, int(k), int(bool(protein)),
                        _ptr(codes, np.uint8, "codes"), _ptr(out, np.uint64, "out", writable=True),
                        _ptr(offsets, np.int64, "offsets", writable=True))  # fmt: skip
    return out[:m], offsets


def kernel(spec: Callable[..., Any]) -> Callable[..., None] | None:
    """The C port of the kernel whose Python specification is ``spec``, or None (no port, no library)."""
    port = _PORTS.get(spec.__name__)
    if port is None:
        return None
    lib = library()
    return None if lib is None else port(lib)
