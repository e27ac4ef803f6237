"""CSV, TSV (csv module) and JSONL readers with configurable identifier and sequence columns.

CSV/TSV: the first row names the columns; ``id_column`` and ``sequence_column`` must be among them (names
compared exactly, then case-insensitively), and an optional ``description`` column fills the record's
description. Blank rows are skipped. JSONL: one JSON object per non-blank line, with the same keys; an
integer identifier is accepted and turned into text.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

from dedup.alphabets import ParsedRecord
from dedup.errors import ParseError
from dedup.formats._records import RecordChecker
from dedup.formats._source import Source


def _max_line(limits) -> int:
    # a row holds one sequence plus its identifier and description
    return 4 * limits.max_sequence_length + (1 << 20)


def _find_column(fields: list[str], wanted: str) -> int | None:
    if wanted in fields:
        return fields.index(wanted)
    lowered = [f.strip().lower() for f in fields]
    if wanted.strip().lower() in lowered:
        return lowered.index(wanted.strip().lower())
    return None


def _read_delimited(src: Source, *, fmt, checker, id_column, sequence_column, on_progress):
    delimiter = "\t" if fmt == "tsv" else ","
    # the csv module caps fields at 128 KiB by default; long proteins and genomes need more
    csv.field_size_limit(max(csv.field_size_limit(), _max_line(checker.limits)))
    lines = src.text_lines(_max_line(checker.limits))
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        while header is not None and not any(f.strip() for f in header):
            header = next(reader, None)
    except csv.Error as exc:
        raise ParseError(f"malformed {fmt.upper()} header ({exc})", line=reader.line_num) from None
    if header is None:
        raise ParseError(
            "the file is empty" if src.out_bytes == 0 else "no header row",
            hint=f"A {fmt.upper()} file needs a header row naming its columns, then one row per record",
        )
    header_line = reader.line_num
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    id_idx = _find_column(header, id_column)
    seq_idx = _find_column(header, sequence_column)
    missing = [name for name, idx in ((id_column, id_idx), (sequence_column, seq_idx)) if idx is None]
    if id_idx is None or seq_idx is None:
        found = ", ".join(repr(f) for f in header[:20]) + (" ..." if len(header) > 20 else "")
        other = "comma" if delimiter == "\t" else "tab"
        raise ParseError(
            f"missing column {' and '.join(repr(m) for m in missing)}; the header row has: {found}",
            hint="Pass the right column names (--id-column / --sequence-column)"
            + (f", or check the delimiter (is it {other}-separated?)" if len(header) == 1 else ""),
            line=header_line,
        )
    desc_idx = _find_column(header, "description")
    width = len(header)
    count = 0
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader, None)
        except csv.Error as exc:
            raise ParseError(
                f"malformed {fmt.upper()} row ({exc})",
                hint="Check the quoting of this row (a quote that never closes swallows the rest of the file)",
                line=start,
            ) from None
        if row is None:
            break
        if not any(field.strip() for field in row):
            continue
        if len(row) != width:
            raise ParseError(
                f"row has {len(row)} fields but the header has {width}",
                hint="Every row needs one value per column; quote values that contain the delimiter",
                line=start,
            )
        ident = checker.identifier(row[id_idx], start)
        seq = checker.sequence(row[seq_idx], start, ident)
        desc = row[desc_idx].strip() if desc_idx is not None else ""
        yield ParsedRecord(ident, desc, seq, start)
        count += 1
        if on_progress is not None and count % 10000 == 0:
            on_progress(src.bytes_read, count)
    if count == 0:
        raise ParseError(
            "no records: the file has a header row but no data rows", hint="Add rows, one per record"
        )
    if on_progress is not None:
        on_progress(src.bytes_read, count)


def _read_jsonl(src: Source, *, checker, id_column, sequence_column, on_progress):
    count = 0
    for lineno, line in enumerate(src.text_lines(_max_line(checker.limits)), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ParseError(
                f"malformed JSON ({exc.msg} at column {exc.colno})",
                hint="Each line of a JSONL file must be one complete JSON object",
                line=lineno,
            ) from None
        if not isinstance(obj, dict):
            raise ParseError(
                f"expected a JSON object, found {type(obj).__name__}",
                hint='Each line of a JSONL file must be one JSON object, e.g. {"id": "x", "sequence": "MKV"}',
                line=lineno,
            )
        missing = [key for key in (id_column, sequence_column) if key not in obj]
        if missing:
            keys = ", ".join(repr(k) for k in list(obj)[:20])
            raise ParseError(
                f"missing key {' and '.join(repr(m) for m in missing)}; the object has: {keys or 'no keys'}",
                hint="Pass the right key names (--id-column / --sequence-column)",
                line=lineno,
            )
        raw_id = obj[id_column]
        if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
            raise ParseError(
                f"identifier must be a string or an integer, found {type(raw_id).__name__}",
                hint="Write identifiers as JSON strings",
                line=lineno,
            )
        ident = checker.identifier(str(raw_id), lineno)
        seq_value = obj[sequence_column]
        if not isinstance(seq_value, str):
            raise ParseError(
                f"sequence must be a string, found {type(seq_value).__name__}",
                hint="Write the sequence as one JSON string",
                line=lineno,
                record=ident,
            )
        seq = checker.sequence(seq_value, lineno, ident)
        desc = obj.get("description")
        desc = desc.strip() if isinstance(desc, str) else ("" if desc is None else json.dumps(desc))
        yield ParsedRecord(ident, desc, seq, lineno)
        count += 1
        if on_progress is not None and count % 10000 == 0:
            on_progress(src.bytes_read, count)
    if count == 0:
        raise ParseError(
            "the file is empty" if src.out_bytes == 0 else "no records (only blank lines)",
            hint="Write one JSON object per line",
        )
    if on_progress is not None:
        on_progress(src.bytes_read, count)


def read_tabular(
    path,
    *,
    fmt,
    kind,
    limits,
    id_column="id",
    sequence_column="sequence",
    on_progress=None,
    allow_duplicate_ids=False,
) -> Iterator[ParsedRecord]:
    """Records of a CSV, TSV or JSONL file (plain or gzip)."""
    checker = RecordChecker(kind=kind, limits=limits, allow_duplicate_ids=allow_duplicate_ids)
    options = {
        "checker": checker,
        "id_column": id_column,
        "sequence_column": sequence_column,
        "on_progress": on_progress,
    }
    with Source(path, limits) as src:
        if fmt == "jsonl":
            yield from _read_jsonl(src, **options)
        else:
            yield from _read_delimited(src, fmt=fmt, **options)
