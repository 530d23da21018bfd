"""The report's figures against a straightforward count of the same skips in Python.

The report groups in the database in few statements (agents with the totals,
days, tickets, the top tickets' agents, reasons folded after grouping); these
tests read the same skips one by one and count them the obvious way: totals,
every day, the top tickets with their distinct agents, the top agents with
their reasons, and the top reasons without case or surrounding spaces.
"""

from __future__ import annotations

import datetime
import random
from collections import Counter, defaultdict
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from skips.models import Skip
from tests.admin_support import REPORT, logged_in, sql, staff
from tests.conftest import POSTGRESQL_ONLY
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db

#: Reasons as agents type them: the same reason in several spellings, spaces only, none.
REASONS = [
    "I am lost.",
    "  i am LOST. ",
    "I AM LOST.",
    "Not my language",
    "not my language  ",
    "Waiting on engineering",
    "   ",
    "",
    "",
    "Needs billing access",
    "Duplicate",
]


@pytest.fixture
def desk() -> dict[str, Any]:
    """14 agents, 30 tickets (a third archived), 700 skips over 45 days, seeded."""
    rng = random.Random(20261203)
    agents = [UserFactory(full_name=f"Agent {i:02d}") for i in range(14)]
    tickets = [CaseFactory(title=f"Case {i}", is_archived=i % 3 == 0) for i in range(30)]
    now = timezone.now()
    skips = []
    for _ in range(700):
        # Skewed picks, so that the tops are not all ties.
        agent = agents[min(int(rng.expovariate(0.25)), len(agents) - 1)]
        ticket = tickets[min(int(rng.expovariate(0.12)), len(tickets) - 1)]
        stamp = now - datetime.timedelta(minutes=rng.randrange(45 * 24 * 60))
        reason = REASONS[min(int(rng.expovariate(0.3)), len(REASONS) - 1)]
        skips.append(
            Skip(user=agent, ticket=ticket, reason=reason, created_at=stamp, updated_at=stamp)
        )
    Skip.objects.bulk_create(skips)
    return {"agents": agents, "tickets": tickets}


def given(reason: str) -> bool:
    """Whether a skip has a reason: ``reason <> ''`` in SQL.

    MariaDB and MySQL compare strings without their trailing spaces (``PAD
    SPACE`` collations): there a reason of spaces only equals ``''``.
    """
    return bool(reason.rstrip(" ") if connection.vendor == "mysql" else reason)


def expected(
    first: datetime.date, last: datetime.date, *, agent: Any = None, hide_archived: bool = False
) -> dict[str, Any]:
    """The report's figures, counted in Python over the skips of the period."""
    rows = []
    for skip in Skip.objects.select_related("ticket"):
        day = timezone.localtime(skip.created_at).date()
        if not first <= day <= last:
            continue
        if agent is not None and skip.user_id != agent.pk:
            continue
        if hide_archived and skip.ticket.is_archived:
            continue
        rows.append((day, skip.ticket_id, skip.user_id, skip.reason))

    per_day = Counter(day for day, *_ in rows)
    by_ticket = Counter(ticket for _, ticket, _, _ in rows)
    ticket_agents = defaultdict(set)
    by_agent = Counter(user for _, _, user, _ in rows)
    agent_reasons: Counter[int] = Counter()
    reasons: Counter[str] = Counter()
    for _, ticket, user, reason in rows:
        ticket_agents[ticket].add(user)
        if given(reason):
            agent_reasons[user] += 1
            if reason.strip(" "):
                reasons[reason.strip(" ").lower()] += 1
    with_reason = sum(1 for *_, reason in rows if given(reason))
    days = [first + datetime.timedelta(days=i) for i in range((last - first).days + 1)]
    top_tickets = sorted(by_ticket, key=lambda t: (-by_ticket[t], t))[:10]
    top_agents = sorted(by_agent, key=lambda u: (-by_agent[u], u))[:10]
    return {
        "totals": (len(rows), with_reason, len(by_ticket), len(by_agent)),
        "days": [(day, per_day[day]) for day in days],
        "tickets": [(t, by_ticket[t], len(ticket_agents[t])) for t in top_tickets],
        "agents": [(u, by_agent[u], agent_reasons[u]) for u in top_agents],
        "reasons": {key: (n, n / with_reason) for key, n in reasons.items()},
    }


def zones_known() -> bool:
    """Whether the database converts to named time zones (MariaDB needs its time zone tables)."""
    if connection.vendor != "mysql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT CONVERT_TZ('2000-01-01 12:00:00', 'UTC', 'America/New_York')")
        return cursor.fetchone()[0] is not None


def check(figures: dict[str, Any], counted: dict[str, Any]) -> None:
    """The figures are those counted, the days left out where the database cannot
    tell them (MariaDB without its time zone tables: ``CONVERT_TZ`` gives NULL)."""
    if not zones_known():
        figures, counted = dict(figures, days=None), dict(counted, days=None)
    assert figures == counted


