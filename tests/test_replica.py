"""A real primary and replica: reads on the replica, writes on the primary, and read-your-writes.

Run by the replica session (``nox -s "tests(replica)"``, settings
``tests.settings_replica``) against a PostgreSQL streaming replica of the
primary (``.ci/replica`` starts one on 127.0.0.1:5433). The replica replays
the test database the runner creates on the primary, and refuses writes: a
write routed to it is a failing test. It sees committed data only, so these
tests commit (``transaction=True``) and wait for it to replay the primary's
WAL before reading, or pause its replay to play a lagging replica.

Elsewhere (no "replica" database in the settings) the module is skipped; in
the replica session, a replica that cannot be reached skips it, which
``CI=true`` refuses.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, OperationalError, connections
from django.test.utils import CaptureQueriesContext

from skips import checks
from skips.admin.changelist import SkipPaginator
from skips.models import Skip
from tests.admin_support import CHANGELIST, EXPORT, REPORT, bulk_skips, logged_in, staff
from tests.conftest import REPLICA_ONLY, client_for
from tests.factories import (
    AgentFactory,
    CaseFactory,
    SkipFactory,
    SupervisorFactory,
    UserFactory,
)

pytestmark = [
    pytest.mark.skipif(
        "replica" not in settings.DATABASES,
        reason=f"{REPLICA_ONLY}: these settings have no 'replica' database",
    ),
    pytest.mark.django_db(transaction=True, databases=["default", "replica"]),
]

#: Seconds to wait for the replica to replay what the primary committed.
CATCH_UP = 10
SKIPS = "/api/v2/skips.json"

_unreachable: list[str] = []


def value(alias: str, query: str, params: Any = ()) -> Any:
    with connections[alias].cursor() as cursor:
        cursor.execute(query, params)
        row = cursor.fetchone() if cursor.description else None
    return row[0] if row else None


def caught_up() -> None:
    """Wait until the replica has replayed everything the primary committed so far."""
    lsn = value("default", "SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + CATCH_UP
    while not value("replica", "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn]):
        assert time.monotonic() < deadline, f"the replica did not replay up to {lsn}"
        time.sleep(0.01)


@contextmanager
def replay_paused() -> Iterator[None]:
    """The replica stops replaying the primary's WAL: it lags, as far as the block writes."""
    value("replica", "SELECT pg_wal_replay_pause()")
    deadline = time.monotonic() + CATCH_UP
    while value("replica", "SELECT pg_get_wal_replay_pause_state()") != "paused":
        assert time.monotonic() < deadline, "the replica did not pause its replay"
        time.sleep(0.01)
    try:
        yield
    finally:
        value("replica", "SELECT pg_wal_replay_resume()")
        caught_up()


@pytest.fixture(autouse=True)
def replica(transactional_db: Any) -> None:
    """A reachable replica that has replayed the primary; each test starts on a clean cache."""
    if _unreachable:
        pytest.skip(_unreachable[0])
    replica = connections["replica"].settings_dict
    deadline = time.monotonic() + CATCH_UP
    while True:  # the test database is there once the replica replays its creation
        try:
            connections["replica"].ensure_connection()
            break
        except OperationalError as e:
            if time.monotonic() > deadline:
                _unreachable.append(
                    f"no PostgreSQL replica of the primary at {replica['HOST']}:"
                    f"{replica['PORT']} ({str(e).strip()}); .ci/replica starts one"
                )
                pytest.skip(_unreachable[0])
            time.sleep(0.2)
    caught_up()
    cache.clear()


@contextmanager
def queries() -> Iterator[dict[str, list[str]]]:
    """The SQL each database ran inside the block (filled in when it ends)."""
    seen: dict[str, list[str]] = {}
    with ExitStack() as stack:
        captures = {
            alias: stack.enter_context(CaptureQueriesContext(connections[alias]))
            for alias in ("default", "replica")
        }
        yield seen
    for alias, capture in captures.items():
        seen[alias] = [query["sql"] for query in capture.captured_queries]


def touching(statements: list[str], table: str) -> list[str]:
    return [sql for sql in statements if f'"{table}"' in sql]


