"""A warehouse connector's walk of the incremental export, over HTTP, on the live example project.

As a connector does it, with a plain HTTP client: from ``start_time=0``, follow
``after_url`` until ``end_of_stream`` and store ``after_cursor``; later, walk
again from the stored cursor. In between, skips are recorded (through the
API), and deleted by every path a host has: a ticket deleted, ``purge_skips``,
``erase_user_skips --delete``; and anonymised (``--anonymise``). The copy
rebuilt from the two walks equals the database. The live server's horizon is
one second (``tests/live.py``).
"""

from __future__ import annotations

import datetime
import json
import time
from typing import Any

import pytest

requests = pytest.importorskip("requests")

from tests.live import Live  # noqa: E402

pytestmark = pytest.mark.live

EXPORT = "/api/v2/incremental/skips/cursor.json"
HORIZON = 1  # seconds, as tests/live.py sets it


def wait_past_the_horizon() -> None:
    time.sleep(HORIZON + 1.1)  # timestamps are whole seconds on the way out


def shell(live: Live, code: str) -> Any:
    """Run ``code`` in the example project's shell on the live database; what it prints, as JSON."""
    return json.loads(live.manage("shell", "-c", code).strip().splitlines()[-1])


def walk(live: Live, session: Any, url: str) -> tuple[list[dict[str, Any]], str, int]:
    """Follow ``after_url`` until ``end_of_stream``: (items, the cursor to store, pages)."""
    items: list[dict[str, Any]] = []
    pages = 0
    while True:
        response = session.get(url, timeout=30)
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"] == "application/json"
        body = response.json()
        pages += 1
        items += body["skips"]
        if body["end_of_stream"]:
            return items, body["after_cursor"], pages
        url = body["after_url"]
        assert url.startswith(live.base)
        assert pages < 100


def database(live: Live) -> tuple[dict[int, dict[str, Any]], set[int]]:
    """The skips table, as the export renders it, and the ids of the tombstones."""

    def timestamp(value: str) -> str:
        parsed = datetime.datetime.fromisoformat(value)
        return parsed.replace(microsecond=0, tzinfo=None).isoformat() + "Z"

    skips = {
        pk: {
            "id": pk,
            "ticket_id": ticket_id,
            "user_id": user_id,
            "reason": reason,
            "created_at": timestamp(created_at),
            "updated_at": timestamp(updated_at),
            "deleted_at": None,
        }
        for pk, ticket_id, user_id, reason, created_at, updated_at in live.sql(
            "SELECT id, ticket_id, user_id, reason, created_at, updated_at FROM skips_skip"
        )
    }
    tombstones = {row[0] for row in live.sql("SELECT id FROM skips_skiptombstone")}
    return skips, tombstones


SETUP = """
import json
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from example_project.helpdesk.models import Ticket
from skips.models import Skip
import datetime

User = get_user_model()
warehouse, _ = User.objects.get_or_create(username="export-walk-warehouse")
warehouse.user_permissions.add(Permission.objects.get(codename="export_skip"))
token, _ = Token.objects.get_or_create(user=warehouse)
requester = User.objects.get(username="customer")
ticket = Ticket.objects.create(subject="Export walk", requester=requester, submitter=requester)
# Two people whose skips will be erased, and old skips that retention will purge.
leaving = [User.objects.create(username=f"export-walk-leaving-{i}") for i in range(2)]
other = Ticket.objects.exclude(pk=ticket.pk).filter(is_archived=False).order_by("pk").first()
for person in leaving:
    for _ in range(3):
        Skip.objects.create(ticket=other, user=person, reason="My name is in here")
old = datetime.datetime(2001, 1, 1, tzinfo=datetime.timezone.utc)
agent = User.objects.get(username="agent2")
purged = [Skip.objects.create(ticket=other, user=agent, created_at=old).pk for _ in range(2)]
print(json.dumps({
    "email": warehouse.email, "token": token.key, "ticket": ticket.pk, "other": other.pk,
    "leaving": [person.pk for person in leaving], "purged": purged,
}))
"""


