"""The changelist's search, cheap on a large skips table.

A search word matches a skip by its reason, by a field of its ticket (the
title), by a field of its agent (login, email, names), or by its ticket's
number (``123`` or ``#123``). The ticket's and the agent's fields live in
their own tables; rather than ask the skips query to search them (a subquery
that every statement of the changelist would run again: the page, its count
and the two ends of the date drill-down), :func:`related_match` looks the
matching tickets and agents up once, among those that have a skip, and gives
the skips query their ids: ``ticket_id IN (4, 8, 15)``. PostgreSQL then knows
how many skips that is (from the statistics of ``ticket_id`` and ``user_id``)
and reads them from the skips' ``(ticket, created_at)`` and ``(user,
created_at)`` indexes when they are few, or walks the ``created_at`` index
when they are many. A word matching more than ``limit`` rows (a common word
in titles) stays a subquery, as before: its skips are many, and the newest
of them come soon in a walk of the ``created_at`` index.

The matches are the same either way. The lookups read the ticket and user
tables with ``icontains`` (``UPPER(...) LIKE UPPER(...)`` on PostgreSQL): a
``pg_trgm`` index on ``UPPER(title)`` answers them without reading every
ticket (docs/howto/admin-search.rst).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connections
from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.utils.text import smart_split, unescape_string_literal

from skips.models import Skip

#: The relations of a skip whose fields the search reads in their own table.
RELATED = ("ticket", "user")


def search_lookup(field: str) -> str:
    """A search field (``name``, ``^name``, ``=name`` or ``@name``) as an ORM lookup."""
    prefixes = {"^": "istartswith", "=": "iexact", "@": "search"}
    if field[:1] in prefixes:
        return f"{field[1:]}__{prefixes[field[0]]}"
    return f"{field}__icontains"


def search_words(term: str, max_words: int) -> list[str]:
    """The first ``max_words`` words of ``term``; a quoted phrase is one word, unquoted."""
    words: list[str] = []
    for bit in smart_split(term):
        if len(words) == max_words:
            break
        quoted = bit[:1] in "\"'" and bit[0] == bit[-1]
        words.append(unescape_string_literal(bit) if quoted else bit)
    return words


def ticket_number(word: str) -> int | None:
    """The ticket id that ``word`` names (``123`` or ``#123``), or None."""
    number = word.removeprefix("#")
    if number.isascii() and number.isdigit() and len(number) <= 18:
        return int(number)
    return None


class IdBudget:
    """How many ids the search may still write into one statement.

    SQLite takes at most ``max_query_params`` parameters a statement (999
    with Django's default): the ids of every word share half of them.
    Elsewhere only ``limit`` counts, for each lookup.
    """

    def __init__(self, database: str, limit: int) -> None:
        most = connections[database].features.max_query_params
        self.limit = limit
        self.left: int | None = None if most is None else most // 2

    def take(self) -> int:
        """Ids that the next lookup may inline (it inlines none if it finds more)."""
        return self.limit if self.left is None else min(self.limit, self.left)

    def spend(self, count: int) -> None:
        if self.left is not None:
            self.left -= count


def related_match(
    name: str, model: type[Model], lookup: Q, database: str, budget: IdBudget
) -> Q | None:
    """Skips whose ``name`` (``ticket`` or ``user``) matches ``lookup``; None if no skip can.

    ``ticket_id IN (ids)`` when at most ``budget.take()`` rows with a skip
    match, else ``ticket_id IN (SELECT ...)``.
    """
    manager: Any = model._default_manager
    matching: QuerySet[Any] = manager.using(database).filter(lookup).order_by()
    limit = budget.take()
    if limit > 0:
        skipped = Skip._base_manager.using(database).filter(**{name: OuterRef("pk")})
        ids = list(matching.filter(Exists(skipped)).values_list("pk", flat=True)[: limit + 1])
        if len(ids) <= limit:
            budget.spend(len(ids))
            return Q(**{f"{name}__in": ids}) if ids else None
    return Q(**{f"{name}__in": matching.values("pk")})


def search_q(words: Iterable[str], fields: Sequence[str], database: str, id_limit: int) -> Q | None:
    """Skips matching every word in some field (ORM lookups), or None if none can.

    ``fields`` are lookups such as ``reason__icontains`` or
    ``user__email__iexact``; those through ``ticket`` and ``user`` are
    looked up in their own table (:func:`related_match`).
    """
    related = {name: Skip._meta.get_field(name).related_model for name in RELATED}
    own = [f for f in fields if f.split("__", 1)[0] not in related]
    budget = IdBudget(database, id_limit)
    conditions = Q()
    for word in words:
        own_lookups: list[Any] = [(f, word) for f in own]
        match = Q.create(own_lookups, connector=Q.OR)
        for name, model in related.items():
            prefix = f"{name}__"
            lookups: list[Any] = [(f[len(prefix) :], word) for f in fields if f.startswith(prefix)]
            if lookups:
                found = related_match(
                    name,
                    model,  # type: ignore[arg-type]
                    Q.create(lookups, connector=Q.OR),
                    database,
                    budget,
                )
                if found is not None:
                    match |= found
        number = ticket_number(word)
        if number is not None:
            match |= Q(ticket_id=number)
        if not match:  # no field to search, or nothing matches the word
            return None
        conditions &= match
    return conditions
