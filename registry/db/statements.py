"""Read statements built by the ORM once per connection, then run with new values and no queryset.

Even with its compiled SELECTs cached (``registry.db.compiled``), every ORM query of a request costs
about 0.3 ms of Python: building the queryset (``filter`` resolving names, joins and lookups), compiling
its WHERE clause, Django's execution and row iteration. The same statement run from a cursor costs
about 0.1 ms. A handful of statements on the API's hottest pages (a version's splits and parts, its
derivations, the reads of its lineage) run several times a request: :class:`Statement` keeps them.

``Statement(build)`` takes a function of keyword values that returns a ``values_list()`` queryset.
The first run on a connection calls it with placeholder values, compiles it with Django's compiler,
finds each placeholder among the statement's parameters and keeps the SQL, the parameter positions
and the columns' converters. Later runs put the values in their places, execute the SQL on the
connection's cursor and convert the rows as the ORM would (booleans, datetimes and UUIDs on SQLite,
JSON). A list value (``field__in=values``) compiles one statement per length; an empty list, which
Django answers without a query, is answered the same way. A placeholder that does not reach the SQL
as itself (a ``contains`` lookup wraps it in ``%``) is refused when the statement is first built.

``LEAKLEDGER_SQL_CACHE=verify`` (the tests run so) runs the queryset as well and fails with
:class:`registry.db.compiled.CompiledSelectMismatch` on any difference in the rows (the check's
queries are not left in ``connection.queries``); ``off`` runs only the queryset.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from collections.abc import Callable
from itertools import count

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet

from .compiled import CompiledSelectMismatch, mode

#: Statements kept per connection and :class:`Statement`: one per length of each list value.
MAX_SHAPES = 256

_EMPTY = object()  # a shape that Django answers without a query (an empty ``__in`` list)
_serial = count(1)


def _placeholder(value, serial: int):
    """A value of ``value``'s type that no real parameter holds, and that names its slot."""
    if isinstance(value, bool):
        raise TypeError("a boolean value cannot be a placeholder: write it into the statement")
    if isinstance(value, int):
        return -(2**62) + serial
    if isinstance(value, str):
        return f"\x1fll-placeholder-{serial}\x1f"
    if isinstance(value, uuid.UUID):
        return uuid.UUID(int=2**127 + serial)
    raise TypeError(f"a {type(value).__name__} value cannot be a placeholder (int, str or UUID)")


def _forms(placeholder) -> dict:
    """How a placeholder can reach the statement's parameters: as itself, or as a UUID's text."""
    forms = {placeholder: None}
    if isinstance(placeholder, uuid.UUID):
        forms[placeholder.hex] = "hex"
        forms[str(placeholder)] = "str"
    return forms


def _as(value, form):
    if form == "hex":
        return value.hex
    if form == "str":
        return str(value)
    return value


class Statement:
    """A ``values_list()`` read kept per connection; ``run(**values)`` gives its rows as tuples.

    Example::

        PARTS = Statement(
            lambda split_ids: SplitPart.objects.filter(split_id__in=split_ids)
            .order_by("split_id", "name")
            .values_list("split_id", "name", "uuid")
        )
        PARTS.run(split_ids=[3, 4])  # [(3, "test", UUID(...)), (3, "train", UUID(...)), ...]
    """

    def __init__(self, build: Callable[..., QuerySet]):
        self.build = build
        self._by_connection: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def run(self, using: str = "default", **values) -> list[tuple]:
        connection = connections[using]
        if mode() == "off":
            return list(self.build(**values).using(using))
        shape = tuple(
            (name, len(value) if isinstance(value, list | tuple) else None, type(value))
            for name, value in sorted(values.items())
        )
        shapes = self._by_connection.get(connection)
        if shapes is None:
            with self._lock:
                shapes = self._by_connection.setdefault(connection, {})
        compiled = shapes.get(shape)
        if compiled is None:
            compiled = self._compile(values, using)
            if len(shapes) >= MAX_SHAPES:
                shapes.pop(next(iter(shapes)), None)
            shapes[shape] = compiled
        if compiled is _EMPTY:
            rows = []
        else:
            sql, slots, converters = compiled
            params = [
                _as(values[name][index] if index is not None else values[name], form)
                if name is not None
                else constant
                for name, index, form, constant in slots
            ]
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                rows = cursor.fetchall()
            if converters:
                rows = [self._convert(row, converters, connection) for row in rows]
        if mode() == "verify":
            expected = self._verified(values, using, connection)
            if expected != rows:
                raise CompiledSelectMismatch(
                    f"a Statement gave other rows than its queryset:\nstatement: {rows!r}\nqueryset:  {expected!r}"
                )
        return rows

    def _verified(self, values: dict, using: str, connection) -> list[tuple]:
        """The queryset's rows, its queries taken off the connection's log again: they are the check's,
        not the program's, and tests that count a page's queries count the program's."""
        log = connection.queries_log
        logged = len(log)
        rows = [tuple(row) for row in self.build(**values).using(using)]
        while len(log) > logged:
            log.pop()
        return rows

    @staticmethod
    def _convert(row, converters, connection) -> tuple:
        row = list(row)
        for position, (functions, expression) in converters:
            value = row[position]
            for function in functions:
                value = function(value, expression, connection)
            row[position] = value
        return tuple(row)

    def _compile(self, values: dict, using: str):
        placeholders, where = {}, {}
        for name, value in values.items():
            if isinstance(value, list | tuple):
                items = [_placeholder(item, next(_serial)) for item in value]
                placeholders[name] = items
                for index, item in enumerate(items):
                    where.update({form: (name, index, how) for form, how in _forms(item).items()})
            else:
                placeholders[name] = item = _placeholder(value, next(_serial))
                where.update({form: (name, None, how) for form, how in _forms(item).items()})
        queryset = self.build(**placeholders).using(using)
        if queryset._fields is None or queryset._iterable_class.__name__ != "ValuesListIterable":
            raise TypeError("a Statement is built from a values_list() queryset (rows as tuples)")
        compiler = queryset.query.get_compiler(using)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:
            return _EMPTY
        slots, found = [], set()
        for param in params:
            try:
                name, index, form = where[param]
            except (KeyError, TypeError):  # a constant of the statement
                slots.append((None, None, None, param))
                continue
            slots.append((name, index, form, None))
            found.add((name, index))
        wanted = {
            (name, i)
            for name, v in placeholders.items()
            for i in (range(len(v)) if isinstance(v, list) else [None])
        }
        if found != wanted:
            missing = sorted(str(name) for name, _ in wanted - found)
            raise ValueError(
                f"the value of {', '.join(missing)} does not reach the statement as itself (a lookup that "
                "transforms it, such as contains or iexact?): run the queryset instead"
            )
        selected = [column for column, _sql, _alias in compiler.select[: compiler.col_count]]
        converters = [
            (position, (functions, expression))
            for position, (functions, expression) in compiler.get_converters(selected).items()
        ]
        return sql, slots, converters
