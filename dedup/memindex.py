"""An in-memory :class:`dedup.pipeline.CandidateIndex`: a reference set as a compact band table.

The reference is streamed in chunks: each chunk is sketched (:func:`dedup.sketch.sketch_batch`)
and cut into band keys (:func:`dedup.lsh.band_keys`), which are kept per chunk as two numpy
arrays (key, reference row) sorted by key, beside the chunk's ``uint32`` signatures. A lookup
is a ``searchsorted`` per query band key and chunk, so memory is about
``12 * bands + 4 * num_perm`` bytes per distinct reference sequence plus the sequences
themselves, and building never concatenates or sorts more than one chunk.

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

import threading
from collections.abc import Callable, Hashable, Iterable, Sequence
from concurrent.futures import Future

import numpy as np

from . import _kernels
from .containment import SeedIndex
from .errors import ParameterMismatchError
from .lsh import band_keys
from .method import Method
from .parallel import resolve_threads
from .params import SketchParams
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
        self._by_sha: dict[bytes, int] = {}
        # One sorted band table per build chunk (no global concatenation or sort: the peak memory
        # stays that of the tables plus one chunk), with that chunk's signatures.
        self._chunks: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []  # offset, keys, rows, sigs
        self.records = 0
        self.threads: int | None = 1
        self._seeds: dict[str, SeedIndex] = {}  # the containment tier's seed table, by sketch params
        self._seeds_building: dict[str, Future[SeedIndex]] = {}  # started by build(), not yet taken

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def n_records(self) -> int:
        """Reference records read (repeats of a sequence included)."""
        return self.records

    @classmethod
    def build(
        cls,
        references: Iterable[tuple[str, str]],
        method: Method,
        *,
        sketch: bool = True,
        chunk: int = BUILD_CHUNK,
        say: Callable[[str], None] | None = None,
        threads: int | None = 1,
    ) -> MemoryIndex:
        """Read ``(identifier, normalised sequence)`` pairs in chunks; sketch them unless ``sketch=False``.

        ``threads`` sketch each chunk (``None``: every CPU); the index does not depend on it.
        With more than one thread and the containment tier in the method, the containment
        tier's seed table is built on a thread of its own as soon as the sequences are read,
        while the reference is sketched and the MinHash tier runs (the compiled kernels release
        the GIL); :meth:`seed_index` waits for it. The table is the same either way.
        """
        index = cls(method)
        index.threads = threads
        pending: list[int] = []
        for rid, seq in references:
            index.records += 1
            if not seq:
                continue
            sha = bytes.fromhex(sequence_sha256(seq))
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
        if "containment" in method.tiers and resolve_threads(threads) > 1 and index.seqs:
            index._start_seed_index(method.params)
        if sketch:
            index._add(pending)
            if say:
                say(
                    f"minhash: sketched and indexed {len(index.keys):,} reference sequences "
                    f"({method.bands} bands x {method.rows} rows)"
                )
        return index

    def _add(self, rows: list[int]) -> None:
        if not rows:
            return
        sigs = sketch_batch([self.seqs[i] for i in rows], self.method.params, threads=self.threads)
        keys = band_keys(sigs, self.method.bands or 1, self.method.rows or 1)
        bands = keys.shape[1]
        local = np.repeat(np.arange(len(rows), dtype=np.int32), bands)
        live = ~np.repeat(
            (sigs == EMPTY_VALUE).all(axis=1), bands
        )  # too short for a k-mer: never a candidate
        flat, local = keys.reshape(-1)[live], local[live]
        order = np.argsort(flat, kind="stable")
        self._chunks.append((rows[0], flat[order], local[order], sigs))

    # -- CandidateIndex --------------------------------------------------------------------------

    def exact(self, shas: Sequence[str]) -> dict[str, Hashable]:
        return {sha: i for sha in shas if (i := self._by_sha.get(bytes.fromhex(sha))) is not None}

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
        qkeys = band_keys(sigs, self.method.bands or 1, self.method.rows or 1)
        bands = qkeys.shape[1]
        qrow = np.repeat(np.arange(len(sigs), dtype=np.int64), bands)
        live = ~np.repeat((sigs == EMPTY_VALUE).all(axis=1), bands)
        flat, qrow = qkeys.reshape(-1)[live], qrow[live]
        out_q, out_r, out_j = [], [], []
        for offset, table, local, chunk_sigs in self._chunks:
            lo = np.searchsorted(table, flat, side="left")
            hi = np.searchsorted(table, flat, side="right")
            counts = hi - lo
            total = int(counts.sum())
            if not total:
                continue
            pair_q = np.repeat(qrow, counts)
            starts = np.repeat(lo - np.cumsum(counts) + counts, counts)
            pair_r = local[starts + np.arange(total)].astype(np.int64)
            width = len(chunk_sigs)
            code = np.unique(pair_q * width + pair_r)  # each pair once, in (query, reference) order
            pair_q, pair_r = code // width, code % width
            out_q.append(pair_q)
            out_r.append(pair_r + offset)
            out_j.append((sigs[pair_q] == chunk_sigs[pair_r]).mean(axis=1))
        if not out_q:
            return np.empty(0, dtype=np.int64), [], np.empty(0)
        q, r, j = np.concatenate(out_q), np.concatenate(out_r), np.concatenate(out_j)
        order = np.lexsort((r, q))
        return q[order], [int(x) for x in r[order].tolist()], j[order]

    def residues(self, keys: Sequence[Hashable]) -> dict[Hashable, str]:
        return {k: self.seqs[int(k)] for k in keys}  # type: ignore[call-overload]

    def sequences(self) -> Iterable[tuple[Hashable, str]]:
        return enumerate(self.seqs)

    def seed_index(self, params: SketchParams) -> tuple[SeedIndex, Sequence[Hashable]]:
        """The containment tier's k-mer table of the reference sequences (built once, then cached).

        Seed row ``i`` is the reference of key ``i``.
        """
        key = params.key()
        building = self._seeds_building.pop(key, None)
        if building is not None:
            self._seeds[key] = building.result()
        if key not in self._seeds:
            self._seeds[key] = SeedIndex.build(self.seqs, params)
        return self._seeds[key], range(len(self.seqs))

    def _start_seed_index(self, params: SketchParams) -> None:
        """Build the seed table of the sequences read so far on a thread of its own."""
        if _kernels.AVAILABLE:
            _kernels.import_numba()  # here: the first import of numba is not made in the new thread
        future: Future[SeedIndex] = Future()
        seqs = list(self.seqs)

        def build() -> None:
            try:
                future.set_result(SeedIndex.build(seqs, params))
            except BaseException as err:  # handed to whoever calls seed_index()
                future.set_exception(err)

        # A daemon thread: a process whose queries all found hits before the containment tier
        # exits without waiting for a table nobody asked for.
        threading.Thread(target=build, name="dedup-seeds", daemon=True).start()
        self._seeds_building[params.key()] = future

    def name(self, key: Hashable) -> str:
        """The representative identifier of a candidate key (a row of this index)."""
        return self.keys[int(key)]  # type: ignore[call-overload]
