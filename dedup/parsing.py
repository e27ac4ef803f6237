"""Streaming parsing, normalisation and all-or-nothing validation of sequence files.

One entry point, :func:`iter_records`, reads FASTA (plain or gzip), CSV, TSV, JSONL, PDB and mmCIF with
bounded memory and yields :class:`ParsedRecord` objects whose sequences are already normalised and
validated for their kind. The first problem raises :class:`~dedup.errors.ParseError`, naming the file,
the line, the record and what to do; callers treat the whole file as rejected. No other exception
escapes for any input.

Normalisation (:func:`normalise`), per kind:

- ``protein``, ``dna``, ``rna``: all whitespace removed (also inside the sequence), ASCII letters
  upper-cased (soft-masked lowercase DNA becomes uppercase). ``protein``: one terminal ``*`` (stop) is
  dropped. ``rna``: ``T`` is read as ``U``, so an RNA written in DNA letters gets the same sequence and
  digest as the same RNA written with ``U``; ``U`` is always kept.
- ``text``: Unicode NFC, every run of whitespace (line breaks included) collapsed to one space, ends
  stripped; case kept.

Alphabets (:func:`validate`), after normalisation:

- ``protein``: the 26 letters ``A``-``Z``: the 20 standard amino acids, ``U`` (selenocysteine),
  ``O`` (pyrrolysine), and the IUPAC ambiguity codes ``B`` ``Z`` ``J`` ``X``. Gaps (``-`` ``.``),
  internal ``*`` stops, digits and every other character are rejected.
- ``dna``: ``ACGT`` plus the IUPAC codes ``N R Y K M S W B D H V``. ``U`` is rejected (use ``rna``).
- ``rna``: ``ACGU`` plus the same IUPAC codes (``T`` was turned into ``U`` by normalisation).
- ``text``: any Unicode except control characters (category Cc) and lone surrogates (Cs).

Gap characters are not residues: an alignment is rejected with a hint to ungap it, because silently
ungapping would register something other than what the file says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from dedup.errors import ParseError

__all__ = [
    "ALPHABETS",
    "FORMATS",
    "KINDS",
    "ParseLimits",
    "ParsedRecord",
    "detect_format",
    "iter_records",
    "normalise",
    "sequence_sha256",
    "validate",
]

from dedup.alphabets import (  # noqa: F401  (re-exported: the public names live here too)
    _ALLOWED,
    _SUFFIXES,
    _UPPER,
    ALPHABETS,
    FORMATS,
    KINDS,
    TABLES,
    WHITESPACE,
    ParsedRecord,
    ParseLimits,
    _check_kind,
    _strip_compression,
    normalise,
    sequence_sha256,
    validate,
)


def detect_format(path, *, declared: str | None = None) -> str:
    """The format of a file: ``declared`` when given, else from its suffix, else sniffed from its content.

    Suffixes: FASTA ``.fa .fasta .faa .fna .ffn .fas .fsa .mfa .pro .nu``, ``.csv``, ``.tsv``,
    ``.jsonl .ndjson``, ``.pdb .ent``, ``.cif .mmcif``, each optionally followed by ``.gz``. Content
    sniffing recognises FASTA (first line ``>``, after ``;``/``#``/``!`` comments), JSONL (``{``),
    mmCIF (``data_``), PDB (record names such as ``HEADER`` or ``ATOM``) and CSV/TSV whose header row
    names an ``id`` or ``sequence`` column; it names common formats that are not read (FASTQ, GenBank,
    EMBL/UniProt, Stockholm, Clustal, PIR, XML) with a conversion hint.

    Raises:
        ParseError: unknown declared format, or a file whose format cannot be told.

    Example:
        >>> detect_format("proteins.faa.gz")
        'fasta'
        >>> detect_format("anything.txt", declared="TSV")
        'tsv'
    """
    if declared:
        fmt = declared.strip().lower()
        fmt = {"fa": "fasta", "cif": "mmcif", "ndjson": "jsonl", "ent": "pdb"}.get(fmt, fmt)
        if fmt not in FORMATS:
            raise ParseError(
                f"unknown format {declared!r}", hint=f"Use one of: {', '.join(FORMATS)}", path=str(path)
            )
        return fmt
    name, _ = _strip_compression(Path(path).name)
    suffix = Path(name).suffix.lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    from dedup.formats.sniff import sniff_format

    return sniff_format(path)


def iter_records(
    path,
    *,
    kind: str,
    format: str | None = None,  # noqa: A002 - the contract's name
    limits: ParseLimits = ParseLimits(),  # noqa: B008 - frozen, so sharing the default is safe
    id_column: str = "id",
    sequence_column: str = "sequence",
    on_progress: Callable[[int, int], None] | None = None,
    allow_duplicate_ids: bool = False,
) -> Iterator[ParsedRecord]:
    """Stream the records of a sequence file, normalised and validated for ``kind``.

    Memory stays bounded by the longest record (PDB/mmCIF: by the structure, which Bio.PDB holds whole),
    plus the set of identifiers seen, kept to detect duplicates.

    Args:
        path: the file (plain or gzip-compressed; gzip is recognised by content).
        kind: one of :data:`KINDS`.
        format: one of :data:`FORMATS`; by default :func:`detect_format` decides.
        limits: size limits (:class:`ParseLimits`).
        id_column: CSV/TSV column or JSONL key of the identifier.
        sequence_column: CSV/TSV column or JSONL key of the sequence.
        on_progress: called as ``on_progress(bytes_read, records)`` about every MiB and at the end;
            ``bytes_read`` counts bytes of the file on disk (compressed bytes for gzip).
        allow_duplicate_ids: yield records whose identifier repeats an earlier one instead of
            rejecting the file (off by default: identifiers must be unique within a file).

    Yields:
        ParsedRecord, in file order.

    Raises:
        ParseError: on the first problem; the message names the file, line, record and what to do.

    Example:
        >>> import pathlib, tempfile
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "two.fasta"
        >>> _ = p.write_text(">a first\\nMKV\\nlla*\\n>b\\nGG\\n")
        >>> [(r.identifier, r.description, r.sequence, r.line) for r in iter_records(p, kind="protein")]
        [('a', 'first', 'MKVLLA', 1), ('b', '', 'GG', 4)]
    """
    _check_kind(kind)
    fmt = detect_format(path, declared=format)
    options = {
        "kind": kind,
        "limits": limits,
        "on_progress": on_progress,
        "allow_duplicate_ids": allow_duplicate_ids,
    }
    try:
        if fmt == "fasta":
            from dedup.formats.fasta import read_fasta

            yield from read_fasta(path, **options)
        elif fmt in ("csv", "tsv", "jsonl"):
            from dedup.formats.tabular import read_tabular

            yield from read_tabular(
                path, fmt=fmt, id_column=id_column, sequence_column=sequence_column, **options
            )
        else:
            from dedup.formats.structure import read_structure

            yield from read_structure(path, fmt=fmt, **options)
    except ParseError as exc:
        raise exc.located(path=str(path)) from None
    except RecursionError:  # pragma: no cover - deeply nested JSON
        raise ParseError("the data is nested too deeply to read", path=str(path)) from None
    except MemoryError:  # pragma: no cover
        raise ParseError(
            "not enough memory to read this file", hint="Split it into smaller files", path=str(path)
        ) from None
    except Exception as exc:  # noqa: BLE001 - the contract: callers only ever see ParseError
        raise ParseError(
            f"unexpected error while reading the file ({type(exc).__name__}: {exc})",
            hint="This is a bug in LeakLedger's parser, not necessarily in your file: please report it with the file",
            path=str(path),
        ) from exc
