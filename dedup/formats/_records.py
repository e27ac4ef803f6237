"""Checks shared by every format: identifiers (present, unique) and sequences (normalised, valid, length)."""

from __future__ import annotations

from dedup.alphabets import normalise, validate
from dedup.errors import InvalidSequenceError, ParseError


class RecordChecker:
    """Validates identifiers and sequences of one file, remembering identifiers to catch duplicates."""

    def __init__(self, *, kind: str, limits, allow_duplicate_ids: bool = False) -> None:
        self.kind = kind
        self.limits = limits
        self.allow_duplicate_ids = allow_duplicate_ids
        self.seen: dict[str, int] = {}

    def identifier(self, identifier: str, line: int, *, what: str = "identifier") -> str:
        identifier = identifier.strip()
        if not identifier:
            raise ParseError(
                f"record with an empty {what}",
                hint="Give every record a non-empty identifier",
                line=line,
            )
        first = self.seen.get(identifier)
        if first is None:
            self.seen[identifier] = line
        elif not self.allow_duplicate_ids:
            raise ParseError(
                f"duplicate identifier {identifier!r} (first at line {first}, again at line {line})",
                hint="Identifiers must be unique within a file: rename or remove one of the two records",
                line=line,
                record=identifier,
            )
        return identifier

    def too_long(self, length: int, line: int, record: str) -> ParseError:
        return ParseError(
            f"sequence of {length:,} residues is longer than the limit of "
            f"{self.limits.max_sequence_length:,}",
            hint="Remove or split the record, or raise max_sequence_length",
            line=line,
            record=record,
        )

    def sequence(self, text: str, line: int, record: str) -> str:
        """Normalise and validate one sequence given as text."""
        seq = normalise(text, self.kind)
        if len(seq) > self.limits.max_sequence_length:
            raise self.too_long(len(seq), line, record)
        try:
            validate(seq, self.kind)
        except InvalidSequenceError as exc:
            raise exc.located(line=line, record=record) from None
        return seq
