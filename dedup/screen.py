"""Whole-set screen: what fraction of a test set's k-mers are in a training set, in one step.

Before asking which *records* of a test set match a training set, ask how much of the test
set as a whole is in it. One FracMinHash sketch per set (Irber et al. 2022, the sketch of
``sourmash``; Broder's "mod-sampling"): of the set's distinct k-mers, keep those whose 64-bit
hash falls below ``2**64 / scaled``, so about one k-mer in ``scaled``. The same k-mer is
kept or dropped in every set alike, which makes the containment of test set ``A`` in
training set ``B``,

    C(A, B) = |A ∩ B| / |A|,  estimated by  |S(A) ∩ S(B)| / |S(A)|,

an unbiased estimate whose error depends on ``|S(A)|`` alone (not on the size of ``B``), so a
sketch of a large training set can be compared as fast as a small one: a sorted array
intersection. Sketches are saved (:meth:`SetSketch.save`) and reused, so a screen against
many large training sets costs one sketch of the test set and one intersection per set.

The interval: given the ``n = |S(A)|`` sampled test k-mers, each is a random draw from the
test set's k-mers (the hash decides, independently of the sequences), so the shared count is
binomial ``(n, C)``; :func:`wilson_interval` gives its 95% Wilson score interval.

Hash: the ``ll-shingle-v1`` k-mers of :mod:`dedup.shingle` (the same k-mers, canonical DNA
k-mers and text word n-grams as the per-record sketches) with their full 64-bit ``fmix64``
value (:func:`dedup.shingle.batch_shingle_hashes64`). ``fmix64`` is a bijection on the packed
k-mer, so for protein (k <= 12) and DNA (k <= 31) distinct k-mers never collide: the only
error is the sampling one the interval states. The values are not sourmash's MurmurHash3
values, so our sketches and sourmash signatures cannot be mixed; ``benchmarks/bench_screen.py``
compares the estimates with ``sourmash search --containment`` on the same sets.

k: the default is longer than the per-record sketches' (protein 10, DNA/RNA 21, text 5
words, :data:`SCREEN_K`), because a set-level containment of short k-mers measures the
alphabet, not overlap: a few hundred thousand proteins hold most of the 3.2 million
possible protein 5-mers, so any test set looks "contained" in them at k=5.

Examples:
    >>> from dedup.params import SketchParams
    >>> train = SetSketch.from_sequences(["MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQ"] * 3,
    ...                                  kind="protein", scaled=1, name="train")
    >>> test = SetSketch.from_sequences(["MKTAYIAKQRQISFVKSHFSRQ", "GSHMLEDPVDAFQPATLLPAALGSEIAEAL"],
    ...                                 kind="protein", scaled=1, name="test")
    >>> row = test.containment_in(train)
    >>> row.shared, row.sampled, round(row.containment, 3)
    (13, 34, 0.382)
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .arrays import sorted_unique
from .errors import DedupError, ParameterMismatchError
from .params import SketchParams
from .shingle import batch_shingle_hashes64

__all__ = [
    "DEFAULT_SCALED",
    "SCREEN_K",
    "Containment",
    "SetSketch",
    "screen",
    "wilson_interval",
]

#: k-mer length of set sketches per kind (see the module docstring).
SCREEN_K = {"protein": 10, "dna": 21, "rna": 21, "text": 5}
#: Keep about one k-mer in this many.
DEFAULT_SCALED = 100
_FORMAT = "ll-setsketch-v1"
_CHUNK = 20_000


def wilson_interval(successes: int, trials: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (95% by default).

    Examples:
        >>> [round(x, 4) for x in wilson_interval(50, 100)]
        [0.4038, 0.5962]
        >>> wilson_interval(0, 0)
        (0.0, 1.0)
    """
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Containment:
    """The containment of a test set in one training set.

    Attributes:
        test, train: the sets' names.
        containment: estimated fraction of the test set's distinct k-mers found in the training set.
        low, high: its 95% (Wilson) interval.
        shared: sampled test k-mers found in the training sketch.
        sampled: sampled test k-mers (the interval's trial count).
        test_kmers, train_kmers: estimated distinct k-mers of each set (sampled x scaled).
    """

    test: str
    train: str
    containment: float
    low: float
    high: float
    shared: int
    sampled: int
    test_kmers: int
    train_kmers: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "train": self.train,
            "containment": self.containment,
            "interval_95": [self.low, self.high],
            "shared_hashes": self.shared,
            "test_hashes": self.sampled,
            "test_kmers_estimate": self.test_kmers,
            "train_kmers_estimate": self.train_kmers,
        }


