"""Containment: short queries (fragments, domains, peptides) that lie inside longer references.

MinHash LSH finds pairs by Jaccard similarity of their k-mer sets, and the Jaccard of
a fragment and the protein it was cut from is about ``len(fragment) / len(protein)``:
a 58-residue piece of a 1,481-residue protein has a Jaccard near 0.04, far below any
usable LSH threshold, even when the piece is 100% identical. Containment, the fraction
of the *query's* k-mers that occur in the reference, is near 1 for that pair.

:class:`SeedIndex` is an inverted index of the references' k-mers: every k-mer hash
(the ``ll-shingle-v1`` hash of :mod:`dedup.shingle`, the same k-mers as the sketches)
is folded into one of ``2**bits`` buckets, and each bucket lists the references that
hold a k-mer of it (each reference once: a CSR table of ``offsets`` and ``postings``,
two numpy arrays that can be memory-mapped from disk). :func:`containment_tier`
counts, for every query, the distinct query buckets each reference shares, keeps the
references that share at least the q-gram lemma's minimum for the requested identity
and coverage, and verifies the best-sharing ones by alignment (:mod:`dedup.verify`),
so every hit it reports is an aligned one with its query and reference coverage.

Why the minimum is safe: an alignment with identity ``t`` over at least ``c`` of a
query of ``L`` residues leaves at least ``c * L * (1 - k * (1 - t) / t) - k + 1`` of the
query's k-mers intact (each non-identical column breaks at most ``k`` of them); folding
into buckets can only add shared buckets, never remove one. Buckets held by more than
``max_postings`` references (low-complexity k-mers such as ``QQQQQ``) are not read, and
the minimum is lowered by the number of such buckets the query has, so that skipping
them never removes a candidate the lemma keeps. Where the lemma allows almost anything
(identity below about 85% at k=5), a candidate must still share at least ``MIN_SHARED``
buckets and ``MIN_SHARED_FRACTION`` of the query's: this tier is for near-identical pieces
of longer references; remote homologs are the ``mmseqs`` tier's. Candidates beyond ``max_candidates``
per query (ranked by shared buckets) are not aligned; their number is in the stats.

Examples:
    >>> from dedup.params import SketchParams
    >>> from dedup.verify import Verifier
    >>> p = SketchParams("protein", 5)
    >>> ref = "MSTNPKPQRKTKRNTNRRPQDVKFPGGGQIVGGVYLLPRRGPRLGVRATRKTSERSQPRGRRQPIPKARRPEGRTWAQPGY"
    >>> index = SeedIndex.build([ref], p)
    >>> hits, stats = containment_tier(
    ...     [("frag", ref[20:50])], [("r1", ref)], index,
    ...     Verifier(kind="protein", identity=0.9, coverage=0.8))
    >>> [(h.query, h.reference, h.tier, h.query_coverage, round(h.reference_coverage, 3)) for h in hits]
    [('frag', 'r1', 'containment', 1.0, 0.37)]
"""

from __future__ import annotations

import functools
import json
import math
import mmap as mmap_module
from collections.abc import Callable, Container, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import _kernels
from .arrays import unique_counts
from .errors import DedupError
from .parallel import parallel_map
from .params import SketchParams
from .shingle import NUCLEOTIDE_CODES, PROTEIN_CODES, batch_shingle_hashes
from .verify import Hit, Verifier

__all__ = [
    "CONTAINMENT_TIER",
    "DEFAULT_MAX_CANDIDATES",
    "DEFAULT_MAX_POSTINGS",
    "SeedIndex",
    "containment_tier",
    "min_shared_kmers",
]

#: Name of the tier in hits and reports.
CONTAINMENT_TIER = "containment"
#: References aligned per query at most (best-sharing first).
DEFAULT_MAX_CANDIDATES = 8
#: Buckets listing more references than this are treated as low-complexity and skipped.
DEFAULT_MAX_POSTINGS = 20_000
#: A candidate shares at least this many buckets with the query, and at least this fraction of
#: the query's buckets, whatever the lemma allows (see the module docstring).
MIN_SHARED = 2
MIN_SHARED_FRACTION = 0.1
#: Sequences per hashing chunk while building (bounds temporary memory).
_BUILD_CHUNK = 20_000
#: Queries per counting chunk (bounds the gathered postings and the pages held, see release_pages).
_QUERY_CHUNK = 64
#: A memory-mapped seed table at most this large is released once per lookup, not after every
#: chunk: one chunk of queries already touches most of its pages (each bucket read faults in its
#: neighbours too), so releasing them only made the next chunk fault them in again (on DeepLoc
#: test vs Swiss-Prot's 540 MB table: 62,668 page faults and 0.49 s of system time instead of
#: 15,804 and 0.08 s, the peak resident set the same). Larger tables are released per chunk.
_RELEASE_BYTES = 1 << 30
_FORMAT = "ll-seeds-v1"
#: Format of the seed tables (part of the containment tier's method key).
SEED_FORMAT = _FORMAT


