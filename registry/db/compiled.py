"""A per-process cache of compiled SELECT statements, keyed by the query's shape and its WHERE clause.

Django compiles every queryset to SQL again each time it runs, and for the registry's reads that
compilation is the largest single cost: a third of the API's Python time per request, most of it
walking ``select_related`` joins column by column and (for ordered queries) hashing every selected
column (benchmarks/README.md, "API load"). The same few dozen shapes recur with different values.

A SELECT here is compiled once per shape and process. On each later run only its WHERE clause is
compiled (which gives that run's parameters and, as text, part of the key); the SQL text, the
compiler's column map that builds model instances from the rows, and the rows' converters come from
the cache. The key holds everything else that shapes the statement: the database alias, the model,
the WHERE text, the joins the query already holds (a filter on ``fk_id`` can leave an unused one
that ``select_related`` then reuses), limits, ordering, ``select_related`` in its order, deferred
fields, ``values()`` columns, annotations (by value), GROUP BY, ``extra(select=...)``, DISTINCT,
FOR UPDATE and whether it is a subquery. A query is left to Django when part of it is not in the
key (set operations, an ordering by expression, ``extra()`` tables or ordering, filtered relations,
``explain()``, a subquery in an annotation, a value that cannot be hashed), when it has a HAVING or
window filter, when its WHERE is empty by construction, and when its parameters are not exactly its
WHERE clause's (parameters in the select list or the ordering): the first compilation of a key
checks that, and only then is the statement kept.

``LEAKLEDGER_SQL_CACHE`` (``settings.LEAKLEDGER_SQL_CACHE``): ``on`` (the default), ``off``, or
``verify``, which compiles every query in full as well and raises :class:`CompiledSelectMismatch`
if the cached statement or parameters differ: the test suite and the API fuzzing run with it, so
that every query they make checks the key.
"""

from __future__ import annotations

import threading
import weakref

from django.conf import settings
from django.core.exceptions import EmptyResultSet, FullResultSet

#: Shapes kept per process; beyond it the oldest entry goes (a registry has a few dozen shapes,
#: and ``pk__in`` lists of different lengths are different keys). An entry is a few kilobytes.
MAX_ENTRIES = 1024

#: The compiler's state that ``execute_sql``, ``results_iter`` and ``ModelIterable`` read after
#: ``as_sql()``: the columns with their fields and converters, and how they map onto models.
_STATE = ("select", "klass_info", "annotation_col_map", "col_count", "has_extra_select", "_meta_ordering")


class CompiledSelectMismatch(AssertionError):
    """``verify`` mode: a cached statement differs from the one Django compiles for the same key."""


class CompiledSelectCache:
    """Counts and entries of one process's cache (``SELECTS``); thread-safe."""

    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self._entries: dict = {}
        self._lock = threading.Lock()
        self.hits = self.misses = self.bypassed = 0

    def get(self, key):
        return self._entries.get(key)

    def put(self, key, value) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = self.bypassed = 0

    def __len__(self) -> int:
        return len(self._entries)


SELECTS = CompiledSelectCache()


def mode() -> str:
    return getattr(settings, "LEAKLEDGER_SQL_CACHE", "on")


def _frozen(value):
    """``select_related`` as a key, in its order (the order of the joins and columns)."""
    if isinstance(value, dict):
        return tuple((k, _frozen(v)) for k, v in value.items())
    return value


def _joins(query) -> tuple:
    """The joins the query holds before compilation, in order, with the ones no longer used (a filter
    on ``fk_id`` leaves one): ``select_related`` reuses them, so they shape the aliases."""
    return tuple(
        (
            alias,
            join.table_name,
            getattr(join, "join_field", None),
            join.join_type,
            query.alias_refcount[alias],
        )
        for alias, join in query.alias_map.items()
    )


def _extra(query) -> tuple:
    """``extra(select=...)`` as a key (prefetches of many-to-many relations add one: the through
    table's key); its parameters must be none, as the first compilation checks."""
    return tuple((alias, sql, tuple(params)) for alias, (sql, params) in query.extra.items())


def _cacheable(query) -> bool:
    return not (
        query.combinator
        or query.extra_tables
        or query.extra_order_by
        or query._filtered_relations
        or query.explain_info is not None
        or not all(isinstance(field, str) for field in query.order_by)
        # A subquery in an annotation hashes as its object, a new one each time: never the same key.
        or any(
            getattr(annotation, "subquery", False) or getattr(annotation, "contains_subquery", False)
            for annotation in query.annotations.values()
        )
    )


