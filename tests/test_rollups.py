"""The maintained counts of listed skips (skips.rollups): exact whatever writes them.

On PostgreSQL an offset page's ``count`` of everyone's skips, or of one
agent's, is read from counts that triggers keep current. These tests write
skips and tickets every way a host can (the API, the ORM, ``update()``, SQL,
an erasure, a ticket deleted) and compare the count with a plain
``COUNT(*)`` of what the list holds.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext, override_settings

from skips import rollups
from skips.models import Skip, SkipCount
from tests.conftest import POSTGRESQL_ONLY, client_for
from tests.factories import AgentFactory, CaseFactory, SkipFactory, SupervisorFactory
from tests.testapp.models import Case

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason=f"{POSTGRESQL_ONLY}: the counts are triggers"
)


def listed_skips(user_id: Any = None) -> Any:
    """The skips of tickets not archived, the ordinary way (no flag, no count)."""
    skips = Skip.objects.exclude(ticket__in=Case.objects.filter(is_archived=True).values("pk"))
    if user_id is not None:
        skips = skips.filter(user_id=user_id)
    return skips.order_by()


def listed(user_id: Any = None) -> int:
    """The exact count, the ordinary way."""
    return int(listed_skips(user_id).values("pk").count())


def counted(user_id: Any = None) -> int | None:
    return rollups.rollup_count(connection.alias, user_id)


def assert_counts_exact(*agents: Any) -> None:
    """The counts, and the skips' listed flags, agree with the tickets."""
    assert counted() == listed()
    flagged = set(Skip.objects.filter(listed=True).values_list("pk", flat=True))
    assert flagged == set(listed_skips().values_list("pk", flat=True))
    for agent in agents:
        assert counted(agent.pk) == listed(agent.pk), agent


@on_postgresql
def test_counts_follow_every_kind_of_write() -> None:
    agents = AgentFactory.create_batch(3)
    tickets = CaseFactory.create_batch(4)
    assert counted() == 0
    rng = random.Random(5)
    for _ in range(30):
        SkipFactory(user=rng.choice(agents), ticket=rng.choice(tickets))
    assert_counts_exact(*agents)

    # A ticket archived with update(), another with save(); one brought back.
    Case.objects.filter(pk=tickets[0].pk).update(is_archived=True)
    tickets[1].is_archived = True
    tickets[1].save()
    assert_counts_exact(*agents)
    Case.objects.filter(pk=tickets[0].pk).update(is_archived=False)
    assert_counts_exact(*agents)

    # Deleted: one skip, a queryset, a ticket with its skips (the ORM).
    Skip.objects.filter(ticket=tickets[2]).first().delete()  # type: ignore[union-attr]
    Skip.objects.filter(user=agents[0], ticket=tickets[3]).delete()
    tickets[2].delete()
    assert_counts_exact(*agents)

    # An erasure moves an agent's skips to the erased-user account.
    Skip.objects.for_user(agents[1]).erase(anonymise=True)
    erased = Skip.objects.exclude(user__in=agents).values_list("user_id", flat=True).first()
    assert erased is not None
    assert counted(agents[1].pk) == 0
    assert counted(erased) == listed(erased)
    assert_counts_exact(*agents)

    # A skip moved to another ticket, and bulk writes.
    skip = Skip.objects.filter(ticket=tickets[0]).first()
    Skip.objects.filter(pk=skip.pk).update(ticket=tickets[1])  # type: ignore[union-attr]
    Skip.objects.bulk_create(
        [Skip(user=agents[2], ticket=tickets[3], reason=str(i)) for i in range(5)]
    )
    assert_counts_exact(*agents)


