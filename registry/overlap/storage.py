"""Bulk reads and writes of the LSH index, for SQLite and PostgreSQL.

On PostgreSQL, signatures and band keys are loaded with ``COPY ... FROM STDIN (FORMAT BINARY)``
from buffers built by numpy (no Python object per row), and the query side of a candidate
search is a temporary table loaded the same way. On SQLite (the embedded default) the same
operations use ``executemany``. Either way a candidate search is one join on
``(settings_id, band_key)`` through the primary-key index, never a scan of all signatures.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
from django.db import connection, transaction

from ..models import BandKey, Record, Sequence, SequenceSketch, SplitMembership

# SQLite's default limit on bound variables (32766 since 3.32) with headroom.
IN_CHUNK = 10_000

_PG_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_PG_TRAILER = (-1).to_bytes(2, "big", signed=True)


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def chunks(values: list, size: int = IN_CHUNK) -> Iterator[list]:
    for lo in range(0, len(values), size):
        yield values[lo : lo + size]


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def rows_in(sql: str, values, params: list | tuple = (), *, array_type: str = "bigint") -> list[tuple]:
    """Rows of ``sql`` whose last condition ``{in}`` tests membership in ``values``, in chunks.

    PostgreSQL gets one array parameter, as ``IN (SELECT unnest(%s::bigint[]))``: binding ten
    thousand separate parameters costs far more than the query, and the semi-join form keeps the
    plan an index probe per value even before the tables have statistics (``= ANY`` on a freshly
    loaded table was planned as a scan of the whole version). SQLite gets ``IN (...)`` lists under
    its limit on bound variables.
    """
    values = list(values)
    out: list[tuple] = []
    if not values:
        return out
    with connection.cursor() as cursor:
        if is_postgres():
            for chunk in chunks(values, 100_000):
                cursor.execute(
                    sql.replace("{in}", f"IN (SELECT unnest(%s::{array_type}[]))"), [*params, chunk]
                )
                out.extend(cursor.fetchall())
        else:
            for chunk in chunks(values):
                cursor.execute(
                    sql.replace("{in}", f"IN ({', '.join(['%s'] * len(chunk))})"), [*params, *chunk]
                )
                out.extend(cursor.fetchall())
    return out


def residues_read(sequence_ids) -> dict[int, str]:
    """``sequence id -> residues``."""
    return dict(rows_in(f"SELECT id, residues FROM {_table(Sequence)} WHERE id {{in}}", sequence_ids))


def lengths_read(sequence_ids) -> dict[int, int]:
    """``sequence id -> length`` (known also for sequences without residues)."""
    return dict(rows_in(f"SELECT id, length FROM {_table(Sequence)} WHERE id {{in}}", sequence_ids))


def sequence_ids_by_sha(shas) -> dict[str, int]:
    return dict(
        rows_in(f"SELECT sha256, id FROM {_table(Sequence)} WHERE sha256 {{in}}", shas, array_type="text")
    )


def _record_set_from(record_set) -> tuple[str, list]:
    """FROM/WHERE selecting the records ``r`` of a record set."""
    if record_set.part_id is None:
        return f"FROM {_table(Record)} r WHERE r.version_id = %s", [record_set.version_id]
    return (
        f"FROM {_table(Record)} r JOIN {_table(SplitMembership)} m ON m.record_id = r.id WHERE m.part_id = %s",
        [record_set.part_id],
    )


def record_set_sequence_count(record_set) -> int:
    sql, params = _record_set_from(record_set)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(DISTINCT r.sequence_id) {sql}", params)
        return cursor.fetchone()[0]


def record_set_unindexed(record_set, settings_id: int) -> np.ndarray:
    """Distinct sequence ids of a record set without a signature under ``settings_id``, sorted (one anti-join)."""
    sql, params = _record_set_from(record_set)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT r.sequence_id {sql} AND NOT EXISTS (SELECT 1 FROM {_table(SequenceSketch)} k "
            "WHERE k.settings_id = %s AND k.sequence_id = r.sequence_id)",
            [*params, settings_id],
        )
        ids = np.fromiter((row[0] for row in cursor.fetchall()), dtype=np.int64)
    ids.sort()
    return ids


def reference_rows(whole_version_ids: list[int], part_ids: list[int], sequence_ids) -> list[tuple]:
    """``(sequence id, version or part id, is_part, record id, identifier, position)`` of reference records."""
    out = []
    if whole_version_ids:
        versions = ", ".join(str(int(v)) for v in whole_version_ids)
        out += [
            (sid, vid, False, rid, ident, pos)
            for sid, vid, rid, ident, pos in rows_in(
                f"SELECT r.sequence_id, r.version_id, r.id, r.identifier, r.position FROM {_table(Record)} r "
                f"WHERE r.version_id IN ({versions}) AND r.sequence_id {{in}}",
                sequence_ids,
            )
        ]
    if part_ids:
        parts = ", ".join(str(int(p)) for p in part_ids)
        out += [
            (sid, pid, True, rid, ident, pos)
            for sid, pid, rid, ident, pos in rows_in(
                f"SELECT r.sequence_id, m.part_id, r.id, r.identifier, r.position FROM {_table(Record)} r "
                f"JOIN {_table(SplitMembership)} m ON m.record_id = r.id "
                f"WHERE m.part_id IN ({parts}) AND r.sequence_id {{in}}",
                sequence_ids,
            )
        ]
    return out


def _pg_binary_rows(columns: list[tuple[str, np.ndarray]]) -> bytes:
    """A ``COPY ... (FORMAT BINARY)`` stream of fixed-width columns, built without a Python loop.

    ``columns`` are ``(numpy big-endian dtype string or 'V<n>', array)`` pairs of equal length.
    """
    n = len(columns[0][1])
    fields = [("nfields", ">i2")]
    for i, (dtype, _) in enumerate(columns):
        fields += [(f"len{i}", ">i4"), (f"val{i}", dtype)]
    rows = np.empty(n, dtype=np.dtype(fields))
    rows["nfields"] = len(columns)
    for i, (dtype, values) in enumerate(columns):
        rows[f"len{i}"] = np.dtype(dtype).itemsize
        rows[f"val{i}"] = values
    return _PG_HEADER + rows.tobytes() + _PG_TRAILER


def signatures_to_bytes(signatures: np.ndarray) -> list[bytes]:
    """Rows of a ``(n, num_perm)`` uint32 array as little-endian bytes, the stored form."""
    little = np.ascontiguousarray(signatures, dtype="<u4")
    return [row.tobytes() for row in little]


def signatures_from_bytes(blobs: Iterable[bytes], num_perm: int) -> np.ndarray:
    """The inverse of :func:`signatures_to_bytes`: a ``(n, num_perm)`` uint32 array."""
    joined = b"".join(bytes(b) for b in blobs)
    return np.frombuffer(joined, dtype="<u4").reshape(-1, num_perm).astype(np.uint32)


def missing_sequence_ids(settings_id: int, sequence_ids: np.ndarray) -> np.ndarray:
    """The ids in ``sequence_ids`` that have no signature under ``settings_id`` yet."""
    have = {
        row[0]
        for row in rows_in(
            f"SELECT sequence_id FROM {_table(SequenceSketch)} WHERE settings_id = %s AND sequence_id {{in}}",
            sequence_ids.tolist(),
            [settings_id],
        )
    }
    if not have:
        return sequence_ids
    return sequence_ids[~np.isin(sequence_ids, np.fromiter(have, dtype=np.int64, count=len(have)))]


def index_write(settings_id: int, sequence_ids: np.ndarray, signatures: np.ndarray, keys: np.ndarray) -> int:
    """Store signatures and band keys of sequences in one transaction; returns sequences written.

    Idempotent and safe against concurrent writers: sequences that meanwhile got a signature
    (another job indexing an overlapping record set) are left alone. ``keys`` is the
    ``(n, bands)`` int64 array; a row of ``keys`` may be all-``None``-masked by passing
    ``sequence_ids`` whose signature is empty (no shingles): those get a signature but no band
    keys, since every empty sequence would collide with every other.
    """
    with transaction.atomic():
        if is_postgres():
            with connection.cursor() as cursor:
                # Serialise index writers of one settings: the re-check below is then exact.
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [0x11AB, settings_id])
                # Only the index: a lost commit after a server crash is recomputed by the idempotent job.
                cursor.execute("SET LOCAL synchronous_commit = off")
        todo = missing_sequence_ids(settings_id, sequence_ids)
        if len(todo) < len(sequence_ids):
            keep = np.isin(sequence_ids, todo)
            sequence_ids, signatures, keys = sequence_ids[keep], signatures[keep], keys[keep]
        if len(sequence_ids) == 0:
            return 0
        band_keys, band_seqs = _band_rows(sequence_ids, signatures, keys)
        if is_postgres():
            _pg_write(settings_id, sequence_ids, signatures, band_keys, band_seqs)
        else:
            _sqlite_write(settings_id, sequence_ids, signatures, band_keys, band_seqs)
        return len(sequence_ids)


def _band_rows(sequence_ids, signatures, keys) -> tuple[np.ndarray, np.ndarray]:
    empty = (signatures == np.uint32(0xFFFFFFFF)).all(axis=1)
    band_seqs = np.repeat(sequence_ids[~empty], keys.shape[1])
    band_keys = keys[~empty].reshape(-1)
    # Sorted rows land in neighbouring b-tree pages: fewer pages touched per chunk.
    order = np.argsort(band_keys, kind="stable")
    return band_keys[order], band_seqs[order]


def band_keys_write(settings_id: int, sequence_ids, signatures, keys) -> int:
    """Write band keys only (rebuilding a lost band-key table); duplicates are skipped."""
    band_keys, band_seqs = _band_rows(sequence_ids, signatures, keys)
    with transaction.atomic(), connection.cursor() as cursor:
        if is_postgres():
            cursor.execute(
                "CREATE TEMP TABLE ll_band_rows (settings_id smallint, band_key bigint, sequence_id bigint) "
                "ON COMMIT DROP"
            )
            with cursor.cursor.copy("COPY ll_band_rows FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(
                    _pg_binary_rows(
                        [
                            (">i2", np.full(len(band_keys), settings_id)),
                            (">i8", band_keys),
                            (">i8", band_seqs),
                        ]
                    )
                )
            cursor.execute(
                f"INSERT INTO {_table(BandKey)} (settings_id, band_key, sequence_id) "
                "SELECT settings_id, band_key, sequence_id FROM ll_band_rows ON CONFLICT DO NOTHING"
            )
            cursor.execute("DROP TABLE ll_band_rows")
        else:
            cursor.executemany(
                f"INSERT OR IGNORE INTO {_table(BandKey)} (settings_id, band_key, sequence_id) VALUES (%s, %s, %s)",
                list(
                    zip([settings_id] * len(band_keys), band_keys.tolist(), band_seqs.tolist(), strict=True)
                ),
            )
    return len(sequence_ids)


def band_keys_lost(settings_id: int) -> bool:
    """Signatures exist under the settings but no band key does (an unlogged table emptied by a crash)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {_table(SequenceSketch)} WHERE settings_id = %s LIMIT 1", [settings_id]
        )
        if cursor.fetchone() is None:
            return False
        cursor.execute(f"SELECT 1 FROM {_table(BandKey)} WHERE settings_id = %s LIMIT 1", [settings_id])
        return cursor.fetchone() is None


