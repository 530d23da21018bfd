"""The skips report: which tickets nobody wants, who skips what, and why.

:func:`build_report` runs a fixed number of aggregate queries (seven, five when
no skip matches) over the skips of a date range, whatever the size of the
table; the range is read from the ``created_at`` index (or the
``(user, created_at, id)`` index for one agent). :func:`daily_chart` lays out
the skips-per-day bar chart as SVG coordinates, drawn by the template on the
server: the page needs no script and no network.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Min, Q, QuerySet
from django.db.models.functions import Lower, Trim, TruncDate
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext, ngettext

from skips.admin_filters import created_between, user_label
from skips.models import get_ticket_model

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
    queryset: QuerySet,
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


@dataclass(frozen=True)
class Bar:
    x: str
    y: str
    width: str
    height: str
    title: str


@dataclass(frozen=True)
class Tick:
    y: str
    label: str


@dataclass(frozen=True)
class XLabel:
    x: str
    label: str


@dataclass
class Chart:
    """An SVG bar chart's geometry, every number already a string for the markup."""

    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_bottom: int
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[XLabel]
    description: str


def nice_step(top: int, ticks: int = 4) -> int:
    """A round step (1, 2 or 5 times a power of ten) giving about ``ticks`` gridlines."""
    if top <= ticks:
        return 1
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 5, 10):
        if raw <= multiple * power:
            return int(multiple * power)
    return int(10 * power)  # pragma: no cover


def daily_chart(
    days: list[tuple[datetime.date, int]], width: int = 900, height: int = 240
) -> Chart:
    """Lay out one bar per day, a y axis with round ticks, and a few dates below."""
    left, right, top_pad, bottom_pad = 48, 8, 10, 28
    plot_width = width - left - right
    plot_height = height - top_pad - bottom_pad
    bottom = top_pad + plot_height
    highest = max((n for _, n in days), default=0)
    step = nice_step(highest)
    ceiling = max(step, math.ceil(highest / step) * step)
    slot = plot_width / max(len(days), 1)
    gap = min(slot * 0.2, 4.0)

    bars = []
    for i, (day, n) in enumerate(days):
        h = plot_height * n / ceiling
        title = ngettext("%(day)s: %(count)s skip", "%(day)s: %(count)s skips", n) % {
            "day": date_format(day, "DATE_FORMAT"),
            "count": number_format(n, force_grouping=True),
        }
        bars.append(
            Bar(
                x=f"{left + i * slot + gap / 2:.2f}",
                y=f"{bottom - h:.2f}",
                width=f"{max(slot - gap, 0.5):.2f}",
                height=f"{h:.2f}",
                title=title,
            )
        )
    ticks = [
        Tick(
            y=f"{bottom - plot_height * value / ceiling:.2f}",
            label=number_format(value, force_grouping=True),
        )
        for value in range(0, ceiling + 1, step)
    ]
    every = max(1, math.ceil(len(days) / 8))
    labels = [
        XLabel(x=f"{left + (i + 0.5) * slot:.2f}", label=date_format(day, "M j"))
        for i, (day, _) in enumerate(days)
        if i % every == 0
    ]
    total = sum(n for _, n in days)
    description = gettext(
        "Skips per day from %(first)s to %(last)s: %(total)s in all, at most %(most)s a day."
    ) % {
        "first": date_format(days[0][0], "DATE_FORMAT") if days else "",
        "last": date_format(days[-1][0], "DATE_FORMAT") if days else "",
        "total": number_format(total, force_grouping=True),
        "most": number_format(highest, force_grouping=True),
    }
    return Chart(
        width=width,
        height=height,
        plot_left=left,
        plot_right=width - right,
        plot_bottom=bottom,
        bars=bars,
        ticks=ticks,
        labels=labels,
        description=description,
    )
