"""MinHash signatures, identical to ``datasketch.MinHash``, computed in batches.

A signature is datasketch 2.0's ``affine32`` MinHash of a sequence's shingle
hashes (:mod:`dedup.shingle`): every 32-bit shingle hash ``h`` is pre-mixed with
MurmurHash3's ``fmix32``, then for each permutation ``i`` the signature keeps
``min(a[i] * fmix32(h) + b[i] mod 2**32)`` over the shingles, where ``a`` and
``b`` are drawn exactly as datasketch draws them from
``numpy.random.RandomState(seed)``. So for every sequence ``s``::

    m = datasketch.MinHash(num_perm=p.num_perm, seed=p.seed, scheme=p.scheme,
                           hashfunc=dedup.shingle.hashfunc(p))
    m.update_batch(dedup.shingle.shingles(s, p))
    assert (m.hashvalues == sketch(s, p).hashvalues).all()

An empty sequence (no shingles) has every value ``0xFFFFFFFF``, like an empty
datasketch MinHash; two empty signatures estimate a Jaccard of 1.0, so callers
should leave empty sequences out of overlap searches.

:func:`sketch_batch` uses a compiled kernel (:mod:`dedup._kernels`, numba) for
protein, DNA and RNA when numba is installed, and a vectorised numpy path
otherwise; both give identical values.

Examples:
    >>> from dedup.params import SketchParams
    >>> p = SketchParams.default("protein")
    >>> a = sketch("MKVLAAGIVALLLAAGCSSSKEETLKSLGEK", p)
    >>> b = sketch("MKVLAAGIVALLLAAGCSSSKEETLKSLGEQ", p)
    >>> 0.6 < a.jaccard(b) < 1.0
    True
    >>> Signature.from_bytes(a.to_bytes()) == a
    True
"""

from __future__ import annotations

import functools
import itertools
import struct
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from dedup import _kernels
from dedup.errors import ParameterMismatchError
from dedup.parallel import parallel_map, resolve_threads
from dedup.params import SketchParams
from dedup.shingle import NUCLEOTIDE_CODES, PROTEIN_CODES, batch_shingle_hashes

__all__ = [
    "Signature",
    "SignatureBatch",
    "estimate_jaccard",
    "permutations",
    "sketch",
    "sketch_batch",
    "sketch_chunks",
]

EMPTY_VALUE = 0xFFFFFFFF
_MAGIC = b"LLMH"
_FORMAT_VERSION = 1
_HEADER = struct.Struct("<4sBB")  # magic, format version, length of the params key
# Sequences per kernel call inside sketch_batch: bounds the temporary byte buffer.
_KERNEL_BATCH = 32768
# Shingle rows per numpy block: block x num_perm uint32 temporaries (8 MiB at 128).
_NUMPY_BLOCK = 16384