@on_postgresql
def test_a_ticket_deleted_by_sql_before_its_skips() -> None:
    agent = AgentFactory()
    ticket, other = CaseFactory.create_batch(2)
    SkipFactory.create_batch(3, user=agent, ticket=ticket)
    SkipFactory(user=agent, ticket=other)
    assert counted() == 4
    skips, cases = Skip._meta.db_table, Case._meta.db_table
    labels = Case.labels.through._meta.db_table
    with connection.cursor() as cursor:  # the foreign key is checked at commit
        cursor.execute(f"DELETE FROM {labels} WHERE case_id = %s", [ticket.pk])
        cursor.execute(f"DELETE FROM {cases} WHERE id = %s", [ticket.pk])
        cursor.execute(f"DELETE FROM {skips} WHERE ticket_id = %s", [ticket.pk])
    assert counted() == listed() == 1
    assert counted(agent.pk) == 1


@on_postgresql
def test_the_offset_count_reads_the_counts_not_the_skips() -> None:
    supervisor, agent = SupervisorFactory(), AgentFactory()
    tickets = CaseFactory.create_batch(3)
    for i in range(7):
        SkipFactory(user=agent if i % 2 else supervisor, ticket=tickets[i % 3])
    Case.objects.filter(pk=tickets[0].pk).update(is_archived=True)
    for user, path, expected in (
        (supervisor, "/api/v2/skips.json", listed()),
        (agent, "/api/v2/skips.json", listed(agent.pk)),
        (supervisor, f"/api/v2/users/{agent.pk}/skips.json", listed(agent.pk)),
    ):
        with CaptureQueriesContext(connection) as queries:
            body = client_for(user).get(path).json()
        assert body["count"] == expected == len(body["skips"])
        sql = " ".join(q["sql"] for q in queries.captured_queries)
        assert SkipCount._meta.db_table in sql, path
        assert "COUNT(*)" not in sql, path


@on_postgresql
def test_other_lists_count_the_ordinary_way() -> None:
    supervisor, agent = SupervisorFactory(), AgentFactory()
    ticket = CaseFactory()
    SkipFactory.create_batch(3, user=agent, ticket=ticket)
    SkipFactory(user=supervisor, ticket=ticket)
    for path in (
        f"/api/v2/skips.json?user_id={agent.pk}",  # a filter
        f"/api/v2/tickets/{ticket.pk}/skips.json",  # one ticket: an index range
    ):
        with CaptureQueriesContext(connection) as queries:
            body = client_for(supervisor).get(path).json()
        assert body["count"] == len(body["skips"])
        sql = " ".join(q["sql"] for q in queries.captured_queries)
        assert SkipCount._meta.db_table not in sql, path

    # A rule no trigger can follow, and a user restricted by an access rule.
    with override_settings(SKIPS_ARCHIVED_TICKETS=lambda: Q(title="none")):
        assert counted() is None
        assert client_for(supervisor).get("/api/v2/skips.json").json()["count"] == 4
    with override_settings(SKIPS_TICKET_ACCESS=lambda user: Q(pk=-1)):
        assert client_for(supervisor).get("/api/v2/skips.json").json()["count"] == 0


@on_postgresql
def test_turned_off_and_on_again_at_migrate() -> None:
    agent = AgentFactory()
    SkipFactory.create_batch(3, user=agent)

    def triggers() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM pg_trigger WHERE tgname LIKE 'skips_rollup_%%'")
            return int(cursor.fetchone()[0])

    assert triggers() > 0
    with override_settings(SKIPS_COUNT_ROLLUP=False):
        assert rollups.install(connection.alias) is False
        assert triggers() == 0
        assert counted() is None
        SkipFactory(user=agent)  # not followed while off
        assert client_for(agent).get("/api/v2/skips.json").json()["count"] == 4
    assert counted() is None  # the counts were left behind: not used until installed
    assert rollups.install(connection.alias) is True  # fills them again
    assert triggers() > 0
    assert counted() == counted(agent.pk) == 4


def test_elsewhere_lists_count_the_ordinary_way() -> None:
    agent = AgentFactory()
    SkipFactory.create_batch(3, user=agent)
    if connection.vendor != "postgresql":
        assert counted() is None
        assert rollups.install(connection.alias) is False
    body = client_for(agent).get("/api/v2/skips.json?per_page=2").json()
    assert body["count"] == 3
    assert len(body["skips"]) == 2


