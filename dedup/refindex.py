"""A reusable, memory-mapped reference index: sketch and index a reference once, query it many times.

``python -m dedup index REFERENCE -o ref.llidx`` (or :func:`build_index`) writes a directory
that holds everything the exact, MinHash and containment tiers need from the reference:

=========================  ==================================================================
``manifest.json``          format, sketch params, LSH threshold/bands/rows, seed table size,
                           the reference file's path, size, mtime and sha256, counts, versions
``seqs.npy``/``seqs.offsets.npy``  the distinct normalised sequences, concatenated (uint8) + offsets
``ids.npy``/``ids.offsets.npy``    the identifier of each one's first record (UTF-8) + offsets
``sha.npy``/``sha.order.npy``      sorted raw sha256 digests (``S32``) and their sequence numbers
``sigs.npy``               ``(n, num_perm)`` uint32 MinHash signatures (datasketch-compatible)
``bands.keys.npy``/``bands.refs.npy``  per band, the sorted band keys and their sequence numbers
``seeds.*``                the containment tier's k-mer seed table (:class:`dedup.containment.SeedIndex`)
=========================  ==================================================================

:meth:`ReferenceIndex.open` memory-maps every array (``numpy.load(mmap_mode="r")``): a query
reads the band keys it searches (binary search), the signatures and sequences of its
candidates and the seed lists of its k-mers, never the whole reference. The index refuses
(:class:`IndexMismatchError`, saying how to rebuild) to answer with other sketch or LSH
parameters than it was built with, and when the reference file it was built from has
changed since (its sha256 no longer matches).

Examples:
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> ref = os.path.join(d, "ref.fasta")
    >>> _ = open(ref, "w").write(">r1\\nMKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQ\\n")
    >>> index = build_index(ref, os.path.join(d, "ref.llidx"))
    >>> index.n_sequences, index.params.key()
    (1, 'protein:k5:p128:s1:affine32:ll-shingle-v1')
    >>> from dedup.overlap import find_overlap
    >>> [h.tier for h in find_overlap([("q", "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQ")], index).hits]
    ['exact']
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import shutil
import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np

from .containment import SeedIndex, release_pages
from .errors import ParameterMismatchError
from .lsh import band_keys
from .parallel import resolve_threads
from .params import SketchParams
from .parsing import iter_records, sequence_sha256
from .sketch import EMPTY_VALUE, SignatureBatch, sketch_batch

__all__ = ["INDEX_FORMAT", "IndexMismatchError", "ReferenceIndex", "build_index", "file_sha256", "is_index"]

#: Format of the index directory; a reader refuses any other.
INDEX_FORMAT = "ll-refindex-v1"
_SKETCH_CHUNK = 32_768


class IndexMismatchError(ParameterMismatchError):
    """The index does not fit the question (other parameters) or its reference changed."""


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes (what ``sha256sum`` prints)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_index(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is an index directory (it holds a ``manifest.json``)."""
    return Path(path).is_dir() and (Path(path) / "manifest.json").is_file()


def _rebuild_hint(reference: str, directory: Path, extra: str = "") -> str:
    return f"rebuild it: python -m dedup index {reference} -o {directory}{extra}"


class _Records(Sequence[tuple[str, str]]):
    """``(identifier, sequence)`` of the indexed distinct sequences, decoded on access."""

    def __init__(self, index: ReferenceIndex) -> None:
        self._ix = index

    def __len__(self) -> int:
        return self._ix.n_sequences

    @overload
    def __getitem__(self, i: int) -> tuple[str, str]: ...
    @overload
    def __getitem__(self, i: slice) -> list[tuple[str, str]]: ...
    def __getitem__(self, i: int | slice) -> tuple[str, str] | list[tuple[str, str]]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return self._ix.identifier(i), self._ix.sequence(i)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for i in range(len(self)):
            yield self[i]


