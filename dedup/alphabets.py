"""Alphabets, normalisation tables and the checks every parser applies: a leaf module.

:mod:`dedup.parsing` (the entry point) and the readers in :mod:`dedup.formats` both import
from here, and this module imports nothing of theirs, so neither imports the other at load
time. The rules are documented in :mod:`dedup.parsing`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from dedup.errors import InvalidSequenceError, ParseError

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