@functools.lru_cache(maxsize=32)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``affine32`` permutation parameters ``(a, b)``, as datasketch 2.0 draws them.

    Examples:
        >>> import datasketch
        >>> a, b = permutations(128, 1)
        >>> bool((datasketch.MinHash(num_perm=128, seed=1).permutations == [a, b]).all())
        True
    """
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    a.setflags(write=False)
    b.setflags(write=False)
    return a, b


class Signature:
    """One sequence's MinHash signature, with the params that made it.

    Args:
        params: the sketch parameters.
        hashvalues: ``params.num_perm`` hash values (converted to uint32).

    Raises:
        ParameterMismatchError: the number of values is not ``params.num_perm``.
    """

    __slots__ = ("hashvalues", "params")

    def __init__(self, params: SketchParams, hashvalues: Any) -> None:
        values = np.ascontiguousarray(hashvalues, dtype=np.uint32)
        if values.shape != (params.num_perm,):
            raise ParameterMismatchError(
                f"a signature for {params.key()} needs {params.num_perm} hash values, got shape {values.shape}; "
                "pass the params the values were computed with"
            )
        self.params = params
        self.hashvalues = values

    def __repr__(self) -> str:
        return f"Signature({self.params.key()!r}, {self.hashvalues[:4].tolist()}...)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Signature):
            return NotImplemented
        return self.params == other.params and bool(np.array_equal(self.hashvalues, other.hashvalues))

    __hash__ = None  # type: ignore[assignment]  # mutable numpy payload

    def _check(self, other: Signature) -> None:
        if self.params != other.params:
            raise ParameterMismatchError(
                f"cannot compare signatures of different params: {self.params.key()} vs {other.params.key()}; "
                "sketch both sequences with the same SketchParams"
            )

    def jaccard(self, other: Signature) -> float:
        """Estimated Jaccard similarity of the two shingle sets.

        Raises:
            ParameterMismatchError: the signatures were made with different params.

        Examples:
            >>> p = SketchParams("protein", 3)
            >>> sketch("MKVLAAGIV", p).jaccard(sketch("MKVLAAGIV", p))
            1.0
        """
        self._check(other)
        return float(np.count_nonzero(self.hashvalues == other.hashvalues)) / self.params.num_perm

    def to_bytes(self) -> bytes:
        """Compact serialisation: header, params key, little-endian uint32 values.

        Layout: ``b"LLMH"``, format version (1 byte, currently 1), key length
        (1 byte), the ASCII params key, then ``num_perm`` uint32 little-endian.

        Examples:
            >>> len(sketch("MKVLA", SketchParams("protein", 5, num_perm=16)).to_bytes())
            110
        """
        key = self.params.key().encode("ascii")
        return _HEADER.pack(_MAGIC, _FORMAT_VERSION, len(key)) + key + self.hashvalues.astype("<u4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        """Read a signature written by :meth:`to_bytes`.

        Raises:
            ValueError: the data is not a serialised signature of a known format version.
        """
        if len(data) < _HEADER.size or data[:4] != _MAGIC:
            raise ValueError(
                "not a serialised dedup Signature (bad magic); pass bytes made by Signature.to_bytes()"
            )
        _magic, version, key_len = _HEADER.unpack_from(data)
        if version != _FORMAT_VERSION:
            raise ValueError(
                f"Signature format version {version} is not supported (this library reads version 1)"
            )
        key_end = _HEADER.size + key_len
        params = SketchParams.from_key(data[_HEADER.size : key_end].decode("ascii"))
        if len(data) != key_end + 4 * params.num_perm:
            raise ValueError(
                f"serialised Signature is {len(data)} bytes, expected {key_end + 4 * params.num_perm} "
                f"for {params.key()}; the data is truncated or corrupt"
            )
        return cls(params, np.frombuffer(data, dtype="<u4", offset=key_end).astype(np.uint32))

    def to_datasketch(self) -> Any:
        """This signature as a ``datasketch.LeanMinHash`` (same seed, scheme and values).

        Examples:
            >>> lean = sketch("MKVLA", SketchParams("protein", 3)).to_datasketch()
            >>> lean.scheme, lean.seed
            ('affine32', 1)
        """
        from datasketch import LeanMinHash

        return LeanMinHash(seed=self.params.seed, hashvalues=self.hashvalues, scheme=self.params.scheme)

    @classmethod
    def from_datasketch(cls, m: Any, params: SketchParams) -> Signature:
        """Wrap a ``datasketch.MinHash``/``LeanMinHash`` made with ``params``.

        The caller vouches that ``m`` was updated with :func:`dedup.shingle.shingles`
        and :func:`dedup.shingle.hashfunc` of ``params``; seed, scheme and size are checked.

        Raises:
            ParameterMismatchError: seed, scheme or number of permutations differ from ``params``.
        """
        scheme = getattr(m, "scheme", None)
        if m.seed != params.seed or scheme != params.scheme or len(m.hashvalues) != params.num_perm:
            raise ParameterMismatchError(
                f"datasketch MinHash (seed={m.seed}, scheme={scheme!r}, num_perm={len(m.hashvalues)}) does not "
                f"match {params.key()}; create it with MinHash(num_perm={params.num_perm}, seed={params.seed}, "
                f"scheme={params.scheme!r}, hashfunc=dedup.shingle.hashfunc(params))"
            )
        return cls(params, m.hashvalues)


class SignatureBatch:
    """Signatures of many sequences, ``(n, num_perm)`` uint32 (read-only), with the params that made them.

    What travels between sketching, an LSH index and a Jaccard estimate: :class:`dedup.lsh.LSHIndex`,
    :class:`dedup.memindex.MemoryIndex` and :func:`estimate_jaccard` refuse a batch made with other
    params (not only another width).

    Args:
        params: the sketch parameters.
        values: the hash values, one row per sequence.

    Raises:
        ParameterMismatchError: the values are not ``(n, params.num_perm)``.

    Examples:
        >>> p = SketchParams("protein", 3)
        >>> batch = SignatureBatch.sketch(["MKVLAAGIV", "MKVLAAGIW"], p)
        >>> len(batch), batch.values.shape, batch[0] == sketch("MKVLAAGIV", p)
        (2, (2, 128), True)
        >>> batch.values[0, 0] = 1
        Traceback (most recent call last):
        ...
        ValueError: assignment destination is read-only
    """

    __slots__ = ("params", "values")
    params: SketchParams
    values: np.ndarray

    def __init__(self, params: SketchParams, values: Any) -> None:
        arr = np.array(values, dtype=np.uint32, copy=None, order="C")
        if arr.ndim != 2 or arr.shape[1] != params.num_perm:
            raise ParameterMismatchError(
                f"a signature batch for {params.key()} needs (n, {params.num_perm}) hash values, got shape "
                f"{arr.shape}; pass the params the values were computed with"
            )
        if arr.flags.writeable:
            arr = arr.copy() if arr.base is not None else arr
            arr.flags.writeable = False
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "values", arr)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a SignatureBatch is frozen")

    @classmethod
    def sketch(
        cls, sequences: Sequence[str], params: SketchParams, *, threads: int | None = 1
    ) -> SignatureBatch:
        """Sketch sequences into a batch (:func:`sketch_batch`, on ``threads`` threads)."""
        return cls(params, sketch_batch(sequences, params, threads=threads))

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def __getitem__(self, i: int) -> Signature:
        return Signature(self.params, self.values[i])

    def __repr__(self) -> str:
        return f"SignatureBatch({self.params.key()!r}, {len(self)} signatures)"

    def check(self, params: SketchParams) -> np.ndarray:
        """The values, after checking they were made with ``params``.

        Raises:
            ParameterMismatchError: the batch was sketched with other params.
        """
        if self.params != params:
            raise ParameterMismatchError(
                f"signatures made with {self.params.key()} given where {params.key()} is needed; "
                "sketch with the same SketchParams"
            )
        return self.values


def sketch(sequence: str, params: SketchParams) -> Signature:
    """The MinHash signature of one sequence.

    Examples:
        >>> sig = sketch("ACGTACGTTTGA", SketchParams("dna", 5))
        >>> sig == sketch("TCAAACGTACGT", SketchParams("dna", 5))  # reverse complement
        True
    """
    return Signature(params, sketch_batch([sequence], params)[0])


def sketch_batch(
    sequences: Sequence[str], params: SketchParams, *, backend: str = "auto", threads: int | None = 1
) -> np.ndarray:
    """MinHash signatures of many sequences as a ``(len(sequences), num_perm)`` uint32 array.

    Args:
        sequences: normalised sequences (str).
        params: sketch parameters.
        backend: ``"auto"`` (compiled kernel when available), ``"numba"`` or ``"numpy"``.
        threads: threads the compiled kernel runs on (``None``: every CPU); each
            thread sketches its own slice of the sequences, so the values do not
            depend on it. The numpy path always uses one.

    Raises:
        ValueError: ``backend="numba"`` but numba is not installed, or an unknown backend.

    Examples:
        >>> sigs = sketch_batch(["MKVLAAGIV", "MKVLAAGIV", ""], SketchParams("protein", 3))
        >>> sigs.shape, bool((sigs[0] == sigs[1]).all()), bool((sigs[2] == 0xFFFFFFFF).all())
        ((3, 128), True, True)
    """
    if backend not in ("auto", "numba", "numpy"):
        raise ValueError(f"backend must be 'auto', 'numba' or 'numpy', got {backend!r}")
    if backend == "numba" and not _kernels.AVAILABLE:
        raise ValueError("backend='numba' needs the numba package; install it or use backend='numpy'")
    if not isinstance(sequences, Sequence) or isinstance(sequences, str):
        sequences = list(sequences) if not isinstance(sequences, str) else [sequences]
    out = np.full((len(sequences), params.num_perm), EMPTY_VALUE, dtype=np.uint32)
    a, b = permutations(params.num_perm, params.seed)
    kernel = _kernels.minhash_kernel() if params.kind != "text" and backend != "numpy" else None
    if backend == "numba" and kernel is None and params.kind != "text":
        raise ValueError("backend='numba' needs a working numba installation; use backend='numpy'")
    if kernel is None:
        for lo in range(0, len(sequences), 4096):
            chunk = sequences[lo : lo + 4096]
            hashes, offsets = batch_shingle_hashes(chunk, params)
            _minhash_numpy(hashes, offsets, a, b, out[lo : lo + len(chunk)])
        return out
    n_threads = resolve_threads(threads)
    # Slices small enough to share the work out evenly, large enough to amortise a kernel call.
    step = (
        _KERNEL_BATCH
        if n_threads == 1
        else max(256, min(_KERNEL_BATCH, -(-len(sequences) // (4 * n_threads))))
    )
    slices = [(lo, min(lo + step, len(sequences))) for lo in range(0, len(sequences), step)]

    def run(bounds: tuple[int, int]) -> None:
        lo, hi = bounds
        _sketch_kernel(kernel, sequences[lo:hi], params, a, b, out[lo:hi])

    if slices:
        run(slices[0])  # the first call loads (or compiles) the kernel, once, in this thread
    parallel_map(run, slices[1:], n_threads)
    return out


def sketch_chunks(
    sequences: Iterable[str], params: SketchParams, chunk_size: int = 4096, *, threads: int | None = 1
) -> Iterator[np.ndarray]:
    """Stream signatures in ``(<= chunk_size, num_perm)`` arrays with bounded memory.

    Examples:
        >>> [c.shape for c in sketch_chunks(iter(["MKV"] * 5), SketchParams("protein", 2), chunk_size=2)]
        [(2, 128), (2, 128), (1, 128)]
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    it = iter(sequences)
    while chunk := list(itertools.islice(it, chunk_size)):
        yield sketch_batch(chunk, params, threads=threads)