class ReferenceIndex:
    """An opened index directory (see the module docstring); arrays are memory-mapped.

    Attributes:
        directory: the index directory.
        manifest: the parsed ``manifest.json``.
        params: sketch parameters of the signatures and seeds.
        bands, rows, threshold: the LSH banding of ``bands.*``.
        n_sequences: distinct reference sequences indexed.
        n_records: reference records read (repeats of a sequence included).
        seeds: the containment tier's :class:`~dedup.containment.SeedIndex`.
        records: the indexed ``(identifier, sequence)`` pairs, a lazy sequence.
    """

    def __init__(
        self, directory: Path, manifest: dict[str, Any], arrays: dict[str, np.ndarray], seeds: SeedIndex
    ):
        self.directory = directory
        self.manifest = manifest
        self.params = SketchParams.from_key(manifest["sketch_params"])
        self.threshold = float(manifest["lsh"]["threshold"])
        self.bands = int(manifest["lsh"]["bands"])
        self.rows = int(manifest["lsh"]["rows"])
        self.n_sequences = int(manifest["reference"]["sequences"])
        self.n_records = int(manifest["reference"]["records"])
        self._a = arrays
        self.signatures = arrays["sigs"]
        # Slicing a numpy memmap builds a memmap object per call (~0.3 ms); the raw mmap slices to
        # bytes directly, so decoding a sequence costs what reading it costs.
        self._raw = {name: _raw_view(arrays[name]) for name in ("seqs", "ids")}
        self.seeds = seeds
        self.records: Sequence[tuple[str, str]] = _Records(self)

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def open(cls, directory: str | os.PathLike[str], *, check_reference: bool = True) -> ReferenceIndex:
        """Open an index; with ``check_reference`` refuse it when its reference file has changed.

        The check costs a ``stat`` when the file's size and mtime are as recorded, and one
        sha256 of the file otherwise; a reference file that is no longer there is not an
        error (the index holds every sequence it needs).

        Raises:
            IndexMismatchError: not an index of this format, or the reference changed.
        """
        d = Path(directory)
        try:
            manifest = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise IndexMismatchError(
                f"{d}: not a reference index (manifest.json: {err}); "
                "build one with: python -m dedup index REFERENCE -o " + str(d)
            ) from None
        ref = manifest.get("reference", {})
        if manifest.get("format") != INDEX_FORMAT:
            raise IndexMismatchError(
                f"{d}: index format {manifest.get('format')!r}, this dedup reads {INDEX_FORMAT!r}; "
                + _rebuild_hint(ref.get("path", "REFERENCE"), d)
            )
        names = (
            "seqs",
            "seqs.offsets",
            "ids",
            "ids.offsets",
            "sha",
            "sha.order",
            "sigs",
            "bands.keys",
            "bands.refs",
        )
        try:
            arrays = {n: np.load(d / f"{n}.npy", mmap_mode="r") for n in names}
            seeds = SeedIndex.load(d)
        except (OSError, ValueError) as err:
            raise IndexMismatchError(
                f"{d}: incomplete index ({err}); " + _rebuild_hint(ref.get("path"), d)
            ) from None
        index = cls(d, manifest, arrays, seeds)
        if arrays["sigs"].shape != (index.n_sequences, index.params.num_perm) or seeds.params != index.params:
            raise IndexMismatchError(
                f"{d}: arrays do not match the manifest; " + _rebuild_hint(ref.get("path"), d)
            )
        if check_reference:
            index.check_reference()
        return index

    def check_reference(self) -> None:
        """Refuse the index when the reference file it was built from now has other content."""
        ref = self.manifest["reference"]
        path = Path(ref["path"])
        try:
            st = path.stat()
        except OSError:
            return
        if st.st_size == ref["size"] and st.st_mtime_ns == ref["mtime_ns"]:
            return
        digest = file_sha256(path)
        if digest != ref["sha256"]:
            raise IndexMismatchError(
                f"{self.directory} was built from {path} with sha256 {ref['sha256']}, but that file now has "
                f"sha256 {digest}; " + _rebuild_hint(str(path), self.directory)
            )

    def check_params(
        self, params: SketchParams | None, threshold: float | None, bands: int | None, rows: int | None
    ) -> None:
        """Refuse other sketch or LSH parameters than the index was built with (None: the index's)."""
        ref = self.manifest["reference"]["path"]
        if params is not None and params != self.params:
            raise IndexMismatchError(
                f"{self.directory} holds sketches made with {self.params.key()}, not {params.key()}; "
                + _rebuild_hint(ref, self.directory, f" --kind {params.kind} --k {params.k}")
            )
        if threshold is not None and abs(threshold - self.threshold) > 1e-12:
            raise IndexMismatchError(
                f"{self.directory} is banded for LSH threshold {self.threshold:g} ({self.bands} x {self.rows}), "
                f"not {threshold:g}; " + _rebuild_hint(ref, self.directory, f" --lsh-threshold {threshold:g}")
            )
        if bands is not None and rows is not None and (bands, rows) != (self.bands, self.rows):
            raise IndexMismatchError(
                f"{self.directory} is banded {self.bands} x {self.rows}, not {bands} x {rows}; "
                + _rebuild_hint(ref, self.directory)
            )

    # -- records -------------------------------------------------------------------------------
    def release(self) -> None:
        """Unmap every page this index has touched (see :func:`dedup.containment.release_pages`)."""
        release_pages(*self._a.values(), self.seeds.offsets, self.seeds.postings)

    def _bytes(self, name: str, i: int) -> bytes:
        off = self._a[f"{name}.offsets"]
        a, b = int(off[i]), int(off[i + 1])
        raw = self._raw[name]
        if raw is not None:
            buf, base = raw
            return buf[base + a : base + b]
        return bytes(self._a[name][a:b])

    def sequence(self, i: int) -> str:
        return self._bytes("seqs", i).decode("ascii")

    def identifier(self, i: int) -> str:
        return self._bytes("ids", i).decode("utf-8")

    def lookup_sha(self, sha_hex: str) -> int | None:
        """The sequence number of an indexed sequence by its sha256 (hex), or ``None``."""
        shas = self._a["sha"]
        key = np.array([bytes.fromhex(sha_hex)], dtype="S32")
        pos = int(np.searchsorted(shas, key)[0])
        if pos < shas.shape[0] and shas[pos] == key[0]:
            return int(self._a["sha.order"][pos])
        return None

    # -- candidates (the LSHIndex.query_batch interface) -----------------------------------------
    def query_batch(self, signatures: np.ndarray) -> list[list[int]]:
        """Sequence numbers sharing at least one band with each query signature (ascending)."""
        sigs = np.atleast_2d(np.asarray(signatures, dtype=np.uint32))
        q_of, r_of = self._band_pairs(sigs)
        bounds = np.searchsorted(q_of, np.arange(sigs.shape[0] + 1))
        return [r_of[bounds[i] : bounds[i + 1]].tolist() for i in range(sigs.shape[0])]

    def _band_pairs(self, sigs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The distinct ``(query row, sequence number)`` pairs sharing a band, sorted (two int64 arrays)."""
        if sigs.shape[1] != self.params.num_perm:
            raise IndexMismatchError(
                f"signatures of {sigs.shape[1]} values for an index of {self.params.num_perm}"
            )
        qk = band_keys(sigs, self.bands, self.rows)
        keys, refs = self._a["bands.keys"], self._a["bands.refs"]
        q_parts, r_parts = [], []
        lo, hi = np.empty(sigs.shape[0], dtype=np.int64), np.empty(sigs.shape[0], dtype=np.int64)
        for b in range(self.bands):
            col = keys[b]
            # Needles in ascending order: each binary search starts where the last one ended
            # (numpy's searchsorted does that), 2.7 times faster here; positions put back in query order.
            order = np.argsort(qk[:, b], kind="stable")
            needles = qk[order, b]
            lo[order] = np.searchsorted(col, needles, side="left")
            hi[order] = np.searchsorted(col, needles, side="right")
            lens = hi - lo
            total = int(lens.sum())
            if total == 0:
                continue
            base = np.repeat(lo - np.r_[0, np.cumsum(lens)[:-1]], lens)
            r_parts.append(np.asarray(refs[b][base + np.arange(total)], dtype=np.int64))
            q_parts.append(np.repeat(np.arange(sigs.shape[0], dtype=np.int64), lens))
            if b % 8 == 7:
                release_pages(keys, refs)  # hold a few bands' pages at a time, not all of them
        release_pages(keys, refs)
        if not r_parts:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        pair = np.concatenate(q_parts) * max(self.n_sequences, 1) + np.concatenate(r_parts)
        pair = np.sort(pair)
        pair = pair[np.r_[True, pair[1:] != pair[:-1]]]
        return pair // max(self.n_sequences, 1), pair % max(self.n_sequences, 1)

    # -- CandidateIndex (dedup.pipeline): keys are sequence numbers -------------------------------
    def __len__(self) -> int:
        return self.n_sequences

    def exact(self, shas: Sequence[str]) -> dict[str, Hashable]:
        out: dict[str, Hashable] = {}
        for sha in shas:
            i = self.lookup_sha(sha)
            if i is not None:
                out[sha] = i
        self.release()
        return out

    def candidates(
        self, signatures: SignatureBatch | np.ndarray
    ) -> tuple[np.ndarray, list[Hashable], np.ndarray]:
        """LSH candidates as ``(query rows, sequence numbers, estimated Jaccard)``, by query then number."""
        if isinstance(signatures, SignatureBatch):
            try:
                signatures = signatures.check(self.params)
            except ParameterMismatchError as err:
                raise IndexMismatchError(f"{self.directory}: {err}") from None
        sigs = np.atleast_2d(np.asarray(signatures, dtype=np.uint32))
        empty = (sigs == EMPTY_VALUE).all(axis=1)  # too short for a k-mer: never a candidate
        q, r = self._band_pairs(sigs)
        keep = ~empty[q]
        q, r = q[keep], r[keep]
        if not q.size:
            return np.empty(0, dtype=np.int64), [], np.empty(0)
        jac = (sigs[q] == np.asarray(self.signatures[r])).mean(axis=1)
        self.release()
        return q, [int(x) for x in r.tolist()], jac

    def residues(self, keys: Sequence[Hashable]) -> dict[Hashable, str]:
        return {k: self.sequence(int(k)) for k in keys}  # type: ignore[call-overload]

    def sequences(self) -> Iterable[tuple[Hashable, str]]:
        return ((i, self.sequence(i)) for i in range(self.n_sequences))

    def name(self, key: Hashable) -> str:
        """The identifier of the first record with sequence number ``key``."""
        return self.identifier(int(key))  # type: ignore[call-overload]

    def seed_index(
        self, params: SketchParams, queries: Sequence[str] | None = None
    ) -> tuple[SeedIndex, Sequence[Hashable]]:
        """The containment tier's seed table, mapped from the index (seed row ``i`` is sequence ``i``).

        The whole table, whatever the ``queries`` (it answers any).
        """
        if params != self.params:
            raise IndexMismatchError(
                f"{self.directory} holds seeds of {self.params.key()}, not {params.key()}; "
                + _rebuild_hint(self.manifest["reference"]["path"], self.directory)
            )
        return self.seeds, range(self.n_sequences)


def _raw_view(arr: np.ndarray) -> tuple[Any, int] | None:
    """``(mmap, offset of the data)`` of a memory-mapped uint8 array, or None (then numpy slicing)."""
    m = getattr(arr, "_mmap", None)
    offset = getattr(arr, "offset", None)
    if m is None or offset is None or arr.dtype != np.uint8 or arr.ndim != 1:
        return None
    return m, int(offset) % mmap.ALLOCATIONGRANULARITY  # numpy maps from the granule holding the data


def _write_strings(directory: Path, name: str, items: Sequence[bytes]) -> None:
    offsets = np.zeros(len(items) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in items], out=offsets[1:])
    np.save(directory / f"{name}.npy", np.frombuffer(b"".join(items), dtype=np.uint8))
    np.save(directory / f"{name}.offsets.npy", offsets)


def build_index(
    reference: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    kind: str = "protein",
    params: SketchParams | None = None,
    threshold: float | None = None,
    progress: Callable[[str], None] | None = None,
    threads: int | None = None,
) -> ReferenceIndex:
    """Read, sketch, band and seed-index a reference file into the directory ``output``.

    The directory is written next to ``output`` under a temporary name and renamed into place
    when complete, so an interrupted build never leaves a half index (an existing index at
    ``output`` is replaced only then).

    Args:
        reference: a sequence file (any format :func:`dedup.parsing.iter_records` reads).
        output: the index directory to write (conventionally ``*.llidx``).
        kind: sequence kind.
        params: sketch parameters (default: :func:`dedup.overlap.default_sketch_params`).
        threshold: LSH Jaccard threshold (default: what find_overlap uses).
        progress: called with short progress messages.
        threads: threads for sketching and for hashing the seed table (default: every CPU); the
            index is the same for any number.

    Raises:
        ParseError: the reference file is invalid (nothing is written).
    """
    from . import __version__
    from .lsh import lsh_params
    from .overlap import default_lsh_threshold, default_sketch_params

    say = progress or (lambda _m: None)
    started = time.perf_counter()
    threads = resolve_threads(threads)
    params = params or default_sketch_params(kind)
    if params.kind != kind:
        raise ValueError(f"params are for kind {params.kind!r} but kind is {kind!r}; pass matching params")
    threshold = default_lsh_threshold(0.9) if threshold is None else threshold
    bands, rows = lsh_params(threshold, params.num_perm)
    ref_path = Path(reference).resolve()
    out = Path(output)
    tmp = out.with_name(f".{out.name}.building-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        st = ref_path.stat()
        ids: list[bytes] = []
        seqs: list[bytes] = []
        shas: list[bytes] = []
        seen: set[bytes] = set()
        n_records = 0
        for rec in iter_records(ref_path, kind=kind, allow_duplicate_ids=True):
            n_records += 1
            if not rec.sequence:
                continue
            digest = bytes.fromhex(sequence_sha256(rec.sequence))
            if digest in seen:
                continue
            seen.add(digest)
            ids.append(rec.identifier.encode("utf-8"))
            seqs.append(rec.sequence.encode("ascii"))
            shas.append(digest)
        seen.clear()
        n = len(seqs)
        say(f"index: read {n_records:,} records, {n:,} distinct sequences")
        _write_strings(tmp, "seqs", seqs)
        _write_strings(tmp, "ids", ids)
        del ids
        sha_arr = np.array(shas, dtype="S32")
        del shas
        order = np.argsort(sha_arr, kind="stable")
        np.save(tmp / "sha.npy", sha_arr[order])
        np.save(tmp / "sha.order.npy", order.astype(np.int32))
        del sha_arr, order
        sigs = np.lib.format.open_memmap(
            tmp / "sigs.npy", mode="w+", dtype=np.uint32, shape=(n, params.num_perm)
        )
        text = [s.decode("ascii") for s in seqs]
        del seqs
        for lo in range(0, n, _SKETCH_CHUNK):
            sigs[lo : lo + _SKETCH_CHUNK] = sketch_batch(
                text[lo : lo + _SKETCH_CHUNK], params, threads=threads
            )
            say(f"index: sketched {min(lo + _SKETCH_CHUNK, n):,} of {n:,}")
        sigs.flush()
        keys_out = np.lib.format.open_memmap(
            tmp / "bands.keys.npy", mode="w+", dtype=np.int64, shape=(bands, n)
        )
        refs_out = np.lib.format.open_memmap(
            tmp / "bands.refs.npy", mode="w+", dtype=np.int32, shape=(bands, n)
        )
        if n:
            bk = band_keys(np.asarray(sigs), bands, rows)
            for b in range(bands):
                o = np.argsort(bk[:, b], kind="stable")
                keys_out[b] = bk[o, b]
                refs_out[b] = o
            del bk
        keys_out.flush()
        refs_out.flush()
        del keys_out, refs_out, sigs
        say(f"index: banded ({bands} bands x {rows} rows)")
        seeds = SeedIndex.build(text, params, out_dir=tmp, progress=say, threads=threads)
        seeds.save(tmp)
        del seeds, text
        manifest = {
            "format": INDEX_FORMAT,
            "kind": kind,
            "sketch_params": params.key(),
            "lsh": {"threshold": threshold, "bands": bands, "rows": rows},
            "reference": {
                "path": str(ref_path),
                "size": st.st_size,
                "mtime_ns": st.st_mtime_ns,
                "sha256": file_sha256(ref_path),
                "records": n_records,
                "sequences": n,
            },
            "versions": {"dedup": __version__, "numpy": np.__version__},
            "build_seconds": round(time.perf_counter() - started, 2),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    say(f"index: wrote {out} in {time.perf_counter() - started:.1f} s")
    return ReferenceIndex.open(out)
