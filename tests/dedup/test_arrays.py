"""dedup.arrays gives what np.unique gives, on the kinds of arrays the package passes it."""

import numpy as np
import pytest

from dedup.arrays import first_occurrences, sorted_unique, unique_counts


@pytest.mark.parametrize("dtype", [np.uint64, np.int64, np.int32, np.uint32])
@pytest.mark.parametrize("size", [0, 1, 7, 5_000])
def test_as_np_unique(dtype, size):
    rng = np.random.default_rng(size)
    high = 50 if size < 100 else 2**31 - 1  # repeats, and (mostly) distinct large values
    values = rng.integers(0, high, size=size).astype(dtype)
    values = np.concatenate([values, values[: size // 3]])
    expected, counts = np.unique(values, return_counts=True)
    _values, first = np.unique(values, return_index=True)
    assert np.array_equal(sorted_unique(values), expected) and sorted_unique(values).dtype == dtype
    got, got_counts = unique_counts(values)
    assert np.array_equal(got, expected) and np.array_equal(got_counts, counts)
    assert np.array_equal(first_occurrences(values), values[np.sort(first)])


def test_two_dimensional_input_is_flattened_as_np_unique_does():
    values = np.array([[3, 1], [3, 2]], dtype=np.int64)
    assert sorted_unique(values).tolist() == np.unique(values).tolist() == [1, 2, 3]
