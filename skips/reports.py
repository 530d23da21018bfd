"""The skips report: which tickets nobody wants, who skips what, and why.

:func:`build_report` runs a fixed number of queries over the skips of a date
range, whatever the size of the table; the range is read from the
``created_at`` index (or the ``(user, created_at, id)`` index for one agent):

- the agents, one row each, with the totals summed over all of them by window
  functions (skips, skips with a reason, agents; ``COUNT(*) OVER ()``);
- the skips of each day;
- the tickets by skips, with how many tickets (``COUNT(*) OVER ()``); the
  distinct agents of the top tickets only, through the ``(ticket, created_at,
  id)`` index;
- the reasons, grouped as written, then folded (``LOWER(TRIM())``) once per
  distinct reason rather than once per skip;
- the top agents and tickets by primary key.

Seven queries, one when no skip matches. Each reads the period's skips once:
the report costs in proportion to the skips of the period (see "The report" in
``docs/design/scale.rst``). The figures are exact. The report imports nothing
from the admin, which draws it.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from skips.dates import created_between
from skips.models import Skip, get_ticket_model
from skips.users import user_label

#: Rows in each "most" table.
TOP = 10
#: PostgreSQL's ``work_mem`` for the report's statements, when the server's is
#: smaller: a month at ten million skips groups 400,000 skips by ticket (about
#: 40 MB of hash table), which at the default 4 MB spills to disk, or leads the
#: planner to a parallel scan of the whole table.
WORK_MEM = "64MB"


@dataclass(frozen=True)
class TicketRow:
    """A much-skipped ticket."""

    ticket_id: int
    ticket: Any  # the ticket, or None when it is gone
    skips: int
    agents: int


@dataclass(frozen=True)
class AgentRow:
    """An agent who skips, and how often they say why."""

    user_id: int
    user: Any
    skips: int
    with_reason: int

    @property
    def label(self) -> str:
        return user_label(self.user) if self.user is not None else f"#{self.user_id}"

    @property
    def reason_share(self) -> float:
        return self.with_reason / self.skips if self.skips else 0.0


@dataclass(frozen=True)
class ReasonRow:
    """A reason (compared without case or surrounding spaces) and how often it is given."""

    reason: str
    skips: int
    share: float


@dataclass
class SkipReport:
    """Every figure of the report page."""

    first: datetime.date
    last: datetime.date
    total: int = 0
    with_reason: int = 0
    tickets: int = 0
    agents: int = 0
    days: list[tuple[datetime.date, int]] = field(default_factory=list)
    top_tickets: list[TicketRow] = field(default_factory=list)
    top_agents: list[AgentRow] = field(default_factory=list)
    top_reasons: list[ReasonRow] = field(default_factory=list)

    @property
    def reason_share(self) -> float:
        return self.with_reason / self.total if self.total else 0.0


def build_report(
    queryset: QuerySet[Skip],
    first: datetime.date,
    last: datetime.date,
    *,
    top: int = TOP,
) -> SkipReport:
    """The report over the skips of ``queryset`` made from ``first`` to ``last`` (local dates)."""
    skips: QuerySet[Skip] = created_between(queryset.order_by(), first, last).select_related(None)
    report = SkipReport(first=first, last=last)
    using = skips.db
    with _report_settings(using):
        _agents_and_totals(report, skips, using, top)
        if report.total:
            _days(report, skips)
            _tickets(report, skips, using, top)
            _reasons(report, skips, using, top)
    if not report.days:
        report.days = [(day, 0) for day in _calendar(first, last)]
    return report


@contextmanager
def _report_settings(using: str) -> Iterator[None]:
    """On PostgreSQL, the report's statements in a transaction with at least :data:`WORK_MEM`.

    ``SET LOCAL`` lasts until the end of the transaction, which may be the
    request's (``ATOMIC_REQUESTS``): the setting is put back when the report is done.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('work_mem'),"
            " pg_size_bytes(current_setting('work_mem')) < pg_size_bytes(%s)",
            [WORK_MEM],
        )
        previous, smaller = cursor.fetchone()
        if smaller:
            cursor.execute("SELECT set_config('work_mem', %s, true)", [WORK_MEM])
        yield
        if smaller:
            cursor.execute("SELECT set_config('work_mem', %s, true)", [previous])


