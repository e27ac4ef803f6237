"""Loading dedup's compiled kernels does not import scipy.linalg, and leaves it (and numba's BLAS) usable."""

import subprocess
import sys

import pytest

from dedup import _kernels
from tests.conftest import REPO

pytestmark = pytest.mark.skipif(not _kernels.AVAILABLE, reason="numba not installed")


def _run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_first_kernel_calls_do_not_import_scipy_linalg():
    code = (
        "import sys\n"
        "from dedup.verify import Verifier\n"
        "from dedup.sketch import sketch_batch\n"
        "from dedup.params import SketchParams\n"
        "sketch_batch(['MKTAYIAKQRQISFVKSHFSRQ'], SketchParams('protein', 5))\n"
        "h = Verifier(kind='protein', identity=0.9, coverage=0.8, backend='numba').verify("
        "'q', 'MKTAYIAKQRQISFVKSHFSRQ', 'r', 'MKTAYIAKQRQISFVKSHFSRQLEERLG')\n"
        "print(h.identity, sorted(m for m in sys.modules if m.startswith('scipy.linalg')))\n"
    )
    assert _run(code) == "1.0 []"


def test_scipy_linalg_and_numba_blas_still_work_afterwards():
    code = (
        "import numpy as np\n"
        "from dedup import _kernels\n"
        "numba = _kernels.import_numba()\n"
        "import scipy.linalg\n"
        "dot = numba.njit(lambda a, b: np.dot(a, b))\n"
        "print(float(dot(np.arange(3.0), np.arange(3.0))), float(scipy.linalg.norm([3.0, 4.0])))\n"
    )
    assert _run(code) == "5.0 5.0"
