"""The "Skips report" admin page: its figures, choices, chart, links and queries."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from skips.admin.chart import daily_chart, nice_step
from tests.admin_support import CHANGELIST, REPORT, bulk_skips, logged_in, skip_at, sql, staff
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db


def local_noon(days_ago: int) -> datetime.datetime:
    day = timezone.localdate() - datetime.timedelta(days=days_ago)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


@pytest.fixture
def desk() -> dict[str, Any]:
    """Three agents, two live cases and an archived one, and skips over six weeks."""
    ana, ben, cy = (UserFactory(full_name=name) for name in ("Ana", "Ben", "Cy"))
    printer = CaseFactory(title="Printer")
    billing = CaseFactory(title="Billing")
    old = CaseFactory(title="Old", is_archived=True)
    made = [
        (0, ana, printer, "I am lost."),
        (0, ben, printer, "  i am LOST. "),
        (0, cy, printer, ""),
        (1, ana, billing, "Not mine"),
        (1, ana, printer, ""),
        (3, ben, old, "I am lost."),
        (40, ana, billing, "ancient"),
    ]
    for days_ago, user, case, reason in made:
        skip_at(local_noon(days_ago), users=[user], tickets=[case], reasons=[reason])
    return {"ana": ana, "ben": ben, "cy": cy, "printer": printer, "billing": billing, "old": old}


def report(client: Any, **params: Any) -> Any:
    response = client.get(REPORT, params)
    assert response.status_code == 200
    return response


def test_report_needs_view_skip(desk: dict[str, Any]) -> None:
    assert logged_in(staff("add_skip")).get(REPORT).status_code == 403
    assert logged_in(staff()).get(REPORT).status_code == 403
    assert logged_in(staff("view_skip")).get(REPORT).status_code == 200


def test_default_report_covers_the_last_30_days(desk: dict[str, Any]) -> None:
    response = report(logged_in(staff("view_skip")))
    figures = response.context["report"]
    today = timezone.localdate()
    assert (figures.first, figures.last) == (today - datetime.timedelta(days=29), today)
    assert (figures.total, figures.with_reason, figures.tickets, figures.agents) == (6, 4, 3, 3)

    days = dict(figures.days)
    assert len(days) == 30
    assert days[today] == 3
    assert days[today - datetime.timedelta(days=1)] == 2
    assert days[today - datetime.timedelta(days=3)] == 1
    assert sum(days.values()) == 6

    tickets = [(row.ticket_id, row.skips, row.agents) for row in figures.top_tickets]
    assert tickets[0] == (desk["printer"].pk, 4, 3)
    assert sorted(tickets[1:]) == sorted([(desk["billing"].pk, 1, 1), (desk["old"].pk, 1, 1)])

    agents = [(row.label, row.skips, row.with_reason) for row in figures.top_agents]
    assert agents == [("Ana", 3, 2), ("Ben", 2, 2), ("Cy", 1, 0)]

    reasons = [(row.reason.lower(), row.skips, row.share) for row in figures.top_reasons]
    assert reasons == [("i am lost.", 3, 0.75), ("not mine", 1, 0.25)]


def test_report_page_shows_the_figures_and_links(desk: dict[str, Any]) -> None:
    response = report(logged_in(staff("view_skip")))
    page = response.content.decode()
    assert "<h1>Skips report</h1>" in page
    assert 'id="skips-summary"' in page
    assert "67%" in page  # 4 of 6 skips have a reason
    assert f"#{desk['printer'].pk} Printer" in page
    first = response.context["report"].first.isoformat()
    printer_link = f"ticket__id__exact={desk['printer'].pk}"
    assert re.search(rf'href="{CHANGELIST}\?created_from={first}&amp;[^"]*{printer_link}', page)
    assert f"user__id__exact={desk['ana'].pk}" in page
    assert "Most common reasons" in page
    assert page.count('href="/admin/skips/skip/export/?created_from=') == 1


def test_chart_is_server_drawn_svg_without_network(desk: dict[str, Any]) -> None:
    page = report(logged_in(staff("view_skip"))).content.decode()
    start = page.index('<svg class="skips-chart"')
    svg = page[start : page.index("</svg>", start)]
    assert svg.count("<rect") == 30
    assert "3 skips</title>" in svg
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page)
    assert "<canvas" not in page


def test_report_of_one_agent(desk: dict[str, Any]) -> None:
    response = report(logged_in(staff("view_skip")), agent=desk["ana"].pk)
    figures = response.context["report"]
    assert (figures.total, figures.agents) == (3, 1)
    assert "skips by Ana" in response.content.decode()


def test_agent_choice_lists_agents_who_skipped_when_the_user_admin_is_closed(
    desk: dict[str, Any],
) -> None:
    # The test host does not register its users in the admin: no lookup popup.
    response = report(logged_in(staff("view_skip")), agent=desk["ana"].pk)
    page = response.content.decode()
    select = page[page.index('<select name="agent"') : page.index("</select>")]
    assert re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', select) == ["Ana", "Ben", "Cy"]
    assert f'<option value="{desk["ana"].pk}" selected>' in select
    assert "related-lookup" not in page


def test_report_without_archived_tickets(desk: dict[str, Any]) -> None:
    figures = report(logged_in(staff("view_skip")), hide_archived="on").context["report"]
    assert figures.total == 5
    assert desk["old"].pk not in [row.ticket_id for row in figures.top_tickets]


def test_report_of_a_chosen_period(desk: dict[str, Any]) -> None:
    today = timezone.localdate()
    response = report(
        logged_in(staff("view_skip")),
        first=(today - datetime.timedelta(days=41)).isoformat(),
        last=(today - datetime.timedelta(days=39)).isoformat(),
    )
    figures = response.context["report"]
    assert figures.total == 1
    assert len(figures.days) == 3
    assert [row.reason for row in figures.top_reasons] == ["ancient"]


@pytest.mark.parametrize(
    "params",
    [
        {"first": "2024-02-10", "last": "2024-02-01"},
        {"first": "2020-01-01", "last": "2024-01-01"},
        {"first": "someday"},
        {"agent": "999999"},
        {"agent": "9" * 25},
    ],
    ids=["backwards", "too long", "not a date", "no such agent", "agent id out of range"],
)
def test_bad_choices_show_errors_and_the_default_period(
    desk: dict[str, Any], params: dict[str, str]
) -> None:
    response = report(logged_in(staff("view_skip")), **params)
    assert response.context["form"].errors
    assert "errornote" in response.content.decode()
    assert response.context["report"].total == 6


def test_report_queries_are_fixed_whatever_the_data_size(desk: dict[str, Any]) -> None:
    client = logged_in(staff("view_skip"))
    client.get(REPORT)
    with sql() as small:
        report(client)
    with sql() as small_agent:
        report(client, agent=desk["ana"].pk, hide_archived="on")

    users = [UserFactory() for _ in range(25)]
    tickets = [CaseFactory() for _ in range(40)]
    bulk_skips(600, users=[*users, desk["ana"]], tickets=tickets, step=datetime.timedelta(hours=1))
    with sql() as large:
        figures = report(client).context["report"]
    with sql() as large_agent:
        report(client, agent=desk["ana"].pk, hide_archived="on")
    assert figures.total > 600
    assert len(figures.top_tickets) == 10
    assert len(small) == len(large), "\n".join(large)
    assert len(small_agent) == len(large_agent), "\n".join(large_agent)
    table = connection.ops.quote_name("skips_skip")
    aggregates = [s for s in large if f"FROM {table}" in s and "EXISTS" not in s]
    # Agents with the totals, days, tickets, the top tickets' agents, reasons.
    assert len(aggregates) == 5
    assert all("GROUP BY" in s or "COUNT(" in s.upper() for s in aggregates)


def test_nice_steps() -> None:
    assert [nice_step(n) for n in (0, 3, 4, 17, 40, 100, 999, 12_345)] == [
        1,
        1,
        1,
        5,
        10,
        50,
        500,
        5000,
    ]


def test_daily_chart_geometry() -> None:
    first = datetime.date(2024, 3, 1)
    days = [(first + datetime.timedelta(days=i), n) for i, n in enumerate([0, 5, 10, 2])]
    chart = daily_chart(days, width=400, height=200)
    heights = [float(bar.height) for bar in chart.bars]
    assert heights[0] == 0
    assert heights[2] == max(heights)
    assert heights[1] == pytest.approx(heights[2] / 2)
    assert [tick.label for tick in chart.ticks] == ["0", "5", "10"]
    assert chart.labels[0].label == "Mar 1"
    assert "17" in chart.description
    assert float(chart.bars[-1].x) + float(chart.bars[-1].width) <= chart.plot_right
    empty = daily_chart([])
    assert empty.bars == []


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Tokyo"], ids=["west", "east"])
@pytest.mark.parametrize(
    ("first", "last", "days"),
    [
        ("9999-12-31", "9999-12-31", 1),
        ("9999-01-01", "9999-12-31", 365),
        ("0001-01-01", "0001-01-01", 1),
        ("0001-01-01", "0001-12-31", 365),
    ],
)
def test_periods_at_the_ends_of_the_calendar(
    desk: dict[str, Any], settings: Any, zone: str, first: str, last: str, days: int
) -> None:
    settings.TIME_ZONE = zone
    response = report(logged_in(staff("view_skip")), first=first, last=last)
    assert not response.context["form"].errors
    figures = response.context["report"]
    assert (figures.first.isoformat(), figures.last.isoformat()) == (first, last)
    assert len(figures.days) == days
    assert figures.total == 0
    page = response.content.decode()
    assert f'name="first" value="{first}"' in page
    assert f"created_from={first}&amp;created_to={last}" in page


@pytest.mark.parametrize("last", ["9999-12-31", "0001-01-01"])
def test_a_period_of_one_end_of_the_calendar_and_the_default_is_too_long(
    desk: dict[str, Any], last: str
) -> None:
    response = report(logged_in(staff("view_skip")), last=last)
    assert response.context["form"].errors
    assert response.context["report"].total == 6


def test_an_agent_is_named_only_if_they_skipped(desk: dict[str, Any]) -> None:
    idle = UserFactory(full_name="Idle Ida", email="ida@example.com")
    client = logged_in(staff("view_skip"))  # the user admin is closed to them
    response = report(client, agent=idle.pk)
    assert response.context["form"].errors
    assert response.context["agent"] is None
    page = response.content.decode()
    assert "Idle Ida" not in page
    assert "ida@example.com" not in page
    assert response.context["report"].total == 6
    named = report(client, agent=desk["ben"].pk)
    assert "skips by Ben" in named.content.decode()