def shown(client: Any, **params: Any) -> dict[str, Any]:
    """The same figures, as the report page has them."""
    response = client.get(REPORT, params)
    assert response.status_code == 200
    assert not response.context["form"].errors
    report = response.context["report"]
    counts = [row.skips for row in report.top_reasons]
    assert counts == sorted(counts, reverse=True)
    for row in report.top_reasons:  # an example of the reason as written
        assert row.reason
        assert row.reason == row.reason.strip()
    return {
        "totals": (report.total, report.with_reason, report.tickets, report.agents),
        "days": report.days,
        "tickets": [(row.ticket_id, row.skips, row.agents) for row in report.top_tickets],
        "agents": [(row.user_id, row.skips, row.with_reason) for row in report.top_agents],
        "reasons": {
            row.reason.lower(): (row.skips, pytest.approx(row.share)) for row in report.top_reasons
        },
    }


@pytest.mark.parametrize(("days_back", "length"), [(29, 30), (44, 45), (10, 1), (60, 5)], ids=str)
def test_report_equals_a_count_in_python(desk: dict[str, Any], days_back: int, length: int) -> None:
    today = timezone.localdate()
    first = today - datetime.timedelta(days=days_back)
    last = first + datetime.timedelta(days=length - 1)
    client = logged_in(staff("view_skip"))
    figures = shown(client, first=first.isoformat(), last=last.isoformat())
    check(figures, expected(first, last))
    if days_back != 60:
        assert figures["totals"][0] > 0


@pytest.mark.parametrize("hide_archived", [False, True], ids=["all", "hide archived"])
def test_report_of_an_agent_equals_a_count_in_python(
    desk: dict[str, Any], hide_archived: bool
) -> None:
    today = timezone.localdate()
    first = today - datetime.timedelta(days=29)
    client = logged_in(staff("view_skip"))
    agent = desk["agents"][0]
    params: dict[str, Any] = {"first": first.isoformat(), "last": today.isoformat()}
    if hide_archived:
        params["hide_archived"] = "on"
    figures = shown(client, agent=agent.pk, **params)
    check(figures, expected(first, today, agent=agent, hide_archived=hide_archived))
    if hide_archived:
        check(shown(client, **params), expected(first, today, hide_archived=True))


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata"])
def test_report_days_follow_the_time_zone(desk: dict[str, Any], settings: Any, zone: str) -> None:
    if not zones_known():
        pytest.skip("the database has no time zone tables")
    settings.TIME_ZONE = zone
    today = timezone.localdate()
    first = today - datetime.timedelta(days=29)
    client = logged_in(staff("view_skip"))
    assert shown(client) == expected(first, today)


def test_report_of_a_period_without_skips(desk: dict[str, Any]) -> None:
    first = timezone.localdate() - datetime.timedelta(days=400)
    last = first + datetime.timedelta(days=6)
    client = logged_in(staff("view_skip"))
    figures = shown(client, first=first.isoformat(), last=last.isoformat())
    check(figures, expected(first, last))
    assert figures["totals"] == (0, 0, 0, 0)
    assert [n for _, n in figures["days"]] == [0] * 7


def test_a_period_without_skips_takes_one_aggregate(desk: dict[str, Any]) -> None:
    client = logged_in(staff("view_skip"))
    client.get(REPORT)
    first = timezone.localdate() - datetime.timedelta(days=400)
    with sql() as statements:
        shown(client, first=first.isoformat(), last=first.isoformat())
    table = connection.ops.quote_name("skips_skip")
    assert len([s for s in statements if f"FROM {table}" in s and "EXISTS" not in s]) == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason=f"{POSTGRESQL_ONLY}: PostgreSQL's work_mem"
)
def test_work_mem_is_raised_for_the_report_only(desk: dict[str, Any]) -> None:
    from skips.reports import WORK_MEM, build_report

    today = timezone.localdate()
    with transaction.atomic(), connection.cursor() as cursor:  # as with ATOMIC_REQUESTS
        cursor.execute("SET LOCAL work_mem = '1MB'")
        with sql() as statements:
            report = build_report(Skip.objects.all(), today - datetime.timedelta(days=29), today)
        cursor.execute("SHOW work_mem")
        assert cursor.fetchone()[0] == "1MB"
    assert report.total > 0
    raised = f"set_config('work_mem', '{WORK_MEM}', true)"
    assert any(raised in s for s in statements)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '1GB'")  # a larger one is left alone
        with sql() as statements:
            build_report(Skip.objects.all(), today, today)
        cursor.execute("SHOW work_mem")
        assert cursor.fetchone()[0] == "1GB"
    assert not any(raised in s for s in statements)
