"""How many queries a list page runs, through HTTP: a fixed number, whatever the page holds.

A page of 100 skips over many tickets costs: the API token's user (1), the
user's permissions (1, both of them), the count of an offset page (1), the page
(1), and what the ticket serializer reads for the page's tickets (the test
host's: the tickets with their owner, and their labels: 2; the default ticket
serializer: 1). A ticket's or an agent's list looks its ticket or agent up only
when its page is empty.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from skips.models import Skip
from tests.conftest import client_for
from tests.factories import AgentFactory, CaseFactory, SkipFactory, SupervisorFactory

pytestmark = pytest.mark.django_db

#: Queries of a page before the ticket serializer's: token, permissions, page.
BASE = 3
#: The test host's ticket serializer: the tickets (owner joined), their labels.
HOST_TICKETS = 2
#: The default ticket serializer (skips.serializers.TicketSerializer): one values() query.
DEFAULT_TICKETS = 1


@pytest.fixture
def page_world(db: Any) -> dict[str, Any]:
    """105 skips over 7 tickets by 3 agents, and a supervisor to read them."""
    agents = [AgentFactory() for _ in range(3)]
    cases = [CaseFactory() for _ in range(7)]
    for i in range(105):
        SkipFactory(ticket=cases[i % 7], user=agents[i % 3])
    return {"agents": agents, "cases": cases, "supervisor": SupervisorFactory()}


def queries_of(user: Any, url: str, status: int = 200) -> list[str]:
    client = client_for(user)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == status, response.content[:300]
    if status == 200:
        page = response.json()["skips"]
        assert all(skip["ticket"]["id"] == skip["ticket_id"] for skip in page)
    return [query["sql"] for query in captured]


def reading(queries: list[str], table: str) -> list[str]:
    return [sql for sql in queries if f'"{table}"' in sql or f"`{table}`" in sql]


@pytest.mark.parametrize(
    ("url", "count"),
    [
        ("/api/v2/skips?per_page=100", 1),
        ("/api/v2/skips.json?per_page=5", 1),
        ("/api/v2/skips?page[size]=100", 0),
        ("/api/v2/skips?page[size]=5", 0),
    ],
)
def test_a_page_of_the_whole_list(page_world: dict[str, Any], url: str, count: int) -> None:
    queries = queries_of(page_world["supervisor"], url)
    assert len(queries) == BASE + count + HOST_TICKETS, queries


@pytest.mark.parametrize("size", ["per_page=100", "page[size]=100", "per_page=3"])
def test_a_ticket_s_page_looks_nothing_up(page_world: dict[str, Any], size: str) -> None:
    case = page_world["cases"][0]
    queries = queries_of(page_world["supervisor"], f"/api/v2/tickets/{case.pk}/skips?{size}")
    count = 0 if size.startswith("page[") else 1
    assert len(queries) == BASE + count + HOST_TICKETS, queries


@pytest.mark.parametrize("size", ["per_page=100", "page[size]=100"])
def test_another_agent_s_page_looks_nothing_up(page_world: dict[str, Any], size: str) -> None:
    agent = page_world["agents"][1]
    queries = queries_of(page_world["supervisor"], f"/api/v2/users/{agent.pk}/skips?{size}")
    count = 0 if size.startswith("page[") else 1
    assert len(queries) == BASE + count + HOST_TICKETS, queries


def test_one_s_own_page(page_world: dict[str, Any]) -> None:
    agent = page_world["agents"][2]
    for url in ("/api/v2/users/me/skips", f"/api/v2/users/{agent.pk}/skips", "/api/v2/skips"):
        assert len(queries_of(agent, url)) == BASE + 1 + HOST_TICKETS


def test_an_empty_page_looks_its_ticket_or_agent_up(page_world: dict[str, Any]) -> None:
    supervisor = page_world["supervisor"]
    case = CaseFactory()  # no skip
    queries = queries_of(supervisor, f"/api/v2/tickets/{case.pk}/skips")
    # No ticket to render; the ticket is looked up instead.
    assert len(queries) == BASE + 1 + 1, queries
    assert queries_of(supervisor, f"/api/v2/tickets/{case.pk + 1000}/skips", 404)
    idle = AgentFactory()
    assert len(queries_of(supervisor, f"/api/v2/users/{idle.pk}/skips")) == BASE + 1 + 1


def test_the_permissions_are_read_once_in_one_query(page_world: dict[str, Any]) -> None:
    queries = queries_of(page_world["supervisor"], "/api/v2/skips?per_page=100")
    assert len(reading(queries, "auth_permission")) == 1
    assert len(reading(queries, "authtoken_token")) == 1


def test_the_default_ticket_serializer_reads_the_tickets_in_one_query(
    page_world: dict[str, Any], settings: Any
) -> None:
    settings.SKIPS_TICKET_SERIALIZER = "skips.serializers.TicketSerializer"
    queries = queries_of(page_world["supervisor"], "/api/v2/skips?per_page=100")
    assert len(queries) == BASE + 1 + DEFAULT_TICKETS, queries
    queries = queries_of(page_world["supervisor"], "/api/v2/skips?page[size]=100")
    assert len(queries) == BASE + DEFAULT_TICKETS, queries


def test_the_same_number_whatever_the_page_holds(page_world: dict[str, Any]) -> None:
    supervisor = page_world["supervisor"]
    before = len(queries_of(supervisor, "/api/v2/skips?per_page=100"))
    # Seven more tickets on the page: not one query more.
    for case in (CaseFactory() for _ in range(7)):
        for _ in range(3):
            SkipFactory(ticket=case, user=page_world["agents"][0])
    Skip.objects.filter(ticket__in=page_world["cases"][:3]).delete()
    assert len(queries_of(supervisor, "/api/v2/skips?per_page=100")) == before
