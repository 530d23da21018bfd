"""Concurrency and failure on a real PostgreSQL server: threads, each with its own connection.

- 16 threads record skips at once (same and different tickets, same and
  different agents): every 201 is in the database exactly once, and the lists
  agree with the database afterwards.
- A ticket deleted while skips of it are being recorded: 201 or 422, never a
  500, and no skip left pointing at a missing ticket.
- The database connection killed mid-request (``pg_terminate_backend``): a 503
  in the error family with ``Retry-After``, nothing written, and the next
  request of the same worker thread succeeds.

PostgreSQL only: SQLite serialises writers and has no backends to kill.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest
from django.db import connections

if connections["default"].vendor != "postgresql":
    pytest.skip(
        "postgresql only: needs concurrent connections and pg_terminate_backend",
        allow_module_level=True,
    )

import psycopg
from django.core.handlers.wsgi import WSGIHandler
from django.db import IntegrityError, connection
from django.test import RequestFactory

from skips.models import Skip
from skips.signals import skip_recorded
from tests.conftest import Client, basic, client_for
from tests.factories import AgentFactory, CaseFactory, SupervisorFactory
from tests.testapp.models import Case

pytestmark = pytest.mark.django_db(transaction=True)

T = TypeVar("T")
WRITERS = 16
WRITES_EACH = 5
TIMEOUT = 60  # seconds, for any one wait: a stuck test fails instead of hanging


def in_threads(count: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(0..count-1)`` in ``count`` threads released together; their results."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=TIMEOUT)
            results[index] = work(index)
        except BaseException as e:  # reported by the main thread
            errors.append(e)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(i,), name=f"skips-test-{i}") for i in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT * 2)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    if errors:
        raise errors[0]
    return results


def all_pages(client: Client, path: str) -> tuple[list[int], int]:
    """Every skip id of an offset-paginated list, in order, and the ``count`` it gave."""
    ids: list[int] = []
    url: str | None = f"{path}?per_page=7"
    counts = set()
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        ids += [skip["id"] for skip in body["skips"]]
        counts.add(body["count"])
        url = body["next_page"]
        if url:
            parts = urlsplit(url)
            url = f"{parts.path}?{parts.query}"
    assert len(counts) == 1
    return ids, counts.pop()


# 16 threads at once


@dataclass
class Write:
    agent: Any
    ticket: Any
    path: str
    status: int = 0
    skip_id: int | None = None


def test_sixteen_threads_record_at_once() -> None:
    agents = AgentFactory.create_batch(4)
    tickets = CaseFactory.create_batch(3)
    supervisor = SupervisorFactory()

    def plan(index: int) -> list[Write]:
        # Thread i: agent i % 4 and ticket i % 3, so that threads share agents,
        # tickets and (agent, ticket) pairs; half through each create route.
        agent, ticket = agents[index % 4], tickets[index % 3]
        path = "/api/v2/skips" if index % 2 else f"/api/v2/tickets/{ticket.pk}/skips.json"
        return [Write(agent, ticket, path) for _ in range(WRITES_EACH)]

    def work(index: int) -> list[Write]:
        writes = plan(index)
        client = client_for(writes[0].agent)
        for n, write in enumerate(writes):
            body = {"skip": {"ticket_id": write.ticket.pk, "reason": f"thread {index} write {n}"}}
            response = client.post_json(write.path, body)
            write.status = response.status_code
            if response.status_code == 201:
                write.skip_id = response.json()["skip"]["id"]
        return writes

    writes = [write for batch in in_threads(WRITERS, work) for write in batch]

    assert len(writes) == WRITERS * WRITES_EACH
    assert {write.status for write in writes} == {201}
    ids = [write.skip_id or 0 for write in writes]
    assert len(set(ids)) == len(ids), "ids are unique"
    stored = {skip.pk: skip for skip in Skip.objects.all()}
    assert sorted(stored) == sorted(ids), "every 201 is in the database exactly once"
    for write in writes:
        skip = stored[write.skip_id]
        assert (skip.user_id, skip.ticket_id) == (write.agent.pk, write.ticket.pk)

    # The lists agree with the database, page by page.
    supervisor_client = client_for(supervisor)
    in_order = list(Skip.objects.order_by("created_at", "id").values_list("id", flat=True))
    assert all_pages(supervisor_client, "/api/v2/skips.json") == (in_order, len(in_order))
    for ticket in tickets:
        expected = list(
            Skip.objects.filter(ticket=ticket)
            .order_by("created_at", "id")
            .values_list("id", flat=True)
        )
        assert all_pages(supervisor_client, f"/api/v2/tickets/{ticket.pk}/skips") == (
            expected,
            len(expected),
        )
    for agent in agents:
        expected = list(
            Skip.objects.filter(user=agent)
            .order_by("created_at", "id")
            .values_list("id", flat=True)
        )
        assert all_pages(supervisor_client, f"/api/v2/users/{agent.pk}/skips") == (
            expected,
            len(expected),
        )
        # And the agent alone sees the same, and nothing of the others'.
        assert all_pages(client_for(agent), "/api/v2/skips") == (expected, len(expected))


# A ticket deleted while skips of it are being recorded


def orphans() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {Skip._meta.db_table} s"
            f" LEFT JOIN {Case._meta.db_table} c ON c.id = s.ticket_id WHERE c.id IS NULL"
        )
        (count,) = cursor.fetchone()
    return int(count)


def delete_ticket(pk: int) -> int:
    """Delete a ticket as a host would, retrying when a new skip of it lands first."""
    for attempt in range(1, 51):
        try:
            Case.objects.filter(pk=pk).delete()
            return attempt
        except IntegrityError:
            # A skip inserted after the collector looked: the deferred foreign key
            # refuses the delete at commit. Try again, as a host's code would.
            continue
    raise AssertionError("the ticket could not be deleted in 50 attempts")


def test_ticket_deleted_while_skips_are_recorded() -> None:
    ticket: Any = CaseFactory()
    writers = 8
    agents = AgentFactory.create_batch(writers)
    created = threading.Semaphore(0)
    deleted = threading.Event()

    def work(index: int) -> list[tuple[str, int]]:
        if index == writers:  # the deleter
            for _ in range(writers):  # some skips land first
                assert created.acquire(timeout=TIMEOUT)
            delete_ticket(ticket.pk)
            deleted.set()
            return []
        client = client_for(agents[index])
        answers = []
        for n in range(12):
            route = "ticket route" if n % 2 else "skips"
            path = f"/api/v2/tickets/{ticket.pk}/skips" if n % 2 else "/api/v2/skips"
            response = client.post_json(path, {"skip": {"ticket_id": ticket.pk}})
            answers.append((route, response.status_code))
            if response.status_code == 201:
                created.release()
        # One more once the ticket is surely gone.
        assert deleted.wait(timeout=TIMEOUT)
        response = client.post_json("/api/v2/skips", {"skip": {"ticket_id": ticket.pk}})
        answers.append(("after", response.status_code))
        assert response.json()["details"]["ticket_id"][0]["error"] == "InvalidValue"
        return answers

    answers = [answer for batch in in_threads(writers + 1, work) for answer in batch]

    allowed = {"skips": {201, 422}, "ticket route": {201, 404, 422}, "after": {422}}
    for route, status in answers:
        assert status in allowed[route], (route, status)
    statuses = [status for _, status in answers]
    assert statuses.count(201) >= writers
    assert not Case.objects.filter(pk=ticket.pk).exists()
    assert not Skip.objects.filter(ticket_id=ticket.pk).exists()
    assert orphans() == 0


@pytest.mark.parametrize("path", ["/api/v2/skips", "/api/v2/tickets/{ticket}/skips.json"])
def test_ticket_deleted_between_the_check_and_the_commit_is_422(path: str) -> None:
    """The race made certain: the skip is inserted, the ticket deleted, then the commit.

    PostgreSQL checks Django's (deferred) foreign key at commit, where it fails:
    the view maps that IntegrityError to a 422 on ``ticket_id``.
    """
    ticket: Any = CaseFactory()
    agent: Any = AgentFactory()
    inserted, deleted = threading.Event(), threading.Event()

    def hold_the_transaction(sender: Any, **kwargs: Any) -> None:
        if threading.current_thread().name == "skips-test-0":
            inserted.set()
            assert deleted.wait(timeout=TIMEOUT)

    def work(index: int) -> Any:
        if index == 0:
            response = client_for(agent).post_json(
                path.format(ticket=ticket.pk), {"skip": {"ticket_id": ticket.pk}}
            )
            return response.status_code, response.json()
        assert inserted.wait(timeout=TIMEOUT)
        delete_ticket(ticket.pk)
        deleted.set()
        return None

    skip_recorded.connect(hold_the_transaction, weak=False)
    try:
        (status, body), _ = in_threads(2, work)
    finally:
        skip_recorded.disconnect(hold_the_transaction)

    assert status == 422, body
    assert body["error"] == "RecordInvalid"
    assert body["details"]["ticket_id"][0]["error"] == "InvalidValue"
    assert not Skip.objects.exists()
    assert orphans() == 0


# The database going away mid-request


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


def serve(handler: WSGIHandler, method: str, path: str, user: Any, body: Any = None) -> Answer:
    """One request through Django's WSGI handler, as a server's worker thread makes it.

    Unlike the test client, this sends ``request_started`` and ``request_finished``
    with Django's ``close_old_connections`` attached, as in production.
    """
    factory = RequestFactory()
    data = json.dumps(body) if body is not None else ""
    request = factory.generic(
        method, path, data, content_type="application/json", HTTP_AUTHORIZATION=basic(user)
    )
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answer["status"] = int(status.split()[0])
        answer["headers"] = dict(headers)
        return lambda chunk: None

    response = handler(request.environ, start_response)
    try:
        content = b"".join(response)
    finally:
        response.close()  # sends request_finished
    return Answer(answer["status"], answer["headers"], json.loads(content) if content else None)


class Killer:
    """An execute wrapper that has PostgreSQL end this connection at one chosen query."""

    def __init__(
        self, admin: psycopg.Connection[Any], matches: Callable[[str], bool], after: bool
    ) -> None:
        self.admin = admin
        self.matches = matches
        self.after = after
        self.fired = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if self.fired or not self.matches(sql):
            return execute(sql, params, many, context)
        self.fired += 1
        if self.after:
            result = execute(sql, params, many, context)
            self.kill(context["connection"])
            return result
        self.kill(context["connection"])
        return execute(sql, params, many, context)

    def kill(self, wrapper: Any) -> None:
        pid = wrapper.connection.info.backend_pid
        # Waits (up to 10 s) for the backend to be gone.
        row = self.admin.execute("SELECT pg_terminate_backend(%s, 10000)", [pid]).fetchone()
        assert row == (True,)


@pytest.fixture
def admin() -> Iterator[psycopg.Connection[Any]]:
    """A connection of its own to the test database, to terminate others from."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**{**params, "autocommit": True}) as conn:
        yield conn


