"""CSV export of skips, streamed in constant memory.

The first six columns are the API's fields with the API's values
(``created_at`` as ``2015-09-30T21:44:03Z``); the agent's login and email and
the ticket's title follow, for people reading the file.

Two writers give the same bytes:

- :func:`csv_rows`, on any database: rows read with
  ``QuerySet.iterator(chunk_size=...)`` (a server-side cursor on PostgreSQL)
  and written by Python's ``csv`` module a chunk at a time, so a million skips
  never sit in memory.
- :func:`copy_csv_rows`, on PostgreSQL with psycopg 3: the same ``SELECT``
  wrapped in ``COPY (...) TO STDOUT (FORMAT csv)``, so that PostgreSQL writes
  every value (timestamps, the formula guard, the quoting), read a block at a
  time as the response streams; several times faster.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import EmptyResultSet, FieldDoesNotExist
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorDebugWrapper
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from skips.models import Skip
from skips.rollups import INTEGER_FIELDS
from skips.serializers import format_timestamp
from skips.users import user_field_names

#: Rows fetched from the database at a time, and written out at a time.
CHUNK_SIZE = 2_000


#: Leading characters that make a spreadsheet read a cell as a formula (with
#: their full-width forms, which some spreadsheets read as the same).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


#: Characters that a spreadsheet may take as the end of a cell: the list
#: separators of every locale (``,`` and ``;``), tab, and line breaks.
CELL_BREAKS = (",", ";", "\t", "\r", "\n")


#: The start of a text or of any part of it after a cell break, then spaces or
#: quotes, where a formula character comes next: the place of the guard.
FORMULA_PART = re.compile(
    '(?:^|(?<=[{breaks}]))([ "]*)(?=[{starts}])'.format(
        breaks=re.escape("".join(CELL_BREAKS)), starts=re.escape("".join(FORMULA_STARTS))
    )
)


@dataclass(frozen=True)
class Column:
    """One CSV column: its header, the ``values_list`` lookup, and how to write a value."""

    header: str
    lookup: str
    write: Callable[[Any], Any] | None = None


def skip_columns(ticket_title_field: str | None) -> list[Column]:
    """The API's fields, then the agent and the ticket for people."""
    login, email = user_field_names()
    columns = [
        Column("id", "id"),
        Column("created_at", "created_at", format_timestamp),
        Column("updated_at", "updated_at", format_timestamp),
        Column("user_id", "user_id"),
        Column("ticket_id", "ticket_id"),
        Column("reason", "reason"),
        Column("agent", f"user__{login}"),
    ]
    if email:
        columns.append(Column("agent_email", f"user__{email}"))
    if ticket_title_field:
        columns.append(Column(f"ticket_{ticket_title_field}", f"ticket__{ticket_title_field}"))
    return columns


def guard_formula(value: Any) -> Any:
    """Text that a spreadsheet could run as a formula, each such part after an apostrophe.

    Not only the start of the text: a spreadsheet whose list separator is
    ``;`` (or tab) splits ``see;=1+1;x`` into three cells and would run the
    second, so a formula character at the start of any part (after ``,``,
    ``;``, tab or a line break, and any spaces or quotes) gets a ``'`` too:
    ``see;'=1+1;x``.
    """
    if isinstance(value, str):
        return FORMULA_PART.sub(r"\1'", value)
    return value


def csv_rows(
    queryset: QuerySet[Skip],
    columns: Sequence[Column],
    *,
    chunk_size: int = CHUNK_SIZE,
    guard_formulas: bool = False,
) -> Iterator[str]:
    """The CSV text of ``queryset``: the header line, then about ``chunk_size`` rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([column.header for column in columns])
    writers = [column.write for column in columns]
    rows = queryset.values_list(*(column.lookup for column in columns)).iterator(
        chunk_size=chunk_size
    )
    pending = 0
    for row in rows:
        values = [w(v) if w else v for w, v in zip(writers, row, strict=True)]
        if guard_formulas:
            values = [guard_formula(v) for v in values]
        writer.writerow(values)
        pending += 1
        if pending >= chunk_size:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue()


def header_line(columns: Sequence[Column]) -> str:
    """The header line, as :func:`csv_rows` writes it."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([column.header for column in columns])
    return buffer.getvalue()