def test_narrowing_drops_the_maintained_count() -> None:
    agent = AgentFactory()
    scoped = Skip.objects.visible_to(agent).not_archived()
    assert scoped._count_scope == rollups_scope(agent.pk)
    assert scoped.order_by("id").select_related("ticket")._count_scope == scoped._count_scope
    for narrowed in (
        scoped.filter(reason="x"),
        scoped.exclude(reason="x"),
        scoped.distinct(),
        scoped.annotate(n=Q(reason="")),
        scoped.for_ticket(1),
    ):
        assert narrowed._count_scope is None
    # Nothing counts before not_archived(); a restricted user's skips never do.
    assert Skip.objects.visible_to(agent)._count_scope.not_archived is False  # type: ignore[union-attr]
    with override_settings(SKIPS_TICKET_ACCESS=lambda user: Q(pk=1)):
        assert Skip.objects.visible_to(agent).not_archived()._count_scope is None


def rollups_scope(user_id: Any) -> Any:
    from skips.querysets import CountScope

    return CountScope(user_id, not_archived=True)


@on_postgresql
def test_folding_the_rows_keeps_every_count() -> None:
    agents = AgentFactory.create_batch(2)
    for i in range(6):
        SkipFactory(user=agents[i % 2])
    Skip.objects.filter(user=agents[0]).first().delete()  # type: ignore[union-attr]
    before = (counted(), counted(agents[0].pk), counted(agents[1].pk))
    assert SkipCount.objects.count() == 7  # a row per change
    with connection.cursor() as cursor:
        cursor.execute("SELECT skips_rollup_compact()")
    assert (counted(), counted(agents[0].pk), counted(agents[1].pk)) == before == (5, 2, 3)
    assert SkipCount.objects.count() == 2  # a row per agent


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_writers_of_one_agent_never_wait_for_each_other() -> None:
    """A transaction that recorded a skip and has not committed does not hold
    up another skip of the same agent (the counts are appended, not updated)."""
    import threading

    from django.db import connections, transaction

    agent, ticket = AgentFactory(), CaseFactory()
    inserted, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                Skip.objects.create(user=agent, ticket=ticket, reason="slow")
                inserted.set()
                assert release.wait(30)
        except BaseException as e:  # reported below
            errors.append(e)
        finally:
            connections.close_all()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    try:
        assert inserted.wait(30)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '2s'")  # a wait fails here
            Skip.objects.create(user=agent, ticket=ticket, reason="quick")
        assert counted(agent.pk) == 1  # the slow one is not committed yet
    finally:
        release.set()
        thread.join(30)
    assert not errors
    assert counted(agent.pk) == listed(agent.pk) == 2


@on_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("target", ["0003", "0004"])
def test_migrating_back_past_the_counts_or_flags_removes_the_triggers(target: str) -> None:
    from django.core.management import call_command

    agent, ticket = AgentFactory(), CaseFactory()
    try:
        call_command("migrate", "skips", target, verbosity=0)
        # No trigger left writing to a table or a column that is gone.
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Skip._meta.db_table} (ticket_id, user_id, reason, created_at,"
                " updated_at) VALUES (%s, %s, '', now(), now())",
                [ticket.pk, agent.pk],
            )
        if target == "0004":
            assert counted() is None  # not kept any more: the lists count the ordinary way
    finally:
        call_command("migrate", "skips", verbosity=0)
    assert counted() == counted(agent.pk) == 1  # filled again on the way forward
    assert_counts_exact(agent)


