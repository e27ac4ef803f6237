"""Sketch-only files (``.llsk``): what a private training set reveals to a registry, and nothing more.

``leakledger sketch FILE -o private.llsk`` (or :func:`write_sketch`) runs where the sequences
live and writes, for every record, the sha256 of its normalised sequence, its length and its
MinHash signature, never the residues. A registry can then match a benchmark against it (the
exact tier by sha256, the MinHash tier by signature) without ever holding the sequences.

Format, version 1: gzip-compressed JSON lines, UTF-8.

- Line 1, the header: ``{"format": "leakledger-sketch", "format_version": 1, "kind": ...,
  "sketch_params": <dedup.params.SketchParams.key()>, "signature_encoding": "base64 uint32le",
  "dedup_version": ..., "records": <n>, "digest": <the sketch-only digest>, "source": <file name>}``.
- One line per record, in file order: ``{"id": ..., "sha256": <64 hex>, "length": <residues>,
  "signature": <base64 of num_perm little-endian uint32>}``.

The digest is the registry's version digest recipe applied to sketch-only records (README,
"Digest"): per record ``sha256("sketch-only\\t" + identifier + "\\t" + sequence_sha256 + "\\t" +
length)``, sorted, each hex digest followed by ``"\\n"``, hashed again. A registry recomputes it on
upload and refuses a file whose digest does not match its records.

Descriptions are not written: they are free text that may say more than the owner means to.

Examples:
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "t.fasta").write_text(">a\\nMKVLAAGIVALLLAAG\\n>b\\nMKVLAAGIVALLLAAW\\n")
    >>> header = write_sketch(d / "t.fasta", d / "t.llsk", kind="protein")
    >>> sk = read_sketch(d / "t.llsk")
    >>> sk.identifiers, sk.lengths, sk.signatures.values.shape, sk.digest == header["digest"]
    (['a', 'b'], [16, 16], (2, 128), True)
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from .errors import ParseError
from .params import SketchParams
from .parsing import iter_records, sequence_sha256
from .sketch import SignatureBatch, sketch_batch

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "SketchFile",
    "read_sketch",
    "sketch_digest",
    "sketch_record_hash",
    "write_sketch",
]

FORMAT = "leakledger-sketch"
FORMAT_VERSION = 1
SIGNATURE_ENCODING = "base64 uint32le"
_SHA = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 4096


def sketch_record_hash(identifier: str, sha256: str, length: int) -> str:
    """The digest recipe's hash of one sketch-only record (a full record hashes its residues instead).

    Examples:
        >>> import hashlib
        >>> import hashlib
        >>> text = "sketch-only|P1|" + "0" * 64 + "|3"
        >>> sketch_record_hash("P1", "0" * 64, 3) == hashlib.sha256(text.replace("|", chr(9)).encode()).hexdigest()
        True
    """
    return hashlib.sha256(f"sketch-only\t{identifier}\t{sha256}\t{length}".encode()).hexdigest()


def sketch_digest(record_hashes: Iterable[str]) -> str:
    """Order-free digest over record hashes: the registry's version digest recipe."""
    digest = hashlib.sha256()
    for value in sorted(record_hashes):
        digest.update(value.encode("ascii") + b"\n")
    return digest.hexdigest()


@dataclass
class SketchFile:
    """The content of a ``.llsk`` file, validated."""

    path: str
    kind: str
    params: SketchParams
    dedup_version: str | None
    source: str
    identifiers: list[str]
    shas: list[str]
    lengths: list[int]
    signatures: SignatureBatch
    digest: str

    def __len__(self) -> int:
        return len(self.identifiers)


def _dedup_version() -> str:
    from . import __version__

    return __version__


