"""The CSV export written by PostgreSQL's COPY: the Python writer's bytes, exactly.

On PostgreSQL the admin's export runs ``COPY (SELECT ...) TO STDOUT``; these
tests export hostile values both ways (``SkipAdmin.export_with_copy`` on and
off) and compare the bytes. They are PostgreSQL's; elsewhere they skip, as
CI allows (``POSTGRESQL_ONLY``). The first test runs on every database: the
export's bytes, written out by hand.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib import admin
from django.core.signals import request_finished
from django.db import close_old_connections, connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from skips.admin import SkipAdmin
from skips.admin.export import (
    CELL_BREAKS,
    FORMULA_STARTS,
    SQL_FORMULA_ANYWHERE,
    SQL_FORMULA_PART,
    Column,
    copy_csv_rows,
    copy_statement,
    csv_rows,
    guard_formula,
    skip_columns,
)
from skips.models import Skip
from skips.serializers import format_timestamp
from tests.admin_support import CHANGELIST, EXPORT, bulk_skips, logged_in, staff
from tests.conftest import POSTGRESQL_ONLY
from tests.factories import CaseFactory, UserFactory
from tests.testapp.models import Case

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason=f"{POSTGRESQL_ONLY}: COPY is PostgreSQL's"
)

UTC = datetime.timezone.utc
#: Microseconds that rounding would carry into the next second.
NEWEST = datetime.datetime(2015, 9, 30, 21, 44, 3, 999_999, tzinfo=UTC)

#: Reasons that a CSV writer, a spreadsheet or SQL could get wrong.
NASTY_REASONS = [
    'Says "urgent", but, well',
    "semi;colon",
    "Line one\nline two",
    "cr\rin the middle",
    "crlf\r\nat the end\r\n",
    "tab\there",
    "=HYPERLINK(1)",
    "+1",
    "-1",
    "@SUM(1)",
    "\uff1dfull-width equals",
    "\uff0bplus",
    "\uff0dminus",
    "\uff20at",
    '  "=1+1',
    ' " =2',
    "see;=1+1;x",
    "a,=2,b",
    "\t=3",
    "\r+4",
    "twice;;=9+9;=10+10",
    "emoji 😀👍🏽 and ✓",
    "",
    '"',
    '""',
    ",",
    " ",
    "trailing space ",
    "\\.",
    "back\\slash and \\N",
    "NULL",
    "\u2028line separator\u0085next line",
    "'already guarded",
    "printer jam",
    "x" * 1024,
]


@pytest.fixture
def nasty() -> list[Skip]:
    """Skips with the values above, agents and tickets with awkward text, odd microseconds."""
    users = [
        UserFactory(email="ana@example.com", full_name="Ana"),
        UserFactory(email="", full_name="No email"),
        UserFactory(email='"quoted",agent@example.com', full_name="=Quoted"),
        UserFactory(email="-dash;=1@example.com", full_name="Dash"),
        UserFactory(email="tab\tagent@example.com", full_name="Tab"),
    ]
    tickets = [
        CaseFactory(title='Printer "on fire", again; =1+1'),
        CaseFactory(title="Title with\nnewline"),
        CaseFactory(title=""),
        CaseFactory(title="\uff0bfull-width plus 😀", is_archived=True),
        CaseFactory(title="Plain title"),
    ]
    return bulk_skips(
        len(NASTY_REASONS) * 3,
        users=users,
        tickets=tickets,
        reasons=NASTY_REASONS,
        newest=NEWEST,
        step=datetime.timedelta(hours=7, minutes=17, microseconds=123_457),
    )


def body(response: Any) -> bytes:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return b"".join(response.streaming_content)  # closed by the test client at the end


def both_ways(
    monkeypatch: pytest.MonkeyPatch, export: Callable[[], Any], *, copied: bool = True
) -> tuple[bytes, bytes]:
    """The export's bytes written by COPY, then by Python; checks that COPY ran (or not)."""
    monkeypatch.setattr(SkipAdmin, "export_with_copy", True)
    with CaptureQueriesContext(connection) as queries:
        by_copy = body(export())
    statements = [q["sql"] for q in queries.captured_queries]
    assert any(s.startswith("COPY (") for s in statements) == copied, statements
    monkeypatch.setattr(SkipAdmin, "export_with_copy", False)
    with CaptureQueriesContext(connection) as queries:
        by_python = body(export())
    assert not any(s.startswith("COPY (") for s in (q["sql"] for q in queries.captured_queries))
    return by_copy, by_python


