"""Querysets compiled to SQL once, run again with other values: for the lookups of
every request (the API token's user, the user's permissions) and of every list
page (the page's tickets and their collections).

The ORM builds and compiles a queryset anew each time it runs it: a few hundred
microseconds of Python for a query that the database answers in less. A
:class:`CompiledQuery` does it once per database and per number of values, then
only puts the values of each run in their places::

    from skips.serializers import CompiledQuery

    TAGS = CompiledQuery(
        lambda ticket_ids: Ticket.tags.through.objects.filter(ticket_id__in=ticket_ids)
        .order_by("tag__name")
        .values_list("ticket_id", "tag__name")
    )
    rows = TAGS.rows(ticket_ids)  # what list(the queryset) gives
    total = TAGS.count(ticket_ids)  # what QuerySet.count(the queryset) gives

``build`` must make the same query whatever the values are (not a different
filter for one value than for two). The values are integers or strings; with
anything else (a UUID, a date), or with a queryset that is neither a list of
model instances nor ``values()`` / ``values_list()`` rows, each run goes
through the ORM, with the same result.
"""

from __future__ import annotations

import datetime
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db import connections, router
from django.db.models import QuerySet
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    ValuesIterable,
    ValuesListIterable,
)
from django.utils.dateparse import parse_datetime

#: Stand-ins for the values when compiling: numbers and strings no caller passes.
_INT_STAND_IN = -7_301_945_286_000
_STR_STAND_IN = "\x00skips-compiled-{}\x00"
#: Compiled queries kept per CompiledQuery, at most (one per database and count).
MAX_PLANS = 256


@dataclass(frozen=True)
class _Plan:
    sql: str
    #: Each parameter: the index of the value it takes, or None and its constant.
    params: tuple[tuple[int | None, Any], ...]
    #: The selected columns (their database converters run on each row).
    columns: tuple[Any, ...]
    #: What a row becomes: "model", "dict", "tuple" or "flat".
    shape: str
    #: The model's field names (model rows) or the dict's keys (dict rows).
    names: tuple[str, ...]
    model: Any
    #: The converters of the columns, by connection (one per thread and database).
    converters: weakref.WeakKeyDictionary[Any, list[tuple[int, list[Any], Any]]] = field(
        default_factory=weakref.WeakKeyDictionary, compare=False
    )
    #: What makes a dict row from a fetched row, by connection (see :func:`dict_maker`).
    makers: weakref.WeakKeyDictionary[Any, Callable[[Sequence[Any]], dict[str, Any]]] = field(
        default_factory=weakref.WeakKeyDictionary, compare=False
    )


_ALL: weakref.WeakSet[CompiledQuery] = weakref.WeakSet()
_UNKNOWN: Any = object()


class CompiledQuery:
    """``build(values)``, a queryset, compiled to SQL once per database and number of values."""

    def __init__(self, build: Callable[[list[Any]], QuerySet[Any, Any]]) -> None:
        self.build = build
        #: By (database, number of values, type of value): the plan, or None (the ORM runs it).
        self.plans: dict[tuple[str, int, type], _Plan | None] = {}
        #: The same for its COUNT.
        self.count_plans: dict[tuple[str, int, type], _Plan | None] = {}
        #: The queryset's model and the database it names itself (None: the router's).
        self.target: tuple[Any, str | None] | None = None
        _ALL.add(self)

    def _using(self, values: list[Any], using: str | None) -> str:
        if using is not None:
            return using
        if self.target is None:
            queryset = self.build(values)
            self.target = (queryset.model, getattr(queryset, "_db", None))
        model, fixed = self.target
        return fixed or router.db_for_read(model)

    def rows(self, values: Sequence[Any], using: str | None = None) -> list[Any]:
        """What ``list(build(values))`` gives, read from ``using`` (by default where
        the router sends the queryset's reads)."""
        values = list(values)
        kind = _kind(values)
        if kind is None:
            queryset = self.build(values)
            return list(queryset if using is None else queryset.using(using))
        using = self._using(values, using)
        key = (using, len(values), kind)
        plan = self.plans.get(key, _UNKNOWN)
        if plan is _UNKNOWN:
            plan = _compile(self.build, len(values), kind, using)
            if plan is not None and _statement(self.build, values, using) != _bound(plan, values):
                plan = None  # not the ORM's own statement for these values
            if len(self.plans) < MAX_PLANS:
                self.plans[key] = plan
        if plan is None or plan is _UNKNOWN:
            return list(self.build(values).using(using))
        return _run(plan, values, using)

    def count(self, values: Sequence[Any], using: str | None = None) -> int:
        """What ``QuerySet.count(build(values))`` gives (Django's ``COUNT``, not a
        subclass's own ``count()``), read from ``using`` as :meth:`rows` reads."""
        values = list(values)
        kind = _kind(values)
        if kind is None:
            queryset = self.build(values)
            return QuerySet.count(queryset if using is None else queryset.using(using))
        using = self._using(values, using)
        key = (using, len(values), kind)
        plan = self.count_plans.get(key, _UNKNOWN)
        if plan is _UNKNOWN:
            plan = _compile_count(self.build, len(values), kind, using)
            if plan is not None and _count_statement(self.build, values, using) != _bound(
                plan, values
            ):
                plan = None
            if len(self.count_plans) < MAX_PLANS:
                self.count_plans[key] = plan
        if plan is None or plan is _UNKNOWN:
            return QuerySet.count(self.build(values).using(using))
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, _params(plan, values))
            row = cursor.fetchone()
        return int(row[0] or 0) if row else 0