@on_postgresql
def test_a_ticket_inserted_after_its_skips() -> None:
    """A foreign key is checked at commit: skips may come before their ticket."""
    agent, other = AgentFactory(), CaseFactory()
    cases = Case._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) + 10 FROM {cases}")
        pk = cursor.fetchone()[0]
    Skip.objects.bulk_create([Skip(user=agent, ticket_id=pk), Skip(user=agent, ticket=other)])
    assert counted(agent.pk) == 1  # the first one's ticket is not there yet
    CaseFactory(pk=pk)
    assert_counts_exact(agent)
    CaseFactory(pk=pk + 1, is_archived=True)
    Skip.objects.bulk_create([Skip(user=agent, ticket_id=pk + 1)])
    assert_counts_exact(agent)


@on_postgresql
@pytest.mark.parametrize(
    ("path", "index", "statement"),
    [
        ("/api/v2/skips.json?sort_order=asc", "skips_listed_created_idx", "LIMIT"),
        ("/api/v2/skips.json?page[size]=5", "skips_listed_created_idx", "LIMIT"),
        (
            "/api/v2/users/{agent}/skips.json?sort_order=asc",
            "skips_listed_user_created_idx",
            "LIMIT",
        ),
        ("/api/v2/tickets/{ticket}/skips.json", "skips_listed_ticket_created_idx", "COUNT("),
        ("/admin/skips/skip/?archived=hide", "skips_listed_created_idx", "COUNT("),
        ("/admin/skips/skip/?archived=hide", "skips_listed_created_idx", "LIMIT 100"),
    ],
)
def test_the_lists_can_read_the_partial_indexes_of_listed_skips(
    path: str, index: str, statement: str
) -> None:
    """The page's statement implies the index's ``WHERE listed``: with the full
    indexes gone and sequential scans priced out, PostgreSQL reads that index (a
    table this small would otherwise be read whole)."""
    supervisor, agent = SupervisorFactory(is_staff=True, is_superuser=True), AgentFactory()
    tickets = CaseFactory.create_batch(3)
    for i in range(9):
        SkipFactory(user=agent, ticket=tickets[i % 3])
    Case.objects.filter(pk=tickets[0].pk).update(is_archived=True)
    client = client_for(supervisor)
    if path.startswith("/admin/"):
        client.force_login(supervisor)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path.format(agent=agent.pk, ticket=tickets[1].pk))
    assert response.status_code == 200
    pages = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and '."listed"' in q["sql"] and statement in q["sql"]
    ]
    assert pages, [q["sql"] for q in queries.captured_queries]
    with connection.cursor() as cursor:
        # The full indexes out of the way (in the test's transaction): only a
        # statement that implies ``listed`` can read the partial index.
        for name in ("skips_created_id_idx", "skips_user_created_idx", "skips_ticket_created_idx"):
            cursor.execute(f"DROP INDEX {name}")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {pages[0]}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan


@on_postgresql
def test_the_flags_are_not_trusted_for_other_settings() -> None:
    assert rollups.flags_in_use(connection.alias)
    with override_settings(SKIPS_ARCHIVED_TICKETS=lambda: Q(is_archived=True)):
        assert not rollups.flags_in_use(connection.alias)  # no trigger follows a callable
    with override_settings(SKIPS_COUNT_ROLLUP=False):
        assert not rollups.flags_in_use(connection.alias)
    agent = AgentFactory()
    archived, open_ = CaseFactory(is_archived=True), CaseFactory()
    SkipFactory(user=agent, ticket=archived)
    skip = SkipFactory(user=agent, ticket=open_)
    Skip.objects.filter(pk=skip.pk).update(listed=False)  # a flag nobody keeps
    with connection.cursor() as cursor:  # installed for something else
        cursor.execute(f"COMMENT ON TABLE {SkipCount._meta.db_table} IS 'v0:other'")
    seen = set(rollups._seen)
    rollups._seen.clear()
    try:
        assert not rollups.flags_in_use(connection.alias)
        # A list then leaves the archived tickets out the ordinary way.
        body = client_for(agent).get("/api/v2/skips.json").json()
    finally:
        rollups._seen.update(seen)
    assert [s["id"] for s in body["skips"]] == [skip.pk]
