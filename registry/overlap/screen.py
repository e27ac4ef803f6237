"""Whole-set screen of a query (file or record set) against registered training sets.

The first answer before the per-record report: the containment of the query's k-mers in
each training set, with its 95% interval (:mod:`dedup.screen`). A record set's sketch is
computed once per (record set, digest, kind, k, scaled) and kept under
``settings.DATA_DIR / "set-sketches"``: published record sets are immutable, so the file is
valid for as long as the digest it is named by, and a screen against many large training
sets reads one small file per set.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.conf import settings

from dedup.errors import DedupError
from dedup.screen import DEFAULT_SCALED, SCREEN_K, SetSketch, screen

from ..errors import RegistryError
from ..models import RecordSet
from . import engine
from .services import query_and_references

__all__ = ["overlap_screen", "record_set_sketch"]

_MAX_SCALED = 1_000_000


def _cache_dir() -> Path:
    return Path(settings.DATA_DIR) / "set-sketches"


def record_set_sketch(record_set: RecordSet, *, kind: str, k: int, scaled: int) -> tuple[SetSketch, bool]:
    """The record set's sketch and whether it came from the cache (computed and stored otherwise)."""
    digest = engine.record_set_digest(record_set)
    path = _cache_dir() / f"{record_set.uuid}-{digest[:16]}-{kind}-k{k}-s{scaled}.llsketch"
    if path.is_file():
        try:
            return SetSketch.load(path), True
        except DedupError:  # a damaged cache file is recomputed, never trusted
            path.unlink(missing_ok=True)
    residues = (
        engine.record_set_records(record_set)
        .order_by()
        .values_list("sequence__residues", flat=True)
        .distinct()
        .iterator(chunk_size=5000)
    )
    sketch = SetSketch.from_sequences(residues, kind=kind, k=k, scaled=scaled, name=record_set.ref)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    sketch.save(tmp)
    tmp.replace(path)  # atomic: a concurrent screen reads the old file or the whole new one
    return sketch, False


def overlap_screen(
    *,
    source: str,
    kind: str | None = None,
    file_format: str | None = None,
    against: list[str] | None = None,
    against_model: str | None = None,
    k: int | None = None,
    scaled: int = DEFAULT_SCALED,
) -> dict:
    """Containment of a file or record set in each training set (or named sets, or a model's ancestry).

    Returns ``query``, ``query_digest``, ``query_records``, ``method`` (kind, k, scaled, hash, what
    containment and the interval mean) and ``screen``: one row per reference set, highest first,
    with ``containment``, ``interval_95``, the sampled counts and the set's digest.
    """
    started = time.perf_counter()
    if not 1 <= scaled <= _MAX_SCALED:
        raise RegistryError(
            f"scaled must be from 1 to {_MAX_SCALED}, got {scaled}.", fields={"scaled": ["range"]}
        )
    query, kind, references = query_and_references(
        source=source, kind=kind, file_format=file_format, against=against, against_model=against_model
    )
    k = SCREEN_K[kind] if k is None else k
    try:
        test = SetSketch.from_sequences(query.residues, kind=kind, k=k, scaled=scaled, name=query.label)
    except ValueError as exc:
        raise RegistryError(str(exc), fields={"k": ["invalid"]}) from None
    trains, cached = {}, 0
    for rs in references:
        trains[rs.ref], hit = record_set_sketch(rs, kind=kind, k=k, scaled=scaled)
        cached += hit
    digests = {rs.ref: engine.record_set_digest(rs) for rs in references}
    rows = [r.to_dict() | {"digest": digests[r.train]} for r in screen(test, list(trains.values()))]
    return {
        "query": query.label,
        "query_digest": query.digest,
        "query_records": len(query),
        "method": {
            "kind": kind,
            "k": k,
            "scaled": scaled,
            "sketch": "FracMinHash of distinct k-mers (dedup.screen), ll-shingle-v1 k-mers, 64-bit fmix64 hash",
            "containment_definition": "distinct query k-mers found in the set / distinct query k-mers",
            "interval": "95% Wilson score interval over the sampled query k-mers (sampling error only)",
        },
        "screen": rows,
        "timings": {"total": round(time.perf_counter() - started, 3), "sketches_from_cache": cached},
    }