def _kind(values: list[Any]) -> type | None:
    """int or str when every value is one (not a bool), else None. No value: int."""
    if not values:
        return int
    kind = type(values[0])
    if kind not in (int, str) or any(type(value) is not kind for value in values):
        return None
    return kind


def _stand_ins(count: int, kind: type) -> list[Any]:
    if kind is int:
        return [_INT_STAND_IN - i for i in range(count)]
    return [_STR_STAND_IN.format(i) for i in range(count)]


def _compile(build: Callable[[list[Any]], Any], count: int, kind: type, using: str) -> _Plan | None:
    """The plan of ``build`` for ``count`` values of type ``kind``; None if it has none."""
    stand_ins = _stand_ins(count, kind)
    try:
        queryset = build(stand_ins).using(using)
        iterable = queryset._iterable_class
        compiler = queryset.query.get_compiler(using)
        sql, params = compiler.as_sql()
    except Exception:  # a stand-in the field refuses, an empty IN (): the ORM decides
        return None
    slots = _slots(params, stand_ins, kind)
    if slots is None:
        return None
    columns = tuple(column for column, _, _ in compiler.select[: compiler.col_count])
    if compiler.has_composite_fields(list(columns)) or queryset._prefetch_related_lookups:
        return None
    query = queryset.query
    if iterable is ModelIterable:
        info = compiler.klass_info
        if (
            not info
            or info.get("related_klass_infos")
            or compiler.annotation_col_map
            or list(info["select_fields"]) != list(range(len(columns)))
        ):
            return None
        names = tuple(column.target.attname for column in columns)
        return _Plan(sql, slots, columns, "model", names, info["model"])
    if iterable is ValuesIterable:
        names = tuple(
            query.selected
            if query.selected
            else (*query.extra_select, *query.values_select, *query.annotation_select)
        )
        return _Plan(sql, slots, columns, "dict", names, None)
    if iterable is ValuesListIterable:
        return _Plan(sql, slots, columns, "tuple", (), None)
    if iterable is FlatValuesListIterable:
        return _Plan(sql, slots, columns, "flat", (), None)
    return None


_Slots = tuple[tuple[int | None, Any], ...]


def _slots(params: Any, stand_ins: list[Any], kind: type) -> _Slots | None:
    """Each parameter: the index of the stand-in it is, or None and the constant;
    None when a stand-in is lost or changed on the way (not a plain parameter)."""
    index = {value: i for i, value in enumerate(stand_ins)}
    slots = tuple(
        (index[param], None) if type(param) is kind and param in index else (None, param)
        for param in params
    )
    if {i for i, _ in slots if i is not None} != set(range(len(stand_ins))):
        return None
    if any(i is None and _holds_stand_in(constant, stand_ins) for i, constant in slots):
        return None
    return slots