def write_sketch(
    path: str | Path,
    out: str | Path,
    *,
    kind: str,
    params: SketchParams | None = None,
    file_format: str | None = None,
    skip_identical_duplicates: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Sketch every record of a sequence file into a ``.llsk`` file; returns its header.

    The sequence file is read twice (once for the digest, which the header carries, once to
    sketch), with memory bounded by a chunk of records. ``params`` default to
    :meth:`SketchParams.default` for ``kind``, which is what a registry indexes. With
    ``skip_identical_duplicates`` a record repeating an earlier identifier with the same sequence
    is left out (a repeat with another sequence is still refused).

    Raises:
        ParseError: the sequence file is invalid (nothing is written).
    """
    params = params or SketchParams.default(kind)
    if params.kind != kind:
        raise ValueError(f"sketch params are for {params.kind!r}, not {kind!r}")
    hashes: list[str] = []
    n = 0
    for rec in _records(path, kind, file_format, skip_identical_duplicates):
        hashes.append(sketch_record_hash(rec.identifier, sequence_sha256(rec.sequence), len(rec.sequence)))
        n += 1
    if n == 0:
        raise ParseError(
            "the file holds no records", path=str(path), hint="check that it is the file you meant"
        )
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "sketch_params": params.key(),
        "signature_encoding": SIGNATURE_ENCODING,
        "dedup_version": _dedup_version(),
        "records": n,
        "digest": sketch_digest(hashes),
        "source": Path(path).name,
    }
    out = Path(out)
    tmp = out.with_name(out.name + ".part")
    try:
        with gzip.open(tmp, "wt", encoding="utf-8") as fh:
            fh.write(json.dumps(header, sort_keys=True) + "\n")
            chunk: list[tuple[str, str]] = []
            done = 0
            for rec in _records(path, kind, file_format, skip_identical_duplicates):
                chunk.append((rec.identifier, rec.sequence))
                if len(chunk) >= _CHUNK:
                    done += _write_chunk(fh, chunk, params)
                    chunk = []
                    if on_progress:
                        on_progress(done)
            if chunk:
                done += _write_chunk(fh, chunk, params)
            if on_progress:
                on_progress(done)
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return header


def _records(path: str | Path, kind: str, file_format: str | None, skip_identical: bool) -> Iterator[Any]:
    seen: dict[str, str] = {}
    for rec in iter_records(path, kind=kind, format=file_format, allow_duplicate_ids=skip_identical):
        if skip_identical:
            sha = sequence_sha256(rec.sequence)
            previous = seen.get(rec.identifier)
            if previous == sha:
                continue
            if previous is not None:
                raise ParseError(
                    f"identifier {rec.identifier!r} appears again with a different sequence",
                    path=str(path),
                    line=rec.line,
                    record=rec.identifier,
                    hint="identifiers must be unique; only verbatim repeats can be skipped",
                )
            seen[rec.identifier] = sha
        yield rec


def _write_chunk(fh: IO[str], chunk: list[tuple[str, str]], params: SketchParams) -> int:
    sigs = sketch_batch([s for _i, s in chunk], params)
    for (identifier, seq), row in zip(chunk, sigs, strict=True):
        line = {
            "id": identifier,
            "sha256": sequence_sha256(seq),
            "length": len(seq),
            "signature": base64.b64encode(row.astype("<u4").tobytes()).decode("ascii"),
        }
        fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    return len(chunk)


def read_sketch(
    path: str | Path,
    *,
    expect: SketchParams | Callable[[str], SketchParams] | None = None,
    kind: str | None = None,
    max_records: int | None = None,
) -> SketchFile:
    """Read and validate a ``.llsk`` file whole; the first problem raises :class:`ParseError`.

    Args:
        path: the file.
        expect: the sketch parameters the reader's index uses (or a function of the file's kind
            giving them); a file made with others is refused with what to re-run.
        kind: the kind the reader expects (a file of another kind is refused).
        max_records: refuse files with more records.

    Raises:
        ParseError: naming the file, the line and the record: not gzip or not JSON lines, a bad or
            unsupported header, parameters other than ``expect``, a malformed record (sha256,
            length, signature of the wrong size), a duplicate identifier, a record count or a
            digest that does not match the records.
    """
    where = str(path)

    def fail(
        reason: str, *, line: int | None = None, record: str | None = None, hint: str = ""
    ) -> ParseError:
        return ParseError(reason, path=where, line=line, record=record, hint=hint)

    remake = "re-create it with `leakledger sketch FILE -o OUT.llsk`"
    try:
        fh = gzip.open(path, "rt", encoding="utf-8")  # noqa: SIM115 - closed by the with below
        lines = iter(fh)
        first = next(lines, None)
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise fail(f"not a gzip-compressed sketch file ({exc})", line=1, hint=remake) from None
    with fh:
        if first is None:
            raise fail("the file is empty", line=1, hint=remake)
        try:
            header = json.loads(first)
        except json.JSONDecodeError as exc:
            raise fail(f"the header is not JSON ({exc.msg})", line=1, hint=remake) from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise fail(
                f"the header does not say format {FORMAT!r}: not a LeakLedger sketch file",
                line=1,
                hint=remake,
            )
        if header.get("format_version") != FORMAT_VERSION:
            raise fail(
                f"sketch format version {header.get('format_version')!r} is not supported (this reader reads "
                f"version {FORMAT_VERSION})",
                line=1,
                hint="sketch the file again with this version of leakledger",
            )
        if header.get("signature_encoding") != SIGNATURE_ENCODING:
            raise fail(f"signature_encoding must be {SIGNATURE_ENCODING!r}", line=1, hint=remake)
        try:
            params = SketchParams.from_key(str(header.get("sketch_params")))
        except ValueError as exc:
            raise fail(f"bad sketch_params in the header ({exc})", line=1, hint=remake) from None
        file_kind = header.get("kind")
        if file_kind != params.kind:
            raise fail(
                f"the header's kind {file_kind!r} does not match its sketch_params {params.key()!r}", line=1
            )
        if kind is not None and file_kind != kind:
            raise fail(
                f"the file holds {file_kind} sketches, not {kind}",
                line=1,
                hint="register it with its own kind",
            )
        if callable(expect):
            expect = expect(params.kind)
        if expect is not None and params != expect:
            raise fail(
                f"the file was sketched with {params.key()}, but this registry indexes {file_kind} with "
                f"{expect.key()}: the signatures cannot be compared",
                line=1,
                hint=f"re-run `leakledger sketch FILE --kind {expect.kind} -o OUT.llsk` with dedup "
                f"{_dedup_version()} (its defaults are the registry's parameters)",
            )
        declared = header.get("records")
        if type(declared) is not int or declared < 1:
            raise fail("the header's records must be a positive integer", line=1, hint=remake)
        if max_records is not None and declared > max_records:
            raise fail(
                f"the file has {declared:,} records; this registry accepts at most {max_records:,}", line=1
            )
        digest = header.get("digest")
        if not isinstance(digest, str) or not _SHA.match(digest):
            raise fail("the header's digest must be 64 lowercase hex characters", line=1, hint=remake)
        width = 4 * params.num_perm
        ids: list[str] = []
        shas: list[str] = []
        lengths: list[int] = []
        values = np.empty((declared, params.num_perm), dtype=np.uint32)
        seen: dict[str, int] = {}
        hashes: list[str] = []
        lineno = 1
        try:
            for raw in lines:
                lineno += 1
                if not raw.strip():
                    raise fail("empty line", line=lineno, hint=remake)
                try:
                    rec = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise fail(f"not a JSON record ({exc.msg})", line=lineno, hint=remake) from None
                if not isinstance(rec, dict):
                    raise fail("a record must be a JSON object", line=lineno, hint=remake)
                ident = rec.get("id")
                if (
                    not isinstance(ident, str)
                    or not ident.strip()
                    or ident != ident.strip()
                    or len(ident) > 1000
                ):
                    raise fail(
                        "id must be a non-empty string without surrounding whitespace (at most 1000 characters)",
                        line=lineno,
                        record=ident if isinstance(ident, str) else None,
                    )
                if ident in seen:
                    raise fail(
                        f"duplicate identifier (first on line {seen[ident]})",
                        line=lineno,
                        record=ident,
                        hint="identifiers must be unique within a file",
                    )
                seen[ident] = lineno
                sha = rec.get("sha256")
                if not isinstance(sha, str) or not _SHA.match(sha):
                    raise fail("sha256 must be 64 lowercase hex characters", line=lineno, record=ident)
                length = rec.get("length")
                if type(length) is not int or length < 1:
                    raise fail("length must be a positive integer", line=lineno, record=ident)
                sig = rec.get("signature")
                try:
                    blob = base64.b64decode(sig, validate=True) if isinstance(sig, str) else b""
                except (binascii.Error, ValueError):
                    blob = b""
                if len(blob) != width:
                    raise fail(
                        f"the signature must be base64 of {params.num_perm} uint32 ({width} bytes) for "
                        f"{params.key()}, got {len(blob)} bytes",
                        line=lineno,
                        record=ident,
                        hint=remake,
                    )
                i = len(ids)
                if i >= declared:
                    raise fail(
                        f"more records than the header's {declared}", line=lineno, record=ident, hint=remake
                    )
                values[i] = np.frombuffer(blob, dtype="<u4")
                ids.append(ident)
                shas.append(sha)
                lengths.append(length)
                hashes.append(sketch_record_hash(ident, sha, length))
        except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
            raise fail(f"the file is truncated or corrupt ({exc})", line=lineno + 1, hint=remake) from None
    if len(ids) != declared:
        raise fail(f"the header says {declared} records, the file holds {len(ids)}", line=lineno, hint=remake)
    recomputed = sketch_digest(hashes)
    if recomputed != digest:
        raise fail(
            f"the header's digest {digest[:12]}... does not match the records ({recomputed[:12]}...): the file "
            "was edited or is corrupt",
            line=1,
            hint=remake,
        )
    return SketchFile(
        path=where,
        kind=params.kind,
        params=params,
        dedup_version=header.get("dedup_version"),
        source=str(header.get("source") or ""),
        identifiers=ids,
        shas=shas,
        lengths=lengths,
        signatures=SignatureBatch(params, values),
        digest=digest,
    )
