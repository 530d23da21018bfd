"""The changelist's search, cheap on a large skips table.

A search word matches a skip by its reason, by a field of its ticket (the
title), by a field of its agent (login, email, names), or by its ticket's
number (``123`` or ``#123``). For each word:

- :func:`related_match` looks the matching tickets and agents (agents with a
  skip) up once, in their own tables, and the skips query gets their ids,
  ``ticket_id IN (4, 8, 15)``, rather than a subquery that each statement of
  the changelist (the page, its count, the two ends of the date drill-down)
  would run again. Past ``limit`` matches, an ``EXISTS`` on the skip's own
  ticket or user (a common word: its skips come soon in a walk of the
  ``created_at`` index);
- :func:`may_match` leaves the skips' own fields (the reason) out for a word
  that no skip holds, where PostgreSQL can tell at once (a ``pg_trgm`` index
  on ``UPPER(reason)``) or elsewhere with one ``exists()``;
- words that then match only by ticket, or only by agent, become one ``IN``
  list (their intersection): ``ticket_id IN (123)`` reads the ticket's skips
  from the ``(ticket, created_at)`` index, in order, at any size.

The skips found are those of the plain ORM query across the joins
(tests/test_admin_search_rows.py). See docs/howto/admin-search.rst for the
host's ``pg_trgm`` indexes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connections, transaction
from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.utils.text import smart_split, unescape_string_literal

from skips.models import Skip

#: Three letters or digits in a row: a word with a trigram for ``pg_trgm``.
TRIGRAM = re.compile(r"[^\W_]{3}")
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


#: Newest skips in which a word of the skips' own fields (the reason) is looked
#: for first: a common word is found there at once.
RECENT = 1000
#: Seconds for which the ``pg_trgm`` indexes of the skips table are remembered.
INDEXES_TTL = 300
#: Lookups that a ``pg_trgm`` GIN index on ``UPPER(column)`` answers.
TRIGRAM_LOOKUPS = ("icontains", "istartswith")
_TRIGRAM_COLUMN = re.compile(r"USING gin \(upper\(\(?(\w+)\)?(?:::text)?\) gin_trgm_ops\)")
_trigram_columns: dict[str, tuple[float, frozenset[str]]] = {}


def related_match(
    name: str, model: type[Model], lookup: Q, database: str, budget: IdBudget
) -> list[int] | Exists:
    """The ids of the ``name``s (``ticket`` or ``user``) matching ``lookup``.

    At most ``budget.take()`` of them; past it, ``EXISTS`` (the skip's own
    ticket or user, by its primary key, matching ``lookup``): read for the
    skips a walk of the ``created_at`` index meets, never a list of the
    matching rows, which PostgreSQL would scan row by row for each skip
    when it outgrows ``work_mem`` (a one-letter word matching a million
    tickets). Only agents with a skip: most users never skip (the end users), and
    most tickets are skipped (an ``EXISTS`` there only costs: PostgreSQL may
    plan parallel workers for it).
    """
    manager: Any = model._default_manager
    matching: QuerySet[Any] = manager.using(database).filter(lookup).order_by()
    limit = budget.take()
    if limit > 0:
        found = matching
        if name == "user":
            skipped = Skip._base_manager.using(database).filter(user=OuterRef("pk"))
            found = matching.filter(Exists(skipped))
        ids = list(found.values_list("pk", flat=True)[: limit + 1])
        if len(ids) <= limit:
            budget.spend(len(ids))
            return ids
    return Exists(matching.filter(pk=OuterRef(f"{name}_id")))


def trigram_columns(database: str) -> frozenset[str]:
    """Columns of the skips table with a ``pg_trgm`` GIN index on ``UPPER(column)`` (PostgreSQL).

    Remembered for ``INDEXES_TTL`` seconds.
    """
    now = time.monotonic()
    known = _trigram_columns.get(database)
    if known is not None and now - known[0] < INDEXES_TTL:
        return known[1]
    with connections[database].cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = to_regclass(%s)",
            [connections[database].ops.quote_name(Skip._meta.db_table)],
        )
        definitions = [row[0] for row in cursor.fetchall()]
    columns = frozenset(
        match.group(1)
        for definition in definitions
        if (match := _TRIGRAM_COLUMN.search(definition)) is not None
    )
    _trigram_columns[database] = (now, columns)
    return columns


def may_match(lookups: Sequence[tuple[str, str]], database: str) -> bool:
    """Whether some skip may match one of ``lookups`` (on the skips' own fields, with a word).

    False only when no skip does. Elsewhere than on PostgreSQL, an
    ``exists()`` query. On PostgreSQL, only where a ``pg_trgm`` index answers
    every lookup (:func:`trigram_columns`) and the word holds a trigram
    (three letters or digits in a row): the newest skips first (a common word
    is there), then the index alone (a bitmap scan, never a walk of the
    table). Otherwise True: the word is searched in the skips query itself.
    """
    skips = Skip._base_manager.using(database)
    own = Q.create(list(lookups), connector=Q.OR)
    connection = connections[database]
    if connection.vendor != "postgresql":
        return bool(skips.filter(own).exists())
    columns = trigram_columns(database)
    for lookup, word in lookups:
        name, _, kind = lookup.partition("__")
        if (
            kind not in TRIGRAM_LOOKUPS
            or getattr(Skip._meta.get_field(name), "column", None) not in columns
            or not TRIGRAM.search(word)
        ):
            return True
    newest = skips.order_by("-created_at", "-id").values("pk")[:RECENT]
    if skips.filter(pk__in=newest).filter(own).exists():
        return True
    with transaction.atomic(using=database):
        with connection.cursor() as cursor:
            # Local to this savepoint (or transaction), rolled back below.
            cursor.execute("SELECT set_config('enable_seqscan', 'off', true)")
        found = bool(skips.filter(own).exists())
        transaction.set_rollback(True, using=database)
    return found


class Clause:
    """What one word matches: own fields, tickets and agents by id or by subquery."""

    def __init__(self) -> None:
        self.own: Q | None = None
        self.ids: dict[str, set[int]] = {name: set() for name in RELATED}
        self.subqueries: dict[str, Exists] = {}

    def only(self) -> str | None:
        """``ticket`` or ``user`` when the word matches by those ids alone, else None."""
        if self.own is not None or self.subqueries:
            return None
        names = [name for name, ids in self.ids.items() if ids]
        return names[0] if len(names) == 1 else None

    def q(self) -> Q:
        match = self.own if self.own is not None else Q()
        for name, ids in self.ids.items():
            if ids:
                match |= Q(**{f"{name}__in": sorted(ids)})
        for subquery in self.subqueries.values():
            match |= Q(subquery)
        return match


def search_q(words: Iterable[str], fields: Sequence[str], database: str, id_limit: int) -> Q | None:
    """Skips matching every word in some field (ORM lookups), or None if none can.

    ``fields`` are lookups such as ``reason__icontains`` or
    ``user__email__iexact``; those through ``ticket`` and ``user`` are
    looked up in their own table (:func:`related_match`), those of the skips
    table are dropped for a word that no skip matches (:func:`may_match`).
    Words that match only by ticket (or only by agent) are one ``IN`` list of
    the tickets (agents) they all match: ``ticket_id IN (123)`` reads the
    skips of ticket 123 from their index, in order.
    """
    related = {name: Skip._meta.get_field(name).related_model for name in RELATED}
    own = [f for f in fields if f.split("__", 1)[0] not in related]
    budget = IdBudget(database, id_limit)
    clauses = []
    for word in words:
        clause = Clause()
        own_lookups = [(f, word) for f in own]
        if own_lookups and may_match(own_lookups, database):
            clause.own = Q.create(list(own_lookups), connector=Q.OR)
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
                if isinstance(found, list):
                    clause.ids[name].update(found)
                else:
                    clause.subqueries[name] = found
        number = ticket_number(word)
        if number is not None:
            clause.ids["ticket"].add(number)
        clauses.append(clause)
    conditions = Q()
    common: dict[str, set[int]] = {}
    for clause in clauses:
        alone = clause.only()
        if alone is not None:
            ids = clause.ids[alone]
            common[alone] = common[alone] & ids if alone in common else ids
            continue
        match = clause.q()
        if not match:  # no field to search, or nothing matches the word
            return None
        conditions &= match
    for name, ids in common.items():
        if not ids:
            return None
        conditions &= Q(**{f"{name}__in": sorted(ids)})
    return conditions