def estimate_jaccard(a: Any, b: Any) -> float | np.ndarray:
    """Estimated Jaccard: the fraction of equal hash values (row-wise for 2-D input).

    ``a`` and ``b`` are arrays, :class:`Signature` or :class:`SignatureBatch`; two that carry
    their params must carry the same.

    Raises:
        ParameterMismatchError: the signatures have different numbers of values, or different params.

    Examples:
        >>> p = SketchParams("protein", 3)
        >>> s = sketch_batch(["MKVLAAGIV", "MKVLAAGIW"], p)
        >>> estimate_jaccard(s[0], s[0])
        1.0
        >>> estimate_jaccard(s, s[0]).shape
        (2,)
    """
    params = [x.params for x in (a, b) if isinstance(x, (Signature, SignatureBatch))]
    if len(params) == 2 and params[0] != params[1]:
        raise ParameterMismatchError(
            f"cannot compare signatures of different params: {params[0].key()} vs {params[1].key()}; "
            "sketch both with the same SketchParams"
        )
    a = _values(a)
    b = _values(b)
    if a.shape[-1:] != b.shape[-1:]:
        raise ParameterMismatchError(
            f"signatures of {a.shape[-1:]} and {b.shape[-1:]} values cannot be compared; "
            "sketch both with the same SketchParams"
        )
    result = np.mean(a == b, axis=-1)
    if np.ndim(result) == 0:
        return float(result)
    return result


