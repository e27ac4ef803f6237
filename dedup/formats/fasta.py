"""FASTA reader: a hand-written streaming loop that keeps line numbers and is fast on large files.

It works on ~1 MiB byte blocks and treats the run of sequence lines between two headers as one block
(a few C-level byte operations per record instead of Python work per line).

Accepted beyond plain FASTA, as Biopython's ``fasta-blast`` reader does: whole-line comments starting
with ``;`` (Pearson's original FASTA), ``#`` or ``!`` anywhere in the file, blank lines, CRLF line
ends, a header with spaces after ``>``, a missing final newline, and NCBI's ^A (0x01) separators
between merged deflines in headers. Comments are not recognised for kind ``text`` (a line starting
with ``#`` is text there). Any other text before the first ``>`` is rejected (Biopython's
``fasta-pearson`` would skip it silently, which hides files that are not FASTA at all).
"""

from __future__ import annotations

from collections.abc import Iterator

from dedup.alphabets import _ALLOWED, TABLES, WHITESPACE, ParsedRecord, validate
from dedup.errors import ParseError
from dedup.formats._records import RecordChecker
from dedup.formats._source import Source

_COMMENT_STARTS = (b";", b"#", b"!")
_MAX_HEADER = 1 << 20


def _blank_comments(block: bytes) -> bytes:
    """Empty every comment line (keeping its line break, so line numbers stay right)."""
    lines = block.split(b"\n")
    return b"\n".join(b"" if line[:1] in _COMMENT_STARTS else line for line in lines)


