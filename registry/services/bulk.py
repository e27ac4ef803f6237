"""Bulk writes of records and their content-addressed sequences, through a staging table.

Rows are staged in a temporary table (COPY on PostgreSQL, ``executemany`` on SQLite), then two
set-oriented statements add the sequences the registry does not have yet and the records with
their sequence ids. Two statements for the whole version instead of ORM objects per row: on
459,503 Swiss-Prot proteins this is what keeps registration within its time budget
(``benchmarks/README.md``).
"""

from collections.abc import Callable, Iterable

from django.db import connection

from ..models import Record, Sequence

STAGE = "ll_stage_records"


def write_records(
    version_id: int,
    batches: Iterable[list[tuple[str, str, str, str]]],
    *,
    total: int,
    on_progress: Callable[[str, int, int | None], None] | None = None,
) -> None:
    """Insert ``(identifier, description, residues, sha256)`` batches as the version's records, in order.

    Must run inside the registering transaction.
    """
    seq_table, rec_table = Sequence._meta.db_table, Record._meta.db_table
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {STAGE} (position integer, identifier text, description text, "
            f"residues text, sha256 varchar(64))" + (" ON COMMIT DROP" if postgres else "")
        )
        position = 0
        for batch in batches:
            rows = [
                (position + i, ident, desc, residues, sha)
                for i, (ident, desc, residues, sha) in enumerate(batch)
            ]
            position += len(rows)
            if postgres:
                with cursor.cursor.copy(
                    f"COPY {STAGE} (position, identifier, description, residues, sha256) FROM STDIN"
                ) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.executemany(f"INSERT INTO {STAGE} VALUES (%s, %s, %s, %s, %s)", rows)
            if on_progress:
                on_progress("stage", position, total)
        if on_progress:
            on_progress("write", 0, total)
        distinct = (
            "SELECT DISTINCT ON (sha256) sha256, residues" if postgres else "SELECT sha256, MIN(residues)"
        )
        group = "" if postgres else " GROUP BY sha256"
        cursor.execute(
            f"INSERT INTO {seq_table} (sha256, residues, length) "
            f"SELECT sha256, residues, LENGTH(residues) FROM ({distinct} AS residues FROM {STAGE}{group}) AS s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {seq_table} q WHERE q.sha256 = s.sha256) "
            f"ON CONFLICT (sha256) DO NOTHING"
        )
        # Sequences known until now only from a sketch-only version (residues NULL) get their residues.
        cursor.execute(
            f"UPDATE {seq_table} SET residues = (SELECT MIN(s.residues) FROM {STAGE} s "
            f"WHERE s.sha256 = {seq_table}.sha256) "
            f"WHERE residues IS NULL AND sha256 IN (SELECT sha256 FROM {STAGE})"
        )
        cursor.execute(
            f"INSERT INTO {rec_table} (version_id, position, identifier, description, sequence_id) "
            f"SELECT %s, s.position, s.identifier, s.description, q.id FROM {STAGE} s "
            f"JOIN {seq_table} q ON q.sha256 = s.sha256 ORDER BY s.position",
            [version_id],
        )
        if not postgres:
            cursor.execute(f"DROP TABLE {STAGE}")
        if on_progress:
            on_progress("write", total, total)


def write_sketch_records(version_id: int, rows: list[tuple[str, str, int]]) -> dict[str, int]:
    """Insert ``(identifier, sha256, length)`` rows as the records of a sketch-only version, in order.

    A sequence the registry does not know is added with its sha256 and length and no residues
    (NULL). Returns ``sha256 -> sequence id``. Must run inside the registering transaction.
    """
    seq_table, rec_table = Sequence._meta.db_table, Record._meta.db_table
    postgres = connection.vendor == "postgresql"
    stage = STAGE + "_sketch"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {stage}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {stage} (position integer, identifier text, sha256 varchar(64), "
            f"length integer)" + (" ON COMMIT DROP" if postgres else "")
        )
        staged = [(i, ident, sha, length) for i, (ident, sha, length) in enumerate(rows)]
        if postgres:
            with cursor.cursor.copy(
                f"COPY {stage} (position, identifier, sha256, length) FROM STDIN"
            ) as copy:
                for row in staged:
                    copy.write_row(row)
        else:
            cursor.executemany(f"INSERT INTO {stage} VALUES (%s, %s, %s, %s)", staged)
        cursor.execute(
            f"INSERT INTO {seq_table} (sha256, residues, length) "
            f"SELECT sha256, NULL, MIN(length) FROM {stage} s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {seq_table} q WHERE q.sha256 = s.sha256) GROUP BY sha256 "
            f"ON CONFLICT (sha256) DO NOTHING"
        )
        cursor.execute(
            f"INSERT INTO {rec_table} (version_id, position, identifier, description, sequence_id) "
            f"SELECT %s, s.position, s.identifier, '', q.id FROM {stage} s "
            f"JOIN {seq_table} q ON q.sha256 = s.sha256 ORDER BY s.position",
            [version_id],
        )
        cursor.execute(
            f"SELECT DISTINCT s.sha256, q.id FROM {stage} s JOIN {seq_table} q ON q.sha256 = s.sha256"
        )
        ids = dict(cursor.fetchall())
        if not postgres:
            cursor.execute(f"DROP TABLE {stage}")
    return ids