def writes(statements: list[str]) -> list[str]:
    return [sql for sql in statements if sql.split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}]


def listed(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [skip["id"] for skip in response.json()["skips"]]


# The databases


def test_the_replica_database_is_a_hot_standby_of_the_test_database() -> None:
    primary, replica = connections["default"], connections["replica"]
    assert replica.settings_dict["NAME"] == primary.settings_dict["NAME"]  # the test database
    assert replica.settings_dict["PORT"] != primary.settings_dict["PORT"]
    assert value("replica", "SELECT pg_is_in_recovery()") is True
    assert value("default", "SELECT pg_is_in_recovery()") is False
    assert value("replica", "SELECT current_database()") == primary.settings_dict["NAME"]


def test_the_replica_settings_pass_their_checks() -> None:
    assert checks.check_replica_databases() == []
    assert checks.check_read_your_writes() == []


def test_a_write_sent_to_the_replica_fails_loudly() -> None:
    skip = SkipFactory()
    caught_up()
    with pytest.raises(DatabaseError, match="read-only transaction"):
        Skip.objects.using("replica").filter(pk=skip.pk).update(reason="changed")
    with pytest.raises(DatabaseError, match="read-only transaction"):
        Skip(ticket=skip.ticket, user=skip.user).save(using="replica")


# The API


def test_post_reads_the_ticket_and_writes_on_the_primary() -> None:
    agent, case = AgentFactory(), CaseFactory()
    caught_up()
    with queries() as sql:
        response = client_for(agent).post_json(SKIPS, {"skip": {"ticket_id": case.pk}})
    assert response.status_code == 201, response.content
    assert writes(sql["replica"]) == []
    assert [w.split('"')[1] for w in writes(sql["default"])] == ["skips_skip"]
    assert touching(sql["default"], "testapp_case")  # the ticket, read where the skip is written
    assert touching(sql["replica"], "testapp_case") == []
    assert Skip.objects.using("default").get().pk == response.json()["skip"]["id"]


def test_a_ticket_created_a_moment_ago_can_be_skipped_while_the_replica_lags() -> None:
    agent = AgentFactory()
    caught_up()
    with replay_paused():
        case = CaseFactory()
        assert not type(case).objects.using("replica").filter(pk=case.pk).exists()
        response = client_for(agent).post_json(SKIPS, {"skip": {"ticket_id": case.pk}})
        assert response.status_code == 201, response.content
        path_form = client_for(agent).post_json(
            f"/api/v2/tickets/{case.pk}/skips.json", {"skip": {"reason": "new"}}
        )
        assert path_form.status_code == 201, path_form.content


@pytest.mark.parametrize(
    "path",
    [
        SKIPS,
        SKIPS + "?page[size]=2",
        "/api/v2/tickets/{ticket}/skips.json",
        "/api/v2/users/{user}/skips.json",
    ],
)
def test_lists_read_the_replica_only(path: str) -> None:
    supervisor = SupervisorFactory()
    case = CaseFactory()
    ids = [SkipFactory(user=supervisor, ticket=case).pk for _ in range(3)]
    caught_up()
    with queries() as sql:
        response = client_for(supervisor).get(path.format(ticket=case.pk, user=supervisor.pk))
    assert listed(response) == (ids[:2] if "size" in path else ids)
    assert sql["default"] == []
    assert touching(sql["replica"], "skips_skip")


def test_read_your_writes_while_the_replica_lags() -> None:
    agent, supervisor = AgentFactory(), SupervisorFactory()
    earlier = SkipFactory(user=agent).pk
    case = CaseFactory()
    caught_up()
    with replay_paused():
        response = client_for(agent).post_json(SKIPS, {"skip": {"ticket_id": case.pk}})
        assert response.status_code == 201, response.content
        new = response.json()["skip"]["id"]
        # The agent's own lists, at once: from the primary.
        assert listed(client_for(agent).get(SKIPS)) == [earlier, new]
        assert listed(client_for(agent).get("/api/v2/users/me/skips.json")) == [earlier, new]
        assert listed(client_for(agent).get(f"/api/v2/tickets/{case.pk}/skips.json")) == [new]
        # Anyone else reads the replica, which has not replayed the skip yet.
        assert listed(client_for(supervisor).get(SKIPS)) == [earlier]
    assert listed(client_for(supervisor).get(SKIPS)) == [earlier, new]


def test_the_primary_is_read_for_the_window_then_the_replica_again(
    settings: Any,
) -> None:
    settings.SKIPS_READ_YOUR_WRITES_SECONDS = 1
    agent, case = AgentFactory(), CaseFactory()
    caught_up()
    assert client_for(agent).post_json(SKIPS, {"skip": {"ticket_id": case.pk}}).status_code == 201
    with queries() as pinned:
        assert len(listed(client_for(agent).get(SKIPS))) == 1
    time.sleep(1.1)
    caught_up()
    with queries() as after:
        assert len(listed(client_for(agent).get(SKIPS))) == 1
    assert touching(pinned["default"], "skips_skip")
    assert touching(pinned["replica"], "skips_skip") == []
    assert touching(after["replica"], "skips_skip")
    assert after["default"] == []


# The admin


def test_the_changelist_counts_and_lists_from_the_replica(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SkipPaginator, "estimate_threshold", 20)
    bulk_skips(30)
    value("default", 'ANALYZE "skips_skip"')
    client = logged_in(staff("view_skip"))
    caught_up()
    with queries() as sql:
        response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert response.context["cl"].paginator.count_label == "about 30"  # the planner's estimate
    assert touching(sql["default"], "skips_skip") == []
    assert [q for q in sql["default"] if "pg_class" in q] == []
    assert [q for q in sql["replica"] if "pg_class" in q]
    assert touching(sql["replica"], "skips_skip")
    # Only the session is read from the primary.
    assert all("django_session" in q for q in sql["default"]), sql["default"]


def test_the_export_streams_from_the_replica() -> None:
    skips = bulk_skips(25)
    client = logged_in(staff("view_skip"))
    caught_up()
    with queries() as sql:
        response = client.get(EXPORT)
        text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted(int(row["id"]) for row in rows) == sorted(skip.pk for skip in skips)
    assert touching(sql["replica"], "skips_skip")
    assert touching(sql["default"], "skips_skip") == []


def test_the_report_reads_the_replica() -> None:
    bulk_skips(12)
    client = logged_in(staff("view_skip"))
    caught_up()
    with queries() as sql:
        response = client.get(REPORT)
    assert response.status_code == 200
    assert response.context["report"].total == 12
    assert touching(sql["replica"], "skips_skip")
    assert touching(sql["default"], "skips_skip") == []


def test_staff_see_their_deletion_at_once_while_the_replica_lags() -> None:
    skips = bulk_skips(3)
    gone = skips[0].pk
    client = logged_in(staff("view_skip", "delete_skip"))
    caught_up()
    with replay_paused():
        response = client.post(
            CHANGELIST, {"action": "delete_selected", "_selected_action": [gone], "post": "yes"}
        )
        assert response.status_code == 302
        assert Skip.objects.using("replica").filter(pk=gone).exists()  # not replayed yet
        shown = [skip.pk for skip in client.get(CHANGELIST).context["cl"].result_list]
        assert gone not in shown
        assert sorted(shown) == sorted(skip.pk for skip in skips[1:])


def test_the_incremental_export_reads_the_primary(settings: Any) -> None:
    """Its horizon covers late commits on the primary, not a replica's lag on top."""
    settings.SKIPS_EXPORT_HORIZON_SECONDS = 0
    settings.SKIPS_EXPORT_THROTTLE_RATE = None
    exporter = UserFactory(is_superuser=True, is_staff=True)
    caught_up()
    with replay_paused():
        skip = SkipFactory().pk
        with queries() as seen:
            response = client_for(exporter).get(
                "/api/v2/incremental/skips/cursor.json?start_time=0"
            )
        assert response.status_code == 200, response.content
        assert skip in [item["id"] for item in response.json()["skips"]]
    assert touching(seen["default"], "skips_skip")
    assert not touching(seen["replica"], "skips_skip")