def test_the_export_bytes_on_any_database(nasty: list[Skip]) -> None:
    """Through the admin page, on any database: the bytes the export has always written."""
    Skip.objects.exclude(pk__in=[nasty[0].pk, nasty[1].pk, nasty[22].pk]).delete()
    first, second, empty = (Skip.objects.get(pk=s.pk) for s in (nasty[0], nasty[1], nasty[22]))
    response = logged_in(staff("view_skip")).get(EXPORT)
    expected = (
        "id,created_at,updated_at,user_id,ticket_id,reason,agent,ticket_title\r\n"
        f"{first.pk},2015-09-30T21:44:03Z,2015-09-30T21:44:03Z,{first.user_id},"
        f'{first.ticket_id},"Says ""urgent"", but, well",ana@example.com,'
        '"Printer ""on fire"", again; \'=1+1"\r\n'
        f"{second.pk},2015-09-30T14:27:03Z,2015-09-30T14:27:03Z,{second.user_id},"
        f'{second.ticket_id},semi;colon,,"Title with\nnewline"\r\n'
        f"{empty.pk},2015-09-24T05:30:01Z,2015-09-24T05:30:01Z,{empty.user_id},"
        f'{empty.ticket_id},,"""quoted"",agent@example.com",\r\n'
    )
    assert body(response) == expected.encode()


# PostgreSQL: COPY against Python's writer


EXPORTS: dict[str, dict[str, Any]] = {
    "everything": {},
    "archived hidden": {"archived": "hide"},
    "with a reason": {"has_reason": "yes"},
    "created on some days": {"created_from": "2015-09-20", "created_to": "2015-09-28"},
    "date drill-down": {"created_at__year": "2015", "created_at__month": "9"},
    "oldest first": {"o": "2"},
    "search a word": {"q": "printer"},
    "search quoted words": {"q": '"on fire" example.com'},
    "search a ticket number": {"q": "#{ticket}"},
    "search a formula": {"q": "=1"},
}


@on_postgresql
@pytest.mark.parametrize("guard", [True, False], ids=["guarded", "unguarded"])
@pytest.mark.parametrize("query", list(EXPORTS.values()), ids=list(EXPORTS))
def test_copy_writes_the_python_writers_bytes(
    nasty: list[Skip], monkeypatch: pytest.MonkeyPatch, query: dict[str, Any], guard: bool
) -> None:
    monkeypatch.setattr(SkipAdmin, "export_guard_formulas", guard)
    query = {k: v.format(ticket=nasty[0].ticket_id) for k, v in query.items()}
    client = logged_in(staff("view_skip"))
    by_copy, by_python = both_ways(monkeypatch, lambda: client.get(EXPORT, query))
    assert by_copy == by_python
    assert by_copy.count(b"\r\n") > 3  # some skips, and not only short lines


@on_postgresql
@pytest.mark.parametrize("guard", [True, False], ids=["guarded", "unguarded"])
def test_copy_of_the_selected_skips(
    nasty: list[Skip], monkeypatch: pytest.MonkeyPatch, guard: bool
) -> None:
    monkeypatch.setattr(SkipAdmin, "export_guard_formulas", guard)
    client = logged_in(staff("view_skip"))
    chosen = [skip.pk for skip in nasty[::4]]
    selected = {"action": "export_csv", "_selected_action": chosen}
    by_copy, by_python = both_ways(monkeypatch, lambda: client.post(CHANGELIST, selected))
    assert by_copy == by_python
    assert by_copy.count(b"\n") >= len(chosen)
    across = {"action": "export_csv", "select_across": "1", "_selected_action": chosen[:1]}
    by_copy, by_python = both_ways(
        monkeypatch, lambda: client.post(f"{CHANGELIST}?has_reason=yes&o=-1", across)
    )
    assert by_copy == by_python