def _calendar(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    return [first + datetime.timedelta(days=i) for i in range((last - first).days + 1)]


def _rows(using: str, sql: str, params: Any) -> list[tuple[Any, ...]]:
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _compiled(queryset: QuerySet[Any]) -> tuple[str, Any]:
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    return sql, params


def _agents_and_totals(report: SkipReport, skips: QuerySet[Skip], using: str, top: int) -> None:
    """The agents who skip most, and the totals: one row per agent, summed over all of them."""
    quote = connections[using].ops.quote_name
    inner, params = _compiled(
        skips.values(u=F("user_id")).annotate(n=Count("pk"), r=Count("pk", filter=~Q(reason="")))
    )
    u, n, r = quote("u"), quote("n"), quote("r")
    rows = _rows(
        using,
        f"SELECT {u}, {n}, {r}, SUM({n}) OVER (), SUM({r}) OVER (), COUNT(*) OVER ()"
        f" FROM ({inner}) {quote('agents')} ORDER BY {n} DESC, {u} ASC LIMIT {max(top, 1):d}",
        params,
    )
    if not rows:
        return
    report.total, report.with_reason, report.agents = (int(v) for v in rows[0][3:])
    rows = rows[:top]
    users = get_user_model()._default_manager.in_bulk([row[0] for row in rows])
    report.top_agents = [
        AgentRow(user_id, users.get(user_id), int(skips_n), int(with_reason))
        for user_id, skips_n, with_reason, *_ in rows
    ]


def _days(report: SkipReport, skips: QuerySet[Skip]) -> None:
    per_day = dict(
        skips.annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by("day")
        .values_list("day", "n")
    )
    report.days = [(day, per_day.get(day, 0)) for day in _calendar(report.first, report.last)]


def _tickets(report: SkipReport, skips: QuerySet[Skip], using: str, top: int) -> None:
    """The most skipped tickets, and how many tickets were skipped.

    The order is by skips alone: the distinct agents (a sort of each ticket's
    skips) are counted for the top tickets only, in a second query that reads
    their skips through the ``(ticket, created_at, id)`` index.
    """
    quote = connections[using].ops.quote_name
    inner, params = _compiled(skips.values(t=F("ticket_id")).annotate(n=Count("pk")))
    t, n = quote("t"), quote("n")
    rows = _rows(
        using,
        f"SELECT {t}, {n}, COUNT(*) OVER () FROM ({inner}) {quote('tickets')}"
        f" ORDER BY {n} DESC, {t} ASC LIMIT {max(top, 1):d}",
        params,
    )
    if not rows:
        return
    report.tickets = int(rows[0][2])
    rows = rows[:top]
    ids = [row[0] for row in rows]
    agents = dict(
        skips.filter(ticket_id__in=ids)
        .values("ticket_id")
        .annotate(agents=Count("user_id", distinct=True))
        .values_list("ticket_id", "agents")
    )
    tickets = get_ticket_model()._default_manager.in_bulk(ids)
    report.top_tickets = [
        TicketRow(ticket_id, tickets.get(ticket_id), int(count), agents.get(ticket_id, 0))
        for ticket_id, count, _ in rows
    ]


def _reasons(report: SkipReport, skips: QuerySet[Skip], using: str, top: int) -> None:
    """The most given reasons, compared without case or surrounding spaces.

    The skips are grouped by their reason as written first, then each distinct
    reason is folded: ``LOWER(TRIM())`` runs once a reason rather than once a
    skip. A reason of spaces only folds to nothing and is left out.
    """
    if not report.with_reason:
        return
    quote = connections[using].ops.quote_name
    inner, params = _compiled(
        skips.exclude(reason="").values(reason_=F("reason")).annotate(n=Count("pk"))
    )
    reason, n = quote("reason_"), quote("n")
    rows = _rows(
        using,
        f"SELECT LOWER(TRIM({reason})), SUM({n}), MIN({reason}) FROM ({inner}) {quote('reasons')}"
        f" GROUP BY LOWER(TRIM({reason})) ORDER BY 2 DESC, 1 ASC LIMIT {top + 1:d}",
        params,
    )
    report.top_reasons = [
        ReasonRow(example.strip(), int(count), int(count) / report.with_reason)
        for key, count, example in rows
        if key
    ][:top]
