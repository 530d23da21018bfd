"""The changelist's search finds the same skips however it reads the tickets and agents.

The search looks up a word's matching tickets and agents first and hands the
skips query their ids (or a subquery, past ``SkipAdmin.search_id_limit``, or
past SQLite's parameters). Each term here is checked, through the changelist,
against the plain ORM query that searches every field across the joins: the
same skips, in the same order, with ids written in, with subqueries only, and
with the parameters nearly spent.
"""

from __future__ import annotations

import datetime
import re
from functools import reduce
from operator import and_, or_
from typing import Any

import pytest
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from skips.admin import SkipAdmin
from skips.models import Skip
from tests.admin_support import CHANGELIST, bulk_skips, logged_in, result_ids, sql, staff
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db

FIELDS = ("reason", "ticket__title", "user__email", "user__full_name")


def expected(term: str, words: int = 10) -> list[int]:
    """Skips matching every word of ``term`` in a field, or by ticket number, newest first."""
    from django.utils.text import smart_split, unescape_string_literal

    conditions = []
    for bit in list(smart_split(term))[:words]:
        word = unescape_string_literal(bit) if bit[:1] in "\"'" and bit[0] == bit[-1] else bit
        match = reduce(or_, [Q(**{f"{f}__icontains": word}) for f in FIELDS])
        number = word.removeprefix("#")
        if number.isascii() and number.isdigit() and len(number) <= 18:
            match |= Q(ticket_id=int(number))
        conditions.append(match)
    skips = Skip.objects.all()
    if conditions:
        skips = skips.filter(reduce(and_, conditions))
    return list(skips.order_by("-created_at", "-id").values_list("pk", flat=True))


@pytest.fixture
def desk() -> dict[str, Any]:
    """Agents, tickets and skips whose words overlap across fields."""
    ana = UserFactory(email="ana.lima@example.com", full_name="Ana Lima")
    anabel = UserFactory(email="anabel@corp.example", full_name="Anabel Stone")
    ben = UserFactory(email="ben.okoro@example.org", full_name="Ben Okoro")
    lima = UserFactory(email="l.santos@example.net", full_name="Lima Santos")
    UserFactory(email="ana.idle@example.com", full_name="Ana Idle")  # no skip
    printer = CaseFactory(title="Printer on fire, error 502")
    invoice = CaseFactory(title="Invoice twice for Ana")
    stone = CaseFactory(title="Stone age browser")
    percent = CaseFactory(title="Discount of 100% applied")
    CaseFactory(title="Printer never skipped")  # no skip
    tickets = [printer, invoice, stone, percent]
    users = [ana, anabel, ben, lima]
    reasons = [
        "Not my area",
        "",
        "Customer wants Ben",
        "error 502 again",
        "printer jam, ask Lima",
        "100% sure it is billing",
        'She said "not my area at all"',
        "okoro knows",
    ]
    skips = bulk_skips(
        40,
        users=users,
        tickets=tickets,
        reasons=reasons,
        newest=timezone.now(),
        step=datetime.timedelta(minutes=7),
    )
    # A ticket whose number also appears in titles and reasons.
    number = str(printer.pk)
    CaseFactory(title=f"Follow-up of {number}")
    bulk_skips(2, users=[ben], tickets=[invoice], reasons=[f"dup of #{number}", f"see {number}"])
    return {"users": users, "tickets": tickets, "skips": skips, "number": number}


