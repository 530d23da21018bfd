"""CSV export of skips, streamed in constant memory.

The first six columns are the API's fields with the API's values
(``created_at`` as ``2015-09-30T21:44:03Z``); the agent's login and email and
the ticket's title follow, for people reading the file. Rows are read with
``QuerySet.iterator(chunk_size=...)`` (a server-side cursor on PostgreSQL) and
written out a chunk at a time, so a million skips never sit in memory.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from skips.models import Skip
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


def csv_response(lines: Iterator[str], name: str = "skips") -> StreamingHttpResponse:
    """A streamed ``text/csv`` attachment named ``{name}-{local date and time}.csv``."""
    now = timezone.localtime() if settings.USE_TZ else datetime.datetime.now()
    stamp = now.strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
