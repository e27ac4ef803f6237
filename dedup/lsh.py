"""LSH banding of MinHash signatures: band keys for a database index, and an in-memory index.

A signature of ``num_perm`` values is cut into ``bands`` bands of ``rows``
consecutive values (values past ``bands * rows`` are unused, as in datasketch).
Two signatures become candidates when they agree on every value of at least one
band; for Jaccard ``s`` that happens with probability ``1 - (1 - s**rows)**bands``.

Band key, precisely (all arithmetic modulo 2**64, ``fmix64`` as in :mod:`dedup.shingle`)::

    x = fmix64((band << 32) | rows)
    for value in signature[band * rows:(band + 1) * rows]:
        x = fmix64(x ^ value)
    key = x interpreted as a signed 64-bit integer (two's complement)

The band index seeds the chain, so the same values in two different bands give
unrelated keys: one ``BIGINT`` column can hold the keys of every band.

Examples:
    >>> from dedup.params import SketchParams
    >>> from dedup.sketch import sketch_batch
    >>> p = SketchParams("protein", 3)
    >>> sigs = sketch_batch(["MKVLAAGIVALLLAAGCSSSK", "MKVLAAGIVALLLAAGCSSSR", "WWWPPPHHHYYY"], p)
    >>> index = LSHIndex(p, threshold=0.5)
    >>> index.add(["a", "b", "c"], sigs)
    >>> sorted(index.query(sigs[0]))
    ['a', 'b']
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

import numpy as np

from dedup.arrays import first_occurrences
from dedup.errors import ParameterMismatchError
from dedup.params import SketchParams

__all__ = ["LSHIndex", "band_keys", "lsh_params"]


def _fmix64(v: np.ndarray) -> np.ndarray:
    v = v ^ (v >> np.uint64(33))
    v = v * np.uint64(0xFF51AFD7ED558CCD)
    v = v ^ (v >> np.uint64(33))
    v = v * np.uint64(0xC4CEB9FE1A85EC53)
    return v ^ (v >> np.uint64(33))


def _collision_probability(s: np.ndarray, b: np.ndarray, r: np.ndarray) -> np.ndarray:
    return 1.0 - (1.0 - s ** r.astype(float)) ** b.astype(float)


@functools.lru_cache(maxsize=256)
def lsh_params(
    threshold: float,
    num_perm: int,
    false_positive_weight: float = 0.5,
    false_negative_weight: float = 0.5,
) -> tuple[int, int]:
    """Bands and rows minimising the weighted false positive and false negative areas.

    The same optimisation as ``datasketch.MinHashLSH`` (``datasketch.lsh._optimal_param``):
    over every ``(b, r)`` with ``b * r <= num_perm``, minimise
    ``fp_weight * integral_0^t P(s) ds + fn_weight * integral_t^1 (1 - P(s)) ds``
    with ``P(s) = 1 - (1 - s**r)**b``; ties keep the smallest ``b``, then ``r``.
    The integrands are polynomials of degree ``b * r <= num_perm``, so a
    Gauss-Legendre rule with ``num_perm // 2 + 1`` nodes integrates them exactly
    (datasketch uses scipy's adaptive ``quad``; the chosen ``(b, r)`` agree).

    Raises:
        ValueError: threshold outside (0, 1), weights not summing to 1, num_perm < 1.

    Examples:
        >>> lsh_params(0.5, 128)
        (25, 5)
        >>> lsh_params(0.9, 128)
        (5, 25)
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be between 0 and 1 (exclusive), got {threshold}")
    if num_perm < 1:
        raise ValueError(f"num_perm must be at least 1, got {num_perm}")
    if abs(false_positive_weight + false_negative_weight - 1.0) > 1e-9:
        raise ValueError("false_positive_weight and false_negative_weight must sum to 1.0")
    pairs = [(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)]
    bs = np.array([p[0] for p in pairs])[:, None]
    rs = np.array([p[1] for p in pairs])[:, None]
    nodes, weights = np.polynomial.legendre.leggauss(num_perm // 2 + 1)
    # Map [-1, 1] onto [0, t] and [t, 1].
    s_fp = (nodes + 1.0) * threshold / 2.0
    s_fn = threshold + (nodes + 1.0) * (1.0 - threshold) / 2.0
    fp = (_collision_probability(s_fp[None, :], bs, rs) * weights).sum(axis=1) * threshold / 2.0
    fn = (
        ((1.0 - _collision_probability(s_fn[None, :], bs, rs)) * weights).sum(axis=1)
        * (1.0 - threshold)
        / 2.0
    )
    error = fp * false_positive_weight + fn * false_negative_weight
    best = int(np.argmin(error))  # first minimum, the order datasketch iterates in
    return pairs[best]


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Signed 64-bit band keys, ``(n, bands)`` int64, of ``(n, num_perm)`` signatures.

    A single signature (1-D) gives a 1-D array of ``bands`` keys.

    Raises:
        ValueError: ``bands * rows`` exceeds the number of hash values.

    Examples:
        >>> sig = np.arange(8, dtype=np.uint32)
        >>> keys = band_keys(sig, 2, 4)
        >>> keys.dtype, keys.shape
        (dtype('int64'), (2,))
        >>> bool(band_keys(np.zeros(8, np.uint32), 2, 4)[0] != band_keys(np.zeros(8, np.uint32), 2, 4)[1])
        True
    """
    sigs = np.asarray(signatures)
    single = sigs.ndim == 1
    sigs = np.atleast_2d(sigs)
    if bands < 1 or rows < 1 or bands * rows > sigs.shape[1]:
        raise ValueError(
            f"bands * rows ({bands} * {rows}) must be between 1 and the number of hash values ({sigs.shape[1]}); "
            "use lsh_params(threshold, num_perm)"
        )
    values = sigs[:, : bands * rows].astype(np.uint64).reshape(sigs.shape[0], bands, rows)
    x = _fmix64((np.arange(bands, dtype=np.uint64) << np.uint64(32)) | np.uint64(rows))
    x = np.broadcast_to(x, (sigs.shape[0], bands))
    for j in range(rows):
        x = _fmix64(x ^ values[:, :, j])
    keys = x.view(np.int64)
    return keys[0] if single else keys


class LSHIndex:
    """An in-memory LSH index of signatures, for library use.

    Args:
        params: sketch params of every signature added or queried.
        threshold: target Jaccard similarity; sets ``bands`` and ``rows`` through
            :func:`lsh_params` unless both are given.
        bands: number of bands (with ``rows``).
        rows: values per band (with ``bands``).

    Raises:
        ValueError: only one of bands and rows given, or ``bands * rows > num_perm``.
    """

    def __init__(
        self, params: SketchParams, threshold: float = 0.5, bands: int | None = None, rows: int | None = None
    ) -> None:
        if (bands is None) != (rows is None):
            raise ValueError("give both bands and rows, or neither (then the threshold chooses them)")
        if bands is None or rows is None:
            bands, rows = lsh_params(threshold, params.num_perm)
        if bands * rows > params.num_perm or bands < 1 or rows < 1:
            raise ValueError(
                f"bands * rows ({bands} * {rows}) must be between 1 and num_perm ({params.num_perm})"
            )
        self.params = params
        self.threshold = threshold
        self.bands = bands
        self.rows = rows
        # Band keys in arrays, not a dict of lists: adding 20,000 signatures of 64 bands took
        # a second of Python dict work. Queries use a stable sort of all keys, built on demand.
        self._keys: list[Hashable] = []
        self._blocks: list[np.ndarray] = []
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def _as_array(self, signatures: Any) -> np.ndarray:
        from dedup.sketch import Signature, SignatureBatch

        if isinstance(signatures, SignatureBatch):
            return signatures.check(self.params)
        if isinstance(signatures, Signature):
            if signatures.params != self.params:
                raise ParameterMismatchError(
                    f"signature made with {signatures.params.key()} given to an index of {self.params.key()}; "
                    "sketch with the index's params"
                )
            signatures = signatures.hashvalues
        arr = np.asarray(signatures)
        if arr.shape[-1] != self.params.num_perm or arr.dtype != np.uint32:
            raise ParameterMismatchError(
                f"expected uint32 signatures of {self.params.num_perm} values ({self.params.key()}), "
                f"got {arr.dtype} with shape {arr.shape}"
            )
        return arr

    def add(self, keys: Sequence[Hashable], signatures: np.ndarray) -> None:
        """Add signatures (``(n, num_perm)`` uint32) under the given keys.

        Raises:
            ValueError: ``len(keys)`` differs from the number of signatures.
            ParameterMismatchError: signatures of another width or dtype.
        """
        sigs = np.atleast_2d(self._as_array(signatures))
        if len(keys) != sigs.shape[0]:
            raise ValueError(f"{len(keys)} keys for {sigs.shape[0]} signatures; give one key per signature")
        self._blocks.append(band_keys(sigs, self.bands, self.rows))
        self._keys.extend(keys)
        self._sorted = None
        self._size += len(keys)

    def _index(self) -> tuple[np.ndarray, np.ndarray]:
        """Every band key, sorted, and the position of the signature it belongs to.

        The sort is stable over keys laid out signature by signature, so the
        signatures of one bucket stay in insertion order.
        """
        if self._sorted is None:
            flat = np.concatenate(self._blocks).ravel() if self._blocks else np.empty(0, dtype=np.int64)
            order = np.argsort(flat, kind="stable")
            self._sorted = (flat[order], (order // self.bands).astype(np.int64))
            self._blocks = [flat.reshape(-1, self.bands)]
        return self._sorted

    def query(self, signature: np.ndarray) -> list[Hashable]:
        """Keys sharing at least one band with the signature, each once, in insertion order.

        Examples:
            >>> from dedup.sketch import sketch_batch
            >>> p = SketchParams("protein", 3)
            >>> index = LSHIndex(p)
            >>> index.query(sketch_batch(["MKV"], p)[0])
            []
        """
        sig = self._as_array(signature)
        if sig.ndim != 1:
            raise ValueError("query takes one signature; use query_batch for several")
        return self._candidates_batch(band_keys(sig, self.bands, self.rows)[None, :])[0]

    def query_batch(self, signatures: np.ndarray) -> list[list[Hashable]]:
        """:meth:`query` for each row of ``(n, num_perm)`` signatures: a list of n candidate lists."""
        sigs = np.atleast_2d(self._as_array(signatures))
        return self._candidates_batch(band_keys(sigs, self.bands, self.rows))

    def iter_pairs(self, signatures: np.ndarray) -> Iterator[tuple[int, Hashable]]:
        """``(query_index, key)`` for every candidate of every query row (streaming form of query_batch)."""
        for i, candidates in enumerate(self.query_batch(signatures)):
            for key in candidates:
                yield i, key

    def _candidates_batch(self, rows: np.ndarray) -> list[list[Hashable]]:
        """Candidates of each row of band keys: bands in order, each bucket in insertion order, each key once."""
        keys, owners = self._index()
        lo = np.searchsorted(keys, rows, side="left")
        hi = np.searchsorted(keys, rows, side="right")
        out: list[list[Hashable]] = []
        for lo_row, hi_row in zip(lo.tolist(), hi.tolist(), strict=True):
            parts = [owners[a:b] for a, b in zip(lo_row, hi_row, strict=True) if b > a]
            if not parts:
                out.append([])
                continue
            found = np.concatenate(parts)
            out.append([self._keys[i] for i in first_occurrences(found).tolist()])
        return out