def _values(x: Any) -> np.ndarray:
    if isinstance(x, Signature):
        return x.hashvalues
    if isinstance(x, SignatureBatch):
        return x.values
    return np.asarray(x)


def _sketch_kernel(
    kernel: Any, sequences: Sequence[str], params: SketchParams, a: np.ndarray, b: np.ndarray, out: np.ndarray
) -> None:
    encoded = [s.encode("ascii", "replace") for s in sequences]
    starts = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=starts[1:])
    buf = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    nucleotide = params.kind != "protein"
    table = NUCLEOTIDE_CODES if nucleotide else PROTEIN_CODES
    kernel(buf, starts, table, nucleotide, params.k, a, b, out)


def _fmix32(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def _minhash_numpy(
    hashes: np.ndarray, offsets: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray
) -> None:
    """Per-sequence minimum of ``a * fmix32(h) + b`` in row blocks of bounded size."""
    hv = _fmix32(hashes.astype(np.uint32, copy=False))
    seg_start = offsets[:-1]
    seg_end = offsets[1:]
    for lo in range(0, hv.size, _NUMPY_BLOCK):
        hi = min(lo + _NUMPY_BLOCK, hv.size)
        first = int(np.searchsorted(seg_end, lo, side="right"))
        last = int(np.searchsorted(seg_start, hi, side="left"))
        idx = np.arange(first, last)
        idx = idx[seg_end[idx] > seg_start[idx]]
        phv = hv[lo:hi, None] * a + b
        red = np.minimum.reduceat(phv, np.maximum(seg_start[idx], lo) - lo, axis=0)
        out[idx] = np.minimum(out[idx], red)
