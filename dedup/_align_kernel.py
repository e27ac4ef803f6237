"""Compiled local alignment (Gotoh) that returns Biopython's first optimal alignment.

:func:`gotoh_local` fills the three Gotoh matrices of a local alignment (``M``:
residue against residue; ``Ix``: a gap in the reference, the query advances;
``Iy``: a gap in the query) in linear memory for the scores and one byte per cell
for the traceback, then traces back exactly the alignment that
``Bio.Align.PairwiseAligner(mode="local")`` yields first (``next(iter(aligner.align(a, b)))``),
read from Biopython 1.88's ``_pairwisealigner.c`` (``GOTOH_LOCAL_ALIGN`` and
``PathGenerator_next_gotoh_local``):

- a cell's ``M`` value is the best of the three matrices at the diagonal
  predecessor plus the substitution score, or 0 (a start) when that is not
  positive; a gap cell is invalid unless its value is positive;
- the alignment ends at the first cell, in query-major (row-major) order, whose
  ``M`` value is the maximum;
- the traceback prefers the ``M`` predecessor, then ``Ix``, then ``Iy``, when
  several give the same value, and stops on a cell whose ``M`` value is 0;
- gaps are not opened in the last row or column (they could not end an alignment).

Scores are integers (BLOSUM62 and integer gap penalties, or match/mismatch), so
ties are exact where Biopython compares floating point values within an epsilon.
``tests/dedup/test_align_kernel.py`` checks the kernel against Biopython on the
real candidate pairs of the calibration data, pair by pair.

The Python body is the specification; numba compiles it (``nogil``, so threads
align pairs in parallel) and caches the machine code on disk like
:mod:`dedup._kernels`.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

import numpy as np

from dedup import _kernels

__all__ = ["AVAILABLE", "gotoh_kernel", "gotoh_local"]

#: True when the compiled kernel can be used (numba importable and not disabled).
AVAILABLE = _kernels.AVAILABLE

_NEG = -(1 << 30)  # an invalid (unreachable) gap cell; far below any real score

# Traceback byte per cell: bits 0-1 the predecessor of M, 2-3 of Ix, 4-5 of Iy
# (0: M, 1: Ix, 2: Iy); 3 in bits 0-1 marks a start (M value 0).
_FROM_M, _FROM_IX, _FROM_IY, _START = 0, 1, 2, 3


def _gotoh_local_py(
    a: np.ndarray,
    b: np.ndarray,
    ua: np.ndarray,
    ub: np.ndarray,
    matrix: np.ndarray,
    match: int,
    mismatch: int,
    gap_open: int,
    gap_extend: int,
    ops: np.ndarray,
    result: np.ndarray,
) -> None:  # pragma: no cover - compiled by numba; the Python body is the specification
    """Align ``a`` (query) to ``b`` (reference) and write the path of the first optimal alignment.

    Args:
        a, b: int32 codes for scoring: rows/columns of ``matrix``, or any codes
            compared for equality when ``matrix`` is empty (match/mismatch scoring).
        ua, ub: int32 codes compared for identity (the residues as given).
        matrix: int32 substitution matrix, or shape (0, 0) for match/mismatch.
        match, mismatch: scores when ``matrix`` is empty.
        gap_open: penalty of a gap's first residue (positive; Biopython's
            ``open_gap_score`` negated); gap_extend: of each further residue.
        ops: int8 buffer of at least ``len(a) + len(b)`` entries; on return its first
            ``result[6]`` entries are the columns from start to end (0: residue
            against residue, 1: query residue against a gap, 2: reference residue
            against a gap).
        result: int64[7]: score, query start, query end, reference start,
            reference end (0-based, end-exclusive), identical columns, columns.
            A score of 0 means no positive-scoring alignment (nothing else is set).
    """
    na = a.shape[0]
    nb = b.shape[0]
    use_matrix = matrix.shape[0] > 0
    trace = np.empty((na + 1) * (nb + 1), dtype=np.uint8)
    w = nb + 1
    m_row = np.zeros(nb + 1, dtype=np.int32)
    ix_row = np.full(nb + 1, _NEG, dtype=np.int32)
    iy_row = np.full(nb + 1, _NEG, dtype=np.int32)
    srow = np.empty(nb + 1, dtype=np.int32)
    best = 0
    best_i = 0
    best_j = 0
    for j in range(nb + 1):
        trace[j] = _START
    for i in range(1, na + 1):
        # diagonal predecessors (row i-1, column j-1), starting at column 0
        m_diag = m_row[0]
        ix_diag = ix_row[0]
        iy_diag = iy_row[0]
        m_row[0] = 0
        ix_row[0] = _NEG
        iy_row[0] = _NEG
        m_left = 0  # this row's values at column j-1, kept in registers
        ix_left = _NEG
        iy_left = _NEG
        trace[i * w] = _START
        ai = a[i - 1]
        last_row = i == na
        # this row's substitution scores first: a simple loop the compiler can vectorise
        if use_matrix:
            mrow = matrix[ai]
            for j in range(1, nb + 1):
                srow[j] = mrow[b[j - 1]]
        else:
            for j in range(1, nb + 1):
                srow[j] = match if ai == b[j - 1] else mismatch
        for j in range(1, nb + 1):
            s = srow[j]
            edge = last_row or j == nb  # gaps are not opened in the last row or column
            # M: best predecessor, M first on ties, then Ix, then Iy (written as selects: no branches)
            v = m_diag if m_diag >= ix_diag else ix_diag
            frm = _FROM_M if m_diag >= ix_diag else _FROM_IX
            frm = frm if v >= iy_diag else _FROM_IY
            v = (v if v >= iy_diag else iy_diag) + s
            frm = frm if v > 0 else _START
            v = v if v > 0 else 0
            if v > best:
                best = v
                best_i = i
                best_j = j
            up_m = m_row[j]  # M(i-1, j), before it is overwritten
            up_ix = ix_row[j]
            up_iy = iy_row[j]
            m_diag = up_m
            ix_diag = up_ix
            iy_diag = up_iy
            m_row[j] = v
            # Ix: a query residue against a gap, from row i-1
            g = up_m - gap_open
            x = up_ix - gap_extend
            gf = _FROM_M if g >= x else _FROM_IX
            g = g if g >= x else x
            x = up_iy - gap_open
            gf = gf if g >= x else _FROM_IY
            g = g if g >= x else x
            g = g if g > 0 and not edge else _NEG
            ix_row[j] = g
            # Iy: a reference residue against a gap, from column j-1 of this row
            h = m_left - gap_open
            x = ix_left - gap_open
            hf = _FROM_M if h >= x else _FROM_IX
            h = h if h >= x else x
            x = iy_left - gap_extend
            hf = hf if h >= x else _FROM_IY
            h = h if h >= x else x
            h = h if h > 0 and not edge else _NEG
            iy_row[j] = h
            m_left = v
            ix_left = g
            iy_left = h
            t = frm | (gf << 2) | (hf << 4)
            trace[i * w + j] = t
    result[0] = best
    if best == 0:
        return
    # Trace back from the first maximal cell (row-major), preferring M, Ix, Iy.
    i = best_i
    j = best_j
    mat = _FROM_M
    n = 0
    same = 0
    while True:
        t = trace[i * w + j]
        if mat == _FROM_M:
            frm = t & 3
            if frm == _START:
                break
            if ua[i - 1] == ub[j - 1]:
                same += 1
            ops[n] = 0
            i -= 1
            j -= 1
        elif mat == _FROM_IX:
            frm = (t >> 2) & 3
            ops[n] = 1
            i -= 1
        else:
            frm = (t >> 4) & 3
            ops[n] = 2
            j -= 1
        n += 1
        mat = frm
    # reverse the columns into start-to-end order
    lo = 0
    hi = n - 1
    while lo < hi:
        tmp = ops[lo]
        ops[lo] = ops[hi]
        ops[hi] = tmp
        lo += 1
        hi -= 1
    result[1] = i
    result[2] = best_i
    result[3] = j
    result[4] = best_j
    result[5] = same
    result[6] = n


@functools.cache
def gotoh_kernel() -> Any:
    """The compiled kernel (numba-compiled :func:`_gotoh_local_py`), or None without numba."""
    if not AVAILABLE:
        return None
    try:
        numba = importlib.import_module("numba")
    except ImportError:  # pragma: no cover - a broken numba installation
        return None
    return numba.njit(cache=True, nogil=True, boundscheck=False)(_gotoh_local_py)


def gotoh_local(
    a: np.ndarray,
    b: np.ndarray,
    ua: np.ndarray,
    ub: np.ndarray,
    *,
    matrix: np.ndarray | None,
    match: int = 2,
    mismatch: int = -3,
    gap_open: int,
    gap_extend: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Run the kernel (compiled when available, else the Python specification).

    Returns:
        ``(result, ops)``: the int64[7] result and the column operations (see
        :func:`_gotoh_local_py`), ``ops`` cut to the alignment's length.

    Examples:
        >>> codes = np.frombuffer(b"ACGTTGCA", dtype=np.uint8).astype(np.int32)
        >>> res, ops = gotoh_local(codes, codes[1:], codes, codes[1:], matrix=None, gap_open=5, gap_extend=2)
        >>> res.tolist(), ops.tolist()
        ([14, 1, 8, 0, 7, 7, 7], [0, 0, 0, 0, 0, 0, 0])
    """
    kernel = gotoh_kernel() or _gotoh_local_py
    mat = np.zeros((0, 0), dtype=np.int32) if matrix is None else matrix
    ops = np.empty(a.shape[0] + b.shape[0] + 1, dtype=np.int8)
    result = np.zeros(7, dtype=np.int64)
    kernel(a, b, ua, ub, mat, match, mismatch, gap_open, gap_extend, ops, result)
    return result, ops[: int(result[6])]