def test_a_connector_keeps_an_exact_copy(live: Live) -> None:
    world = shell(live, SETUP)
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + world["token"]
    wait_past_the_horizon()

    # The first walk, from the beginning.
    items, cursor, pages = walk(live, session, f"{live.base}{EXPORT}?start_time=0&per_page=100")
    assert pages >= 5  # the demo's 450 skips and more
    copy: dict[int, dict[str, Any]] = {}
    changes: list[tuple[str, int, bool]] = []
    for item in items:
        changes.append((item["updated_at"], item["id"], item["deleted_at"] is not None))
        copy[item["id"]] = item
    # In time order. The wire shows whole seconds, while items are ordered by the
    # microsecond: within one second, ids need not go up.
    assert [change[0] for change in changes] == sorted(change[0] for change in changes)
    skips, tombstones = database(live)
    live_copy = {pk: item for pk, item in copy.items() if item["deleted_at"] is None}
    assert live_copy == skips
    assert {pk for pk, item in copy.items() if item["deleted_at"]} == tombstones
    tombstones_before = tombstones

    # Changes: recorded through the API, deleted by every path, anonymised.
    _, agent_email, agent_token = live.user("agent1")
    for reason in ("first", "second"):
        created = requests.post(
            f"{live.base}/api/v2/skips.json",
            json={"skip": {"ticket_id": world["ticket"], "reason": reason}},
            auth=(f"{agent_email}/token", agent_token),
            timeout=30,
        )
        assert created.status_code == 201, created.text
    kept = requests.post(
        f"{live.base}/api/v2/tickets/{world['other']}/skips.json",
        json={"skip": {"reason": "kept"}},
        auth=(f"{agent_email}/token", agent_token),
        timeout=30,
    )
    assert kept.status_code == 201, kept.text
    leaving, staying = world["leaving"]
    live.manage("erase_user_skips", str(leaving), "--delete")
    live.manage("erase_user_skips", str(staying), "--anonymise")
    purged = live.manage("purge_skips", "--older-than", "3650", "--batch-size", "1")
    assert "2 created before" in purged
    shell(
        live,
        "import json; from example_project.helpdesk.models import Ticket; "
        f"print(json.dumps(Ticket.objects.get(pk={world['ticket']}).delete()[0]))",
    )
    wait_past_the_horizon()

    # The second walk, from the stored cursor.
    items, cursor, _ = walk(live, session, f"{live.base}{EXPORT}?cursor={cursor}&per_page=100")
    for item in items:
        change = (item["updated_at"], item["id"], item["deleted_at"] is not None)
        assert change[0] >= changes[-1][0]  # in order, after the first walk's
        changes.append(change)
        copy[item["id"]] = item
    assert len(changes) == len(set(changes))  # each change once
    skips, tombstones = database(live)
    live_copy = {pk: item for pk, item in copy.items() if item["deleted_at"] is None}
    assert live_copy == skips
    deleted = {pk for pk, item in copy.items() if item["deleted_at"]}
    assert deleted == tombstones
    assert set(world["purged"]) <= deleted  # never exported alive: created in 2001
    # The erased people: one's skips deleted, the other's kept for reports with
    # no reason, as the erased account's. The API's two went with their ticket.
    ((erased_id,),) = live.sql("SELECT id FROM auth_user WHERE username = 'erased-user'")
    anonymised = [item for item in live_copy.values() if item["user_id"] == erased_id]
    assert len(anonymised) == 3
    assert all(item["reason"] == "" for item in anonymised)
    assert all(item["user_id"] not in (leaving, staying) for item in live_copy.values())
    assert all(copy[pk]["reason"] is None for pk in deleted)
    assert len(deleted - tombstones_before) == 2 + 3 + 2  # purged, erased, the ticket's
    assert [item["reason"] for item in live_copy.values()].count("kept") == 1

    # Nothing more: the same cursor, an empty page at the end of the stream.
    again = session.get(f"{live.base}{EXPORT}", params={"cursor": cursor}, timeout=30).json()
    assert again["skips"] == []
    assert again["end_of_stream"] is True
    # The same position; signed again, so its timestamp may be a second later.
    assert again["after_cursor"].rsplit(":", 2)[0] == cursor.rsplit(":", 2)[0]
