"""An in-memory :class:`dedup.pipeline.CandidateIndex`: a reference set as a compact band table.

The reference is streamed in chunks: each chunk is sketched (:func:`dedup.sketch.sketch_batch`)
and cut into band keys (:func:`dedup.lsh.band_keys`), which are kept per chunk as two numpy
arrays (key, reference row) sorted by key, beside the chunk's ``uint32`` signatures. A lookup
is a ``searchsorted`` per query band key and chunk, so memory is about
``12 * bands + 4 * num_perm`` bytes per distinct reference sequence plus the sequences
themselves, and building never concatenates or sorts more than one chunk.

When the queries are known before the reference is read (``build(queries=...)``, what
:func:`dedup.find_overlap` does), only the band keys that some query holds are kept, with the
signatures of the references that hold one, and the containment tier's seed table indexes only
the buckets of the queries it searches (:meth:`seed_index`): the lookups of those queries are
the same, and on DeepLoc's test set against Swiss-Prot (459,503 references) the band table holds
13 MB instead of 472 MB and the seed table 123 MB instead of 598 MB. Such an index refuses
queries it was not built for.

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
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from .arrays import sorted_unique
from .containment import SeedIndex, _bitset, _in_bitset  # one bitset for both tables
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
#: Low bits of a band key in the query-key bitset (2**24 bits, 2 MB: few false positives).
_FILTER_BITS = 24
_FILTER_MASK = (1 << _FILTER_BITS) - 1


class MemoryIndex:
    """Reference sequences, one representative identifier per distinct sequence, with their band table."""

    def __init__(self, method: Method) -> None:
        self.method = method
        self.keys: list[str] = []  # representative identifier of each distinct sequence
        self.seqs: list[str] = []
        self._by_sha: dict[bytes, int] = {}
        # One sorted band table per build chunk (no global concatenation or sort: the peak memory
        # stays that of the tables plus one chunk): keys, the position of each key's reference in
        # the chunk's kept signatures, and the index row of each kept signature.
        self._chunks: list[
            tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
        ] = []  # keys, local, rows, sigs
        self.records = 0
        self.threads: int | None = 1
        # Sorted distinct band keys of the queries the index was built for (None: any query), and
        # a bitset of their low _FILTER_BITS bits (a quick first test before the exact one).
        self._query_keys: np.ndarray | None = None
        self._query_filter: np.ndarray | None = None
        self._seeds: dict[str, SeedIndex] = {}  # the containment tier's seed table, by sketch params

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
        queries: Sequence[str] | None = None,
    ) -> MemoryIndex:
        """Read ``(identifier, normalised sequence)`` pairs in chunks; sketch them unless ``sketch=False``.

        ``threads`` sketch each chunk (``None``: every CPU); the index does not depend on it.
        With more than one, a chunk is sketched on a thread of its own while the next one is
        read (the sketch kernel releases the GIL; the chunks are added in their order).
        ``queries``: the normalised query sequences the index will be asked about, if known.
        Then only the band keys they hold are kept (and the signatures of the references
        holding one): :meth:`candidates` of those queries, or of any of them, is the same as
        without ``queries``, and other queries are refused.
        """
        index = cls(method)
        index.threads = threads
        if queries is not None and sketch:
            qsigs = SignatureBatch.sketch(list(queries), method.params, threads=threads).values
            index._query_keys = sorted_unique(index._live_keys(qsigs)[0])
            index._query_filter = _bitset((index._query_keys & _FILTER_MASK).astype(np.int64), _FILTER_BITS)
        pending: list[int] = []
        background = (
            ThreadPoolExecutor(1, "dedup-sketch") if sketch and resolve_threads(threads) > 1 else None
        )
        added: list[Future[None]] = []

        def add(rows: list[int]) -> None:
            if background is None:
                index._add(rows)
                return
            while len(added) > 1:  # at most two chunks waiting: bounded memory
                added.pop(0).result()
            added.append(background.submit(index._add, rows))

        try:
            index._read(references, pending, chunk if sketch else 0, add, say)
            if sketch:
                add(pending)
            for done in added:
                done.result()
        finally:
            if background is not None:
                background.shutdown(wait=True, cancel_futures=True)
        if sketch and say:
            say(
                f"minhash: sketched and indexed {len(index.keys):,} reference sequences "
                f"({method.bands} bands x {method.rows} rows)"
            )
        return index

    def _read(
        self,
        references: Iterable[tuple[str, str]],
        pending: list[int],
        chunk: int,
        add: Callable[[list[int]], None],
        say: Callable[[str], None] | None,
    ) -> None:
        """Keep one representative of each distinct sequence; hand every ``chunk`` new ones to ``add``."""
        for rid, seq in references:
            self.records += 1
            if not seq:
                continue
            sha = bytes.fromhex(sequence_sha256(seq))
            if sha in self._by_sha:
                continue
            self._by_sha[sha] = len(self.keys)
            self.keys.append(rid)
            self.seqs.append(seq)
            pending.append(len(self.keys) - 1)
            if chunk and len(pending) >= chunk:
                add(list(pending))
                pending.clear()
                if say:
                    say(f"minhash: read {len(self.keys):,} reference sequences, sketching them")

    def _live_keys(self, sigs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flat band keys of signatures and the signature row of each; empty signatures have none."""
        keys = band_keys(sigs, self.method.bands or 1, self.method.rows or 1)
        bands = keys.shape[1]
        row = np.repeat(np.arange(len(sigs), dtype=np.int64), bands)
        live = ~np.repeat(
            (sigs == EMPTY_VALUE).all(axis=1), bands
        )  # too short for a k-mer: never a candidate
        return keys.reshape(-1)[live], row[live]

    def _known(self, flat: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The band keys (and the matching ``other`` values) that some query of the build holds, by key."""
        assert self._query_keys is not None and self._query_filter is not None
        maybe = np.flatnonzero(_in_bitset(self._query_filter, flat & _FILTER_MASK))
        qk = self._query_keys
        if not len(qk):
            return flat[:0], other[:0]
        flat, other = _by_key(flat[maybe], other[maybe])
        pos = np.minimum(np.searchsorted(qk, flat), len(qk) - 1)
        keep = qk[pos] == flat
        return flat[keep], other[keep]

    def _add(self, rows: list[int]) -> None:
        if not rows:
            return
        sigs = sketch_batch([self.seqs[i] for i in rows], self.method.params, threads=self.threads)
        flat, local = self._live_keys(sigs)
        kept_rows = np.asarray(rows, dtype=np.int64)
        if self._query_keys is None:
            flat, local = _by_key(flat, local)
        else:  # only keys some query holds, and their references' signatures
            flat, local = self._known(flat, local)
            used = sorted_unique(local)
            sigs, kept_rows = sigs[used], kept_rows[used]
            local = np.searchsorted(used, local)
        self._chunks.append((flat, local.astype(np.int32), kept_rows, sigs))

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
        flat, qrow = _by_key(*self._live_keys(sigs))
        if self._query_keys is not None and len(self._known(flat, qrow)[0]) != len(flat):
            raise ValueError(
                "this in-memory index was built for other queries (MemoryIndex.build(queries=...)); "
                "build it without queries= to look up any"
            )
        out_q, out_r, out_j = [], [], []
        for table, local, chunk_rows, chunk_sigs in self._chunks:
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
            code = sorted_unique(pair_q * width + pair_r)  # each pair once, in (query, reference) order
            pair_q, pair_r = code // width, code % width
            out_q.append(pair_q)
            out_r.append(chunk_rows[pair_r])
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

    def seed_index(
        self, params: SketchParams, queries: Sequence[str] | None = None
    ) -> tuple[SeedIndex, Sequence[Hashable]]:
        """The containment tier's k-mer table of the reference sequences (cached while it serves).

        Seed row ``i`` is the reference of key ``i``. Without ``queries`` the whole table; with
        them, a table of only the buckets those query sequences hold (``SeedIndex.build(only=)``),
        which answers them exactly as the whole table would, at a small part of its memory.
        """
        key = params.key()
        cached = self._seeds.get(key)
        if cached is None or (cached.only is not None and (queries is None or not cached.covers(queries))):
            cached = self._seeds[key] = SeedIndex.build(
                self.seqs,
                params,
                only=None if queries is None else list(queries),
                threads=resolve_threads(self.threads),
            )
        return cached, range(len(self.seqs))

    def name(self, key: Hashable) -> str:
        """The representative identifier of a candidate key (a row of this index)."""
        return self.keys[int(key)]  # type: ignore[call-overload]


def _by_key(keys: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Band keys in ascending order (stable) with their ``other`` values.

    Every lookup of these keys in a sorted table (``np.searchsorted``) is then about four times
    faster than with the keys in signature order: numpy narrows each search from the last one.
    """
    order = np.argsort(keys, kind="stable")
    return keys[order], other[order]