@dataclass(frozen=True)
class SetSketch:
    """The FracMinHash sketch of one set of sequences.

    Attributes:
        name: the set's name (a file name or a record set reference).
        kind, k, scaled: what was hashed and how much was kept.
        hashes: sorted distinct uint64 hash values below ``2**64 // scaled``.
        records: sequences read.
    """

    name: str
    kind: str
    k: int
    scaled: int
    hashes: np.ndarray
    records: int

    @property
    def params(self) -> SketchParams:
        return SketchParams(self.kind, self.k)

    @property
    def max_hash(self) -> int:
        return (2**64) // self.scaled

    @classmethod
    def from_sequences(
        cls,
        sequences: Iterable[str],
        *,
        kind: str,
        k: int | None = None,
        scaled: int = DEFAULT_SCALED,
        name: str = "",
        progress: Callable[[str], None] | None = None,
    ) -> SetSketch:
        """Sketch normalised sequences (streamed in chunks; memory is the kept hashes)."""
        if scaled < 1:
            raise ValueError(f"scaled must be a positive integer (1 keeps every k-mer), got {scaled!r}")
        params = SketchParams(kind, SCREEN_K[kind] if k is None else k)
        max_hash = np.uint64((2**64) // scaled - 1) if scaled > 1 else np.uint64(2**64 - 1)
        kept: list[np.ndarray] = []
        n = 0
        chunk: list[str] = []

        def flush() -> None:
            h, _off = batch_shingle_hashes64(chunk, params)
            kept.append(sorted_unique(h[h <= max_hash]))
            chunk.clear()

        for seq in sequences:
            chunk.append(seq)
            n += 1
            if len(chunk) >= _CHUNK:
                flush()
                if progress:
                    progress(f"screen: sketched {n:,} sequences of {name}")
        if chunk:
            flush()
        hashes = sorted_unique(np.concatenate(kept)) if kept else np.zeros(0, dtype=np.uint64)
        return cls(name, kind, params.k, scaled, hashes, n)

    # -- comparing ----------------------------------------------------------------------------------
    def _check_comparable(self, other: SetSketch) -> None:
        if (self.kind, self.k) != (other.kind, other.k):
            raise ParameterMismatchError(
                f"{self.name} is sketched as {self.kind} k={self.k} but {other.name} as {other.kind} k={other.k}; "
                "sketch both with the same kind and k"
            )

    def downsample(self, scaled: int) -> SetSketch:
        """The same sketch at a coarser ``scaled`` (keeps the hashes below the new maximum)."""
        if scaled < self.scaled:
            raise ValueError(f"cannot downsample from scaled={self.scaled} to a finer scaled={scaled}")
        if scaled == self.scaled:
            return self
        keep = self.hashes[self.hashes <= np.uint64((2**64) // scaled - 1)]
        return SetSketch(self.name, self.kind, self.k, scaled, keep, self.records)

    def containment_in(self, other: SetSketch) -> Containment:
        """How much of this set is in ``other`` (both brought to the coarser of their scales)."""
        self._check_comparable(other)
        scaled = max(self.scaled, other.scaled)
        a, b = self.downsample(scaled), other.downsample(scaled)
        shared = int(np.intersect1d(a.hashes, b.hashes, assume_unique=True).size)
        n = int(a.hashes.size)
        low, high = wilson_interval(shared, n)
        return Containment(
            test=self.name,
            train=other.name,
            containment=shared / n if n else 0.0,
            low=low,
            high=high,
            shared=shared,
            sampled=n,
            test_kmers=n * scaled,
            train_kmers=int(b.hashes.size) * scaled,
        )

    # -- storage ------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write a ``.llsketch`` file (an ``.npz``: the hashes and a JSON header)."""
        header = {
            "format": _FORMAT,
            "name": self.name,
            "kind": self.kind,
            "k": self.k,
            "scaled": self.scaled,
            "records": self.records,
            "hash": "ll-shingle-v1 fmix64 (64-bit)",
        }
        with open(path, "wb") as fh:
            np.savez(
                fh, hashes=self.hashes, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
            )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SetSketch:
        """Read a file written by :meth:`save`.

        Raises:
            DedupError: not a set sketch (the message says how to make one).
        """
        try:
            with np.load(path) as z:
                header = json.loads(bytes(z["header"]).decode())
                hashes = np.asarray(z["hashes"], dtype=np.uint64)
        except (OSError, ValueError, KeyError) as err:
            raise DedupError(
                f"{path}: not a set sketch ({err}); make one with: python -m dedup screen TEST TRAIN --save-sketches DIR"
            ) from None
        if header.get("format") != _FORMAT:
            raise DedupError(
                f"{path}: set sketch format {header.get('format')!r}, expected {_FORMAT!r}; sketch again"
            )
        return cls(
            header["name"],
            header["kind"],
            int(header["k"]),
            int(header["scaled"]),
            hashes,
            int(header["records"]),
        )


def screen(test: SetSketch, trains: Sequence[SetSketch]) -> list[Containment]:
    """The containment of ``test`` in each training set, highest first.

    Examples:
        >>> a = SetSketch.from_sequences(["MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDG"], kind="protein", scaled=1, name="a")
        >>> b = SetSketch.from_sequences(["GSHMLEDPVDAFQPATLLPAALGSEIAEALREAGYTRLHLGEGA"], kind="protein", scaled=1, name="b")
        >>> [(r.train, r.containment) for r in screen(a, [b, a])]
        [('a', 1.0), ('b', 0.0)]
    """
    rows = [test.containment_in(t) for t in trains]
    return sorted(rows, key=lambda r: (-r.containment, r.train))
