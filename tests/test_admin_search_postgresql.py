"""The admin search with a ``pg_trgm`` index on the reason (PostgreSQL).

With the index, a word that no reason holds is dropped from the reason's
condition (:func:`skips.admin.search.may_match`), so that a ticket number
becomes ``ticket_id IN (N)``, read from the skips' ``(ticket, created_at)``
index; the skips found stay those of the plain query
(``tests/test_admin_search_rows.py``), and the planner setting the lookup
uses does not outlive it.
"""

from __future__ import annotations

import pytest
from django.db import connection

from skips.admin import search
from tests.admin_support import CHANGELIST, bulk_skips, logged_in, result_ids, sql, staff
from tests.conftest import POSTGRESQL_ONLY
from tests.factories import CaseFactory, UserFactory
from tests.test_admin_search_rows import expected

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason=f"{POSTGRESQL_ONLY}: pg_trgm is PostgreSQL's"
    ),
]


@pytest.fixture
def reason_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pg_trgm index on UPPER(reason), in the test's transaction; the index cache emptied."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        if cursor.fetchone() is None:
            pytest.skip("pg_trgm is not installed on this server (postgresql-contrib)")
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        cursor.execute(
            "CREATE INDEX test_skips_reason_trgm ON skips_skip"
            " USING gin (UPPER(reason) gin_trgm_ops)"
        )
    monkeypatch.setattr(search, "_trigram_columns", {})
    return


def count_sql(term: str) -> tuple[list[int], str]:
    client = logged_in(staff("view_skip"))
    with sql() as statements:
        response = client.get(CHANGELIST, {"q": term})
    assert response.status_code == 200
    return result_ids(response), next(s for s in statements if "COUNT(" in s.upper())


def test_the_index_is_found(reason_index: None) -> None:
    assert search.trigram_columns(connection.alias) == {"reason"}


def test_a_ticket_number_no_reason_holds_reads_the_ticket_alone(
    reason_index: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "RECENT", 2)  # the older skips are left to the index
    # Numbers of three digits or more: a trigram for the index.
    ticket = CaseFactory(id=41522, title="Printer on fire")
    other = CaseFactory(id=41523, title="Scanner")
    bulk_skips(6, tickets=[ticket, other], reasons=["Not my area", "lost"])
    number = str(ticket.pk)
    ids, count = count_sql(number)
    assert ids == expected(number)
    assert len(ids) == 3
    assert "reason" not in count
    assert f'"ticket_id" IN ({ticket.pk})' in count
    # A reason that holds the number keeps the reason in the search.
    (old,) = bulk_skips(1, tickets=[other], reasons=[f"dup of {number}"], newest=None)
    ids, count = count_sql(number)
    assert ids == expected(number)
    assert old.pk in ids
    assert "reason" in count


def test_words_matching_only_an_agent_are_one_list_of_agents(reason_index: None) -> None:
    ana = UserFactory(full_name="Ana Lima", email="ana@example.com")
    UserFactory(full_name="Ana Stone", email="stone@example.com")
    bulk_skips(4, users=[ana], reasons=["lost"])
    ids, count = count_sql("ana lima")
    assert ids == expected("ana lima")
    assert len(ids) == 4
    assert "reason" not in count
    assert f'"user_id" IN ({ana.pk})' in count


def test_the_lookup_leaves_the_planner_as_it_was(reason_index: None) -> None:
    bulk_skips(2, reasons=["lost"])
    response = logged_in(staff("view_skip")).get(CHANGELIST, {"q": "nowhere-to-be-found"})
    assert result_ids(response) == []
    with connection.cursor() as cursor:
        cursor.execute("SHOW enable_seqscan")
        assert cursor.fetchone() == ("on",)


def test_a_word_without_a_trigram_is_not_looked_up(reason_index: None) -> None:
    bulk_skips(2, reasons=["lost", "I am lost."])
    for term in ["am", "a-b", "xy"]:
        ids, count = count_sql(term)
        assert ids == expected(term)
        assert "reason" in count  # kept: the index cannot answer it