class _Reader:
    def __init__(self, src: Source, kind: str, limits, allow_duplicate_ids: bool) -> None:
        self.src = src
        self.kind = kind
        self.bio = kind != "text"
        self.limits = limits
        self.checker = RecordChecker(kind=kind, limits=limits, allow_duplicate_ids=allow_duplicate_ids)
        self.table: bytes = TABLES.get(kind, b"")  # empty for text, which is decoded instead
        self.allowed: bytes = _ALLOWED.get(kind, b"")
        self.max_raw = limits.max_sequence_length  # raw bytes held before checking the real length
        # current record
        self.header: bytes | None = None
        self.header_line = 0
        self.pieces: list[bytes] = []
        self.raw_len = 0
        self.compacted = False
        self.lineno = 0  # complete lines consumed

    # -- record assembly ---------------------------------------------------------------------------
    def start(self, header: bytes, line: int) -> None:
        self.header = header
        self.header_line = line
        self.pieces = []
        self.raw_len = 0
        self.compacted = False

    def add(self, block: bytes) -> None:
        self.pieces.append(block)
        self.raw_len += len(block)
        if self.raw_len > self.max_raw:
            self._compact()

    def _compact(self) -> None:
        """Drop whitespace early so a long record costs its residues, and reject it once it is too long."""
        raw = b"".join(self.pieces)
        seq = raw.translate(self.table, WHITESPACE) if self.bio else raw
        limit = self.limits.max_sequence_length
        length = len(seq) - (1 if self.kind == "protein" and seq.endswith(b"*") else 0)
        if self.bio and length > limit:
            ident = self._identifier_only()
            raise self.checker.too_long(length, self.header_line, ident)
        if not self.bio and len(raw) > 4 * limit + 4096:  # generous: text collapses whitespace later
            raise self.checker.too_long(len(raw), self.header_line, self._identifier_only())
        self.pieces = [seq]
        self.raw_len = len(seq)
        self.compacted = True
        self.max_raw = max(self.max_raw, self.raw_len + 65536)

    def _identifier_only(self) -> str:
        title = self.header.decode("utf-8").strip() if self.header is not None else ""
        return title.split(None, 1)[0] if title else ""

    def finish(self) -> ParsedRecord:
        line = self.header_line
        header = self.header
        assert header is not None
        if b"\r" in header:
            raise ParseError(
                "carriage return inside a header: the file uses old Mac (CR-only) line ends",
                hint="Convert the line ends to LF (e.g. `tr '\\r' '\\n'`) and retry",
                line=line,
            )
        title = header.decode("utf-8").strip()
        if not title:
            raise ParseError(
                "header with no identifier",
                hint="Write an identifier right after '>', e.g. '>seq1 optional description'",
                line=line,
            )
        parts = title.split(None, 1)
        ident = self.checker.identifier(parts[0], line)
        desc = parts[1].strip() if len(parts) > 1 else ""
        raw = self.pieces[0] if len(self.pieces) == 1 else b"".join(self.pieces)
        if not self.bio:
            return ParsedRecord(ident, desc, self.checker.sequence(raw.decode("utf-8"), line, ident), line)
        seq = raw.translate(self.table, WHITESPACE)
        if self.kind == "protein" and seq[-1:] == b"*":
            seq = seq[:-1]
        if not seq:
            raise ParseError(
                "empty sequence",
                hint="Every record needs at least one residue: add its sequence or remove the record",
                line=line,
                record=ident,
            )
        if len(seq) > self.limits.max_sequence_length:
            raise self.checker.too_long(len(seq), line, ident)
        if seq.translate(None, self.allowed):
            self._bad_character(raw, seq, ident)
        return ParsedRecord(ident, desc, seq.decode("ascii"), line)

    def _bad_character(self, raw: bytes, seq: bytes, ident: str) -> None:
        """Raise the alphabet error with the line of the first bad character (slow path, once per file)."""
        text = seq.decode("utf-8", errors="replace")
        try:
            validate(text, self.kind)
        except ParseError as exc:
            line = self.header_line
            pos = (getattr(exc, "position", None) or 1) - 1
            if not self.compacted:
                # bytes before the bad character, mapped back through the raw lines
                prefix_bytes = len(text[:pos].encode("utf-8"))
                done = 0
                for i, raw_line in enumerate(raw.split(b"\n")):
                    n = len(raw_line.translate(self.table, WHITESPACE))
                    if done + n > prefix_bytes:
                        line = self.header_line + 1 + i
                        break
                    done += n
            raise exc.located(line=line, record=ident) from None
        raise AssertionError("bytes check and validate() disagree")  # pragma: no cover

    # -- the block loop ---------------------------------------------------------------------------
    def _feed(self, body: bytes) -> list[ParsedRecord]:
        """Consume whole lines; return the records completed in them (the last one stays open)."""
        done: list[ParsedRecord] = []
        if not body:
            return done
        has_comments = self.bio and (
            body[:1] in _COMMENT_STARTS or b"\n;" in body or b"\n#" in body or b"\n!" in body
        )
        parts = body.split(b"\n>")
        last = len(parts) - 1
        first = parts[0]
        if first[:1] == b">":
            parts[0] = first[1:]
            begin = 0
        else:  # sequence lines of the open record (or text before the first record)
            block = first + b"\n" if last else first
            if has_comments:
                block = _blank_comments(block)
            if self.header is None:
                self._before_first(block, self.lineno)
            else:
                self.add(block)
            self.lineno += block.count(b"\n")
            begin = 1
        lineno = self.lineno
        if self.header is not None and begin <= last:
            done.append(self.finish())  # the record left open by the previous block
            self.header = None
        if self.bio and not has_comments:
            # fast path for complete records: a handful of C-level calls each; anything unusual
            # (errors included) falls through to finish(), which explains it
            table, allowed, seen = self.table, self.allowed, self.checker.seen
            protein = self.kind == "protein"
            max_len = self.limits.max_sequence_length
            append = done.append
            for i in range(begin, last):
                part = parts[i]
                nl = part.find(b"\n")
                header = part[:nl]
                raw = part[nl + 1 :]
                line = lineno + 1
                lineno += part.count(b"\n") + 1
                seq = raw.translate(table, WHITESPACE)
                if protein and seq[-1:] == b"*":
                    seq = seq[:-1]
                title = header.decode("utf-8").strip()
                if (
                    nl >= 0
                    and seq
                    and title
                    and len(seq) <= max_len
                    and "\r" not in title  # CRLF is fine (stripped); a CR inside means CR-only line ends
                    and not seq.translate(None, allowed)
                ):
                    split = title.split(None, 1)
                    ident = split[0]
                    if ident not in seen:
                        seen[ident] = line
                        desc = split[1] if len(split) > 1 else ""
                        append(ParsedRecord(ident, desc, seq.decode("ascii"), line))
                        continue
                self.header, self.header_line = (part if nl < 0 else header).rstrip(b"\r"), line
                self.pieces, self.compacted = [b"" if nl < 0 else raw], False
                append(self.finish())
                self.header = None
            begin = max(begin, last)
        for i in range(begin, last + 1):
            part = parts[i]
            if self.header is not None:
                done.append(self.finish())
            nl = part.find(b"\n")
            if nl < 0:
                header, seq = part, b""
            else:
                header, seq = part[:nl], part[nl + 1 :]
                if has_comments:
                    seq = _blank_comments(seq)
            self.header = header.rstrip(b"\r")
            self.header_line = lineno + 1
            lineno += part.count(b"\n") + (i < last)
            self.pieces = [seq]
            self.raw_len = len(seq)
            self.compacted = False
            if self.raw_len > self.max_raw:
                self._compact()
        self.lineno = lineno
        return done

    def records(self, on_progress) -> Iterator[ParsedRecord]:
        src = self.src
        self.lineno = 0
        count = 0
        carry = b""
        continuation = False  # the next data starts in the middle of a (very long) sequence line
        for chunk in src.chunks():
            data = carry + chunk if carry else chunk
            cut = data.rfind(b"\n") + 1
            carry = data[cut:]
            if cut:
                begin = 0
                if continuation:
                    begin = data.find(b"\n") + 1
                    self.add(data[:begin])
                    self.lineno += 1
                    continuation = False
                done = self._feed(data[begin:cut] if (begin or cut < len(data)) else data)
                count += len(done)
                yield from done
            if len(carry) > _MAX_HEADER:
                if continuation or (self.header is not None and carry[:1] not in (b">", *_COMMENT_STARTS)):
                    self.add(carry)  # part of a very long sequence line
                    carry = b""
                    continuation = True
                else:
                    if self.header is None:
                        self._before_first(carry, self.lineno)
                    raise ParseError(
                        f"a header or comment line longer than {_MAX_HEADER:,} bytes",
                        hint="Check the line breaks of the file (old Mac CR-only line ends must become LF)",
                        line=self.lineno + 1,
                    )
            if on_progress is not None:
                on_progress(src.bytes_read, count)
        if carry:  # the last line lacks its line break
            if continuation:
                self.add(carry)
            else:
                done = self._feed(carry)
                count += len(done)
                yield from done
        if self.header is not None:
            record = self.finish()
            self.header = None
            count += 1
            yield record
        if count == 0:
            if src.out_bytes == 0:
                raise ParseError("the file is empty", hint="Upload a FASTA file with at least one record")
            raise ParseError(
                "no records found (no '>' header line)",
                hint="A FASTA record starts with a '>' header line followed by its sequence lines",
            )
        if on_progress is not None:
            on_progress(src.bytes_read, count)

    def _before_first(self, block: bytes, lineno: int) -> None:
        stripped = block.lstrip()
        if not stripped:
            return
        line = lineno + 1 + block[: len(block) - len(stripped)].count(b"\n")
        first = stripped.split(b"\n", 1)[0].decode("utf-8", errors="replace").strip()
        from dedup.formats.sniff import foreign_format_hint

        hint = foreign_format_hint(first) or (
            "A FASTA file must start with a '>' header line: remove the text before the first record "
            "or turn it into comment lines starting with ';'"
        )
        shown = first if len(first) <= 60 else first[:57] + "..."
        raise ParseError(f"text before the first record ({shown!r})", hint=hint, line=line)


def read_fasta(path, *, kind, limits, on_progress=None, allow_duplicate_ids=False) -> Iterator[ParsedRecord]:
    """Records of a FASTA or FASTA.gz file (see the module docstring for what is accepted)."""
    with Source(path, limits) as src:
        yield from _Reader(src, kind, limits, allow_duplicate_ids).records(on_progress)
