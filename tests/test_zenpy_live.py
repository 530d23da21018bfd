"""The reference service's Python client, Zenpy, against a live example project.

The example project runs in its own process on a scratch SQLite database, set up
by its own ``demo`` command: this also proves the README's demo path.
"""

from __future__ import annotations

from typing import Any

import pytest

zenpy = pytest.importorskip("zenpy")
requests = pytest.importorskip("requests")

from zenpy.lib.api_objects import Skip as ZenpySkip  # noqa: E402

from tests.live import Live  # noqa: E402

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


def client(live: Live, username: str) -> Any:
    _, email, key = live.user(username)
    return zenpy.Zenpy(subdomain="local", email=email, token=key)


@pytest.fixture(autouse=True)
def zenpy_points_at_live(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", f"127.0.0.1:{live.port}")
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")


def test_seeding_is_idempotent_and_realistic(live: Live) -> None:
    (count,) = live.sql("SELECT COUNT(*) FROM skips_skip")[0]
    assert count > 200  # more than two pages of 100, so that clients must follow next_page
    (agents,) = live.sql("SELECT COUNT(DISTINCT user_id) FROM skips_skip")[0]
    assert agents >= 3
    (archived,) = live.sql("SELECT COUNT(*) FROM helpdesk_ticket WHERE is_archived")[0]
    assert archived > 0


def test_zenpy_lists_every_skip_over_every_page(live: Live) -> None:
    listed = [skip.id for skip in client(live, "supervisor").skips()]
    assert len(listed) == len(set(listed))
    assert set(listed) == live.visible_skip_ids()
    assert len(listed) > 200


def test_zenpy_agent_sees_only_their_own(live: Live) -> None:
    agent_id, _, _ = live.user("agent1")
    listed = {skip.id for skip in client(live, "agent1").skips()}
    assert listed == live.visible_skip_ids("s.user_id = ?", agent_id)
    assert listed


def test_zenpy_user_and_ticket_lists(live: Live) -> None:
    agent_id, _, _ = live.user("agent2")
    supervisor = client(live, "supervisor")
    by_user = {skip.id for skip in supervisor.users.skips(user=agent_id)}
    assert by_user == live.visible_skip_ids("s.user_id = ?", agent_id)
    ((ticket_id, _),) = live.sql(
        "SELECT s.ticket_id, COUNT(*) c FROM skips_skip s JOIN helpdesk_ticket t"
        " ON t.id = s.ticket_id WHERE NOT t.is_archived GROUP BY s.ticket_id"
        " ORDER BY c DESC, s.ticket_id LIMIT 1"
    )
    by_ticket = {skip.id for skip in supervisor.tickets.skips(ticket=ticket_id)}
    assert by_ticket == live.visible_skip_ids("s.ticket_id = ?", ticket_id)
    assert by_ticket


def test_zenpy_creates_a_skip_and_reads_its_ticket(live: Live) -> None:
    agent_id, _, _ = live.user("agent3")
    ((ticket_id, subject, status),) = live.sql(
        "SELECT id, subject, status FROM helpdesk_ticket WHERE NOT is_archived ORDER BY id LIMIT 1"
    )
    created = client(live, "agent3").skips.create(
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


def walk_secondary(api: Any, user_or_ticket: int, **params: Any) -> list[int]:
    """Zenpy's own URL building and paging, for the per-user and per-ticket lists.

    ``users.skips()`` and ``tickets.skips()`` take no paging arguments, so this
    asks their endpoint for the URL as Zenpy would, and lets Zenpy page through it.
    """
    url = api._build_url(api.endpoint.skips(id=user_or_ticket, **params))
    return [skip.id for skip in api._get(url)]


def busiest_ticket(live: Live) -> int:
    ((ticket_id, _),) = live.sql(
        "SELECT s.ticket_id, COUNT(*) c FROM skips_skip s JOIN helpdesk_ticket t"
        " ON t.id = s.ticket_id WHERE NOT t.is_archived GROUP BY s.ticket_id"
        " ORDER BY c DESC, s.ticket_id LIMIT 1"
    )
    return int(ticket_id)


def ordered_ids(live: Live, where: str = "1=1", *args: Any, desc: bool = False) -> list[int]:
    direction = "DESC" if desc else "ASC"
    rows = live.sql(
        "SELECT s.id FROM skips_skip s JOIN helpdesk_ticket t ON t.id = s.ticket_id"
        f" WHERE NOT t.is_archived AND {where}"
        f" ORDER BY s.created_at {direction}, s.id {direction}",
        *args,
    )
    return [row[0] for row in rows]


@pytest.mark.parametrize("mode", ["cursor", "offset"])
def test_zenpy_walks_every_list_in_both_styles_newest_first(live: Live, mode: str) -> None:
    supervisor = client(live, "supervisor")
    agent_id, _, _ = live.user("agent1")
    ticket_id = busiest_ticket(live)
    # Small pages, so that every walk crosses more than three of them.
    paging: dict[str, Any] = (
        {"cursor_pagination": 2} if mode == "cursor" else {"cursor_pagination": False}
    )

    everything = ordered_ids(live, desc=True)
    listed = [skip.id for skip in supervisor.skips(sort_order="desc", **paging)]
    assert listed == everything
    assert len(everything) > 300  # more than three offset pages of 100

    secondary = {"per_page": 2} if mode == "offset" else {"cursor_pagination": 2}
    by_user = walk_secondary(supervisor.users, agent_id, sort_order="desc", **secondary)
    assert by_user == ordered_ids(live, "s.user_id = ?", agent_id, desc=True)
    assert len(by_user) > 6
    by_ticket = walk_secondary(supervisor.tickets, ticket_id, sort_order="desc", **secondary)
    assert by_ticket == ordered_ids(live, "s.ticket_id = ?", ticket_id, desc=True)
    assert len(by_ticket) > 6