def _holds_stand_in(constant: Any, stand_ins: list[Any]) -> bool:
    """Whether a stand-in went into the SQL otherwise than as itself (a pattern, a JSON text)."""
    if isinstance(constant, str):
        return any(str(stand_in) in constant for stand_in in stand_ins)
    return False


def _bound(plan: _Plan, values: list[Any]) -> tuple[str, list[Any]]:
    return plan.sql, _params(plan, values)


def _statement(
    build: Callable[[list[Any]], Any], values: list[Any], using: str
) -> tuple[str, list[Any]] | None:
    """The ORM's statement of ``build(values)``, or None."""
    try:
        sql, params = build(values).using(using).query.get_compiler(using).as_sql()
    except Exception:
        return None
    return sql, list(params)


def _count_statement(
    build: Callable[[list[Any]], Any], values: list[Any], using: str
) -> tuple[str, list[Any]] | None:
    """The ORM's statement of ``QuerySet.count(build(values))``, or None."""
    try:
        queryset = build(values)
        with _recording(using) as (alias, statements):
            QuerySet.count(queryset.using(alias))
    except Exception:
        return None
    if len(statements) != 1:
        return None
    sql, params = statements[0]
    return sql, list(params or ())


def _compile_count(
    build: Callable[[list[Any]], Any], count: int, kind: type, using: str
) -> _Plan | None:
    """The plan of ``QuerySet.count(build(values))``: the statement Django would run,
    recorded on a stand-in of the connection that runs nothing."""
    stand_ins = _stand_ins(count, kind)
    try:
        queryset = build(stand_ins)
        with _recording(using) as (alias, statements):
            QuerySet.count(queryset.using(alias))
    except Exception:  # a stand-in the field refuses, an empty IN (): the ORM decides
        return None
    if len(statements) != 1:  # nothing to run (an empty result), or more than one statement
        return None
    sql, params = statements[0]
    slots = _slots(params or (), stand_ins, kind)
    if slots is None:
        return None
    return _Plan(sql, slots, (), "count", (), None)


class _RecordingCursor:
    """A cursor that records what it is given to run and runs nothing: no row, a count of 0."""

    def __init__(self, statements: list[tuple[str, Any]]) -> None:
        self.statements = statements

    def execute(self, sql: str, params: Any = None) -> None:
        self.statements.append((sql, params))

    def executemany(self, sql: str, param_list: Any) -> None:
        raise NotImplementedError("a compiled query runs one statement")

    def fetchone(self) -> tuple[int]:
        return (0,)

    def fetchmany(self, size: int = 0) -> list[Any]:
        return []

    def fetchall(self) -> list[Any]:
        return []

    def close(self) -> None:
        pass

    def __enter__(self) -> _RecordingCursor:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        pass


class _RecordingConnection:
    """The connection ``real`` (its vendor, operations and features), with
    cursors that record statements instead of running them."""

    def __init__(self, real: Any, statements: list[tuple[str, Any]]) -> None:
        self._real = real
        self._statements = statements

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def cursor(self) -> _RecordingCursor:
        return _RecordingCursor(self._statements)

    def chunked_cursor(self) -> _RecordingCursor:
        return _RecordingCursor(self._statements)


@contextmanager
def _recording(using: str) -> Iterator[tuple[str, list[tuple[str, Any]]]]:
    """A database alias of this thread only whose connection records what the ORM
    would run on ``using``, and the list it records into."""
    statements: list[tuple[str, Any]] = []
    alias = f"__skips_compiling_{using}"
    recorder: Any = _RecordingConnection(connections[using], statements)
    connections[alias] = recorder
    try:
        yield alias, statements
    finally:
        del connections[alias]


def _params(plan: _Plan, values: list[Any]) -> list[Any]:
    return [constant if i is None else values[i] for i, constant in plan.params]