# PostgreSQL's COPY.
#
# COPY ... (FORMAT csv) quotes a value as Python's csv.writer does by default
# (QUOTE_MINIMAL): when it holds a comma, a quote, "\r" or "\n", with quotes
# doubled. Three differences are made up for. PostgreSQL quotes an empty
# string (to tell it from NULL) and Python does not: empty strings are sent as
# NULL (NULLIF), and both come out as nothing. PostgreSQL ends a row with
# "\n", and sends each row in a message of its own (the protocol's rule:
# CopyData messages "always one per row"): the reader cuts that "\n" and joins
# the rows with "\r\n". And each value is turned into text as Python would:
# integers' text is the same, timestamps go through to_char, and the formula
# guard is the same regular expression in regexp_replace (PostgreSQL's has the
# lookbehind that Python's uses, with the same matches).

#: How SQL writes a column: text (guarded; empty as NULL), a value whose text
#: is Python's ``str()`` of it, or a timestamp as ``format_timestamp`` writes it.
ColumnKind = Literal["text", "plain", "timestamp"]

TEXT_FIELDS = frozenset({"CharField", "TextField", "SlugField", "EmailField", "URLField"})
PLAIN_FIELDS = INTEGER_FIELDS | {"UUIDField"}


def sql_bracket(characters: Sequence[str]) -> str:
    """A bracket expression matching ``characters`` in PostgreSQL's regular expressions."""
    others = "".join(c for c in characters if c != "-")
    others = others.replace("\\", "\\\\").replace("]", "\\]").replace("^", "\\^")
    return f"[{others}{'-' if '-' in characters else ''}]"


_SQL_BREAKS = sql_bracket(CELL_BREAKS)
_SQL_STARTS = sql_bracket(FORMULA_STARTS)
#: :data:`FORMULA_PART` for PostgreSQL, replaced by ``\1'`` as in :func:`guard_formula`.
SQL_FORMULA_PART = f'(?:^|(?<={_SQL_BREAKS}))([ "]*)(?={_SQL_STARTS})'
#: Whether :data:`SQL_FORMULA_PART` matches somewhere: the cheap test made first.
SQL_FORMULA_ANYWHERE = f'(?:^|{_SQL_BREAKS})[ "]*{_SQL_STARTS}'
#: ``format_timestamp`` for to_char, which truncates to whole seconds as it does.
SQL_TIMESTAMP_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS"Z"'


def lookup_field(lookup: str) -> Any:
    """The field a ``values_list`` lookup of skips reads (a key's target field); None if none."""
    model: Any = Skip
    field: Any = None
    for part in lookup.split("__"):
        if model is None:
            return None
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        model = field.related_model
    while field.is_relation:
        target = getattr(field, "target_field", None)
        if not (field.many_to_one or field.one_to_one) or target is None or target is field:
            return None
        field = target
    return field


def column_kind(column: Column, connection: BaseDatabaseWrapper) -> ColumnKind | None:
    """How SQL writes ``column`` as :func:`csv_rows` does; None when it cannot exactly."""
    field = lookup_field(column.lookup)
    if field is None or field.get_db_converters(connection):
        return None
    kind = field.get_internal_type()
    if column.write is format_timestamp:
        return "timestamp" if kind == "DateTimeField" else None
    if column.write is not None:
        return None
    if kind in TEXT_FIELDS:
        return "text"
    if kind in PLAIN_FIELDS:
        return "plain"
    return None


def can_copy(connection: BaseDatabaseWrapper) -> bool:
    """Whether ``connection`` is PostgreSQL through psycopg 3, sending UTF-8."""
    if connection.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if not is_psycopg3:
        return False
    connection.ensure_connection()
    return str(connection.connection.info.encoding) == "utf-8"