def signatures_iter(settings_id: int, num_perm: int, chunk: int):
    """``(sequence ids, signatures)`` of every stored signature under the settings, in id order, by chunks."""
    last = -1
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT sequence_id, signature FROM {_table(SequenceSketch)} WHERE settings_id = %s "
                "AND sequence_id > %s ORDER BY sequence_id LIMIT %s",
                [settings_id, last, chunk],
            )
            rows = cursor.fetchall()
        if not rows:
            return
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        yield ids, signatures_from_bytes([r[1] for r in rows], num_perm)
        last = int(ids[-1])


def analyze() -> None:
    """Refresh the planner's statistics of the tables an overlap search reads (PostgreSQL only)."""
    if not is_postgres():
        return
    with connection.cursor() as cursor:
        for model in (Sequence, Record, SequenceSketch, BandKey):
            cursor.execute(f"ANALYZE {_table(model)}")


def _pg_write(settings_id, sequence_ids, signatures, band_keys, band_seqs) -> None:
    num_perm = signatures.shape[1]
    sig_bytes = np.ascontiguousarray(signatures, dtype="<u4").view(f"V{4 * num_perm}").reshape(-1)
    sketch_stream = _pg_binary_rows(
        [
            (">i2", np.full(len(sequence_ids), settings_id)),
            (">i8", sequence_ids),
            (f"V{4 * num_perm}", sig_bytes),
        ]
    )
    band_stream = _pg_binary_rows(
        [(">i2", np.full(len(band_keys), settings_id)), (">i8", band_keys), (">i8", band_seqs)]
    )
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3 cursor under Django's wrapper
        with raw.copy(
            f"COPY {_table(SequenceSketch)} (settings_id, sequence_id, signature) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.write(sketch_stream)
        with raw.copy(
            f"COPY {_table(BandKey)} (settings_id, band_key, sequence_id) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.write(band_stream)


def _sqlite_write(settings_id, sequence_ids, signatures, band_keys, band_seqs) -> None:
    # Iterators, not lists: a chunk has millions of band-key rows and tuples of them cost memory.
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT OR IGNORE INTO {_table(SequenceSketch)} (settings_id, sequence_id, signature) VALUES (%s, %s, %s)",
            (
                (settings_id, int(sid), blob)
                for sid, blob in zip(sequence_ids, signatures_to_bytes(signatures), strict=True)
            ),
        )
        for lo in range(0, len(band_keys), 500_000):
            cursor.executemany(
                f"INSERT OR IGNORE INTO {_table(BandKey)} (settings_id, band_key, sequence_id) VALUES (%s, %s, %s)",
                zip(
                    [settings_id] * len(band_keys[lo : lo + 500_000]),
                    band_keys[lo : lo + 500_000].tolist(),
                    band_seqs[lo : lo + 500_000].tolist(),
                    strict=True,
                ),
            )


def signatures_read(settings_id: int, sequence_ids: list[int], num_perm: int) -> dict[int, np.ndarray]:
    """Stored signatures of sequences, as ``sequence id -> (num_perm,) uint32``."""
    rows = rows_in(
        f"SELECT sequence_id, signature FROM {_table(SequenceSketch)} WHERE settings_id = %s AND sequence_id {{in}}",
        sequence_ids,
        [settings_id],
    )
    if not rows:
        return {}
    sigs = signatures_from_bytes([r[1] for r in rows], num_perm)
    return dict(zip([r[0] for r in rows], sigs, strict=True))


def candidate_pairs(settings_id: int, keys: np.ndarray) -> np.ndarray:
    """Sequences sharing at least one band key with each query: ``(m, 2)`` int64 ``(query index, sequence id)``.

    ``keys`` is the ``(n_queries, bands)`` int64 array of the queries' band keys. The query keys
    go into a temporary table and one join on the band-key index returns the distinct pairs.
    """
    n, bands = keys.shape
    if n == 0:
        return np.empty((0, 2), dtype=np.int64)
    qidx = np.repeat(np.arange(n, dtype=np.int64), bands)
    flat = keys.reshape(-1)
    band_table = _table(BandKey)
    with transaction.atomic(), connection.cursor() as cursor:
        if is_postgres():
            raw = cursor.cursor
            # ON COMMIT DROP, and dropped explicitly too: the caller may hold an outer transaction.
            cursor.execute("DROP TABLE IF EXISTS ll_query_keys")
            cursor.execute("CREATE TEMP TABLE ll_query_keys (q integer, band_key bigint) ON COMMIT DROP")
            with raw.copy("COPY ll_query_keys (q, band_key) FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(_pg_binary_rows([(">i4", qidx), (">i8", flat)]))
            cursor.execute("ANALYZE ll_query_keys")
            # A few hundred thousand probes into a b-tree of tens of millions of rows: index lookups,
            # never a hash join that reads the whole band-key table.
            cursor.execute("SET LOCAL enable_hashjoin = off")
            cursor.execute("SET LOCAL enable_mergejoin = off")
            # And never a sequential scan inside the loop: band keys written earlier in the same
            # transaction have no statistics yet, and a table the planner takes for empty was scanned
            # once per probe (seconds per query on a few thousand keys).
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(
                f"SELECT DISTINCT k.q, b.sequence_id FROM ll_query_keys k JOIN {band_table} b "
                "ON b.settings_id = %s AND b.band_key = k.band_key",
                [settings_id],
            )
            rows = cursor.fetchall()
            cursor.execute("DROP TABLE ll_query_keys")
            cursor.execute("SET LOCAL enable_hashjoin = on")
            cursor.execute("SET LOCAL enable_mergejoin = on")
            cursor.execute("SET LOCAL enable_seqscan = on")
        else:
            cursor.execute("DROP TABLE IF EXISTS temp.ll_query_keys")
            cursor.execute("CREATE TEMP TABLE ll_query_keys (q integer, band_key bigint)")
            cursor.executemany(
                "INSERT INTO ll_query_keys (q, band_key) VALUES (%s, %s)",
                list(zip(qidx.tolist(), flat.tolist(), strict=False)),
            )
            cursor.execute(
                f"SELECT DISTINCT k.q, b.sequence_id FROM ll_query_keys k CROSS JOIN {band_table} b "
                "WHERE b.settings_id = %s AND b.band_key = k.band_key",
                [settings_id],
            )
            rows = cursor.fetchall()
            cursor.execute("DROP TABLE temp.ll_query_keys")
    if not rows:
        return np.empty((0, 2), dtype=np.int64)
    return np.array(rows, dtype=np.int64)
