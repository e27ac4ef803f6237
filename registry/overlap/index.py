"""Building the persistent LSH index: sketch every sequence once per settings, store in bulk.

Only sequences without a signature under the settings are sketched, so indexing a record set
whose sequences are already known (another version, a split part) costs one query. Work goes in
chunks: each chunk is sketched outside any transaction and written in one short transaction, so
a killed worker loses at most one chunk and a re-run continues where it stopped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import numpy as np
from django.conf import settings as django_settings
from django.db import IntegrityError

from dedup.arrays import sorted_unique
from dedup.lsh import band_keys, lsh_params
from dedup.method import INDEX_LSH_THRESHOLD
from dedup.params import SketchParams
from dedup.sketch import sketch_batch

from ..models import Record, RecordSet, RecordSetIndex, SketchSettings
from . import storage

#: Target Jaccard similarity the banding is derived from (``dedup.lsh.lsh_params``): dedup's
#: :data:`dedup.method.INDEX_LSH_THRESHOLD` (37 bands of 3 rows at 128 permutations), the banding
#: of :func:`dedup.method.index_method`, whose recall per identity band is measured by
#: ``benchmarks/calibrate.py``.
LSH_THRESHOLD = INDEX_LSH_THRESHOLD

#: Sequences sketched and written per transaction (``LEAKLEDGER_INDEX_CHUNK`` overrides it; the
#: worker test uses small chunks to kill a worker between two of them). Larger chunks mean fewer
#: passes over the band-key b-tree: Swiss-Prot's index wrote in 59 s with 20,000 and 42 s with
#: 100,000 (peak RSS 0.4 and 0.95 GB).
CHUNK = int(os.environ.get("LEAKLEDGER_INDEX_CHUNK") or 100_000)

#: After indexing this many sequences at once, refresh the planner's statistics (PostgreSQL):
#: a freshly loaded table without them gets scan plans where index probes are right.
ANALYZE_AFTER = 50_000

Progress = Callable[..., None]


def sketch_params(kind: str) -> SketchParams:
    return SketchParams.default(kind)


def sketch_settings_get(kind: str) -> SketchSettings:
    """The index settings for ``kind`` (default sketch parameters and banding), created on first use.

    Examples:
        >>> sketch_settings_key("protein")
        'protein:k5:p128:s1:affine32:ll-shingle-v1:b37r3'
    """
    params = sketch_params(kind)
    bands, rows = lsh_params(LSH_THRESHOLD, params.num_perm)
    key = sketch_settings_key(kind)
    try:
        row, _ = SketchSettings.objects.get_or_create(
            key=key,
            defaults={
                "kind": kind,
                "params_key": params.key(),
                "num_perm": params.num_perm,
                "bands": bands,
                "rows": rows,
                "threshold": LSH_THRESHOLD,
            },
        )
    except IntegrityError:  # created concurrently
        row = SketchSettings.objects.get(key=key)
    return row


def sketch_settings_key(kind: str) -> str:
    params = sketch_params(kind)
    bands, rows = lsh_params(LSH_THRESHOLD, params.num_perm)
    return f"{params.key()}:b{bands}r{rows}"


def params_of(settings: SketchSettings) -> SketchParams:
    return SketchParams.from_key(settings.params_key)


def record_set_sequence_ids(record_set: RecordSet) -> np.ndarray:
    """Distinct sequence ids of a record set, sorted."""
    records = Record.objects.all()
    if record_set.part_id is None:
        records = records.filter(version_id=record_set.version_id)
    else:
        records = records.filter(splitmembership__part_id=record_set.part_id)
    ids = np.fromiter(records.values_list("sequence_id", flat=True), dtype=np.int64)
    return sorted_unique(ids)


def sketch_and_key(residues: list[str], settings: SketchSettings) -> tuple[np.ndarray, np.ndarray]:
    """Signatures ``(n, num_perm)`` uint32 and band keys ``(n, bands)`` int64 of sequences."""
    signatures = sketch_batch(residues, params_of(settings), threads=django_settings.LEAKLEDGER["THREADS"])
    return signatures, band_keys(signatures, settings.bands, settings.rows)


def index_sequences(
    sequence_ids: np.ndarray,
    settings: SketchSettings,
    *,
    todo: np.ndarray | None = None,
    on_progress: Progress | None = None,
) -> dict:
    """Sketch and index the sequences among ``sequence_ids`` that are not indexed yet.

    ``todo`` (sorted ids) may be given when the caller already knows which ones lack a signature.
    Returns counts: ``sequences`` considered, ``sketched`` now, ``already`` indexed before.
    """
    started = time.monotonic()
    sequence_ids = np.asarray(sequence_ids, dtype=np.int64)
    todo = storage.missing_sequence_ids(settings.pk, sequence_ids) if todo is None else todo
    total = len(todo)
    written = 0
    sketch_seconds = write_seconds = 0.0
    if on_progress:
        on_progress("sketch", 0, total)
    for lo in range(0, total, CHUNK):
        ids = todo[lo : lo + CHUNK]
        rows = storage.residues_read(ids.tolist())
        residues = [rows[i] for i in ids.tolist()]
        t0 = time.monotonic()
        signatures, keys = sketch_and_key(residues, settings)
        t1 = time.monotonic()
        written += storage.index_write(settings.pk, ids, signatures, keys)
        t2 = time.monotonic()
        sketch_seconds += t1 - t0
        write_seconds += t2 - t1
        if on_progress:
            on_progress("sketch", min(lo + CHUNK, total), total)
    if written >= ANALYZE_AFTER:
        storage.analyze()
    return {
        "settings": settings.key,
        "sequences": int(len(sequence_ids)),
        "sketched": written,
        "already": int(len(sequence_ids) - total),
        "sketch_seconds": round(sketch_seconds, 3),
        "write_seconds": round(write_seconds, 3),
        "seconds": round(time.monotonic() - started, 3),
    }


def band_keys_ensure(settings: SketchSettings) -> int:
    """Rebuild the band keys of ``settings`` from the stored signatures if the table lost them.

    On PostgreSQL the band-key table is UNLOGGED (migration 0003): a server crash empties it
    while the signatures survive. Two index probes detect that; the rebuild needs no sketching.
    Returns the number of sequences whose keys were rebuilt (0 when nothing was missing).
    """
    if not storage.band_keys_lost(settings.pk):
        return 0
    rebuilt = 0
    for ids, signatures in storage.signatures_iter(settings.pk, settings.num_perm, CHUNK):
        keys = band_keys(signatures, settings.bands, settings.rows)
        rebuilt += storage.band_keys_write(settings.pk, ids, signatures, keys)
    storage.analyze()
    return rebuilt


def record_set_indexed(record_set: RecordSet, settings: SketchSettings) -> bool:
    return RecordSetIndex.objects.filter(record_set=record_set, settings=settings).exists()


def index_record_set(record_set: RecordSet, *, on_progress: Progress | None = None) -> dict:
    """Index every sequence of a record set under the default settings of its kind.

    Cheap when already done (one lookup of the record set's mark); otherwise sketches only the
    sequences the index lacks, then marks the record set indexed.
    """
    settings = sketch_settings_get(record_set.version.dataset.kind)
    mark = RecordSetIndex.objects.filter(record_set=record_set, settings=settings).first()
    if mark is not None:
        return {
            "record_set": record_set.ref,
            "settings": settings.key,
            "sequences": mark.sequences,
            "sketched": 0,
            "already": mark.sequences,
        }
    distinct = storage.record_set_sequence_count(record_set)
    todo = storage.record_set_unindexed(record_set, settings.pk)
    result = index_sequences(np.empty(distinct, dtype=np.int64), settings, todo=todo, on_progress=on_progress)
    RecordSetIndex.objects.get_or_create(
        record_set=record_set, settings=settings, defaults={"sequences": distinct}
    )
    return {"record_set": record_set.ref, **result}


def index_status() -> list[dict]:
    """Per settings: sequences indexed, band keys, and registered sequences of that kind not indexed."""
    from django.db.models import Count

    from ..models import BandKey, SequenceSketch

    out = []
    for settings in SketchSettings.objects.all():
        sketched = SequenceSketch.objects.filter(settings=settings).count()
        keys = BandKey.objects.filter(settings=settings).count()
        kind_sequences = Record.objects.filter(version__dataset__kind=settings.kind).aggregate(
            n=Count("sequence_id", distinct=True)
        )["n"]
        out.append(
            {
                "settings": settings.key,
                "kind": settings.kind,
                "bands": settings.bands,
                "rows": settings.rows,
                "threshold": settings.threshold,
                "sequences_indexed": sketched,
                "band_keys": keys,
                "sequences_of_kind": kind_sequences,
                "not_indexed": max(kind_sequences - sketched, 0),
            }
        )
    return out