class CachedSelectMixin:
    """``as_sql`` of a backend's ``SQLCompiler``, with the cache of this module in front of it."""

    def as_sql(self, with_limits=True, with_col_aliases=False):
        setting = mode()
        query = self.query
        if setting == "off" or not _cacheable(query):
            SELECTS.bypassed += setting != "off"
            return super().as_sql(with_limits, with_col_aliases)
        where, having, qualify = query.where.split_having_qualify(must_group_by=query.group_by is not None)
        if having is not None or qualify is not None:
            SELECTS.bypassed += 1
            return super().as_sql(with_limits, with_col_aliases)
        try:
            where_sql, where_params = self.compile(where)
        except FullResultSet:
            where_sql, where_params = "", ()
        except EmptyResultSet:
            SELECTS.bypassed += 1
            return super().as_sql(with_limits, with_col_aliases)
        where_params = tuple(where_params)
        key = (
            self.using,
            query.model,
            where_sql,
            with_limits,
            with_col_aliases,
            self.elide_empty,
            _joins(query),
            query.low_mark,
            query.high_mark,
            query.order_by,
            query.default_ordering,
            query.standard_ordering,
            _frozen(query.select_related),
            query.max_depth,
            (frozenset(query.deferred_loading[0]), query.deferred_loading[1]),
            query.default_cols,
            query.values_select,
            len(query.select),
            query.distinct,
            query.distinct_fields,
            query.subquery,
            # Aggregates and other annotations by value (an expression's hash is its constructor's
            # arguments), with the GROUP BY they imply.
            tuple(query.annotations.items()),
            None if query.annotation_select_mask is None else frozenset(query.annotation_select_mask),
            query.group_by,
            _extra(query),
            None if query.extra_select_mask is None else frozenset(query.extra_select_mask),
            query.select_for_update,
            query.select_for_update_nowait,
            query.select_for_update_skip_locked,
            query.select_for_update_of,
            query.select_for_no_key_update,
        )
        try:
            cached = SELECTS.get(key)
        except TypeError:  # an annotation or extra() value that cannot be a key
            SELECTS.bypassed += 1
            return super().as_sql(with_limits, with_col_aliases)
        if cached is None:
            SELECTS.misses += 1
            sql, params = super().as_sql(with_limits, with_col_aliases)
            if tuple(params) == where_params:
                self._converters = weakref.WeakKeyDictionary()
                SELECTS.put(key, (sql, {name: getattr(self, name) for name in (*_STATE, "_converters")}))
            return sql, params
        SELECTS.hits += 1
        sql, state = cached
        if setting == "verify":
            full_sql, full_params = super().as_sql(with_limits, with_col_aliases)
            if (full_sql, tuple(full_params)) != (sql, where_params):
                raise CompiledSelectMismatch(
                    f"the cached SELECT for {query.model.__name__} differs from Django's:\n"
                    f"cached:   {sql} {where_params!r}\ncompiled: {full_sql} {tuple(full_params)!r}"
                )
            self._verify_converters = state["_converters"]
            return full_sql, full_params
        self.__dict__.update(state)
        self.where, self.having, self.qualify = where, None, None
        return sql, where_params

    def get_converters(self, expressions):
        """The row converters of the selected columns, once per cached statement and connection (they
        are bound to the connection's operations); any other list of expressions as Django does it."""
        if not _all_selected(self, expressions):
            return super().get_converters(expressions)
        memo = getattr(self, "_converters", None)
        if memo is None:  # not cached, or verify mode: Django's, checked against the cached ones
            found = super().get_converters(expressions)
            cached = getattr(self, "_verify_converters", {}).get(self.connection)
            if cached is not None and _functions(cached) != _functions(found):
                raise CompiledSelectMismatch(
                    f"the cached converters for {self.query.model.__name__} differ from Django's: "
                    f"{_functions(cached)!r} != {_functions(found)!r}"
                )
            return found
        found = memo.get(self.connection)
        if found is None:
            found = memo[self.connection] = super().get_converters(expressions)
        return found


def _functions(converters: dict) -> dict:
    """What each column's converters do: the code, the object a method is bound to, and what a
    closure holds (an expression's converter is a new lambda each time it is asked for)."""

    def what(function):
        code = getattr(function, "__func__", function)
        cells = tuple(cell.cell_contents for cell in getattr(code, "__closure__", None) or ())
        return getattr(code, "__code__", code), getattr(function, "__self__", None), cells

    return {i: [what(f) for f in functions] for i, (functions, _expression) in converters.items()}


def _all_selected(compiler, expressions) -> bool:
    """``expressions`` are the compiler's selected columns, as ``results_iter`` asks for them."""
    select = compiler.select
    return (
        isinstance(expressions, list | tuple)
        and bool(expressions)
        and select is not None
        and len(expressions) == compiler.col_count
        and expressions[0] is select[0][0]
        and expressions[-1] is select[compiler.col_count - 1][0]
    )
