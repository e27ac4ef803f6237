"""The detection method: every setting that changes what an overlap check can find.

A :class:`Method` is frozen, and its :meth:`Method.key` is the identity under which
recall is measured (``benchmarks/calibrate.py``) and under which a report looks its
calibration up: two checks with the same key find the same hits and make the same
claims, whichever front end ran them (``find_overlap``, ``python -m dedup overlap``,
the registry's standing reports and ``check_overlap``). The key covers:

- the kind and the tiers that ran;
- the identity floor and the coverage rule (query and reference coverage, trimming);
- the sketch parameters and the LSH banding;
- the candidate policy: the Jaccard floor, the cap per query and the stop rule;
- the aligner: a digest of the source of :mod:`dedup.verify` and of the dedup modules
  it uses (so a new aligner, or new pruning bounds, is a new method), with the
  Biopython version;
- for the ``containment`` tier, its k-mers (the sketch's), candidate cap and floors;
- for the ``mmseqs`` tier, the MMseqs2 version and the flags that change its hits.

Examples:
    >>> m = Method(kind="protein")
    >>> m.bands, m.rows, m.tiers
    (64, 2, ('exact', 'minhash', 'containment'))
    >>> m.key().startswith("protein:exact+minhash+containment:id0.9:cov0.8:")
    True
    >>> Method(kind="protein", bands=37, rows=3).key() == m.key()
    False
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .lsh import lsh_params
from .mmseqs import MmseqsSettings
from .mmseqs import available as _mmseqs_available
from .mmseqs import version as _mmseqs_version
from .params import KINDS, SketchParams

__all__ = [
    "INDEX_LSH_THRESHOLD",
    "LIBRARY_LSH_THRESHOLD",
    "LIBRARY_TIERS",
    "TIER_ORDER",
    "Method",
    "aligner_id",
    "default_methods",
    "index_method",
]

#: Tiers in the order they run (cheapest first); a new tier is one more name here and
#: one more function in :mod:`dedup.pipeline`.
TIER_ORDER = ("exact", "minhash", "containment", "mmseqs")

#: Tiers of the library's default method (find_overlap, ``python -m dedup overlap``): the
#: containment tier finds short queries inside long references, which MinHash cannot.
LIBRARY_TIERS = ("exact", "minhash", "containment")

#: LSH Jaccard threshold of the library's in-memory index (64 bands x 2 rows at 128
#: permutations): generous, since an in-memory index costs nothing to store.
LIBRARY_LSH_THRESHOLD = 0.1

#: LSH Jaccard threshold of a persistent band-key index (37 x 3 at 128 permutations):
#: 37 rows per sequence in the database instead of 64. The registry uses it.
INDEX_LSH_THRESHOLD = 0.3

# Modules whose source is not part of the aligner's identity (they do not decide alignments).
_NOT_ALIGNER = {"dedup.errors", "dedup.params", "dedup.parsing", "dedup.alphabets"}


@functools.lru_cache(maxsize=1)
def aligner_id() -> str:
    """Identity of the verification step: Biopython version and a digest of its source.

    The digest covers :mod:`dedup.verify` and every other dedup module it imports names
    from, so replacing the aligner (or changing a pruning bound) changes every method key
    and ``python benchmarks/calibrate.py`` measures the new one.

    Examples:
        >>> aligner_id().startswith("dedup.verify@")
        True
    """
    import Bio

    from . import verify

    modules = {verify.__name__: verify}
    for value in vars(verify).values():
        name = getattr(value, "__module__", None) if not isinstance(value, type(sys)) else value.__name__
        if isinstance(name, str) and name.startswith("dedup.") and name not in _NOT_ALIGNER:
            mod = sys.modules.get(name)
            if mod is not None and getattr(mod, "__file__", None):
                modules[name] = mod
    digest = hashlib.sha256()
    for name in sorted(modules):
        digest.update(name.encode())
        digest.update(Path(modules[name].__file__ or "").read_bytes())
    return f"dedup.verify@{digest.hexdigest()[:12]}+biopython-{Bio.__version__}"


@functools.lru_cache(maxsize=8)
def _mmseqs_identity(executable: str) -> str | None:
    return _mmseqs_version(executable) if _mmseqs_available(executable) else None


@dataclass(frozen=True)
class Method:
    """Everything that decides which hits a check finds; :meth:`key` identifies it.

    Args:
        kind: ``"protein"``, ``"dna"``, ``"rna"`` or ``"text"``.
        identity: lowest identity kept (pairs below it are not verified as hits).
        coverage: minimal coverage of the query by the alignment.
        reference_coverage: minimal coverage of the reference (0: any).
        tiers: tiers to run, a subset of :data:`TIER_ORDER` (kept in that order).
        sketch: sketch parameters of the minhash tier (default per kind).
        bands: LSH bands (with ``rows``); default from :data:`LIBRARY_LSH_THRESHOLD`.
        rows: LSH rows per band.
        min_jaccard: candidates with a lower estimated Jaccard are not verified.
        max_candidates: verify at most this many candidates per query, best Jaccard
            first (``None``: all).
        stop_at: stop verifying a query's candidates at its first hit with identity at
            least this (``None``: verify all and keep the best).
        trim: let verification report the passing part of a longer alignment.
        mmseqs: how the mmseqs tier runs (only its recall-relevant flags enter the key).

    Raises:
        ValueError: a setting out of range (the message says which).
    """

    kind: str
    identity: float = 0.9
    coverage: float = 0.8
    reference_coverage: float = 0.0
    tiers: tuple[str, ...] = LIBRARY_TIERS
    sketch: SketchParams | None = None
    bands: int | None = None
    rows: int | None = None
    min_jaccard: float = 0.0
    max_candidates: int | None = None
    stop_at: float | None = None
    trim: bool = False
    mmseqs: MmseqsSettings = field(default_factory=MmseqsSettings)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        tiers = tuple(self.tiers)
        unknown = [t for t in tiers if t not in TIER_ORDER]
        if unknown or not tiers:
            raise ValueError(
                f"tiers must be a non-empty subset of {', '.join(TIER_ORDER)}, got {', '.join(tiers) or 'none'}"
            )
        object.__setattr__(self, "tiers", tuple(t for t in TIER_ORDER if t in tiers))
        for name in ("identity", "coverage", "reference_coverage", "min_jaccard"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a fraction from 0 to 1 (e.g. 0.9 for 90%), got {value!r}")
        if self.stop_at is not None and not 0.0 <= self.stop_at <= 1.0:
            raise ValueError(f"stop_at must be a fraction from 0 to 1 or None, got {self.stop_at!r}")
        if self.max_candidates is not None and self.max_candidates < 1:
            raise ValueError(f"max_candidates must be at least 1 or None, got {self.max_candidates!r}")
        sketch = self.sketch or SketchParams.default(self.kind)
        if sketch.kind != self.kind:
            raise ValueError(
                f"sketch params are for kind {sketch.kind!r} but kind is {self.kind!r}; pass matching params"
            )
        object.__setattr__(self, "sketch", sketch)
        if (self.bands is None) != (self.rows is None):
            raise ValueError("give both bands and rows, or neither (then the default banding is used)")
        if self.bands is None or self.rows is None:
            bands, rows = lsh_params(LIBRARY_LSH_THRESHOLD, sketch.num_perm)
            object.__setattr__(self, "bands", bands)
            object.__setattr__(self, "rows", rows)
        assert self.bands is not None and self.rows is not None
        if self.bands < 1 or self.rows < 1 or self.bands * self.rows > sketch.num_perm:
            raise ValueError(
                f"bands * rows ({self.bands} * {self.rows}) must be between 1 and num_perm ({sketch.num_perm})"
            )

    @property
    def params(self) -> SketchParams:
        """The sketch parameters (never ``None`` after construction)."""
        assert self.sketch is not None
        return self.sketch

    def with_tiers(self, tiers: tuple[str, ...]) -> Method:
        """The same method with other tiers (e.g. the tiers that could actually run)."""
        return replace(self, tiers=tiers)

    def to_dict(self) -> dict[str, Any]:
        """Every setting that enters the key, JSON-ready (the mmseqs part only with that tier)."""
        d: dict[str, Any] = {
            "kind": self.kind,
            "tiers": list(self.tiers),
            "identity": self.identity,
            "coverage": self.coverage,
            "reference_coverage": self.reference_coverage,
            "trim": self.trim,
        }
        if "minhash" in self.tiers:
            d["minhash"] = {
                "sketch_params": self.params.key(),
                "bands": self.bands,
                "rows": self.rows,
                "min_jaccard": self.min_jaccard,
                "max_candidates": self.max_candidates,
                "stop_at": self.stop_at,
                "aligner": aligner_id(),
            }
        if "containment" in self.tiers:
            from . import containment as _c  # the tier's settings (it imports the aligner)

            d["containment"] = {
                "k": self.params.k,
                "hash": self.params.hash_name,
                "max_candidates": _c.DEFAULT_MAX_CANDIDATES,
                "max_postings": _c.DEFAULT_MAX_POSTINGS,
                "min_shared": _c.MIN_SHARED,
                "min_shared_fraction": _c.MIN_SHARED_FRACTION,
                "seeds": _c.SEED_FORMAT,
                "source": _c.source_digest(),
                "aligner": aligner_id(),
            }
        if "mmseqs" in self.tiers:
            mm = self.mmseqs
            d["mmseqs"] = {
                "version": _mmseqs_identity(mm.executable),
                "sensitivity": mm.sensitivity,
                "evalue": mm.evalue,
                "max_seqs": mm.max_seqs,
                "alignment_mode": mm.alignment_mode,
                "extra_args": list(mm.extra_args),
            }
        return d

    def key(self) -> str:
        """``kind:tiers:id<identity>:cov<coverage>:<digest of to_dict()>``: readable and exact (<= 64 chars).

        Examples:
            >>> Method(kind="dna", identity=0.95).key()[:43]
            'dna:exact+minhash+containment:id0.95:cov0.8'
        """
        digest = hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:12]
        return f"{self.kind}:{'+'.join(self.tiers)}:id{self.identity:g}:cov{self.coverage:g}:{digest}"

    def differences(self, other: Method | dict[str, Any]) -> list[str]:
        """Names of the settings where ``other`` (a Method or its :meth:`to_dict`) differs.

        Examples:
            >>> Method(kind="protein").differences(Method(kind="protein", identity=0.8))
            ['identity']
        """
        mine = _flat(self.to_dict())
        theirs = _flat(other.to_dict() if isinstance(other, Method) else other)
        return sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = json.dumps(v)
    return out


def index_method(
    kind: str,
    *,
    identity: float = 0.8,
    coverage: float = 0.8,
    tiers: tuple[str, ...] = ("exact", "minhash"),
    mmseqs: MmseqsSettings | None = None,
) -> Method:
    """The method of a persistent band-key index (the registry's standing and ad-hoc checks).

    37 bands x 3 rows (:data:`INDEX_LSH_THRESHOLD`), candidates with an estimated Jaccard
    below 0.05 dropped, at most 200 verified per query sequence, stopping at the first at
    or above 95% identity.

    Examples:
        >>> m = index_method("protein")
        >>> m.bands, m.rows, m.max_candidates, m.stop_at
        (37, 3, 200, 0.95)
    """
    params = SketchParams.default(kind)
    bands, rows = lsh_params(INDEX_LSH_THRESHOLD, params.num_perm)
    return Method(
        kind=kind,
        identity=identity,
        coverage=coverage,
        tiers=tiers,
        sketch=params,
        bands=bands,
        rows=rows,
        min_jaccard=0.05,
        max_candidates=200,
        stop_at=0.95,
        mmseqs=mmseqs or MmseqsSettings(),
    )


def default_methods() -> list[tuple[str, Method]]:
    """``(label, method)`` of every method a front end runs by default, plus the measured variants.

    ``benchmarks/calibrate.py`` measures each of them; text has no ground truth, so none is listed.

    Examples:
        >>> labels = [label for label, _m in default_methods()]
        >>> "library protein" in labels and "registry standing protein" in labels
        True
    """
    out: list[tuple[str, Method]] = []
    for kind in ("protein", "dna"):
        out.append((f"library {kind}", Method(kind=kind)))
        out.append((f"library {kind}, coverage 0.5", Method(kind=kind, coverage=0.5)))
        out.append((f"registry standing {kind}", index_method(kind, identity=0.8)))
        out.append((f"registry query {kind}", index_method(kind, identity=0.9)))
    out.append(("library protein, identity 0.5", Method(kind="protein", identity=0.5)))
    out.append(
        (
            "library protein with mmseqs, identity 0.5",
            Method(kind="protein", identity=0.5, tiers=(*LIBRARY_TIERS, "mmseqs")),
        )
    )
    out.append(
        (
            "registry standing protein with mmseqs",
            index_method("protein", identity=0.3, tiers=("exact", "minhash", "mmseqs")),
        )
    )
    return out