def _seed_kernel_py(
    buf: np.ndarray,
    starts: np.ndarray,
    k: int,
    protein: bool,
    codes: np.ndarray,
    bits: int,
    last: np.ndarray,
    counts: np.ndarray,
    postings: np.ndarray,
    cursor: np.ndarray,
    fill: bool,
    first: int,
    only: np.ndarray,
    rank_base: np.ndarray,
) -> None:
    """One pass over sequences: count (``fill`` False) or place (True) each distinct (sequence, bucket).

    The k-mer values and 32-bit hashes are those of :func:`dedup.shingle.batch_shingle_hashes`
    (module docstring of :mod:`dedup.shingle`); ``last[b]`` holds the last sequence that
    touched bucket ``b``, so a sequence counts in a bucket once without sorting.

    A non-empty ``only`` (a bitset of ``2**bits`` bits in uint64 words) limits the pass to its
    buckets, and ``last``, ``counts`` and ``cursor`` are then indexed by a bucket's rank among
    them (``rank_base[w]``: set bits before word ``w``, plus a popcount), not by the bucket:
    arrays of the queries' buckets only, which stay in the processor's caches (random accesses
    into arrays of all 4 million buckets made each pass about 10x slower).
    """
    restricted = only.size > 0
    m55, m33 = np.uint64(0x5555555555555555), np.uint64(0x3333333333333333)
    m0f, h01 = np.uint64(0x0F0F0F0F0F0F0F0F), np.uint64(0x0101010101010101)
    s56 = np.uint64(56)
    shift = np.uint64(32 + 32 - bits)
    two, five, one = np.uint64(2), np.uint64(5), np.uint64(1)
    m1, m2 = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53)
    s33 = np.uint64(33)
    width = np.uint64(5 * k) if protein else np.uint64(2 * k)
    mask = (one << width) - one
    top = np.uint64(2 * (k - 1))
    short_bit = one << np.uint64(63)
    for s in range(starts.size - 1):
        seq_no = first + s
        a, length = starts[s], starts[s + 1] - starts[s]
        fwd = np.uint64(0)
        rev = np.uint64(0)
        run = 0
        for i in range(length):
            emit = False
            c = codes[buf[a + i]]
            if protein:
                fwd = ((fwd << five) | np.uint64(c)) & mask
                run += 1
                emit = run >= k or (length < k and i == length - 1)
                v = fwd
            else:
                if c == 255:
                    run = 0
                    fwd = np.uint64(0)
                    rev = np.uint64(0)
                    continue
                cu = np.uint64(c)
                fwd = ((fwd << two) | cu) & mask
                if length < k:  # a short sequence: one shingle, reverse complement packed to its length
                    rev = (rev >> two) | ((np.uint64(3) - cu) << np.uint64(2 * (length - 1)))
                else:
                    rev = (rev >> two) | ((np.uint64(3) - cu) << top)
                run += 1
                emit = run >= k or (length < k and run == length)
                v = fwd if fwd < rev else rev
            if not emit:
                continue
            if length < k:
                v |= short_bit
            v ^= v >> s33
            v *= m1
            v ^= v >> s33
            v *= m2
            v ^= v >> s33
            b = v >> shift
            if restricted:
                word = only[b >> np.uint64(6)]
                bit = b & np.uint64(63)
                if not (word >> bit) & one:
                    continue
                x = word & ((one << bit) - one)  # the set bits below b in its word: a popcount
                x = x - ((x >> one) & m55)
                x = (x & m33) + ((x >> two) & m33)
                x = (x + (x >> np.uint64(4))) & m0f
                b = np.uint64(rank_base[b >> np.uint64(6)]) + ((x * h01) >> s56)
            if last[b] == seq_no:
                continue
            last[b] = seq_no
            if fill:
                postings[cursor[b]] = seq_no
                cursor[b] += 1
            else:
                counts[b] += 1


#: Bucket lengths the counting kernel tells apart when it orders a query's buckets.
_LEN_BINS = 64


