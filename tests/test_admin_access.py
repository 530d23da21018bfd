"""Ticket access rules (``SKIPS_TICKET_ACCESS``) in the admin.

The rule is the test host's "the cases of my groups" (tests.testapp.access).
A staff member who is not a superuser meets the skips of the other cases
nowhere: not in the changelist, its count, filters, search or date
drill-down, not on the page of one skip (which is "not found" like any
missing one), not in the CSV export, the report or SkipInline. The rule is a
subquery: it adds no query.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import override_settings

from skips.models import Skip
from tests.admin_support import (
    CHANGELIST,
    EXPORT,
    REPORT,
    bulk_skips,
    logged_in,
    result_ids,
    skip_at,
    sql,
    staff,
)
from tests.factories import CaseFactory, UserFactory
from tests.test_admin_inline import SKIPS as HOST_SKIPS
from tests.test_admin_inline import host_staff, inline_skips

pytestmark = pytest.mark.django_db
RULE = "tests.testapp.access.my_groups_cases"
UTC = datetime.timezone.utc
#: Visible skips are made in 2024 and hidden ones in 2023, so that a date
#: drill-down that saw the hidden ones would offer two years.
VISIBLE_DAY = datetime.datetime(2024, 3, 5, 16, tzinfo=UTC)
HIDDEN_DAY = datetime.datetime(2023, 7, 9, 16, tzinfo=UTC)


@pytest.fixture
def rule() -> Iterator[None]:
    with override_settings(SKIPS_TICKET_ACCESS=RULE):
        yield


@pytest.fixture
def desk(rule: None) -> dict[str, Any]:
    """Cases of two teams and one of none; Ana skipped a visible case, Ben only hidden ones.

    The viewer (``view_skip``) is in the first team.
    """
    mine, theirs = Group.objects.create(name="mine"), Group.objects.create(name="theirs")
    viewer = staff("view_skip")
    viewer.groups.add(mine)
    ana = UserFactory(full_name="Ana Visible", email="ana@example.com")
    ben = UserFactory(full_name="Ben Hidden", email="ben.hidden@example.com")
    cy = UserFactory(full_name="Cy Both", email="cy@example.com")
    visible = CaseFactory(title="Printer on fire", team=mine)
    hidden = CaseFactory(title="Secret merger", team=theirs)
    teamless = CaseFactory(title="Nobody's case", team=None)
    shown = [
        skip_at(VISIBLE_DAY, users=[ana], tickets=[visible], reasons=["cannot reach printer"]),
        skip_at(VISIBLE_DAY, users=[cy], tickets=[visible], reasons=[""]),
    ]
    kept_back = [
        skip_at(HIDDEN_DAY, users=[ben], tickets=[hidden], reasons=["merger talks"]),
        skip_at(HIDDEN_DAY, users=[cy], tickets=[hidden], reasons=["merger talks"]),
        skip_at(HIDDEN_DAY, users=[ben], tickets=[teamless], reasons=["merger talks"]),
    ]
    return {
        "mine": mine,
        "viewer": viewer,
        "ana": ana,
        "ben": ben,
        "cy": cy,
        "visible": visible,
        "hidden": hidden,
        "teamless": teamless,
        "shown": {s.pk for s in shown},
        "kept_back": {s.pk for s in kept_back},
    }


def page_of(response: Any) -> str:
    assert response.status_code == 200
    return response.content.decode()


def exported_ids(response: Any) -> set[int]:
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return {int(row["id"]) for row in csv.DictReader(io.StringIO(text))}


def never_named(page: str, user: Any) -> None:
    assert user.full_name not in page
    assert user.email not in page


# The changelist


def test_changelist_count_and_agent_filter_follow_the_rule(desk: dict[str, Any]) -> None:
    response = logged_in(desk["viewer"]).get(CHANGELIST)
    page = page_of(response)
    assert set(result_ids(response)) == desk["shown"]
    assert response.context["cl"].paginator.count_label == "2"
    assert "2 skips" in page
    agents = response.context["cl"].filter_specs[1]
    assert {label for _, label in agents.lookup_choices} == {"Ana Visible", "Cy Both"}
    never_named(page, desk["ben"])
    assert "Secret merger" not in page
    assert "merger talks" not in page


def test_superusers_see_every_skip(desk: dict[str, Any]) -> None:
    boss = UserFactory(is_staff=True, is_superuser=True)
    response = logged_in(boss).get(CHANGELIST)
    assert set(result_ids(response)) == desk["shown"] | desk["kept_back"]
    assert "Ben Hidden" in page_of(response)


def test_filters_on_a_hidden_ticket_or_its_only_agent_find_nothing(desk: dict[str, Any]) -> None:
    client = logged_in(desk["viewer"])
    by_ticket = client.get(CHANGELIST, {"ticket__id__exact": desk["hidden"].pk})
    assert result_ids(by_ticket) == []
    by_agent = client.get(CHANGELIST, {"user__id__exact": desk["ben"].pk})
    assert result_ids(by_agent) == []
    never_named(page_of(by_agent), desk["ben"])
    # Cy skipped both: only the visible skip is listed.
    by_cy = client.get(CHANGELIST, {"user__id__exact": desk["cy"].pk})
    assert {Skip.objects.get(pk=pk).ticket_id for pk in result_ids(by_cy)} == {desk["visible"].pk}


@pytest.mark.parametrize(
    "term",
    ["Secret merger", "secret", "merger talks", "<hidden>", "#<hidden>", "ben.hidden@", "Hidden"],
)
def test_search_finds_nothing_of_hidden_tickets(desk: dict[str, Any], term: str) -> None:
    term = term.replace("<hidden>", str(desk["hidden"].pk))
    response = logged_in(desk["viewer"]).get(CHANGELIST, {"q": term})
    assert result_ids(response) == []
    assert "0 skips" in page_of(response)


def test_date_drilldown_offers_only_the_dates_of_visible_skips(desk: dict[str, Any]) -> None:
    cl = logged_in(desk["viewer"]).get(CHANGELIST).context["cl"]
    assert [c["title"] for c in cl.date_drilldown["choices"]] == ["March 5"]
    hidden_year = logged_in(desk["viewer"]).get(CHANGELIST, {"created_at__year": "2023"})
    assert result_ids(hidden_year) == []


# One skip


@pytest.mark.parametrize("view", ["change", "history", "delete"])
def test_a_hidden_skip_is_answered_as_a_missing_one(desk: dict[str, Any], view: str) -> None:
    deleter = staff("view_skip", "delete_skip")
    deleter.groups.add(desk["mine"])
    client = logged_in(deleter)
    hidden = min(desk["kept_back"])
    missing = max(desk["shown"] | desk["kept_back"]) + 1000
    seen = client.get(f"{CHANGELIST}{hidden}/{view}/")
    absent = client.get(f"{CHANGELIST}{missing}/{view}/")
    assert seen.status_code == absent.status_code == 302
    assert seen["Location"] == absent["Location"] == "/admin/"
    shown = client.get(f"{CHANGELIST}{min(desk['shown'])}/{view}/")
    assert shown.status_code == 200
    before = Skip.objects.count()
    assert client.post(f"{CHANGELIST}{hidden}/delete/", {"post": "yes"}).status_code == 302
    assert Skip.objects.count() == before


def test_actions_on_hidden_skips_do_nothing(desk: dict[str, Any]) -> None:
    deleter = staff("view_skip", "delete_skip")
    deleter.groups.add(desk["mine"])
    client = logged_in(deleter)
    hidden = sorted(desk["kept_back"])
    client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": hidden, "post": "yes"}
    )
    assert set(Skip.objects.values_list("pk", flat=True)) >= desk["kept_back"]
    everything = [*hidden, *sorted(desk["shown"])]
    exported = client.post(CHANGELIST, {"action": "export_csv", "_selected_action": everything})
    assert exported_ids(exported) == desk["shown"]


# The CSV export


def test_export_of_the_list_and_of_all_selected_follows_the_rule(desk: dict[str, Any]) -> None:
    client = logged_in(desk["viewer"])
    assert exported_ids(client.get(EXPORT)) == desk["shown"]
    assert exported_ids(client.get(EXPORT, {"q": "merger"})) == set()
    across = client.post(
        CHANGELIST,
        {
            "action": "export_csv",
            "select_across": "1",
            "_selected_action": [min(desk["shown"])],
        },
    )
    assert exported_ids(across) == desk["shown"]


# The report


def test_every_figure_of_the_report_follows_the_rule(desk: dict[str, Any]) -> None:
    response = logged_in(desk["viewer"]).get(REPORT, {"first": "2023-06-01", "last": "2024-05-31"})
    figures = response.context["report"]
    assert (figures.total, figures.with_reason, figures.tickets, figures.agents) == (2, 1, 1, 2)
    assert sum(n for _, n in figures.days) == 2
    assert dict(figures.days)[datetime.date(2023, 7, 9)] == 0
    assert [row.ticket_id for row in figures.top_tickets] == [desk["visible"].pk]
    assert {row.label for row in figures.top_agents} == {"Ana Visible", "Cy Both"}
    assert [row.reason for row in figures.top_reasons] == ["cannot reach printer"]
    page = page_of(response)
    never_named(page, desk["ben"])
    assert "Secret merger" not in page
    assert "merger talks" not in page
    select = page[page.index('<select name="agent"') : page.index("</select>")]
    assert "Ben" not in select


def test_report_of_an_agent_seen_only_through_hidden_tickets_names_nobody(
    desk: dict[str, Any],
) -> None:
    response = logged_in(desk["viewer"]).get(REPORT, {"agent": desk["ben"].pk})
    assert response.context["form"].errors
    assert response.context["agent"] is None
    never_named(page_of(response), desk["ben"])
    cy = logged_in(desk["viewer"]).get(
        REPORT, {"agent": desk["cy"].pk, "first": "2023-06-01", "last": "2024-05-31"}
    )
    assert cy.context["report"].total == 1
    assert "skips by Cy Both" in page_of(cy)


# SkipInline on the host's ticket and user admins


@pytest.mark.urls("tests.test_admin_inline")
def test_inline_shows_only_skips_of_visible_tickets(desk: dict[str, Any]) -> None:
    viewer = host_staff("view_skip")
    viewer.groups.add(desk["mine"])
    client = logged_in(viewer)
    on_hidden = client.get(f"/hostadmin/testapp/case/{desk['hidden'].pk}/change/")
    assert on_hidden.status_code == 200
    assert inline_skips(on_hidden) == []
    assert "merger talks" not in on_hidden.content.decode()
    on_cy = client.get(f"/hostadmin/testapp/agent/{desk['cy'].pk}/change/")
    assert {s.ticket_id for s in inline_skips(on_cy)} == {desk["visible"].pk}
    assert "merger talks" not in on_cy.content.decode()
    listed = client.get(HOST_SKIPS)
    assert set(result_ids(listed)) == desk["shown"]


# Queries: the rule is a subquery


def count_queries(client: Any, url: str, params: dict[str, Any]) -> list[str]:
    client.get(url, params)  # warm the session and content types
    with sql() as statements:
        response = client.get(url, params)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200
    return statements


PAGES = [
    (CHANGELIST, {}),
    (CHANGELIST, {"has_reason": "yes"}),
    (CHANGELIST, {"q": "printer", "user__id__exact": "<ana>"}),
    (REPORT, {}),
    (REPORT, {"agent": "<ana>", "hide_archived": "on"}),
    (EXPORT, {}),
]
PAGE_IDS = ["changelist", "filtered", "searched", "report", "report of one", "export"]


@pytest.mark.parametrize(("url", "params"), PAGES, ids=PAGE_IDS)
def test_the_rule_adds_no_query(desk: dict[str, Any], url: str, params: dict[str, Any]) -> None:
    params = {k: str(desk["ana"].pk) if v == "<ana>" else v for k, v in params.items()}
    client = logged_in(desk["viewer"])
    with override_settings(SKIPS_TICKET_ACCESS=None):
        without = count_queries(client, url, params)
    with_rule = count_queries(client, url, params)
    # Unfiltered, the list without a rule may ask PostgreSQL for its estimate first.
    assert len(with_rule) <= len(without), "\n".join(with_rule)
    assert len(with_rule) >= len(without) - 1, "\n".join(with_rule)


@pytest.mark.parametrize(("url", "params"), PAGES, ids=PAGE_IDS)
def test_queries_with_the_rule_are_the_same_for_few_and_many_skips(
    desk: dict[str, Any], url: str, params: dict[str, Any]
) -> None:
    params = {k: str(desk["ana"].pk) if v == "<ana>" else v for k, v in params.items()}
    client = logged_in(desk["viewer"])
    bulk_skips(1, users=[desk["ana"]], tickets=[desk["visible"]], reasons=["printer"])
    few = count_queries(client, url, params)
    users = [desk["ana"], *(UserFactory() for _ in range(6))]
    tickets = [CaseFactory(team=desk["mine"]) for _ in range(8)] + [CaseFactory()]
    bulk_skips(120, users=users, tickets=tickets, reasons=["printer", ""])
    many = count_queries(client, url, params)
    assert len(few) == len(many), "\n".join(many)
