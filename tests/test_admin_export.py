"""The CSV export: the API's values, streamed, for a selection or a whole filtered list."""

from __future__ import annotations

import csv
import datetime
import io
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from skips.admin import SkipAdmin
from skips.admin.export import FORMULA_STARTS, csv_rows, guard_formula, skip_columns
from skips.models import Skip
from tests.admin_support import CHANGELIST, EXPORT, bulk_skips, logged_in, sql, staff
from tests.conftest import client_for
from tests.factories import CaseFactory, SupervisorFactory, UserFactory

pytestmark = pytest.mark.django_db

API_FIELDS = ["id", "created_at", "updated_at", "user_id", "ticket_id", "reason"]


def parse(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="skips-')
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def api_skips(user: Any) -> list[dict[str, Any]]:
    """Every skip the API lists for ``user``, following the offset pages."""
    client = client_for(user)
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        body = client.get(f"/api/v2/skips.json?per_page=100&page={page}").json()
        found.extend(body["skips"])
        if not body["next_page"]:
            return found
        page += 1


def test_export_of_a_thousand_skips_matches_the_api() -> None:
    users = [UserFactory() for _ in range(9)]
    tickets = [CaseFactory() for _ in range(30)] + [CaseFactory(is_archived=True)]
    reasons = ["I have no idea.", "", 'Says "urgent", but, well', "Line one\nline two", "Ünïcödé ✓"]
    bulk_skips(
        1000,
        users=users,
        tickets=tickets,
        reasons=reasons,
        step=datetime.timedelta(minutes=17, microseconds=123_457),
    )
    supervisor = SupervisorFactory()
    api = {skip["id"]: skip for skip in api_skips(supervisor)}
    assert 960 < len(api) < 1000  # the archived ticket's skips are not in the API

    # The API leaves archived tickets out; the changelist's "hidden" matches it.
    rows = parse(logged_in(staff("view_skip")).get(EXPORT, {"archived": "hide"}))
    assert len(rows) == len(api)
    assert list(rows[0])[:6] == API_FIELDS
    for row in rows:
        expected = api[int(row["id"])]
        assert {name: row[name] for name in API_FIELDS} == {
            name: str(expected[name]) for name in API_FIELDS
        }
    # In the changelist's order: newest first.
    stamps = [(row["created_at"], int(row["id"])) for row in rows]
    assert stamps == sorted(stamps, reverse=True)


def test_export_columns_for_people() -> None:
    agent = UserFactory(email="ana@example.com")
    case = CaseFactory(title="Printer on fire")
    skip = bulk_skips(1, users=[agent], tickets=[case], reasons=["Not mine"])[0]
    (row,) = parse(logged_in(staff("view_skip")).get(EXPORT))
    # The test host's login is its email, so there is no separate email column.
    assert list(row) == [*API_FIELDS, "agent", "ticket_title"]
    assert row["agent"] == "ana@example.com"
    assert row["ticket_title"] == "Printer on fire"
    assert row["created_at"] == skip.created_at.astimezone(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def test_export_follows_the_changelist_filters_search_and_order() -> None:
    ana, ben = UserFactory(full_name="Ana"), UserFactory(full_name="Ben")
    skips = bulk_skips(6, users=[ana, ben], reasons=["printer jam", "", "other"])
    client = logged_in(staff("view_skip"))
    only_ana = parse(client.get(EXPORT, {"user__id__exact": ana.pk}))
    assert [int(r["id"]) for r in only_ana] == [s.pk for s in skips if s.user_id == ana.pk]
    searched = parse(client.get(EXPORT, {"q": "printer"}))
    assert {int(r["id"]) for r in searched} == {s.pk for s in skips if s.reason == "printer jam"}
    oldest_first = parse(client.get(EXPORT, {"o": "2"}))
    assert [int(r["id"]) for r in oldest_first] == [s.pk for s in reversed(skips)]
    assert client.get(EXPORT, {"created_from": "soon"})["Location"].endswith("?e=1")


def test_export_action_on_the_selected_skips() -> None:
    skips = bulk_skips(5)
    client = logged_in(staff("view_skip"))
    chosen = [skips[1].pk, skips[3].pk]
    response = client.post(CHANGELIST, {"action": "export_csv", "_selected_action": chosen})
    assert sorted(int(r["id"]) for r in parse(response)) == sorted(chosen)


def test_export_action_across_the_whole_filtered_list() -> None:
    skips = bulk_skips(150, reasons=["why", ""])
    client = logged_in(staff("view_skip"))
    response = client.post(
        f"{CHANGELIST}?has_reason=yes",
        {"action": "export_csv", "select_across": "1", "_selected_action": [skips[0].pk]},
    )
    assert {int(r["id"]) for r in parse(response)} == {s.pk for s in skips if s.reason}


def test_export_needs_view_skip() -> None:
    bulk_skips(1)
    assert logged_in(staff("add_skip")).get(EXPORT).status_code == 403
    response = logged_in(staff("add_skip")).post(
        CHANGELIST, {"action": "export_csv", "_selected_action": [Skip.objects.get().pk]}
    )
    assert response.status_code == 403


def test_export_streams_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SkipAdmin, "export_chunk_size", 100)
    bulk_skips(1000)
    client = logged_in(staff("view_skip"))
    response = client.get(EXPORT)
    # The skips are read as the body is consumed, not before.
    with sql() as while_streaming:
        chunks = list(response.streaming_content)
    table = connection.ops.quote_name("skips_skip")
    assert any(f"FROM {table}" in s for s in while_streaming)
    assert len(chunks) >= 10
    assert max(len(chunk) for chunk in chunks) < 300 * 100  # about 100 rows each


def test_csv_rows_use_the_queryset_iterator(monkeypatch: pytest.MonkeyPatch) -> None:
    bulk_skips(5)
    seen: dict[str, Any] = {}
    original = Skip.objects.all().values_list().__class__.iterator

    def spy(self: Any, chunk_size: int | None = None) -> Any:
        seen["chunk_size"] = chunk_size
        return original(self, chunk_size=chunk_size)

    monkeypatch.setattr(type(Skip.objects.all()), "iterator", spy)
    text = "".join(csv_rows(Skip.objects.all(), skip_columns("title"), chunk_size=2))
    assert seen["chunk_size"] == 2
    assert len(text.splitlines()) == 6


def test_formula_guard_is_on_by_default_and_can_be_turned_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bulk_skips(1, reasons=["=HYPERLINK(1)"])
    client = logged_in(staff("view_skip"))
    assert parse(client.get(EXPORT))[0]["reason"] == "'=HYPERLINK(1)"
    monkeypatch.setattr(SkipAdmin, "export_guard_formulas", False)
    assert parse(client.get(EXPORT))[0]["reason"] == "=HYPERLINK(1)"
    assert guard_formula("-1") == "'-1"
    assert guard_formula("fine") == "fine"
    assert guard_formula(12) == 12


def test_export_of_an_empty_list_is_its_header() -> None:
    response = logged_in(staff("view_skip")).get(EXPORT)
    assert parse(response) == []
    assert timezone.localdate().strftime("%Y%m%d") in response["Content-Disposition"]


#: Reasons with a formula after a list separator, a tab or a line break.
FORMULAS_INSIDE = [
    "see;=1+1;x",
    "a,=2+2",
    "tab\t@SUM(3)",
    "line\n-4+4",
    "crlf\r\n+5",
    'quoted ";=6+6"',
    'quote;"=7+7',
    "spaced;  =8+8",
    "twice;;=9+9;=10+10",
    "\uff1dfull-width",
    "=HYPERLINK(11)",
]


def unsafe_cells(text: str, delimiter: str) -> list[str]:
    """Cells of ``text`` split at ``delimiter`` that start (spaces and quotes aside) a formula.

    Both as a CSV reader splits them and as a reader that knows no quoting
    splits each line.
    """
    cells = [cell for row in csv.reader(io.StringIO(text), delimiter=delimiter) for cell in row]
    cells += [cell for line in text.splitlines() for cell in line.split(delimiter)]
    return [cell for cell in cells if cell.lstrip(' "').startswith(FORMULA_STARTS)]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_no_cell_is_a_formula_whatever_the_spreadsheets_separator(delimiter: str) -> None:
    bulk_skips(len(FORMULAS_INSIDE), reasons=FORMULAS_INSIDE)
    client = logged_in(staff("view_skip"))
    for response in (
        client.get(EXPORT),
        client.post(
            CHANGELIST,
            {
                "action": "export_csv",
                "_selected_action": list(Skip.objects.values_list("pk", flat=True)),
            },
        ),
    ):
        assert response.status_code == 200
        text = b"".join(response.streaming_content).decode()
        assert unsafe_cells(text, delimiter) == []
        if delimiter == ",":
            reasons = {row["reason"] for row in csv.DictReader(io.StringIO(text))}
            assert "see;'=1+1;x" in reasons
            assert "'=HYPERLINK(11)" in reasons


def test_guard_of_each_part() -> None:
    assert guard_formula("see;=1+1;x") == "see;'=1+1;x"
    assert guard_formula("a, -5 min") == "a, '-5 min"
    assert guard_formula("x\n=1") == "x\n'=1"
    assert guard_formula('x;"=1"') == 'x;"\'=1"'
    assert guard_formula("a - b, c+d; e@f.com") == "a - b, c+d; e@f.com"