def _count_kernel_py(
    q_bounds: np.ndarray,
    starts: np.ndarray,
    lens: np.ndarray,
    postings: np.ndarray,
    need: np.ndarray,
    n_refs: int,
    cnt: np.ndarray,
    touched: np.ndarray,
    passing: np.ndarray,
    out_refs: np.ndarray,
    out_counts: np.ndarray,
    out_pass: np.ndarray,
) -> None:
    """Per query: count shared buckets per reference, keep the best ``out_refs.shape[1]`` at >= need.

    Ties go to the lower reference number (as :meth:`SeedIndex.shared` then a stable sort would).

    The query's buckets are read shortest first (stable; lengths from ``_LEN_BINS - 1`` up as one,
    so that the C port sorts them by counting). A reference first met in the ``i``-th of ``B``
    buckets can share at most ``B - i`` of them, so once that is below ``need`` no new reference
    is counted (the prefix filter of all-pairs similarity joins): the references that can still
    pass are those already met, and in each longer bucket they are looked up (binary search; a
    bucket's postings ascend) or the bucket is scanned for them, whichever reads less. A reference
    whose count plus the buckets left falls below ``need`` is dropped. Every reference that passes
    is counted in every bucket it is in, so the passing references and their counts are those of
    counting every posting; on the main pair this reads about a third of them.
    """
    cap = out_refs.shape[1]
    alive = np.empty(n_refs, dtype=np.int64)
    for q in range(q_bounds.size - 1):
        lo = q_bounds[q]
        n_b = q_bounds[q + 1] - lo
        order = np.argsort(np.minimum(lens[lo : lo + n_b], _LEN_BINS - 1), kind="mergesort")
        nt = 0
        n_alive = -1  # -1: still counting every reference met
        for i in range(n_b):
            j = lo + order[i]
            a = starts[j]
            length = lens[j]
            left = n_b - i  # buckets still to read, this one included
            if n_alive < 0 and left + 1e-9 < need[q]:
                n_alive = 0  # from here on only references already met can pass
                for t in range(nt):
                    alive[n_alive] = touched[t]
                    n_alive += 1
            if n_alive < 0:
                for t in range(length):
                    r = postings[a + t]
                    if cnt[r] == 0:
                        touched[nt] = r
                        nt += 1
                    cnt[r] += 1
                continue
            kept = 0
            for t in range(n_alive):
                r = alive[t]
                if cnt[r] + left + 1e-9 >= need[q]:
                    alive[kept] = r
                    kept += 1
            n_alive = kept
            if n_alive == 0:
                break
            if length == 0:
                continue
            steps = 1
            while (1 << steps) < length:
                steps += 1
            if n_alive * (steps + 1) < length:
                for t in range(n_alive):
                    r = alive[t]
                    x, y = a, a + length
                    while x < y:
                        m = (x + y) >> 1
                        if postings[m] < r:
                            x = m + 1
                        else:
                            y = m
                    if x < a + length and postings[x] == r:
                        cnt[r] += 1
            else:
                for t in range(length):
                    r = postings[a + t]
                    if cnt[r] > 0:
                        cnt[r] += 1
        npass = 0
        for i in range(nt):
            r = touched[i]
            if cnt[r] + 1e-9 >= need[q]:
                passing[npass] = r
                npass += 1
        out_pass[q] = npass
        keys = np.empty(npass, dtype=np.int64)
        for i in range(npass):
            r = passing[i]
            keys[i] = -np.int64(cnt[r]) * n_refs + r
        order2 = np.argsort(keys)
        for i in range(min(cap, npass)):
            r = passing[order2[i]]
            out_refs[q, i] = r
            out_counts[q, i] = cnt[r]
        for i in range(nt):
            cnt[touched[i]] = 0


def _compiled(fn: Callable[..., None]) -> Any:
    """``fn``'s C port or ``fn`` compiled by numba (:func:`dedup._kernels.jit`), or None."""
    return _kernels.jit(fn)


@functools.cache
def _count_kernel() -> Any:
    return _compiled(_count_kernel_py)


@functools.cache
def _seed_kernel() -> Any:
    return _compiled(_seed_kernel_py)


def release_pages(*arrays: Any) -> None:
    """Unmap the pages a query touched in memory-mapped arrays (``madvise(MADV_DONTNEED)``).

    The file's pages stay in the operating system's page cache (shared, reclaimable, read
    again from there on the next touch), but leave this process's resident set, so a long
    query over a large index holds one chunk's pages at a time. A no-op for in-memory arrays.
    """
    for a in arrays:
        m = getattr(a, "_mmap", None)
        if m is not None and hasattr(m, "madvise") and hasattr(mmap_module, "MADV_DONTNEED"):
            m.madvise(mmap_module.MADV_DONTNEED)


def _bits_for(n_kmers: int) -> int:
    """Bucket table size: about 8 k-mers per bucket, from 2**16 to 2**22 buckets.

    2**22 (4.2 million) is about the number of distinct protein 5-mers in all of Swiss-Prot
    (3.2 million are possible); a larger table makes the build's random accesses miss the
    processor caches (measured: 4x slower per k-mer at 2**24) for few fewer shared buckets.
    """
    return int(min(22, max(16, math.ceil(math.log2(max(n_kmers, 1) / 8)))))