@on_postgresql
def test_copy_streams_in_chunks_while_the_body_is_read(
    nasty: list[Skip], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SkipAdmin, "export_chunk_size", 10)
    response = logged_in(staff("view_skip")).get(EXPORT)
    with CaptureQueriesContext(connection) as queries:
        chunks = list(response.streaming_content)
    (copy,) = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("COPY")]
    assert "FORMAT csv" in copy
    assert len(chunks) == len(nasty) // 10 + 1
    assert chunks[0].startswith(b"id,created_at,")


@on_postgresql
def test_copy_of_a_search_that_matches_nothing(
    nasty: list[Skip], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = logged_in(staff("view_skip"))
    by_copy, by_python = both_ways(monkeypatch, lambda: client.get(EXPORT, {"q": "no such word"}))
    assert (
        by_copy
        == by_python
        == b"id,created_at,updated_at,user_id,ticket_id,reason,agent,ticket_title\r\n"
    )


@on_postgresql
def test_python_writes_what_copy_cannot(nasty: list[Skip], monkeypatch: pytest.MonkeyPatch) -> None:
    """A host's ticket column that Python turns into text its own way: Python's writer."""
    monkeypatch.setattr(SkipAdmin, "ticket_title_field", "is_archived")
    client = logged_in(staff("view_skip"))
    by_copy, by_python = both_ways(monkeypatch, lambda: client.get(EXPORT), copied=False)
    assert by_copy == by_python
    assert b",True\r\n" in by_copy


@on_postgresql
def test_copy_whatever_the_session_time_zone(nasty: list[Skip]) -> None:
    """Timestamps in UTC even when the session's TimeZone is not (Django sets UTC on connect)."""
    queryset = Skip.objects.all().order_by("-created_at", "-id")
    columns = skip_columns("title")
    expected = "".join(csv_rows(queryset, columns)).encode()
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'Asia/Kathmandu'")  # +05:45; undone with the test's rollback
    copied = copy_csv_rows(queryset, columns)
    assert copied is not None
    assert b"".join(copied) == expected
    with connection.cursor() as cursor:
        cursor.execute("SHOW TIME ZONE")
        assert cursor.fetchone() == ("Asia/Kathmandu",)


@on_postgresql
@pytest.mark.parametrize("guard", [True, False], ids=["guarded", "unguarded"])
def test_copy_of_more_columns_nulls_and_keys(nasty: list[Skip], guard: bool) -> None:
    """Nullable joins (NULL text, integers and timestamps), more text, more timestamps."""
    owner = UserFactory(email="=owner@example.com", last_login=NEWEST)
    Case.objects.filter(pk=nasty[0].ticket_id).update(owner=owner)
    columns = [
        *skip_columns("title"),
        Column("agent_name", "user__full_name"),
        Column("team", "ticket__team_id"),
        Column("owner", "ticket__owner"),
        Column("owner_email", "ticket__owner__email"),
        Column("owner_login", "ticket__owner__last_login", format_timestamp),
        Column("opened_at", "ticket__opened_at", format_timestamp),
        Column("secret", "ticket__internal_note"),
    ]
    queryset = Skip.objects.order_by("ticket__title", "id")
    copied = copy_csv_rows(queryset, columns, chunk_size=7, guard_formulas=guard)
    assert copied is not None
    expected = "".join(csv_rows(queryset, columns, chunk_size=7, guard_formulas=guard))
    assert b"".join(copied) == expected.encode()
    assert ",'=owner@example.com," in expected if guard else ",=owner@example.com," in expected


@on_postgresql
def test_copy_is_not_used_where_python_writes_other_bytes(nasty: list[Skip]) -> None:
    """Columns whose values Python turns into text its own way, and empty querysets."""
    columns = skip_columns("title")
    assert (
        copy_csv_rows(Skip.objects.all(), [*columns, Column("archived", "ticket__is_archived")])
        is None
    )
    assert (
        copy_csv_rows(Skip.objects.all(), [*columns, Column("opened", "ticket__opened_at")]) is None
    )
    assert copy_csv_rows(Skip.objects.all(), [*columns, Column("n", "id", str)]) is None
    assert copy_csv_rows(Skip.objects.all(), [*columns, Column("x", "ticket__labels")]) is None
    assert copy_csv_rows(Skip.objects.none(), columns) is None
    assert copy_statement(Skip.objects.all(), columns) is not None


@on_postgresql
def test_the_guard_in_sql_is_pythons(db: Any) -> None:
    """PostgreSQL's regexp_replace with the guard's pattern, against guard_formula."""
    alphabet = [*CELL_BREAKS, *FORMULA_STARTS, " ", '"', "'", "a", "é", "😀", "\\"]
    rng = random.Random(20150930)
    values = ["".join(rng.choices(alphabet, k=rng.randint(0, 10))) for _ in range(5000)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT regexp_replace(v, %s, %s, 'g'), v ~ %s"
            " FROM unnest(%s::text[]) WITH ORDINALITY AS u(v, i) ORDER BY i",
            [SQL_FORMULA_PART, r"\1'", SQL_FORMULA_ANYWHERE, values],
        )
        results = cursor.fetchall()
    assert [guarded for guarded, _ in results] == [guard_formula(v) for v in values]
    assert [found for _, found in results] == [guard_formula(v) != v for v in values]


@on_postgresql
def test_copy_of_random_text(monkeypatch: pytest.MonkeyPatch) -> None:
    alphabet = [*CELL_BREAKS, *FORMULA_STARTS, " ", '"', "'", "a", "é", "😀", "\\", ".", "N"]
    rng = random.Random(44)
    reasons = ["".join(rng.choices(alphabet, k=rng.randint(0, 12))) for _ in range(300)]
    bulk_skips(len(reasons), reasons=reasons)
    client = logged_in(staff("view_skip"))
    for guard in (True, False):
        monkeypatch.setattr(SkipAdmin, "export_guard_formulas", guard)
        by_copy, by_python = both_ways(monkeypatch, lambda: client.get(EXPORT))
        assert by_copy == by_python


# PostgreSQL: a client that goes away


def stop_early(user: Any) -> bytes:
    """The export's first chunk, then the response closed, as a server does when the client leaves.

    The view is called directly: the test client's stream wrapper would let
    ``request_finished`` close the test's connection, which is the one looked at.
    """
    request = RequestFactory().get(EXPORT)
    request.user = user
    response: Any = admin.site.get_model_admin(Skip).export_view(request)
    first: bytes = next(iter(response))
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    return first


@on_postgresql
def test_a_client_that_goes_away_cancels_the_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SkipAdmin, "export_chunk_size", 50)
    bulk_skips(500)
    user = staff("view_skip")
    first = stop_early(user)
    assert first.count(b"\r\n") == 51
    # The connection is usable, inside the test's transaction (a savepoint was rolled back).
    assert connection.in_atomic_block
    assert connection.connection.info.transaction_status.name == "INTRANS"
    assert Skip.objects.count() == 500
    assert body(logged_in(user).get(EXPORT)).count(b"\r\n") == 501


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_client_that_goes_away_outside_a_transaction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SkipAdmin, "export_chunk_size", 50)
    bulk_skips(500)
    user = staff("view_skip")
    stop_early(user)
    assert connection.get_autocommit()
    assert not connection.in_atomic_block
    assert connection.connection.info.transaction_status.name == "IDLE"
    assert Skip.objects.count() == 500
    assert body(logged_in(user).get(EXPORT)).count(b"\r\n") == 501


@on_postgresql
def test_copy_lifts_the_statement_timeout_for_itself_alone(nasty: list[Skip]) -> None:
    """One statement streams the whole file: a timeout meant for queries would cut it short."""
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = '5s'")  # undone with the test's rollback
    queryset = Skip.objects.order_by("-id")
    columns = skip_columns("title")
    with CaptureQueriesContext(connection) as queries:
        copied = copy_csv_rows(queryset, columns)
        assert copied is not None
        text = b"".join(copied)
    assert text == "".join(csv_rows(queryset, columns)).encode()
    statements = [q["sql"] for q in queries.captured_queries]
    copy = next(i for i, s in enumerate(statements) if s.startswith("COPY ("))
    assert statements.index("SET LOCAL statement_timeout = 0") < copy
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone() == ("5s",)
