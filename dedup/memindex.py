"""An in-memory :class:`dedup.pipeline.CandidateIndex`: a reference set as a compact band table.

The reference is streamed in chunks: each chunk is sketched (:func:`dedup.sketch.sketch_batch`)
and cut into band keys (:func:`dedup.lsh.band_keys`), which are kept as two numpy arrays
(key, reference row) sorted by key, beside the ``uint32`` signatures. A lookup is a
``searchsorted`` per query band key, so memory is about ``12 * bands + 4 * num_perm`` bytes
per distinct reference sequence plus the sequences themselves: Swiss-Prot's 459,503
proteins at 64 x 2 need about 0.9 GB, where a dict of Python lists needed over 4 GB.

Examples:
    >>> from dedup.method import Method
    >>> m = Method(kind="protein")
    >>> idx = MemoryIndex.build([("r1", "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEV"), ("r2", "GGGGSGGGGS")], m)
    >>> len(idx)
    2
    >>> from dedup.sketch import SignatureBatch
    >>> rows, keys, jac = idx.candidates(SignatureBatch.sketch(["MKTAYIAKQRQISFVKSHFSRQLEERLGLIEW"], m.params))
    >>> [idx.name(k) for k in keys], bool(jac[0] > 0.5)
    (['r1'], True)
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence

import numpy as np

from .errors import ParameterMismatchError
from .lsh import band_keys
from .method import Method
from .parsing import sequence_sha256
from .sketch import EMPTY_VALUE, SignatureBatch, sketch_batch

__all__ = ["MemoryIndex"]

#: Reference sequences sketched per chunk while building.
BUILD_CHUNK = 20_000


class MemoryIndex:
    """Reference sequences, one representative identifier per distinct sequence, with their band table."""

    def __init__(self, method: Method) -> None:
        self.method = method
        self.keys: list[str] = []  # representative identifier of each distinct sequence
        self.seqs: list[str] = []
        self._by_sha: dict[str, int] = {}
        self._sig_chunks: list[np.ndarray] = []
        self._band_chunks: list[np.ndarray] = []
        self._signatures = np.empty((0, method.params.num_perm), dtype=np.uint32)
        self._band_keys = np.empty(0, dtype=np.int64)
        self._band_rows = np.empty(0, dtype=np.int32)
        self.records = 0

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def build(
        cls,
        references: Iterable[tuple[str, str]],
        method: Method,
        *,
        sketch: bool = True,
        chunk: int = BUILD_CHUNK,
        say: Callable[[str], None] | None = None,
    ) -> MemoryIndex:
        """Read ``(identifier, normalised sequence)`` pairs in chunks; sketch them unless ``sketch=False``."""
        index = cls(method)
        pending: list[int] = []
        for rid, seq in references:
            index.records += 1
            if not seq:
                continue
            sha = sequence_sha256(seq)
            if sha in index._by_sha:
                continue
            index._by_sha[sha] = len(index.keys)
            index.keys.append(rid)
            index.seqs.append(seq)
            pending.append(len(index.keys) - 1)
            if sketch and len(pending) >= chunk:
                index._add(pending)
                pending = []
                if say:
                    say(f"minhash: sketched {len(index.keys):,} reference sequences")
        if sketch:
            index._add(pending)
            index._freeze()
            if say:
                say(
                    f"minhash: sketched and indexed {len(index.keys):,} reference sequences "
                    f"({method.bands} bands x {method.rows} rows)"
                )
        return index

    def _add(self, rows: list[int]) -> None:
        if not rows:
            return
        sigs = sketch_batch([self.seqs[i] for i in rows], self.method.params)
        self._sig_chunks.append(sigs)
        keys = band_keys(sigs, self.method.bands or 1, self.method.rows or 1)
        empty = (sigs == EMPTY_VALUE).all(axis=1)  # too short for one k-mer: never a candidate
        keys[empty] = 0
        self._band_chunks.append(keys)

    def _freeze(self) -> None:
        if self._sig_chunks:
            self._signatures = np.concatenate(self._sig_chunks)
            keys = np.concatenate(self._band_chunks)
            self._sig_chunks, self._band_chunks = [], []
            n, bands = keys.shape
            rows = np.repeat(np.arange(n, dtype=np.int32), bands)
            flat = keys.reshape(-1)
            empty = np.repeat((self._signatures == EMPTY_VALUE).all(axis=1), bands)
            flat, rows = flat[~empty], rows[~empty]
            order = np.argsort(flat, kind="stable")
            self._band_keys = flat[order]
            self._band_rows = rows[order]

    # -- CandidateIndex --------------------------------------------------------------------------

    def exact(self, shas: Sequence[str]) -> dict[str, Hashable]:
        return {sha: i for sha in shas if (i := self._by_sha.get(sha)) is not None}

    def candidates(
        self, signatures: SignatureBatch | np.ndarray
    ) -> tuple[np.ndarray, list[Hashable], np.ndarray]:
        if isinstance(signatures, SignatureBatch):
            signatures = signatures.check(self.method.params)
        sigs = np.atleast_2d(np.asarray(signatures))
        if sigs.dtype != np.uint32 or sigs.shape[1] != self.method.params.num_perm:
            raise ParameterMismatchError(
                f"expected uint32 signatures of {self.method.params.num_perm} values "
                f"({self.method.params.key()}), got {sigs.dtype} with shape {sigs.shape}"
            )
        empty_rows = (sigs == EMPTY_VALUE).all(axis=1)
        qkeys = band_keys(sigs, self.method.bands or 1, self.method.rows or 1)
        bands = qkeys.shape[1]
        flat = qkeys.reshape(-1)
        qrow = np.repeat(np.arange(len(sigs), dtype=np.int64), bands)
        live = ~np.repeat(empty_rows, bands)
        flat, qrow = flat[live], qrow[live]
        lo = np.searchsorted(self._band_keys, flat, side="left")
        hi = np.searchsorted(self._band_keys, flat, side="right")
        counts = hi - lo
        if not counts.sum():
            return np.empty(0, dtype=np.int64), [], np.empty(0)
        pair_q = np.repeat(qrow, counts)
        starts = np.repeat(lo - np.cumsum(counts) + counts, counts)
        pair_r = self._band_rows[starts + np.arange(counts.sum())].astype(np.int64)
        # Each pair once, in (query, reference row) order.
        code = np.unique(pair_q * len(self.keys) + pair_r)
        pair_q, pair_r = code // len(self.keys), code % len(self.keys)
        jac = (sigs[pair_q] == self._signatures[pair_r]).mean(axis=1)
        return pair_q, [int(r) for r in pair_r.tolist()], jac

    def residues(self, keys: Sequence[Hashable]) -> dict[Hashable, str]:
        return {k: self.seqs[int(k)] for k in keys}  # type: ignore[call-overload]

    def sequences(self) -> Iterable[tuple[Hashable, str]]:
        return enumerate(self.seqs)

    def name(self, key: Hashable) -> str:
        """The representative identifier of a candidate key (a row of this index)."""
        return self.keys[int(key)]  # type: ignore[call-overload]