def _run(plan: _Plan, values: list[Any], using: str) -> list[Any]:
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(plan.sql, _params(plan, values))
        rows = list(cursor.fetchall())  # a tuple of rows on MySQL
    if not rows:
        return rows
    if plan.shape == "dict":
        make = plan.makers.get(connection)
        if make is None:
            functions = column_converters(connection, plan.columns)
            make = plan.makers[connection] = dict_maker(plan.names, functions, connection)
        return [make(row) for row in rows]
    converters = plan.converters.get(connection)
    if converters is None:
        converters = plan.converters[connection] = column_converters(connection, plan.columns)
    if converters:
        rows = list(convert_rows(rows, converters, connection))
    if plan.shape == "model":
        return [plan.model.from_db(using, plan.names, row) for row in rows]
    if plan.shape == "flat":
        return [row[0] for row in rows]
    return [tuple(row) for row in rows] if converters else rows


def dict_maker(
    names: Sequence[str], converters: list[tuple[int, list[Any], Any]], connection: Any
) -> Callable[[Sequence[Any]], dict[str, Any]]:
    """What makes the dict of a fetched row, its values converted as
    :func:`convert_rows` converts them: ``{"id": row[0], "created_at": f(row[1], ...)}``,
    a dict display compiled once (a dict display is quicker than ``dict(zip())``
    after a loop over the converters, and this runs for every row of a page)."""
    by_position = {position: (functions, column) for position, functions, column in converters}
    scope: dict[str, Any] = {"connection": connection}
    items = []
    for i, name in enumerate(names):
        value = f"row[{i}]"
        functions, column = by_position.get(i, ((), None))
        scope[f"column{i}"] = column
        for k, function in enumerate(functions):
            scope[f"convert{i}_{k}"] = function
            value = f"convert{i}_{k}({value}, column{i}, connection)"
        items.append(f"{str(name)!r}: {value}")
    exec(f"def make(row):\n    return {{{', '.join(items)}}}\n", scope)
    make: Callable[[Sequence[Any]], dict[str, Any]] = scope["make"]
    return make


def column_converters(connection: Any, columns: Sequence[Any]) -> list[tuple[int, list[Any], Any]]:
    """The converters the ORM runs on each selected column: (position, functions, column).

    SQLite's timestamp converter is replaced by a quicker one with the same
    result (it reads ``settings.USE_TZ`` for every value).
    """
    converters = []
    slow = _sqlite_timestamps(connection)
    quick = None
    for position, column in enumerate(columns):
        functions = [
            *connection.ops.get_db_converters(column),
            *column.get_db_converters(connection),
        ]
        for i, function in enumerate(functions):
            if slow is not None and getattr(function, "__func__", None) is slow:
                quick = quick or _quick_timestamps(connection)
                functions[i] = quick
        if functions:
            converters.append((position, functions, column))
    return converters


def convert_rows(
    rows: Iterable[Sequence[Any]], converters: list[tuple[int, list[Any], Any]], connection: Any
) -> Iterator[list[Any]]:
    """Each row as a list, its values converted (see :func:`column_converters`)."""
    single = [(p, functions[0], c) for p, functions, c in converters if len(functions) == 1]
    if len(single) < len(converters):
        for row in map(list, rows):
            for position, functions, column in converters:
                value = row[position]
                for function in functions:
                    value = function(value, column, connection)
                row[position] = value
            yield row
        return
    for row in map(list, rows):
        for position, function, column in single:
            row[position] = function(row[position], column, connection)
        yield row


def _sqlite_timestamps(connection: Any) -> Any:
    """SQLite's own timestamp converter, unless the backend has its own (or is not SQLite)."""
    if connection.vendor != "sqlite":
        return None
    method = type(connection.ops).convert_datetimefield_value
    return method if method.__module__ == "django.db.backends.sqlite3.operations" else None


def _quick_timestamps(connection: Any) -> Callable[[Any, Any, Any], Any]:
    """SQLite's ``convert_datetimefield_value``, with ``USE_TZ`` and the zone read once."""
    zone = connection.timezone if settings.USE_TZ else None

    def convert(value: Any, expression: Any, connection: Any) -> Any:
        if value is not None:
            if not isinstance(value, datetime.datetime):
                value = parse_datetime(value)
            if zone is not None and value.utcoffset() is None:
                value = value.replace(tzinfo=zone)
        return value

    return convert


def _forget(**kwargs: Any) -> None:
    # A setting may change a model (the user, the ticket), a database or a converter.
    for query in list(_ALL):
        query.plans.clear()
        query.count_plans.clear()
        query.target = None


setting_changed.connect(_forget)
