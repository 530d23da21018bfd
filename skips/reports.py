"""The skips report: which tickets nobody wants, who skips what, and why.

:func:`build_report` runs a fixed number of aggregate queries (seven, five when
no skip matches) over the skips of a date range, whatever the size of the
table; the range is read from the ``created_at`` index (or the
``(user, created_at, id)`` index for one agent).
The report imports nothing from the admin, which draws it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Min, Q, QuerySet
from django.db.models.functions import Lower, Trim, TruncDate
from django.utils import timezone

from skips.dates import created_between
from skips.models import Skip, get_ticket_model
from skips.users import user_label

#: Rows in each "most" table.
TOP = 10


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
    skips = created_between(queryset.order_by(), first, last).select_related(None)
    report = SkipReport(first=first, last=last)

    totals = skips.aggregate(
        total=Count("pk"),
        with_reason=Count("pk", filter=~Q(reason="")),
        tickets=Count("ticket_id", distinct=True),
        agents=Count("user_id", distinct=True),
    )
    report.total = totals["total"]
    report.with_reason = totals["with_reason"]
    report.tickets = totals["tickets"]
    report.agents = totals["agents"]

    per_day = dict(
        skips.annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by("day")
        .values_list("day", "n")
    )
    report.days = [
        (day, per_day.get(day, 0))
        for day in (first + datetime.timedelta(days=i) for i in range((last - first).days + 1))
    ]

    ticket_rows = list(
        skips.values("ticket_id")
        .annotate(n=Count("pk"), agents=Count("user_id", distinct=True))
        .order_by("-n", "ticket_id")[:top]
    )
    tickets = get_ticket_model()._default_manager.in_bulk([r["ticket_id"] for r in ticket_rows])
    report.top_tickets = [
        TicketRow(r["ticket_id"], tickets.get(r["ticket_id"]), r["n"], r["agents"])
        for r in ticket_rows
    ]

    agent_rows = list(
        skips.values("user_id")
        .annotate(n=Count("pk"), with_reason=Count("pk", filter=~Q(reason="")))
        .order_by("-n", "user_id")[:top]
    )
    users = get_user_model()._default_manager.in_bulk([r["user_id"] for r in agent_rows])
    report.top_agents = [
        AgentRow(r["user_id"], users.get(r["user_id"]), r["n"], r["with_reason"])
        for r in agent_rows
    ]

    reason_rows = (
        skips.exclude(reason="")
        .annotate(key=Lower(Trim("reason")))
        .exclude(key="")
        .values("key")
        .annotate(n=Count("pk"), example=Min("reason"))
        .order_by("-n", "key")[:top]
    )
    report.top_reasons = [
        ReasonRow(
            r["example"].strip(), r["n"], r["n"] / report.with_reason if report.with_reason else 0
        )
        for r in reason_rows
    ]
    return report
