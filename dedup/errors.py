"""The dedup error hierarchy: every error says what went wrong and how to fix it."""

from __future__ import annotations

__all__ = ["DedupError", "InvalidSequenceError", "ParameterMismatchError", "ParseError"]


class DedupError(Exception):
    """Base class for dedup errors; each message says how to fix the call."""


class ParameterMismatchError(DedupError, ValueError): ...


class ParseError(DedupError, ValueError):
    """A sequence file (or one sequence) was rejected; the whole file must be treated as rejected.

    Attributes:
        path: the file, when known.
        line: 1-based line (or CSV row line) of the problem, when known.
        record: identifier of the record concerned, when known.
        reason: what is wrong, without a trailing full stop.
        hint: what to do about it.

    Example:
        >>> e = ParseError("empty sequence", hint="Remove the record.", path="a.fa", line=3, record="x")
        >>> str(e)
        "a.fa, line 3, record 'x': empty sequence. Remove the record."
        >>> ParseError("empty input").to_dict()["message"]
        'empty input.'
    """

    def __init__(
        self,
        reason: str,
        *,
        hint: str = "",
        path: str | None = None,
        line: int | None = None,
        record: str | None = None,
    ) -> None:
        self.reason = reason
        self.hint = hint
        self.path = path
        self.line = line
        self.record = record
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = []
        if self.path is not None:
            where.append(str(self.path))
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.record is not None:
            where.append(f"record {self.record!r}")
        text = f"{self.reason}."
        if self.hint:
            text = f"{text} {self.hint}"
        return f"{', '.join(where)}: {text}" if where else text

    def __str__(self) -> str:
        return self.message

    def located(self, *, path=None, line=None, record=None) -> ParseError:
        """A copy of this error with the location filled in where it was unknown."""
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.path = self.path if self.path is not None else path
        clone.line = self.line if self.line is not None else line
        clone.record = self.record if self.record is not None else record
        Exception.__init__(clone, clone.message)
        return clone

    def to_dict(self) -> dict:
        """Machine-readable form: keys ``file``, ``line``, ``record``, ``reason``, ``hint``, ``message``."""
        return {
            "file": None if self.path is None else str(self.path),
            "line": self.line,
            "record": self.record,
            "reason": self.reason,
            "hint": self.hint,
            "message": self.message,
        }


class InvalidSequenceError(ParseError):
    """A sequence holds a character outside its kind's alphabet (or is otherwise not a valid sequence).

    Attributes:
        character: the first offending character (``None`` for problems that are not one character).
        position: its 1-based position in the normalised sequence.
    """

    def __init__(self, reason: str, *, character: str | None = None, position: int | None = None, **kw):
        self.character = character
        self.position = position
        super().__init__(reason, **kw)