def min_shared_kmers(length: int, *, k: int, identity: float, coverage: float) -> float:
    """The fewest query k-mers an alignment at ``identity`` covering ``coverage`` of the query keeps.

    The q-gram lemma (the same bound :class:`dedup.verify.Verifier` prunes with); at or
    below zero the lemma says nothing and every sharing reference is a candidate.

    Examples:
        >>> min_shared_kmers(58, k=5, identity=0.9, coverage=0.8)  # doctest: +ELLIPSIS
        16.6...
        >>> min_shared_kmers(58, k=5, identity=0.5, coverage=0.8) <= 0
        True
    """
    if identity <= 0:
        return 0.0
    coef = 1.0 - k * (1.0 - identity) / identity
    return coverage * length * coef - k + 1


def _bitset(buckets: np.ndarray, bits: int) -> np.ndarray:
    """A bitset of ``2**bits`` bits (little-endian uint64 words) with the given buckets set."""
    mark = np.zeros(2**bits, dtype=bool)
    mark[buckets] = True
    return np.packbits(mark, bitorder="little").view("<u8").astype(np.uint64)


def _bitset_members(words: np.ndarray) -> np.ndarray:
    """The set buckets of a bitset, ascending (int64)."""
    bits = np.unpackbits(words.astype("<u8").view(np.uint8), bitorder="little")
    return np.flatnonzero(bits).astype(np.int64)


def _in_bitset(words: np.ndarray, buckets: np.ndarray) -> np.ndarray:
    """Which of ``buckets`` are set in ``words``."""
    b = np.asarray(buckets, dtype=np.uint64)
    return ((words[(b >> np.uint64(6)).astype(np.int64)] >> (b & np.uint64(63))) & np.uint64(1)).astype(bool)


def _query_buckets(sequences: Sequence[str], params: SketchParams, bits: int) -> np.ndarray:
    """The buckets of the k-mers of ``sequences`` (with repeats)."""
    hashes, _offs = batch_shingle_hashes(list(sequences), params)
    return (hashes >> np.uint32(32 - bits)).astype(np.int64)


