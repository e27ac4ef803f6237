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

Each row is filled in three loops: ``M`` and ``Ix`` (which depend on the previous row
only) in one loop without a loop-carried dependency, which the compiler turns into SIMD
code; ``Iy`` (which depends on the cell to its left) as a running maximum along the row,
the one sequential loop; and ``Iy``'s values and traceback bits in a third vectorisable
loop. The values, the traceback and so the alignment are those of the cell-by-cell
recurrence above (``benchmarks/README.md``, "Verification": 3-4x fewer nanoseconds per
cell than the cell-by-cell loop).

The Python body is the specification; numba compiles it (``nogil``, so threads
align pairs in parallel) and caches the machine code on disk like
:mod:`dedup._kernels`.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from dedup import _kernels

__all__ = ["AVAILABLE", "gotoh_kernel", "gotoh_local"]

#: True when the compiled kernel can be used (numba importable and not disabled).
AVAILABLE = _kernels.AVAILABLE

_NO_BIAS = np.zeros(0, dtype=np.int32)  # no composition-bias correction
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
    qbias: np.ndarray,
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
        qbias: int32 score added to every substitution at each query position (one per
            residue of ``a``: a composition-bias correction), or empty for none.
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
    w = nb + 1
    go = np.int32(gap_open)
    ge = np.int32(gap_extend)
    neg = np.int32(_NEG)
    zero = np.int32(0)
    trace = np.empty((na + 1) * w, dtype=np.uint8)
    # Substitution scores by query residue (a query profile of the reference): row ``c`` holds
    # the score of residue code ``c`` against every reference residue, so that the inner loop
    # reads a contiguous row instead of looking scores up residue by residue.
    if matrix.shape[0] > 0:
        prof = np.empty((matrix.shape[0], w), dtype=np.int32)
        for c in range(matrix.shape[0]):
            prof[c, 0] = 0
            for j in range(1, w):
                prof[c, j] = matrix[c, b[j - 1]]
    else:
        prof = np.empty((1, w), dtype=np.int32)
    srow = np.zeros(w, dtype=np.int32)
    run = np.empty(w, dtype=np.int32)
    ramp = np.arange(w, dtype=np.int32) * ge  # j * gap_extend
    # Two rows of each matrix: the previous row (i - 1) and this one (i), swapped every row.
    m_prev = np.zeros(w, dtype=np.int32)
    x_prev = np.full(w, neg, dtype=np.int32)
    y_prev = np.full(w, neg, dtype=np.int32)
    m_cur = np.zeros(w, dtype=np.int32)
    x_cur = np.full(w, neg, dtype=np.int32)
    y_cur = np.full(w, neg, dtype=np.int32)
    best = 0
    best_i = 0
    best_j = 0
    for j in range(w):
        trace[j] = _START
    has_bias = qbias.shape[0] > 0
    for i in range(1, na + 1):
        ai = a[i - 1]
        bi = np.int32(qbias[i - 1]) if has_bias else zero
        if matrix.shape[0] > 0:
            s_row = prof[ai]
        else:
            for j in range(1, w):
                srow[j] = np.int32(match) if ai == b[j - 1] else np.int32(mismatch)
            s_row = srow
        open_ok = i != na  # gaps are not opened in the last row (nor in the last column, below)
        tr = trace[i * w : (i + 1) * w]
        tr[0] = _START
        m_cur[0] = zero
        x_cur[0] = neg
        y_cur[0] = neg
        row_max = zero
        # M and Ix of the whole row depend on the previous row only: one loop without a
        # loop-carried dependency (selects, no branches), which the compiler vectorises.
        for j in range(1, w):
            dm = m_prev[j - 1]
            dx = x_prev[j - 1]
            dy = y_prev[j - 1]
            # M: best diagonal predecessor, M first on ties, then Ix, then Iy; 0 (a start) if not positive
            c1 = dm >= dx
            v = dm if c1 else dx
            frm = np.uint8(_FROM_M) if c1 else np.uint8(_FROM_IX)
            c2 = v >= dy
            frm = frm if c2 else np.uint8(_FROM_IY)
            v = np.int32((v if c2 else dy) + s_row[j] + bi)
            pos = v > zero
            frm = frm if pos else np.uint8(_START)
            v = v if pos else zero
            m_cur[j] = v
            row_max = v if v > row_max else row_max
            # Ix: a query residue against a gap, from row i-1
            g = np.int32(m_prev[j] - go)
            x = np.int32(x_prev[j] - ge)
            c3 = g >= x
            gf = np.uint8(_FROM_M) if c3 else np.uint8(_FROM_IX)
            g = g if c3 else x
            x = np.int32(y_prev[j] - go)
            c4 = g >= x
            gf = gf if c4 else np.uint8(_FROM_IY)
            g = g if c4 else x
            g = g if (g > zero and open_ok) else neg
            x_cur[j] = g
            tr[j] = frm | (gf << np.uint8(2))
        x_cur[nb] = neg
        # Iy: a reference residue against a gap, from column j-1 of this row. Its recurrence
        # u(j) = max(e(j), u(j-1) - gap_extend), e(j) = max(M(i, j-1), Ix(i, j-1)) - gap_open, is
        # u(j) = max over k <= j of (e(k) + k * gap_extend) - j * gap_extend: a running maximum
        # along the row (the one sequential loop), between two loops the compiler vectorises. A
        # cell is valid where u(j) > 0 (a non-positive u can never lead to a positive one), which
        # gives the same values as clamping every invalid cell to _NEG on the way.
        run[0] = neg
        for j in range(1, w):
            e = (m_cur[j - 1] if m_cur[j - 1] >= x_cur[j - 1] else x_cur[j - 1]) - go
            run[j] = np.int32(e + ramp[j])
        top = neg
        for j in range(1, w):
            top = run[j] if run[j] > top else top
            run[j] = top
        for j in range(1, w):
            h = np.int32(run[j] - ramp[j])
            y_cur[j] = h if (h > zero and open_ok) else neg
            # the traceback byte: Iy's predecessor, M first on ties, then Ix, then Iy (from the
            # left cell's Iy value, _NEG where that cell is invalid)
            dm = m_cur[j - 1]
            dx = x_cur[j - 1]
            c5 = dm >= dx
            hf = np.uint8(_FROM_M) if c5 else np.uint8(_FROM_IX)
            e = np.int32((dm if c5 else dx) - go)
            u_left = np.int32(run[j - 1] - ramp[j - 1])
            h_left = u_left if (u_left > zero and open_ok) else neg
            hf = hf if e >= np.int32(h_left - ge) else np.uint8(_FROM_IY)
            tr[j] |= hf << np.uint8(4)
        y_cur[0] = neg
        y_cur[nb] = neg
        # the alignment ends at the first maximal cell in row-major order
        if row_max > best:
            best = int(row_max)
            best_i = i
            for j in range(1, w):
                if m_cur[j] == row_max:
                    best_j = j
                    break
        m_prev, m_cur = m_cur, m_prev
        x_prev, x_cur = x_cur, x_prev
        y_prev, y_cur = y_cur, y_prev
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
    return _kernels.jit(_gotoh_local_py)


def gotoh_local(
    a: np.ndarray,
    b: np.ndarray,
    ua: np.ndarray,
    ub: np.ndarray,
    *,
    matrix: np.ndarray | None,
    qbias: np.ndarray | None = None,
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
    bias = _NO_BIAS if qbias is None else qbias
    ops = np.empty(a.shape[0] + b.shape[0] + 1, dtype=np.int8)
    result = np.zeros(7, dtype=np.int64)
    kernel(a, b, ua, ub, mat, bias, match, mismatch, gap_open, gap_extend, ops, result)
    return result, ops[: int(result[6])]