def terms(desk: dict[str, Any]) -> list[str]:
    printer, invoice = desk["tickets"][:2]
    number = desk["number"]
    return [
        "ana",  # names, emails, a title
        "ANA",
        "lima",  # a name, an email and a reason
        "ana lima",  # several words
        "Ana invoice",
        "anabel@corp",  # an email
        "example.org",
        "okoro",
        "printer",  # a title and a reason
        "PRINTER JAM",
        "browser",
        "error 502",
        "502",  # a number in titles and reasons: no such ticket
        number,  # a ticket's number, also in a title and in reasons
        f"#{number}",
        str(invoice.pk),
        f"#{invoice.pk}",
        f"{printer.pk} {invoice.pk}",
        "#0",
        "99999999999999999999",  # past the integers: text only
        '"my area at"',  # a quoted phrase
        "'not my area'",
        '"100%"',
        "100%",  # LIKE's wildcards are literal
        "_",
        "area not",
        "nothing like it",
        "ana nothing",
        "idle",  # an agent without skips
        "never skipped",  # a ticket without skips
        "a",  # in nearly everything
        "e a i o",
    ]


@pytest.mark.parametrize("limit", [500, 1, 0], ids=["ids", "one-id", "subqueries"])
def test_every_term_finds_the_skips_of_the_plain_query(
    desk: dict[str, Any], limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SkipAdmin, "search_id_limit", limit)
    client = logged_in(staff("view_skip"))
    for term in terms(desk):
        response = client.get(CHANGELIST, {"q": term})
        assert response.status_code == 200, term
        assert result_ids(response) == expected(term), term


def test_the_parameters_running_out_leaves_the_rest_as_subqueries(
    desk: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A property (with no setter since Django 6.0) or a cached one: set on the class.
    monkeypatch.delitem(vars(connection.features), "max_query_params", raising=False)
    monkeypatch.setattr(type(connection.features), "max_query_params", 6)
    client = logged_in(staff("view_skip"))
    for term in ["ana lima okoro example", "a e i o u", "printer ana", desk["number"]]:
        with sql() as statements:
            response = client.get(CHANGELIST, {"q": term})
        assert result_ids(response) == expected(term), term
        count = next(s for s in statements if "COUNT(" in s.upper())
        inlined = sum(len(ids.split(",")) for ids in re.findall(r"_id\W* IN \(([\d, ]+)\)", count))
        assert inlined <= 3, term


def test_few_matches_are_written_as_ids_and_many_as_a_subquery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ana = UserFactory(email="ana@example.com", full_name="Ana Lima")
    UserFactory.create_batch(3, full_name="Ana Idle")  # no skips: never in the ids
    tickets = [CaseFactory(title=f"Printer {n}") for n in range(4)]
    bulk_skips(8, users=[ana], tickets=tickets, reasons=["x"])
    client = logged_in(staff("view_skip"))
    users_table = connection.ops.quote_name(
        Skip._meta.get_field("user").related_model._meta.db_table
    )
    tickets_table = connection.ops.quote_name(
        Skip._meta.get_field("ticket").related_model._meta.db_table
    )

    def count_sql(term: str) -> str:
        with sql() as statements:
            response = client.get(CHANGELIST, {"q": term})
        assert result_ids(response) == expected(term)
        return next(s for s in statements if "COUNT(" in s.upper())

    count = count_sql("ana")
    assert f"FROM {users_table}" not in count
    assert "JOIN" not in count.upper()
    assert re.search(rf"user_id\W* IN \({ana.pk}\)", count)  # the agent with skips only
    count = count_sql("printer")
    assert f"FROM {tickets_table}" not in count
    monkeypatch.setattr(SkipAdmin, "search_id_limit", 3)
    count = count_sql("printer")  # four tickets: past the limit
    assert f"FROM {tickets_table}" in count
    assert "JOIN" not in count.upper()


def test_a_word_nothing_matches_needs_no_skips_query() -> None:
    bulk_skips(3)
    SkipAdmin_fields = ("user__email",)
    client = logged_in(staff("view_skip"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SkipAdmin, "search_fields", SkipAdmin_fields)
        with sql() as statements:
            response = client.get(CHANGELIST, {"q": "nobody-has-this"})
    assert response.status_code == 200
    assert result_ids(response) == []
    assert not any("COUNT(" in s.upper() for s in statements)