def in_a_worker(work: Callable[[], T]) -> T:
    (result,) = in_threads(1, lambda _: work())
    return result


def _counts(sql: str) -> bool:
    return "COUNT(" in sql or "SUM(" in sql


KILL_POINTS = {
    # name: (method, matches the SQL, kill after the query rather than before)
    "GET at the token lookup": ("GET", lambda sql: "authtoken_token" in sql, False),
    # The count: COUNT(*) of skips, or the sum of the maintained counts (skips.rollups).
    "GET at the count": ("GET", lambda sql: "skips_skip" in sql and _counts(sql), False),
    "GET at the page": (
        "GET",
        lambda sql: sql.startswith("SELECT") and "skips_skip" in sql and not _counts(sql),
        False,
    ),
    "POST at the ticket lookup": ("POST", lambda sql: "testapp_case" in sql, False),
    "POST at the insert": ("POST", lambda sql: sql.startswith('INSERT INTO "skips_skip"'), False),
    "POST after the insert, before the commit": (
        "POST",
        lambda sql: sql.startswith('INSERT INTO "skips_skip"'),
        True,
    ),
}


@pytest.mark.parametrize("conn_max_age", [0, 60], ids=["conn_max_age=0", "persistent"])
@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_database_gone_mid_request_is_503_and_the_next_request_succeeds(
    point: str, conn_max_age: int, admin: psycopg.Connection[Any], monkeypatch: Any
) -> None:
    method, matches, after = KILL_POINTS[point]
    agent: Any = AgentFactory()
    ticket: Any = CaseFactory()
    existing = Skip.objects.create(user=agent, ticket=ticket, reason="before")
    # Shared by every thread's connection: restored after the test.
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", conn_max_age)
    killer = Killer(admin, matches, after)
    body = {"skip": {"ticket_id": ticket.pk, "reason": "killed"}}

    def worker() -> tuple[Answer, Answer, Answer]:
        handler = WSGIHandler()
        with connections["default"].execute_wrapper(killer):
            killed = serve(
                handler, method, "/api/v2/skips", agent, body if method == "POST" else None
            )
        # The same thread, its next requests: a read and a write.
        read = serve(handler, "GET", "/api/v2/skips.json", agent)
        write = serve(handler, "POST", "/api/v2/skips", agent, {"skip": {"ticket_id": ticket.pk}})
        return killed, read, write

    killed, read, write = in_a_worker(worker)

    assert killer.fired == 1, "the kill point was reached"
    assert killed.status == 503, killed.body
    assert killed.headers["Content-Type"] == "application/json"
    assert killed.body["error"] == "ServiceUnavailable"
    assert isinstance(killed.body["description"], str)
    assert killed.body["description"]
    assert set(killed.body) == {"error", "description"}
    assert int(killed.headers["Retry-After"]) >= 1
    # Nothing was written by the killed request.
    assert not Skip.objects.filter(reason="killed").exists()

    assert read.status == 200, read.body
    assert [skip["id"] for skip in read.body["skips"]] == [existing.pk]
    assert write.status == 201, write.body
    assert Skip.objects.filter(pk=write.body["skip"]["id"], user=agent).exists()
    assert Skip.objects.count() == 2
