"""dedup is a plain library: importing it loads no Django, and its __all__ re-exports every module's API."""

import importlib
import os
import subprocess
import sys

import pytest

from dedup import _native
from tests.conftest import REPO

MODULES = (
    "errors",
    "params",
    "parsing",
    "shingle",
    "sketch",
    "lsh",
    "hits",
    "alignment",
    "verify",
    "parallel",
    "mmseqs",
    "overlap",
    "containment",
    "refindex",
    "screen",
)


def test_import_dedup_does_not_import_django():
    code = "import sys, dedup, dedup.__main__; assert 'django' not in sys.modules, sorted(m for m in sys.modules if m.startswith('django'))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False)
    assert proc.returncode == 0, proc.stderr


def test_package_reexports_every_public_name():
    import dedup

    # A function named like its module would hide the module: dedup.sketch must stay the module.
    shadowing = {"dedup.sketch.sketch", "dedup.screen.screen"}
    missing = []
    for name in MODULES:
        module = importlib.import_module(f"dedup.{name}")
        for public in module.__all__:
            if f"dedup.{name}.{public}" in shadowing:
                continue
            if public not in dedup.__all__ and f"mmseqs_{public}" not in dedup.__all__:
                missing.append(f"dedup.{name}.{public}")
    assert not missing, f"add to dedup/__init__.py: {missing}"
    assert all(hasattr(dedup, name) for name in dedup.__all__)
    assert importlib.import_module("dedup.sketch").__name__ == "dedup.sketch"
    assert isinstance(dedup.sketch, type(dedup))


@pytest.mark.parametrize("native", [True, False], ids=["C kernels", "numba kernels"])
def test_an_ad_hoc_check_imports_neither_django_nor_scipy(native):
    """numba's SciPy imports (a version check, and a BLAS probe that imports scipy.linalg: 0.19 s of CPU) are skipped.

    The kernels still run compiled, on the file path (its seed table is built on a thread) and on a
    prebuilt index: as the C port, with numba never imported, or (``DEDUP_NO_NATIVE=1``) by numba.
    """
    code = (
        "import sys\n"
        "from dedup import find_overlap, _kernels, _align_kernel, _native, containment\n"
        "q = 'MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQ'\n"
        "hits = find_overlap([('q', q[:50] + 'W' + q[51:])], [('r', q)], identity=0.9).hits\n"
        "assert [h.tier for h in hits] == ['minhash'], hits\n"
        "hits = find_overlap([('p', q[5:40])], [('r', q)], identity=0.9, tiers=('containment',)).hits\n"
        "assert [h.tier for h in hits] == ['containment'], hits\n"
        "kernels = [k() for k in (_kernels.minhash_kernel, _align_kernel.gotoh_kernel, containment._count_kernel)]\n"
        "if _native.status()['loaded']:\n"
        "    assert all(k.__module__ == 'dedup._native' for k in kernels), kernels\n"
        "    assert 'numba' not in sys.modules\n"
        "elif _kernels.NUMBA_AVAILABLE:\n"
        "    assert all(k.signatures for k in kernels)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'scipy'))\n"
        "assert not bad, bad\n"
        "print(_native.status()['loaded'])\n"
    )
    env = {**os.environ, "DEDUP_NO_NATIVE": "" if native else "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr
    if native and _native.possible():
        assert proc.stdout.strip() == "True", _native.status()
    assert proc.returncode == 0, proc.stderr
