"""The reference service's Python client, Zenpy, against a live example project.

The example project runs in its own process on a scratch SQLite database, set up
by its own ``demo`` command: this also proves the README's demo path.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

zenpy = pytest.importorskip("zenpy")
requests = pytest.importorskip("requests")

from zenpy.lib.api_objects import Skip as ZenpySkip  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_TICKET_KEYS = [
    "assignee_id",
    "collaborator_ids",
    "created_at",
    "custom_fields",
    "description",
    "due_at",
    "external_id",
    "follower_ids",
    "from_messaging_channel",
    "generated_timestamp",
    "group_id",
    "has_incidents",
    "id",
    "organization_id",
    "priority",
    "problem_id",
    "raw_subject",
    "recipient",
    "requester_id",
    "satisfaction_rating",
    "sharing_agreement_ids",
    "status",
    "subject",
    "submitter_id",
    "tags",
    "type",
    "updated_at",
    "url",
    "via",
]

pytestmark = pytest.mark.live


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Live:
    def __init__(self, db_path: Path, port: int) -> None:
        self.db_path = db_path
        self.port = port
        self.base = f"http://127.0.0.1:{port}"

    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db_path) as db:
            return db.execute(query, args).fetchall()

    def user(self, username: str) -> tuple[int, str, str]:
        """(id, email, token key) of a demo user."""
        ((pk, email, key),) = self.sql(
            "SELECT u.id, u.email, t.key FROM auth_user u JOIN authtoken_token t"
            " ON t.user_id = u.id WHERE u.username = ?",
            username,
        )
        return pk, email, key

    def client(self, username: str) -> Any:
        _, email, key = self.user(username)
        return zenpy.Zenpy(subdomain="local", email=email, token=key)

    def visible_skip_ids(self, where: str = "1=1", *args: Any) -> set[int]:
        rows = self.sql(
            "SELECT s.id FROM skips_skip s JOIN helpdesk_ticket t ON t.id = s.ticket_id"
            f" WHERE NOT t.is_archived AND {where}",
            *args,
        )
        return {row[0] for row in rows}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    db_path = tmp_path_factory.mktemp("live") / "example.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db_path}",
        "DJANGO_DEBUG": "0",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    # The README's demo, minus serving; twice, as seeding must be idempotent.
    for _ in range(2):
        subprocess.run(
            [*manage, "demo", "--no-serve"], env=env, cwd=ROOT, check=True, capture_output=True
        )
    port = free_port()
    server = subprocess.Popen(
        [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the example project did not start") from None
                time.sleep(0.2)
        old = {k: os.environ.get(k) for k in ("ZENPY_FORCE_NETLOC", "ZENPY_FORCE_SCHEME")}
        os.environ["ZENPY_FORCE_NETLOC"] = f"127.0.0.1:{port}"
        os.environ["ZENPY_FORCE_SCHEME"] = "http"
        yield Live(db_path, port)
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.terminate()
        server.wait(timeout=10)


def test_seeding_is_idempotent_and_realistic(live: Live) -> None:
    (count,) = live.sql("SELECT COUNT(*) FROM skips_skip")[0]
    assert count > 200  # more than two pages of 100, so that clients must follow next_page
    (agents,) = live.sql("SELECT COUNT(DISTINCT user_id) FROM skips_skip")[0]
    assert agents >= 3
    (archived,) = live.sql("SELECT COUNT(*) FROM helpdesk_ticket WHERE is_archived")[0]
    assert archived > 0


def test_zenpy_lists_every_skip_over_every_page(live: Live) -> None:
    listed = [skip.id for skip in live.client("supervisor").skips()]
    assert len(listed) == len(set(listed))
    assert set(listed) == live.visible_skip_ids()
    assert len(listed) > 200


def test_zenpy_agent_sees_only_their_own(live: Live) -> None:
    agent_id, _, _ = live.user("agent1")
    listed = {skip.id for skip in live.client("agent1").skips()}
    assert listed == live.visible_skip_ids("s.user_id = ?", agent_id)
    assert listed


def test_zenpy_user_and_ticket_lists(live: Live) -> None:
    agent_id, _, _ = live.user("agent2")
    client = live.client("supervisor")
    by_user = {skip.id for skip in client.users.skips(user=agent_id)}
    assert by_user == live.visible_skip_ids("s.user_id = ?", agent_id)
    ((ticket_id, _),) = live.sql(
        "SELECT s.ticket_id, COUNT(*) c FROM skips_skip s JOIN helpdesk_ticket t"
        " ON t.id = s.ticket_id WHERE NOT t.is_archived GROUP BY s.ticket_id"
        " ORDER BY c DESC, s.ticket_id LIMIT 1"
    )
    by_ticket = {skip.id for skip in client.tickets.skips(ticket=ticket_id)}
    assert by_ticket == live.visible_skip_ids("s.ticket_id = ?", ticket_id)
    assert by_ticket


def test_zenpy_creates_a_skip_and_reads_its_ticket(live: Live) -> None:
    agent_id, _, _ = live.user("agent3")
    ((ticket_id, subject, status),) = live.sql(
        "SELECT id, subject, status FROM helpdesk_ticket WHERE NOT is_archived ORDER BY id LIMIT 1"
    )
    created = live.client("agent3").skips.create(
        ZenpySkip(ticket_id=ticket_id, reason="I have no idea.")
    )
    assert created.id
    assert created.ticket_id == ticket_id
    assert created.user_id == agent_id
    assert created.reason == "I have no idea."
    assert created.ticket.subject == subject
    assert created.ticket.status == status
    assert created.ticket.url == f"{live.base}/api/v2/tickets/{ticket_id}.json"
    assert live.sql(
        "SELECT user_id, ticket_id, reason FROM skips_skip WHERE id = ?", created.id
    ) == [(agent_id, ticket_id, "I have no idea.")]


def test_embedded_ticket_is_the_reference_object(live: Live) -> None:
    _, email, key = live.user("supervisor")
    response = requests.get(
        f"{live.base}/api/v2/skips.json", auth=(f"{email}/token", key), timeout=30
    )
    assert response.status_code == 200
    for skip in response.json()["skips"]:
        assert sorted(skip["ticket"]) == REFERENCE_TICKET_KEYS
    ticket = response.json()["skips"][0]["ticket"]
    assert isinstance(ticket["collaborator_ids"], list)
    assert isinstance(ticket["tags"], list)
    assert set(ticket["via"]) == {"channel"}
    assert all(set(field) == {"id", "value"} for field in ticket["custom_fields"])