def copy_statement(
    queryset: QuerySet[Skip], columns: Sequence[Column], *, guard_formulas: bool = False
) -> str | None:
    """``COPY (...) TO STDOUT``, writing the rows of ``queryset`` as :func:`csv_rows` does.

    Its ``SELECT`` is the queryset's own (``values_list`` of the columns: its
    filters, search, order and access rules), wrapped. None when a column has
    no exact SQL form (say, a host's field that Python converts), or when the
    queryset is empty by construction.
    """
    connection = connections[queryset.db]
    kinds = [column_kind(column, connection) for column in columns]
    if None in kinds:
        return None
    try:
        rows = queryset.values_list(*(column.lookup for column in columns))
        # Compiled for the database it reads (sql_with_params() would compile for "default").
        inner, inner_params = rows.query.get_compiler(using=queryset.db).as_sql()
    except EmptyResultSet:
        return None
    names = [f"c{i}" for i in range(len(columns))]
    texts = [name for name, kind in zip(names, kinds, strict=True) if kind == "text"]
    guard = guard_formulas and bool(texts)
    params: list[Any] = []
    values = []
    for name, kind in zip(names, kinds, strict=True):
        if kind == "plain":
            values.append(f"t.{name}::text")
        elif kind == "timestamp":
            # Aware timestamps in UTC, whatever the session's TimeZone; naive
            # ones (USE_TZ = False) as Django reads them, in the session's.
            utc = " AT TIME ZONE 'UTC'" if settings.USE_TZ else ""
            values.append(f"to_char(t.{name}{utc}, '{SQL_TIMESTAMP_FORMAT}')")
        elif guard:
            values.append(
                f"NULLIF(CASE WHEN t.skips_guard THEN regexp_replace(t.{name}, %s, %s, 'g')"
                f" ELSE t.{name} END, '')"
            )
            params += [SQL_FORMULA_PART, r"\1'"]
        else:
            values.append(f"NULLIF(t.{name}, '')")
    selected = ", ".join(f"s.{name}" for name in names)
    if guard:
        # One test a row: its text values joined by "\n", which starts a part
        # as the start of a value does.
        joined = ", ".join(f"s.{name}" for name in texts)
        selected += f", concat_ws(%s, {joined}) ~ %s AS skips_guard"
        params += ["\n", SQL_FORMULA_ANYWHERE]
    # OFFSET 0 keeps the test to one evaluation a row (the subquery is not
    # merged into the outer one); the rows keep the inner ORDER BY's order.
    statement = (
        f"COPY (SELECT {', '.join(values)} FROM (SELECT {selected}"
        f" FROM ({inner}) AS s({', '.join(names)}) OFFSET 0) AS t) TO STDOUT (FORMAT csv)"
    )
    ops: Any = connection.ops  # PostgreSQL's, which has compose_sql
    return str(ops.compose_sql(statement, [*params, *inner_params]))


def copy_csv_rows(
    queryset: QuerySet[Skip],
    columns: Sequence[Column],
    *,
    chunk_size: int = CHUNK_SIZE,
    guard_formulas: bool = False,
) -> Iterator[bytes] | None:
    """The bytes of :func:`csv_rows`, written by PostgreSQL's ``COPY``; None where it cannot.

    The statement is compiled now, for the database ``queryset`` reads (a
    replica or the primary); it runs as the result is consumed, in a
    transaction of its own (a savepoint inside one), and its rows come out
    ``chunk_size`` at a time, the header line first. Closing the iterator
    early (a client that went away) cancels the ``COPY`` and rolls back to
    where it began: the connection stays usable.
    """
    alias = queryset.db  # asked once: a router may pick a replica at random
    queryset = queryset.using(alias)
    if not can_copy(connections[alias]):
        return None
    statement = copy_statement(queryset, columns, guard_formulas=guard_formulas)
    if statement is None:
        return None
    return copy_rows(alias, statement, header_line(columns).encode(), chunk_size)


def copy_rows(alias: str, statement: str, header: bytes, chunk_size: int) -> Iterator[bytes]:
    """``header``, then the rows of the ``COPY ... (FORMAT csv)`` ``statement`` with ``\\r\\n``.

    One statement sends every row, for as long as the client takes to read
    them: a ``statement_timeout`` meant for queries (Python's writer reads a
    chunk a statement) would cut the file short, so it is lifted for the
    ``COPY`` alone.
    """
    connection = connections[alias]
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('statement_timeout')")
        (timeout,) = cursor.fetchone() or ("0",)
        cursor.execute("SET LOCAL statement_timeout = 0")
        logged: AbstractContextManager[Any] = (
            cursor.debug_sql(statement) if isinstance(cursor, CursorDebugWrapper) else nullcontext()
        )
        with logged, connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
            start = header
            rows: list[Any] = []
            for row in copy:
                rows.append(row[:-1])  # a whole row, less its "\n"
                if len(rows) >= chunk_size:
                    rows.append(b"")
                    yield start + b"\r\n".join(rows)
                    start = b""
                    rows = []
            if rows:
                rows.append(b"")
            yield start + b"\r\n".join(rows)
        cursor.execute("SELECT set_config('statement_timeout', %s, true)", [timeout])


def csv_response(
    lines: Iterator[str] | Iterator[bytes], name: str = "skips"
) -> StreamingHttpResponse:
    """A streamed ``text/csv`` attachment named ``{name}-{local date and time}.csv``."""
    now = timezone.localtime() if settings.USE_TZ else datetime.datetime.now()
    stamp = now.strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
