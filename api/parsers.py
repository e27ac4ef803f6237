"""Request body parsers that refuse what the rest of the stack cannot hold, with a 400.

JSON nested thousands deep makes Python's ``json`` (and every recursive walk after it) raise
``RecursionError``; a NUL character (``\\u0000``) cannot be stored in a PostgreSQL text or jsonb
column. Both are refused at the door, the same way on every database.
"""

import json

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Deeper than any document this API takes (metrics, parameters, a split's mapping are two or three deep).
MAX_JSON_DEPTH = 64


class JSONTooDeep(ValueError):
    pass


def check_json(value, *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise ``ValueError`` (with the reason) if ``value`` nests deeper than ``max_depth`` or holds a NUL.

    Iterative, so it cannot itself run out of stack.

    >>> check_json({"a": [1, {"b": "x"}]})
    >>> check_json({"a": "x\\u0000y"})
    Traceback (most recent call last):
    ...
    ValueError: a string holds a NUL character (\\u0000), which cannot be stored; remove it.
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise JSONTooDeep(f"JSON nested deeper than {max_depth} levels is not accepted.")
            if isinstance(item, dict):
                for key, inner in item.items():
                    if "\x00" in key:
                        raise ValueError(_NUL)
                    stack.append((inner, depth + 1))
            else:
                stack.extend((inner, depth + 1) for inner in item)
        elif isinstance(item, str) and "\x00" in item:
            raise ValueError(_NUL)


_NUL = "a string holds a NUL character (\\u0000), which cannot be stored; remove it."


def loads_checked(text: str):
    """``json.loads`` that raises ``ValueError`` for too deep nesting or NUL characters, never ``RecursionError``."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise JSONTooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels is not accepted.") from None
    check_json(data)
    return data


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, refusing deep nesting and NUL characters with a 400 (``ParseError``)."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding) if stream is not None else ""
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - not {encoding} text ({exc.reason}).") from None
        if not text:
            raise ParseError("JSON parse error - the request body is empty.")
        try:
            return loads_checked(text)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
