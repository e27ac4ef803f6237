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

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dedup.errors import InvalidSequenceError, ParseError

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

KINDS = ("protein", "dna", "rna", "text")
FORMATS = ("fasta", "csv", "tsv", "jsonl", "pdb", "mmcif")

_IUPAC_NUC = "NRYKMSWBDHV"
#: Unicode categories Cc (C0 and C1 controls) and Cs (lone surrogates): never text
_TEXT_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
#: Accepted characters of the normalised sequence, per biological kind.
ALPHABETS = {
    "protein": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "dna": "ACGT" + _IUPAC_NUC,
    "rna": "ACGU" + _IUPAC_NUC,
}
_ALLOWED = {kind: letters.encode("ascii") for kind, letters in ALPHABETS.items()}
WHITESPACE = b" \t\r\n"
_UPPER = bytes.maketrans(b"abcdefghijklmnopqrstuvwxyz", b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")
#: bytes.translate tables that upper-case (and for RNA map T to U) in the same pass that drops whitespace
TABLES = {
    "protein": _UPPER,
    "dna": _UPPER,
    "rna": bytes.maketrans(b"abcdefghijklmnopqrstuvwxyzT", b"ABCDEFGHIJKLMNOPQRSUUVWXYZU"),
}

_SUFFIXES = {
    **dict.fromkeys(
        (".fa", ".fasta", ".faa", ".fna", ".ffn", ".fas", ".fsa", ".mfa", ".pro", ".nu"), "fasta"
    ),
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".pdb": "pdb",
    ".ent": "pdb",
    ".cif": "mmcif",
    ".mmcif": "mmcif",
}


@dataclass(frozen=True, slots=True)
class ParsedRecord:
    """One record of a sequence file.

    Attributes:
        identifier: the record's identifier (FASTA: the first word of the header).
        description: the rest of the header (or the ``description`` column/key), possibly empty.
        sequence: the normalised, validated sequence.
        line: 1-based line where the record starts (FASTA header line, CSV row line, JSONL line,
            first atom line of the chain in PDB/mmCIF).
    """

    identifier: str
    description: str
    sequence: str
    line: int


@dataclass(frozen=True)
class ParseLimits:
    """Resource limits that make a file be rejected rather than exhaust the machine.

    Attributes:
        max_file_bytes: size of the file on disk (compressed size for gzip).
        max_uncompressed_bytes: decompressed size; guards against gzip bombs.
        max_sequence_length: residues per sequence after normalisation (text: characters).
    """

    max_file_bytes: int = 4 * 1024**3
    max_uncompressed_bytes: int = 16 * 1024**3
    max_sequence_length: int = 1_000_000


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ParseError(f"unknown kind {kind!r}", hint=f"Use one of: {', '.join(KINDS)}")


def normalise(sequence: str, kind: str) -> str:
    """Return the canonical form of a sequence for its kind (see the module docstring).

    Args:
        sequence: the sequence as written in the file.
        kind: one of :data:`KINDS`.

    Example:
        >>> normalise("mkv lla\\n*", "protein")
        'MKVLLA'
        >>> normalise("acgt\\r\\nnn", "dna")
        'ACGTNN'
        >>> normalise("ACGT", "rna")
        'ACGU'
        >>> normalise("  Café \\n au  lait ", "text")
        'Café au lait'
    """
    _check_kind(kind)
    if kind == "text":
        return " ".join(unicodedata.normalize("NFC", sequence).split())
    if sequence.isascii():
        seq = sequence.encode("ascii").translate(TABLES[kind], WHITESPACE).decode("ascii")
    else:
        # only ASCII letters change case: str.upper() would turn 'ß' into the valid 'SS'
        seq = "".join((c.upper() if c.isascii() else c) for c in sequence if c not in " \t\r\n")
        if kind == "rna":
            seq = seq.replace("T", "U")
    if kind == "protein" and seq.endswith("*"):
        seq = seq[:-1]
    return seq


def _bad_hint(char: str, kind: str) -> str:
    if char in "-.":
        return (
            "This looks like an alignment: gaps are not residues. Remove the '-' and '.' gap characters "
            "(e.g. `seqkit seq --remove-gaps`) and register the ungapped sequences"
        )
    if char == "*":
        return "'*' (a stop) is only accepted once, at the very end of a protein: trim the translation there"
    if char.isdigit():
        return (
            "Digits are not residues: this file may hold per-residue labels or scores in the sequence slot "
            "instead of sequences; register the sequences themselves"
        )
    if kind == "dna" and char == "U":
        return "U is an RNA base: register this dataset with kind 'rna'"
    if kind in ("dna", "rna") and char.isalpha() and char.isascii():
        return f"{char} is not a nucleotide code: is this a protein? Then register it with kind 'protein'"
    if char in "/:":
        return (
            f"'{char}' separates chains in multi-chain entries (ProteinMPNN, ColabFold): write one record "
            "per chain"
        )
    if char in "~_":
        return "This looks like an alignment gap character: remove gaps and register the ungapped sequences"
    if kind == "text":
        return "Remove the control characters from the text"
    return f"Allowed for {kind}: {ALPHABETS[kind]} (upper or lower case). Fix or remove the record"


def validate(sequence: str, kind: str) -> None:
    """Check a normalised sequence against its kind's alphabet.

    Raises:
        InvalidSequenceError: (a :class:`~dedup.errors.ParseError` and ``ValueError``) naming the first
            bad character and its 1-based position, or saying that the sequence is empty.

    Example:
        >>> validate("MKV", "protein")
        >>> validate("ACGU", "dna")
        Traceback (most recent call last):
        ...
        dedup.errors.InvalidSequenceError: character 'U' at position 4 is not in the dna alphabet. U is an RNA base: register this dataset with kind 'rna'
    """
    _check_kind(kind)
    if not sequence:
        raise InvalidSequenceError(
            "empty sequence",
            hint="Every record needs at least one residue: add its sequence or remove the record",
        )
    if kind == "text":
        bad = _TEXT_FORBIDDEN.search(sequence)
        if bad is not None:
            char, pos = bad.group(), bad.start() + 1
            raise InvalidSequenceError(
                f"control character {char!r} at position {pos} is not allowed in text",
                hint=_bad_hint(char, kind),
                character=char,
                position=pos,
            )
        return
    if sequence.isascii() and not sequence.encode("ascii").translate(None, _ALLOWED[kind]):
        return
    allowed = ALPHABETS[kind]
    for pos, char in enumerate(sequence):
        if char not in allowed:
            raise InvalidSequenceError(
                f"character {char!r} at position {pos + 1} is not in the {kind} alphabet",
                hint=_bad_hint(char, kind),
                character=char,
                position=pos + 1,
            )


def sequence_sha256(normalised: str) -> str:
    """Hex sha256 of the UTF-8 bytes of a normalised sequence (the registry's content address).

    Example:
        >>> sequence_sha256("MKV")[:16]
        '06101e170c22fd1e'
    """
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def _strip_compression(name: str) -> tuple[str, bool]:
    lower = name.lower()
    for ext in (".gz", ".bgz", ".gzip"):
        if lower.endswith(ext):
            return name[: -len(ext)], True
    return name, False


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