def _postings_table(
    counts: np.ndarray, bits: int, out_dir: str | Path | None
) -> tuple[np.ndarray, np.ndarray]:
    """CSR offsets from per-bucket counts, and an unfilled postings array (memory-mapped in ``out_dir``)."""
    offsets = np.zeros(2**bits + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    total = int(offsets[-1])
    if out_dir is None:
        return offsets, np.empty(total, dtype=np.int32)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    postings = np.lib.format.open_memmap(
        Path(out_dir) / "seeds.postings.npy", mode="w+", dtype=np.int32, shape=(total,)
    )
    return offsets, postings


@dataclass
class _ChunkBuckets:
    """One chunk of queries looked up in the seed table: each query's distinct buckets, grouped by query.

    ``q_of``/``starts``/``lens`` per (query, bucket), sorted by query then bucket; ``skipped`` marks
    the buckets over ``max_postings`` (``lens`` still holds their true length); ``bounds`` delimits
    each query's rows; ``n_buckets``, ``n_skipped`` and ``n_kmers`` are per query.
    """

    q_of: np.ndarray
    starts: np.ndarray
    lens: np.ndarray
    skipped: np.ndarray
    bounds: np.ndarray
    n_buckets: np.ndarray
    n_skipped: np.ndarray
    n_kmers: np.ndarray


@dataclass(frozen=True)
class SeedIndex:
    """Inverted index reference k-mer bucket -> references holding it (CSR, each reference once).

    Attributes:
        params: the sketch parameters whose k-mers (and hash) the index holds.
        bits: ``2**bits`` buckets; a k-mer's bucket is the top ``bits`` bits of its 32-bit hash.
        offsets: int64, ``2**bits + 1``; bucket ``b`` owns ``postings[offsets[b]:offsets[b + 1]]``.
        postings: int32 reference numbers (0-based, the order given to :meth:`build`), ascending per bucket.
        n_references: number of references indexed.
        only: None for a whole table; else a bitset (uint64 words) of the only buckets indexed, those
            of the queries given to :meth:`build` (``only=``): a lookup of any other query is refused.
    """

    params: SketchParams
    bits: int
    offsets: np.ndarray
    postings: np.ndarray
    n_references: int
    only: np.ndarray | None = None

    @classmethod
    def build(
        cls,
        sequences: Sequence[str],
        params: SketchParams,
        *,
        bits: int | None = None,
        out_dir: str | Path | None = None,
        progress: Callable[[str], None] | None = None,
        only: Sequence[str] | None = None,
        threads: int = 1,
    ) -> SeedIndex:
        """Index the k-mers of ``sequences`` (reference number = position in the list).

        With ``out_dir`` the postings are written straight into a memory-mapped file there
        (``seeds.postings.npy``; :meth:`save` adds the rest), so the build never holds them
        in memory.

        With ``only`` (query sequences), only the buckets those queries hold are indexed: the
        lookup of those queries (or of any subset) gives exactly what the whole table gives (the
        same ``bits``, and the same references and true lengths in each of their buckets), while
        the table holds a small part of the postings. Other queries are refused (:meth:`covers`).

        ``threads`` hash parts of the references at once (compiled build); the table is the same.
        """
        say = progress or (lambda _m: None)
        n = len(sequences)
        if n >= 2**31:
            raise ValueError(f"a seed index holds fewer than 2**31 references, got {n}")
        if bits is None:
            bits = _bits_for(sum(len(s) for s in sequences))
        if not 8 <= bits <= 30:
            raise ValueError(f"bits must be from 8 to 30, got {bits}")
        wanted = None if only is None else _bitset(_query_buckets(only, params, bits), bits)
        kernel = _seed_kernel() if params.kind != "text" else None
        if kernel is not None:
            return cls._build_compiled(kernel, sequences, params, bits, out_dir, say, wanted, threads)
        counts = np.zeros(2**bits, dtype=np.int64)
        kept: list[tuple[np.ndarray, np.ndarray]] = []  # each chunk's pairs, sorted by bucket
        for lo in range(0, n, _BUILD_CHUNK):  # pass 1: hash once; how many references per bucket
            seq_ids, buckets = cls._chunk_pairs(sequences, lo, params, bits)
            if wanted is not None:
                keep = _in_bitset(wanted, buckets)
                seq_ids, buckets = seq_ids[keep], buckets[keep]
            counts += np.bincount(buckets, minlength=2**bits)
            order = np.argsort(buckets, kind="stable")
            pair = (buckets[order].astype(np.uint32), seq_ids[order])
            if out_dir is not None:  # spill to disk: the build's memory stays one chunk
                tmp = Path(out_dir) / f".seeds.tmp.{lo}"
                Path(out_dir).mkdir(parents=True, exist_ok=True)
                np.save(f"{tmp}.b.npy", pair[0])
                np.save(f"{tmp}.s.npy", pair[1])
                pair = (np.load(f"{tmp}.b.npy", mmap_mode="r"), np.load(f"{tmp}.s.npy", mmap_mode="r"))
            kept.append(pair)
            say(f"seeds: {min(lo + _BUILD_CHUNK, n):,} of {n:,} references hashed")
        offsets, postings = _postings_table(counts, bits, out_dir)
        cursor = offsets[:-1].copy()
        for lo, (b_part, s_part) in zip(range(0, n, _BUILD_CHUNK), kept, strict=True):  # pass 2: fill
            b_sorted, s_sorted = np.asarray(b_part, dtype=np.int64), np.asarray(s_part)
            run_start = np.flatnonzero(np.r_[True, b_sorted[1:] != b_sorted[:-1]])
            run_len = np.diff(np.r_[run_start, b_sorted.size])
            rank = np.arange(b_sorted.size) - np.repeat(run_start, run_len)
            postings[cursor[b_sorted] + rank] = s_sorted
            cursor[b_sorted[run_start]] += run_len
            if out_dir is not None:
                tmp = Path(out_dir) / f".seeds.tmp.{lo}"
                del b_part, s_part
                Path(f"{tmp}.b.npy").unlink()
                Path(f"{tmp}.s.npy").unlink()
        kept.clear()
        if isinstance(postings, np.memmap):
            postings.flush()
        return cls(params, bits, offsets, postings, n, wanted)

    @classmethod
    def _build_compiled(
        cls,
        kernel: Any,
        sequences: Sequence[str],
        params: SketchParams,
        bits: int,
        out_dir: str | Path | None,
        say: Callable[[str], None],
        wanted: np.ndarray | None,
        threads: int,
    ) -> SeedIndex:
        n = len(sequences)
        protein = params.kind == "protein"
        codes = PROTEIN_CODES if protein else NUCLEOTIDE_CODES
        if wanted is None:
            only, base, size = np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64), 2**bits
        else:  # per-bucket arrays by rank among the wanted buckets (see _seed_kernel_py)
            only, wanted_buckets = wanted, _bitset_members(wanted)
            per_word = np.bincount(wanted_buckets >> 6, minlength=wanted.size)
            base = np.zeros(wanted.size, dtype=np.int64)
            np.cumsum(per_word[:-1], out=base[1:])
            size = wanted_buckets.size
        # Contiguous parts of the references, one per thread (the kernel releases the GIL), each with
        # its own counters; part p places its postings after those of the parts before it, so every
        # bucket lists its references in ascending order, as one thread would.
        cuts = np.linspace(0, n, max(1, min(threads, n // _BUILD_CHUNK + 1)) + 1).astype(np.int64)
        parts = [(int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
        last = [np.full(size, -1, dtype=np.int32) for _p in parts]  # int32: half the cache footprint
        counts = [np.zeros(size, dtype=np.int32) for _p in parts]
        dummy = np.zeros(0, dtype=np.int32)

        def chunks(part: tuple[int, int]) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
            for lo in range(part[0], part[1], _BUILD_CHUNK):
                enc = [s.encode("ascii", "replace") for s in sequences[lo : min(lo + _BUILD_CHUNK, part[1])]]
                starts = np.zeros(len(enc) + 1, dtype=np.int64)
                np.cumsum([len(e) for e in enc], out=starts[1:])
                yield lo, np.frombuffer(b"".join(enc), dtype=np.uint8), starts

        def count(p: int) -> None:
            for lo, buf, starts in chunks(parts[p]):
                kernel(buf, starts, params.k, protein, codes, bits, last[p], counts[p], dummy, counts[p],
                       False, lo, only, base)  # fmt: skip

        parallel_map(count, range(len(parts)), len(parts))
        total = counts[0].copy()
        for c in counts[1:]:
            total += c
        if wanted is not None:  # counts by rank among the wanted buckets: spread to all buckets
            dense, total = total, np.zeros(2**bits, dtype=np.int32)
            total[wanted_buckets] = dense
        offsets, postings = _postings_table(total, bits, out_dir)
        cursor = [offsets[:-1].copy() if wanted is None else offsets[wanted_buckets]]
        for c in counts[:-1]:
            cursor.append(cursor[-1] + c)

        def fill(p: int) -> None:
            last[p][:] = -1
            for lo, buf, starts in chunks(parts[p]):
                kernel(buf, starts, params.k, protein, codes, bits, last[p], dummy, postings, cursor[p],
                       True, lo, only, base)  # fmt: skip
                if p == len(parts) - 1:
                    say(f"seeds: {min(lo + _BUILD_CHUNK, n):,} of {n:,} references indexed")

        parallel_map(fill, range(len(parts)), len(parts))
        if isinstance(postings, np.memmap):
            postings.flush()
        return cls(params, bits, offsets, postings, n, wanted)

    @staticmethod
    def _chunk_pairs(
        sequences: Sequence[str], lo: int, params: SketchParams, bits: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Distinct ``(reference number, bucket)`` pairs of one chunk, sorted by reference."""
        chunk = list(sequences[lo : lo + _BUILD_CHUNK])
        hashes, offs = batch_shingle_hashes(chunk, params)
        seq = np.repeat(np.arange(lo, lo + len(chunk), dtype=np.int64), np.diff(offs))
        key, _n = unique_counts((seq << 32) | (hashes >> np.uint32(32 - bits)).astype(np.int64))
        return (key >> 32).astype(np.int32), (key & 0xFFFFFFFF).astype(np.int64)

    # -- storage ----------------------------------------------------------------------------------
    def covers(self, queries: Sequence[str]) -> bool:
        """Whether this table answers ``queries`` as the whole table would (always, unless built ``only=``)."""
        if self.only is None:
            return True
        return bool(_in_bitset(self.only, _query_buckets(queries, self.params, self.bits)).all())

    def save(self, directory: str | Path) -> None:
        """Write ``seeds.json``, ``seeds.offsets.npy`` and (unless built there) ``seeds.postings.npy``."""
        if self.only is not None:
            raise ValueError("a seed table built for some queries only (only=) is not saved; build it whole")
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        np.save(d / "seeds.offsets.npy", self.offsets)
        target = d / "seeds.postings.npy"
        if not (
            isinstance(self.postings, np.memmap) and Path(str(self.postings.filename)) == target.resolve()
        ):
            np.save(target, np.asarray(self.postings))
        meta = {
            "format": _FORMAT,
            "params": self.params.key(),
            "bits": self.bits,
            "n_references": self.n_references,
        }
        (d / "seeds.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: str | Path, *, mmap: bool = True) -> SeedIndex:
        """Open a saved index; the arrays are memory-mapped (read on demand) unless ``mmap=False``."""
        d = Path(directory)
        try:
            meta = json.loads((d / "seeds.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise DedupError(f"{d}: no readable seed index (seeds.json: {err}); rebuild the index") from None
        if meta.get("format") != _FORMAT:
            raise DedupError(
                f"{d}: seed index format {meta.get('format')!r}, expected {_FORMAT!r}; rebuild it"
            )
        offsets = np.load(d / "seeds.offsets.npy", mmap_mode="r" if mmap else None)
        postings = np.load(d / "seeds.postings.npy", mmap_mode="r" if mmap else None)
        return cls(
            SketchParams.from_key(meta["params"]),
            int(meta["bits"]),
            offsets,
            postings,
            int(meta["n_references"]),
        )

    # -- lookup ------------------------------------------------------------------------------------
    def _chunks(self, queries: Sequence[str], max_postings: int) -> Iterator[tuple[list[str], _ChunkBuckets]]:
        """The queries in chunks of ``_QUERY_CHUNK``, each with its buckets looked up.

        The table's mapped pages are released (:func:`release_pages`) at the end, and after each
        chunk when the table is larger than ``_RELEASE_BYTES``.
        """
        per_chunk = self.offsets.nbytes + self.postings.nbytes > _RELEASE_BYTES
        for lo in range(0, len(queries), _QUERY_CHUNK):
            chunk = list(queries[lo : lo + _QUERY_CHUNK])
            hashes, offs = batch_shingle_hashes(chunk, self.params)
            qnum = np.repeat(np.arange(len(chunk), dtype=np.int64), np.diff(offs))
            key, _n = unique_counts((qnum << 32) | (hashes >> np.uint32(32 - self.bits)).astype(np.int64))
            q_of, bucket = key >> 32, key & 0xFFFFFFFF
            if self.only is not None and not _in_bitset(self.only, bucket).all():
                raise ValueError(
                    "the seed table was built for other queries (SeedIndex.build(only=...)); "
                    "build it for these queries, or whole"
                )
            starts = np.asarray(self.offsets[bucket])
            lens = np.asarray(self.offsets[bucket + 1]) - starts
            skipped = lens > max_postings
            yield (
                chunk,
                _ChunkBuckets(
                    q_of=q_of,
                    starts=starts,
                    lens=lens,
                    skipped=skipped,
                    bounds=np.searchsorted(q_of, np.arange(len(chunk) + 1)),
                    n_buckets=np.bincount(q_of, minlength=len(chunk)),
                    n_skipped=np.bincount(q_of[skipped], minlength=len(chunk)),
                    n_kmers=np.diff(offs),
                ),
            )
            if per_chunk:
                release_pages(self.offsets, self.postings)
        release_pages(self.offsets, self.postings)

    def candidates(
        self,
        queries: Sequence[str],
        *,
        identity: float,
        coverage: float,
        max_candidates: int = DEFAULT_MAX_CANDIDATES,
        max_postings: int = DEFAULT_MAX_POSTINGS,
    ) -> list[tuple[np.ndarray, np.ndarray, int, int]]:
        """Per query: ``(references, shared buckets, references passing, skipped buckets)``.

        The references sharing at least the lemma's minimum (:func:`min_shared_kmers` for
        ``identity`` and ``coverage``), best-sharing first, at most ``max_candidates``;
        ``references passing`` counts all of them. Compiled (numba) when available: a counter
        per reference, no sort of the gathered postings; otherwise from :meth:`shared`'s counts.
        """
        kernel = _count_kernel()
        k = self.params.k
        out: list[tuple[np.ndarray, np.ndarray, int, int]] = []
        if kernel is not None:
            cnt = np.zeros(self.n_references, dtype=np.int32)
            touched = np.empty(self.n_references, dtype=np.int64)
            passing = np.empty(self.n_references, dtype=np.int64)
        for chunk, cb in self._chunks(queries, max_postings):
            needs = np.array(
                [
                    _need(len(s), int(cb.n_buckets[i]), int(cb.n_kmers[i]), int(cb.n_skipped[i]), k,
                          identity, coverage)
                    for i, s in enumerate(chunk)
                ]
            )  # fmt: skip
            if kernel is None:
                for i, (refs, counts) in enumerate(self._shared_counts(chunk, cb)):
                    ok = np.flatnonzero(counts + 1e-9 >= needs[i])
                    best = ok[np.argsort(-counts[ok], kind="stable")[:max_candidates]]
                    out.append((refs[best], counts[best], int(ok.size), int(cb.n_skipped[i])))
                continue
            lens = np.where(cb.skipped, 0, cb.lens)
            out_refs = np.full((len(chunk), max_candidates), -1, dtype=np.int64)
            out_counts = np.zeros((len(chunk), max_candidates), dtype=np.int64)
            out_pass = np.zeros(len(chunk), dtype=np.int64)
            kernel(cb.bounds, cb.starts, lens, self.postings, needs, self.n_references, cnt, touched, passing,
                   out_refs, out_counts, out_pass)  # fmt: skip
            for i in range(len(chunk)):
                m = min(int(out_pass[i]), max_candidates)
                out.append((out_refs[i, :m], out_counts[i, :m], int(out_pass[i]), int(cb.n_skipped[i])))
        return out

    def _shared_counts(self, chunk: list[str], cb: _ChunkBuckets) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per query of a chunk: the references sharing a read bucket, and how many buckets each shares."""
        keep = ~cb.skipped & (cb.lens > 0)
        q_of, starts, lens = cb.q_of[keep], cb.starts[keep], cb.lens[keep]
        total = int(lens.sum())
        if total:
            base = np.repeat(starts - np.r_[0, np.cumsum(lens)[:-1]], lens)
            refs = np.asarray(self.postings[base + np.arange(total)], dtype=np.int64)
            pairs, counts = unique_counts(np.repeat(q_of, lens) * self.n_references + refs)
            bounds = np.searchsorted(pairs // self.n_references, np.arange(len(chunk) + 1))
        else:
            pairs = counts = np.zeros(0, dtype=np.int64)
            bounds = np.zeros(len(chunk) + 1, dtype=np.int64)
        return [
            (pairs[bounds[i] : bounds[i + 1]] % self.n_references, counts[bounds[i] : bounds[i + 1]])
            for i in range(len(chunk))
        ]

    def shared(
        self, queries: Sequence[str], *, max_postings: int = DEFAULT_MAX_POSTINGS
    ) -> list[tuple[np.ndarray, np.ndarray, int, int, int]]:
        """Per query: ``(references, shared buckets, query buckets, skipped buckets, query k-mers)``.

        ``references`` are the reference numbers sharing at least one bucket, with the number
        of distinct query buckets each shares; skipped buckets are those over ``max_postings``.
        """
        out: list[tuple[np.ndarray, np.ndarray, int, int, int]] = []
        for chunk, cb in self._chunks(queries, max_postings):
            for i, (refs, counts) in enumerate(self._shared_counts(chunk, cb)):
                out.append((refs, counts, int(cb.n_buckets[i]), int(cb.n_skipped[i]), int(cb.n_kmers[i])))
        return out


def _need(
    length: int, n_buckets: int, n_kmers: int, n_skipped: int, k: int, identity: float, coverage: float
) -> float:
    """Shared buckets a candidate needs (the lemma, see the module docstring), at least 1."""
    lemma = min_shared_kmers(length, k=k, identity=identity, coverage=coverage)
    # k-mers counted by position, shared buckets by distinct value: scale the lemma to distinct
    # buckets, then lower it by the buckets that were not read. Where the lemma says little
    # (identity below ~85%), the floor keeps the tier to what it is for: near-identical pieces.
    floor = max(MIN_SHARED, MIN_SHARED_FRACTION * (n_buckets - n_skipped))
    return max(floor, lemma * n_buckets / max(n_kmers, 1) - n_skipped)


@functools.lru_cache(maxsize=1)
def source_digest() -> str:
    """A digest of this module's source: how candidates are chosen is part of the method key."""
    import hashlib

    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def containment_tier(
    queries: Sequence[tuple[str, str]],
    references: Sequence[tuple[str, str]],
    index: SeedIndex,
    verifier: Verifier,
    *,
    max_candidates: int = DEFAULT_MAX_CANDIDATES,
    max_postings: int = DEFAULT_MAX_POSTINGS,
    progress: Callable[[str], None] | None = None,
    skip: Container[tuple[str, int]] = (),
) -> tuple[list[Hit], dict[str, Any]]:
    """Candidates by shared k-mers (containment), verified by alignment.

    Args:
        queries: ``(identifier, sequence)`` of the queries to look up.
        references: ``(identifier, sequence)`` in the order the index numbers them
            (any sequence-like; only candidates are read).
        index: a :class:`SeedIndex` of ``references``.
        verifier: aligns candidates and applies identity and coverage.
        max_candidates: references aligned per query at most, best-sharing first.
        max_postings: buckets held by more references are skipped (see the module docstring).
        progress: called with short progress messages.
        skip: ``(query identifier, reference number)`` pairs already aligned with the same
            identity and coverage (by the MinHash tier): not aligned again, counted in
            ``already_aligned``.

    Returns:
        ``(hits, stats)``: every verified pair (``tier="containment"``, Jaccard ``None``)
        and counters (``candidates``, ``aligned_pairs``, ``over_cap``, ``skipped_buckets``).
    """
    say = progress or (lambda _m: None)
    if index.n_references != len(references):
        raise ValueError(
            f"the seed index holds {index.n_references} references but {len(references)} were given"
        )
    stats = {
        "queries": len(queries),
        "candidates": 0,
        "aligned_pairs": 0,
        "over_cap": 0,
        "skipped_buckets": 0,
        "already_aligned": 0,
    }
    hits: list[Hit] = []
    if not queries or not references:
        return hits, stats
    found = index.candidates(
        [s for _q, s in queries],
        identity=verifier.identity,
        coverage=verifier.coverage,
        max_candidates=max_candidates,
        max_postings=max_postings,
    )
    for n, ((qid, qseq), (refs, _counts, n_pass, n_skipped)) in enumerate(zip(queries, found, strict=True)):
        stats["skipped_buckets"] += n_skipped
        stats["candidates"] += n_pass
        stats["over_cap"] += max(0, n_pass - max_candidates)
        for r in refs.tolist():
            if (qid, int(r)) in skip:
                stats["already_aligned"] += 1
                continue
            rid, rseq = references[int(r)]
            stats["aligned_pairs"] += 1
            hit = verifier.verify(qid, qseq, rid, rseq, tier=CONTAINMENT_TIER)
            if hit is not None:
                hits.append(hit)
        verifier.forget("q", qid)
        if (n + 1) % 1000 == 0:
            say(f"containment: {n + 1:,} of {len(queries):,} query records")
    say(f"containment: {len(queries):,} query records, {stats['aligned_pairs']:,} pairs checked")
    return hits, stats
