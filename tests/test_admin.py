"""The Skip admin: who sees it, the changelist's columns, filters, search and counts.

The test host logs in by email (``testapp.Agent`` has no username) and calls
its tickets cases (``testapp.Case``, with a ``title``), so nothing here may
assume ``username`` or ``subject``.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.contrib import admin
from django.db import connection
from django.utils import timezone

from skips.admin import SkipAdmin
from skips.admin import changelist as admin_changelist
from skips.admin.changelist import SkipPaginator, round_estimate
from skips.admin.display import time_ago
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
from tests.conftest import POSTGRESQL_ONLY
from tests.factories import CaseFactory, SupervisorFactory, UserFactory

pytestmark = pytest.mark.django_db
UTC = datetime.timezone.utc


# Who sees what


def test_anonymous_and_non_staff_are_sent_to_the_login_page() -> None:
    skip = bulk_skips(1)[0]
    not_staff = SupervisorFactory()  # view_skip, but no staff status
    for client in (logged_in(not_staff), logged_in(UserFactory())):
        for url in (CHANGELIST, f"{CHANGELIST}{skip.pk}/change/", REPORT, EXPORT):
            response = client.get(url)
            assert response.status_code == 302
            assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("codenames", [(), ("add_skip",)], ids=["no perms", "agent perms"])
def test_staff_without_view_skip_sees_nothing(codenames: tuple[str, ...]) -> None:
    skip = bulk_skips(1)[0]
    client = logged_in(staff(*codenames))
    index = client.get("/admin/")
    assert index.status_code == 200
    assert CHANGELIST not in index.content.decode()
    assert REPORT not in index.content.decode()
    for url in (
        CHANGELIST,
        f"{CHANGELIST}{skip.pk}/change/",
        f"{CHANGELIST}{skip.pk}/history/",
        REPORT,
        EXPORT,
    ):
        assert client.get(url).status_code == 403, url
    assert client.get("/admin/skips/").status_code == 404


def action_names(client: Any) -> list[str]:
    form = client.get(CHANGELIST).context["action_form"]
    return [name for name, _ in form.fields["action"].choices]


def test_viewer_reads_but_cannot_add_change_or_delete() -> None:
    skip = bulk_skips(1, reasons=["I am lost."])[0]
    client = logged_in(staff("view_skip"))

    assert client.get(CHANGELIST).status_code == 200
    detail = client.get(f"{CHANGELIST}{skip.pk}/change/")
    assert detail.status_code == 200
    page = detail.content.decode()
    assert "I am lost." in page
    assert 'name="reason"' not in page
    assert 'name="_save"' not in page
    assert "deletelink" not in page

    assert client.get(f"{CHANGELIST}{skip.pk}/history/").status_code == 200
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert client.get(f"{CHANGELIST}{skip.pk}/delete/").status_code == 403
    assert client.post(f"{CHANGELIST}{skip.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"{CHANGELIST}{skip.pk}/change/", {"reason": "edited"}).status_code == 403

    actions = action_names(client)
    assert "export_csv" in actions
    assert "delete_selected" not in actions
    client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [skip.pk], "post": "yes"}
    )
    skip.refresh_from_db()
    assert skip.reason == "I am lost."


def test_holder_of_delete_skip_deletes() -> None:
    first, second = bulk_skips(2)
    client = logged_in(staff("view_skip", "delete_skip"))
    detail = client.get(f"{CHANGELIST}{first.pk}/change/").content.decode()
    assert "deletelink" in detail
    assert client.post(f"{CHANGELIST}{first.pk}/delete/", {"post": "yes"}).status_code == 302
    actions = action_names(client)
    assert "delete_selected" in actions
    client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [second.pk], "post": "yes"}
    )
    assert not Skip.objects.exists()


def test_index_and_app_index_link_to_the_report_for_viewers() -> None:
    client = logged_in(staff("view_skip"))
    app_index = client.get("/admin/skips/").content.decode()
    assert f'href="{REPORT}"' in app_index
    assert f'href="{CHANGELIST}"' in app_index
    changelist = client.get(CHANGELIST).content.decode()
    assert f'href="{REPORT}"' in changelist
    assert f'href="{EXPORT}?' in changelist


# The changelist's columns


def test_columns_local_time_agent_ticket_and_short_reason(settings: Any) -> None:
    agent = UserFactory(email="ana@example.com", full_name="Ana Lima")
    case = CaseFactory(title="Printer on fire")
    long_reason = "word " * 40
    skip = skip_at(
        datetime.datetime(2024, 1, 15, 15, 0, tzinfo=UTC),
        users=[agent],
        tickets=[case],
        reasons=[long_reason],
    )
    response = logged_in(staff("view_skip")).get(CHANGELIST)
    cells = table_row(response.content.decode(), f'href="{CHANGELIST}{skip.pk}/change/')
    assert "Jan. 15, 2024, 10 a.m." in cells  # America/New_York, not UTC
    assert 'datetime="2024-01-15T15:00:00Z"' in cells
    assert "ago</span>" in cells
    assert "Ana Lima" in cells
    assert "ana@example.com" in cells
    assert f"#{case.pk} Printer on fire" in cells
    assert f'title="{long_reason}"' in cells
    assert "…" in cells
    # The test host registers neither its users nor its cases: no links to them.
    assert "/admin/testapp/" not in cells


def table_row(page: str, marker: str) -> str:
    """The ``<tr>`` of ``page`` that holds ``marker``."""
    at = page.index(marker)
    return page[page.rindex("<tr", 0, at) : page.index("</tr>", at)]


def test_time_ago() -> None:
    now = timezone.now()
    ago = datetime.timedelta
    assert time_ago(now - ago(hours=3, minutes=5), now) == "3\xa0hours ago"
    assert time_ago(now - ago(hours=1), now) == "1\xa0hour ago"
    assert time_ago(now - ago(days=13), now) == "1\xa0week ago"
    assert time_ago(now - ago(days=400), now) == "1\xa0year ago"
    assert time_ago(now - ago(seconds=59), now) == "just now"
    assert time_ago(now + ago(minutes=2, seconds=5), now) == "in 2\xa0minutes"


def test_sort_by_when_ascending() -> None:
    skips = bulk_skips(3)
    client = logged_in(staff("view_skip"))
    assert result_ids(client.get(CHANGELIST)) == [s.pk for s in skips]
    assert result_ids(client.get(CHANGELIST, {"o": "2"})) == [s.pk for s in reversed(skips)]


# Filters


def local_noon(days_ago: int) -> datetime.datetime:
    day = timezone.localdate() - datetime.timedelta(days=days_ago)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


def test_date_filter_presets_and_custom_range() -> None:
    made = {days: skip_at(local_noon(days)) for days in (0, 1, 6, 7, 40)}
    client = logged_in(staff("view_skip"))
    today = timezone.localdate()

    def shown(**params: str) -> set[int]:
        response = client.get(CHANGELIST, params)
        assert response.status_code == 200
        return set(result_ids(response))

    def ids(*days: int) -> set[int]:
        return {made[d].pk for d in days}

    assert shown() == ids(0, 1, 6, 7, 40)
    assert shown(created_from=today.isoformat(), created_to=today.isoformat()) == ids(0)
    week = (today - datetime.timedelta(days=6)).isoformat()
    assert shown(created_from=week, created_to=today.isoformat()) == ids(0, 1, 6)
    month = {d for d in made if (today - datetime.timedelta(days=d)).month == today.month}
    month_start = today.replace(day=1).isoformat()
    assert shown(created_from=month_start) == ids(*month)
    custom = (today - datetime.timedelta(days=7)).isoformat()
    assert shown(created_from=custom, created_to=custom) == ids(7)
    assert shown(created_to=custom) == ids(7, 40)

    # The preset links are what the filter offers.
    spec = client.get(CHANGELIST).context["cl"].filter_specs[0]
    choices = list(spec.choices(client.get(CHANGELIST).context["cl"]))
    labels = [str(c.get("display", "")) for c in choices if not c.get("form")]
    assert labels == ["Any date", "Today", "Past 7 days", "This month"]
    assert f"created_from={week}&created_to={today.isoformat()}" in choices[2]["query_string"]


def test_a_bad_date_or_agent_is_the_admins_error_page() -> None:
    client = logged_in(staff("view_skip"))
    for params in (
        {"created_from": "yesterday"},
        {"user__id__exact": "abc"},
        {"user__id__exact": "9" * 25},  # past the database's integers
        {"created_at__year": "2024", "created_at__month": "13"},
    ):
        response = client.get(CHANGELIST, params)
        assert response.status_code == 302
        assert response["Location"].endswith("?e=1")


def test_agent_filter_lists_agents_who_skipped_and_narrows() -> None:
    ana, ben, idle = (UserFactory(full_name=n) for n in ("Ana", "Ben", "Idle"))
    bulk_skips(4, users=[ana, ben])
    client = logged_in(staff("view_skip"))
    response = client.get(CHANGELIST)
    agent_spec = response.context["cl"].filter_specs[1]
    assert {label for _, label in agent_spec.lookup_choices} == {"Ana", "Ben"}
    narrowed = client.get(CHANGELIST, {"user__id__exact": ana.pk})
    assert {Skip.objects.get(pk=pk).user_id for pk in result_ids(narrowed)} == {ana.pk}
    assert len(result_ids(narrowed)) == 2
    # Any user id works, listed or not.
    assert result_ids(client.get(CHANGELIST, {"user__id__exact": idle.pk})) == []


def test_reason_filter() -> None:
    with_reason, without = bulk_skips(2, reasons=["Not mine", ""])
    client = logged_in(staff("view_skip"))
    assert result_ids(client.get(CHANGELIST, {"has_reason": "yes"})) == [with_reason.pk]
    assert result_ids(client.get(CHANGELIST, {"has_reason": "no"})) == [without.pk]


def test_archived_filter_shows_hides_or_isolates() -> None:
    live_case, archived_case = CaseFactory(), CaseFactory(is_archived=True)
    live, archived = bulk_skips(2, tickets=[live_case, archived_case])
    client = logged_in(staff("view_skip"))
    assert set(result_ids(client.get(CHANGELIST))) == {live.pk, archived.pk}
    assert result_ids(client.get(CHANGELIST, {"archived": "hide"})) == [live.pk]
    assert result_ids(client.get(CHANGELIST, {"archived": "only"})) == [archived.pk]


def test_archived_filter_follows_a_callable_rule(settings: Any) -> None:
    settings.SKIPS_ARCHIVED_TICKETS = "tests.testapp.archived.vip_cases"
    from tests.factories import LabelFactory

    vip = CaseFactory(labels=[LabelFactory(name="vip"), LabelFactory(name="bug")])
    plain = CaseFactory(labels=[LabelFactory(name="billing")])
    on_vip, on_plain = bulk_skips(2, tickets=[vip, plain])
    client = logged_in(staff("view_skip"))
    assert result_ids(client.get(CHANGELIST, {"archived": "hide"})) == [on_plain.pk]
    assert result_ids(client.get(CHANGELIST, {"archived": "only"})) == [on_vip.pk]


def test_archived_filter_is_absent_without_a_rule(settings: Any) -> None:
    settings.SKIPS_ARCHIVED_TICKETS = None
    bulk_skips(1)
    cl = logged_in(staff("view_skip")).get(CHANGELIST).context["cl"]
    assert [spec.title for spec in cl.filter_specs] == ["date", "agent", "reason"]


# Search


def test_search_by_reason_ticket_title_and_number_agent_email_and_name() -> None:
    ana = UserFactory(email="ana.lima@example.com", full_name="Ana Lima")
    ben = UserFactory(email="ben@example.org", full_name="Ben Okoro")
    printer, billing = CaseFactory(title="Printer on fire"), CaseFactory(title="Invoice twice")
    a, b = bulk_skips(2, users=[ana, ben], tickets=[printer, billing], reasons=["Not my area", ""])
    client = logged_in(staff("view_skip"))

    def found(term: str) -> set[int]:
        response = client.get(CHANGELIST, {"q": term})
        assert response.status_code == 200
        return set(result_ids(response))

    assert found("my area") == {a.pk}
    assert found("PRINTER") == {a.pk}
    assert found("invoice") == {b.pk}
    assert found(str(billing.pk)) >= {b.pk}
    assert found(f"#{printer.pk}") == {a.pk}
    assert found("ana.lima@") == {a.pk}
    assert found("okoro") == {b.pk}
    assert found("ben okoro") == {b.pk}  # every word must match
    assert found("ana invoice") == set()
    assert found("nothing like it") == set()


def test_search_reads_tickets_and_users_before_the_skips() -> None:
    bulk_skips(3, reasons=["printer"])
    with sql() as statements:
        response = logged_in(staff("view_skip")).get(CHANGELIST, {"q": "printer"})
    assert len(result_ids(response)) == 3
    count = next(s for s in statements if "COUNT(" in s.upper())
    # The skips table alone: the matching tickets and users were looked up
    # first (tests/test_admin_search_rows.py).
    assert f"FROM {connection.ops.quote_name('testapp_case')}" not in count
    assert "JOIN" not in count.upper()


def test_search_phrases_and_prefixed_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = bulk_skips(2, reasons=["not my area at all", "my area, not"])
    client = logged_in(staff("view_skip"))
    assert set(result_ids(client.get(CHANGELIST, {"q": '"my area at"'}))) == {a.pk}
    assert set(result_ids(client.get(CHANGELIST, {"q": "area not"}))) == {a.pk, b.pk}
    monkeypatch.setattr(SkipAdmin, "search_fields", ("^reason", "=user__email"))
    assert set(result_ids(client.get(CHANGELIST, {"q": "my"}))) == {b.pk}
    email = Skip.objects.get(pk=a.pk).user.email
    assert set(result_ids(client.get(CHANGELIST, {"q": email.upper()}))) >= {a.pk}
    assert result_ids(client.get(CHANGELIST, {"q": email[:-1]})) == []


def test_archived_filter_reads_the_skips_table_alone() -> None:
    bulk_skips(2, tickets=[CaseFactory(), CaseFactory(is_archived=True)])
    with sql() as statements:
        logged_in(staff("view_skip")).get(CHANGELIST, {"archived": "hide"})
    count = next(s for s in statements if "COUNT(" in s.upper())
    assert "JOIN" not in count.upper()


def test_search_fields_follow_the_user_model() -> None:
    names = SkipAdmin(Skip, admin.site).get_search_fields(None)  # type: ignore[arg-type]
    assert names == ["reason", "ticket__title", "user__email", "user__full_name"]
    assert not any("username" in name for name in names)


# The date drill-down


def test_date_drilldown_without_listing_distinct_dates() -> None:
    for stamp in (
        datetime.datetime(2023, 5, 10, 16, tzinfo=UTC),
        datetime.datetime(2024, 2, 3, 16, tzinfo=UTC),
        datetime.datetime(2024, 2, 20, 16, tzinfo=UTC),
    ):
        skip_at(stamp)
    client = logged_in(staff("view_skip"))

    def drill(**params: str) -> tuple[dict[str, Any], list[str]]:
        with sql() as statements:
            response = client.get(CHANGELIST, params)
            assert response.status_code == 200
        return response.context["cl"].date_drilldown, statements

    years, statements = drill()
    assert [c["title"] for c in years["choices"]] == ["2023", "2024"]
    assert "created_at__year=2024" in years["choices"][1]["link"]
    assert not any("DISTINCT" in s.upper() for s in statements)

    months, statements = drill(created_at__year="2024")
    assert [c["title"] for c in months["choices"]] == ["February 2024"]
    assert not any("DISTINCT" in s.upper() for s in statements)

    days, _ = drill(created_at__year="2024", created_at__month="2")
    assert [c["title"] for c in days["choices"]] == [f"February {d}" for d in range(3, 21)]
    assert days["back"]["title"] == "2024"

    day, statements = drill(created_at__year="2024", created_at__month="2", created_at__day="3")
    assert day["choices"] == [{"title": "February 3"}]
    assert not any("MIN(" in s.upper() for s in statements)


def test_date_drilldown_of_one_month_starts_at_its_days() -> None:
    skip_at(datetime.datetime(2024, 3, 5, 16, tzinfo=UTC))
    skip_at(datetime.datetime(2024, 3, 7, 16, tzinfo=UTC))
    cl = logged_in(staff("view_skip")).get(CHANGELIST).context["cl"]
    assert [c["title"] for c in cl.date_drilldown["choices"]] == [
        "March 5",
        "March 6",
        "March 7",
    ]


def test_date_drilldown_of_an_empty_list() -> None:
    cl = logged_in(staff("view_skip")).get(CHANGELIST).context["cl"]
    assert cl.date_drilldown["show"] is False


# Counting a large table


def test_small_lists_are_counted_exactly() -> None:
    bulk_skips(3)
    response = logged_in(staff("view_skip")).get(CHANGELIST)
    assert response.context["cl"].paginator.count_label == "3"
    assert "3 skips" in response.content.decode()


def test_filtered_lists_are_counted_up_to_a_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SkipPaginator, "count_cap", 5)
    bulk_skips(8, reasons=["a reason"])
    client = logged_in(staff("view_skip"))
    with sql() as statements:
        response = client.get(CHANGELIST, {"has_reason": "yes"})
    assert response.context["cl"].paginator.count_label == "more than 5"
    page = response.content.decode()
    assert "more than 5 skips" in page
    assert "Select all more than 5 skips" in page
    counts = [s for s in statements if "COUNT(" in s.upper()]
    assert len(counts) == 1
    assert "LIMIT 6" in counts[0]
    assert len(result_ids(response)) == 8


def test_unfiltered_large_lists_use_the_planner_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_changelist, "planner_estimate", lambda queryset: 1_234_567)
    bulk_skips(3)
    with sql() as statements:
        response = logged_in(staff("view_skip")).get(CHANGELIST)
    assert response.status_code == 200
    assert response.context["cl"].paginator.count_label == "about 1,230,000"
    assert "about 1,230,000 skips" in response.content.decode()
    assert not any("COUNT(" in s.upper() for s in statements)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason=f"{POSTGRESQL_ONLY}: pg_class is PostgreSQL's"
)
def test_planner_estimate_on_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SkipPaginator, "estimate_threshold", 10)
    bulk_skips(40)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE skips_skip")
    assert admin_changelist.planner_estimate(Skip.objects.all()) == 40
    with sql() as statements:
        response = logged_in(staff("view_skip")).get(CHANGELIST)
    assert response.context["cl"].paginator.count_label == "about 40"
    assert any("reltuples" in s for s in statements)
    assert not any("COUNT(" in s.upper() for s in statements)


def test_planner_estimate_is_none_elsewhere_or_when_never_analysed() -> None:
    if connection.vendor != "postgresql":
        assert admin_changelist.planner_estimate(Skip.objects.all()) is None
    else:
        # A table fresh from the test database's migrations has no statistics.
        estimate = admin_changelist.planner_estimate(Skip.objects.all())
        assert estimate is None or estimate >= 0


def test_round_estimate() -> None:
    assert [round_estimate(n) for n in (7, 999, 1234, 999_873, 1_234_567)] == [
        7,
        999,
        1230,
        1_000_000,
        1_230_000,
    ]


# Queries: a fixed number, whatever the page holds


@pytest.mark.parametrize(
    "params",
    [{}, {"has_reason": "yes"}, {"q": "lost"}, {"archived": "hide", "created_from": "2000-01-01"}],
    ids=["plain", "filtered", "search", "archived and dated"],
)
def test_changelist_queries_are_the_same_for_1_and_100_skips(params: dict[str, str]) -> None:
    viewer = staff("view_skip")
    client = logged_in(viewer)
    users = [UserFactory() for _ in range(7)]
    tickets = [CaseFactory() for _ in range(9)]
    bulk_skips(1, users=users, tickets=tickets, reasons=["I am lost."])
    client.get(CHANGELIST, params)  # warm the session and content types
    with sql() as one:
        assert len(result_ids(client.get(CHANGELIST, params))) == 1
    bulk_skips(
        99,
        users=users,
        tickets=tickets,
        newest=timezone.now() - datetime.timedelta(days=1),
        reasons=["I am lost again."],
    )
    with sql() as hundred:
        assert len(result_ids(client.get(CHANGELIST, params))) == 100
    assert len(one) == len(hundred), "\n".join(hundred)


def test_detail_page_queries_are_fixed() -> None:
    client = logged_in(staff("view_skip"))
    skip = bulk_skips(1)[0]
    client.get(f"{CHANGELIST}{skip.pk}/change/")
    with sql() as statements:
        assert client.get(f"{CHANGELIST}{skip.pk}/change/").status_code == 200
    assert len(statements) <= 5, "\n".join(statements)


# Dates at the ends of the calendar: a list (maybe empty) or the error page, never a 500

EARLIEST, LATEST = "0001-01-01", "9999-12-31"
#: Every date parameter of the changelist (and the export), with values at the
#: calendar's ends: (query, the skip made today is listed).
CALENDAR_ENDS = [
    ({"created_from": EARLIEST}, True),
    ({"created_to": EARLIEST}, False),
    ({"created_from": LATEST}, False),
    ({"created_to": LATEST}, True),
    ({"created_from": EARLIEST, "created_to": LATEST}, True),
    ({"created_at__year": "9999"}, False),
    ({"created_at__year": "9999", "created_at__month": "12"}, False),
    ({"created_at__year": "9999", "created_at__month": "12", "created_at__day": "31"}, False),
    ({"created_at__year": "1"}, False),
    ({"created_at__year": "1", "created_at__month": "1", "created_at__day": "1"}, False),
]
#: Date parameters that make no date: the admin's error page ("?e=1").
NO_DATE = [
    {"created_at__year": "0"},
    {"created_at__year": "10000"},
    {"created_at__year": "-1"},
    {"created_at__year": "9" * 5000},
    {"created_at__year": "\uff12\uff10\uff12\uff14"},  # full-width digits
    {"created_at__year": "2024", "created_at__month": "0"},
    {"created_at__year": "9999", "created_at__month": "12", "created_at__day": "32"},
    {"created_at__year": "2023", "created_at__month": "2", "created_at__day": "29"},
    {"created_at__month": "12"},
    {"created_at__day": "31"},
    {"created_at__year": "2024", "created_at__day": "3"},
    {"created_from": "10000-01-01"},
    {"created_to": "0000-12-31"},
]


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Tokyo"], ids=["west", "east"])
@pytest.mark.parametrize(("params", "listed"), CALENDAR_ENDS, ids=lambda v: str(v))
def test_dates_at_the_ends_of_the_calendar(
    settings: Any, zone: str, params: dict[str, str], listed: bool
) -> None:
    settings.TIME_ZONE = zone
    skip = bulk_skips(1)[0]
    client = logged_in(staff("view_skip"))
    response = client.get(CHANGELIST, params)
    assert response.status_code == 200
    assert result_ids(response) == ([skip.pk] if listed else [])
    export = client.get(EXPORT, params)
    assert export.status_code == 200
    rows = b"".join(export.streaming_content).decode().splitlines()
    assert len(rows) == (2 if listed else 1)


@pytest.mark.parametrize("params", NO_DATE, ids=lambda v: str(v)[:60])
def test_parts_that_make_no_date_are_the_admins_error_page(params: dict[str, str]) -> None:
    bulk_skips(1)
    client = logged_in(staff("view_skip"))
    for url in (CHANGELIST, EXPORT):
        response = client.get(url, params)
        assert response.status_code == 302, url
        assert response["Location"].endswith("?e=1")


def test_date_drilldown_of_the_last_year_with_skips_in_it() -> None:
    skip_at(datetime.datetime(2024, 12, 30, 16, tzinfo=UTC))
    client = logged_in(staff("view_skip"))
    for params in (
        {"created_at__year": "9999"},
        {"created_at__year": "9999", "created_at__month": "12"},
        {"created_at__year": "2024", "created_at__month": "12"},
    ):
        response = client.get(CHANGELIST, params)
        assert response.status_code == 200
        assert response.context["cl"].date_drilldown["show"] is True


# Query string lookups: only those of the filters


@pytest.mark.parametrize(
    "params",
    [
        {"reason__regex": "^(a+)+$"},
        {"reason__iregex": "x"},
        {"reason__startswith": "I"},
        {"reason": "I am lost."},
        {"id__gt": "0"},
        {"pk": "1"},
        {"created_at__gte": "2000-01-01"},
        {"created_at__date": "2024-01-01"},
        {"user_id": "1"},
        {"ticket_id": "1"},
        {"user__password__startswith": "md5"},
        {"user__email__icontains": "a"},
        {"ticket__title__icontains": "a"},
        {"ticket__team__name": "a"},
        {"reason__in": "a,b"},
        {"reason__isnull": "true"},
        {"whatever": "1"},
    ],
    ids=lambda v: next(iter(v)),
)
def test_lookups_other_than_the_filters_are_refused(params: dict[str, str]) -> None:
    bulk_skips(2)
    client = logged_in(staff("view_skip"))
    with sql() as statements:
        for url in (CHANGELIST, EXPORT):
            assert client.get(url, params).status_code == 400, url
        action = client.post(
            f"{CHANGELIST}?{next(iter(params))}=1",
            {"action": "export_csv", "select_across": "1", "_selected_action": ["1"]},
        )
        assert action.status_code == 400
    table = connection.ops.quote_name("skips_skip")
    assert not any(f"FROM {table}" in s for s in statements)


def test_the_filters_own_parameters_are_allowed() -> None:
    admin_of_skips = admin.site.get_model_admin(Skip)
    assert admin_of_skips.allowed_lookups() == {
        "created_from",
        "created_to",
        "user__id__exact",
        "has_reason",
        "archived",
        "created_at__year",
        "created_at__month",
        "created_at__day",
        "ticket__id__exact",
    }


# Search: the first words only


def test_search_reads_only_the_first_ten_words() -> None:
    (skip,) = bulk_skips(1, reasons=["alpha beta gamma"])
    client = logged_in(staff("view_skip"))
    matching = " ".join(["alpha"] * 10)

    def searched(term: str) -> tuple[list[int], str]:
        with sql() as statements:
            response = client.get(CHANGELIST, {"q": term})
        assert response.status_code == 200
        return result_ids(response), next(s for s in statements if "COUNT(" in s.upper())

    ten, ten_sql = searched(matching)
    assert ten == [skip.pk]
    # Words after the tenth are left out: the query is the same.
    many, many_sql = searched(matching + " nowhere" * 600)
    assert many == [skip.pk]
    assert many_sql == ten_sql
    assert "words after the first 10 are left out" in client.get(CHANGELIST).content.decode()
    assert SkipAdmin.search_max_words == 10


# Names by id: only of agents with a skip the viewer may see


def test_agent_filter_names_nobody_who_never_skipped() -> None:
    ana = UserFactory(full_name="Ana Lima")
    idle = UserFactory(full_name="Idle Ida", email="ida@example.com")
    bulk_skips(2, users=[ana])
    client = logged_in(staff("view_skip"))
    response = client.get(CHANGELIST, {"user__id__exact": idle.pk})
    assert response.status_code == 200
    assert result_ids(response) == []
    page = response.content.decode()
    assert "Idle Ida" not in page
    assert "ida@example.com" not in page
    agents = response.context["cl"].filter_specs[1]
    assert [label for _, label in agents.lookup_choices] == ["Ana Lima"]
