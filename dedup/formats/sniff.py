"""Tell a file's format from its first lines, and name the formats that are recognised but not read."""

from __future__ import annotations

import gzip
import zlib

from dedup.errors import ParseError

_PDB_RECORDS = (
    "HEADER", "TITLE ", "COMPND", "SOURCE", "KEYWDS", "EXPDTA", "AUTHOR", "REVDAT", "REMARK", "SEQRES",
    "CRYST1", "ATOM  ", "HETATM", "MODEL ", "ORIGX1", "SCALE1", "DBREF ", "HELIX ", "SHEET ", "OBSLTE",
)  # fmt: skip
_CONVERT = "Convert it to FASTA first (e.g. Bio.SeqIO.convert(path, {fmt!r}, 'out.fasta', 'fasta'))"


def foreign_format_hint(first_line: str) -> str | None:
    """A hint when ``first_line`` opens a known sequence format other than the ones read here."""
    line = first_line.strip()
    checks = (
        (line.startswith("@"), "FASTQ", "fastq"),
        (line.startswith("LOCUS"), "GenBank", "genbank"),
        (line.startswith("ID ") or line.startswith("ID\t"), "EMBL/UniProt flat file", "embl"),
        (line.upper().startswith("# STOCKHOLM"), "a Stockholm alignment", "stockholm"),
        (line.startswith("CLUSTAL"), "a Clustal alignment", "clustal"),
        (line.startswith("<?xml") or line.startswith("<"), "XML", "seqxml"),
        (line.startswith("!!") or "MSF:" in line or line.startswith("PileUp"), "GCG/MSF", "msf"),
        (line[:4] in (">P1;", ">F1;", ">DL;", ">DC;", ">RL;", ">RC;", ">N3;", ">N1;"), "NBRF/PIR", "pir"),
    )
    for hit, name, fmt in checks:
        if hit:
            return f"This looks like {name}, which is not read here. " + _CONVERT.format(fmt=fmt)
    return None


def _head(path, limit: int = 65536) -> str:
    try:
        with open(path, "rb") as fh:
            magic = fh.read(2)
            fh.seek(0)
            if magic == b"\x1f\x8b":
                with gzip.GzipFile(fileobj=fh) as gz:
                    data = gz.read(limit)
            else:
                data = fh.read(limit)
    except (OSError, EOFError, zlib.error) as exc:
        raise ParseError(
            f"cannot read the file ({exc})",
            hint="Check the path and that the file is complete",
            path=str(path),
        ) from None
    return data.decode("utf-8", errors="replace")


def sniff_format(path) -> str:
    """Format of a file with an unknown suffix, from its first non-blank, non-comment line."""
    text = _head(path)
    if "\x00" in text:
        raise ParseError(
            "NUL byte found: this is binary data, not a text sequence file",
            hint="Check that you uploaded the right file (a text file with one record per entry)",
            path=str(path),
            line=text[: text.index("\x00")].count("\n") + 1,
        )
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise ParseError(
            "cannot tell the format of an empty file",
            hint="Upload a non-empty file or pass the format explicitly (--format)",
            path=str(path),
        )
    first = lines[0]
    if not first.upper().startswith("# STOCKHOLM"):
        # skip FASTA comment lines; the first other line decides
        first = next((ln for ln in lines if ln[:1] not in ";#!"), first)
    foreign = foreign_format_hint(first)
    if foreign:
        raise ParseError("unsupported file format", hint=foreign, path=str(path))
    if first.startswith(">"):
        return "fasta"
    stripped = first.lstrip()
    if stripped.startswith("{"):
        return "jsonl"
    if stripped.startswith("data_"):
        return "mmcif"
    if first[:6] in _PDB_RECORDS:
        return "pdb"
    for delimiter, fmt in (("\t", "tsv"), (",", "csv")):
        fields = [f.strip().strip('"').lower() for f in first.split(delimiter)]
        if len(fields) > 1 and ({"id", "sequence"} & set(fields)):
            return fmt
    raise ParseError(
        "cannot tell the file format from its name or content",
        hint=foreign
        or (
            "Name the file with a known suffix (.fasta, .csv, .tsv, .jsonl, .pdb, .cif, optionally .gz) "
            "or pass the format explicitly (--format fasta|csv|tsv|jsonl|pdb|mmcif)"
        ),
        path=str(path),
    )
