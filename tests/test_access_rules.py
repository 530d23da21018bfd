"""Ticket access rules (``SKIPS_TICKET_ACCESS``) in the API.

The rule of these tests is "the cases of my groups". A ticket a user may not
see behaves exactly like one that does not exist, on every route and for every
role but superusers: same status, same body (the id aside), same counts,
links and cursors.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Q
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from skips.models import Skip
from skips.querysets import visible_tickets
from tests.conftest import client_for
from tests.factories import AgentFactory, CaseFactory, SkipFactory, SupervisorFactory, UserFactory


def my_groups_cases(user: Any) -> Q:
    """A host's rule: an agent sees the cases of their groups."""
    return Q(team__in=user.groups.all())


RULE = f"{__name__}.my_groups_cases"
#: An id no ticket has.
MISSING = 987_654_321


@pytest.fixture
def world(db: Any, settings: Any) -> dict[str, Any]:
    """Two teams; the agent and the supervisor are in the first.

    Every user skipped each of the two teams' cases twice (before the rule
    was on, or while they were still in the team).
    """
    settings.SKIPS_TICKET_ACCESS = RULE
    mine, theirs = Group.objects.create(name="mine"), Group.objects.create(name="theirs")
    agent, supervisor = AgentFactory(), SupervisorFactory()
    superuser = UserFactory(is_superuser=True, is_staff=True)
    for user in (agent, supervisor):
        user.groups.add(mine)
    visible, hidden = CaseFactory(team=mine), CaseFactory(team=theirs)
    archived_hidden = CaseFactory(team=theirs, is_archived=True)
    for user in (agent, supervisor, superuser):
        for case in (visible, hidden, visible, hidden):
            SkipFactory(user=user, ticket=case)
    return {
        "agent": agent,
        "supervisor": supervisor,
        "superuser": superuser,
        "visible": visible,
        "hidden": hidden,
        "archived_hidden": archived_hidden,
    }


def same_but_id(a: Any, b: Any, a_id: int, b_id: int) -> None:
    """Two answers with the same status, headers that matter and body, ids aside."""
    assert a.status_code == b.status_code
    assert a["Content-Type"] == b["Content-Type"]
    body_a = re.sub(rf"\b{a_id}\b", "ID", a.content.decode())
    body_b = re.sub(rf"\b{b_id}\b", "ID", b.content.decode())
    assert body_a == body_b


@pytest.mark.parametrize("role", ["agent", "supervisor"])
@pytest.mark.parametrize("which", ["hidden", "archived_hidden"])
def test_a_hidden_ticket_is_answered_as_a_missing_one(
    world: dict[str, Any], role: str, which: str
) -> None:
    client = client_for(world[role])
    hidden = world[which].pk
    before = Skip.objects.count()
    for method, path, body in [
        ("post", "/api/v2/skips", lambda pk: {"skip": {"ticket_id": pk}}),
        ("post", "/api/v2/tickets/{}/skips", lambda pk: {"skip": {"reason": "x"}}),
        ("post", "/api/v2/tickets/{}/skips.json", lambda pk: {"skip": {}}),
        ("get", "/api/v2/tickets/{}/skips", None),
        ("get", "/api/v2/tickets/{}/skips.json?page[size]=1", None),
        ("get", "/api/v2/tickets/{}/skips?per_page=1&sort_order=desc", None),
    ]:
        answers = []
        for pk in (hidden, MISSING):
            if method == "post":
                answers.append(client.post(path.format(pk), body(pk), format="json"))  # type: ignore[misc]
            else:
                answers.append(client.get(path.format(pk)))
        assert answers[0].status_code in (404, 422), (path, answers[0].content)
        same_but_id(*answers, hidden, MISSING)
    assert Skip.objects.count() == before


def test_the_error_bodies_are_the_missing_tickets(world: dict[str, Any]) -> None:
    client = client_for(world["agent"])
    response = client.post(
        "/api/v2/skips", {"skip": {"ticket_id": world["hidden"].pk}}, format="json"
    )
    assert response.status_code == 422
    assert response.json()["details"] == {
        "ticket_id": [{"description": "no such ticket", "error": "InvalidValue"}]
    }
    response = client.get(f"/api/v2/tickets/{world['hidden'].pk}/skips")
    assert response.status_code == 404
    assert response.json() == {"error": "RecordNotFound", "description": "Not found"}


def test_a_visible_ticket_is_skipped_and_listed(world: dict[str, Any]) -> None:
    client = client_for(world["agent"])
    visible = world["visible"].pk
    response = client.post("/api/v2/skips", {"skip": {"ticket_id": visible}}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["skip"]["ticket"]["id"] == visible
    response = client.post(f"/api/v2/tickets/{visible}/skips", {"skip": {}}, format="json")
    assert response.status_code == 201, response.content
    listed = client.get(f"/api/v2/tickets/{visible}/skips").json()
    assert listed["count"] == 4  # two from before, two just now


def walk(client: Any, path: str, query: str) -> tuple[list[int], list[dict[str, Any]]]:
    """The ids of every page of a list, following its links; and the pages."""
    ids: list[int] = []
    pages = []
    url: str | None = path + query
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append(body)
        ids += [skip["id"] for skip in body["skips"]]
        url = body.get("next_page") or (body.get("links") or {}).get("next")
    return ids, pages


@pytest.mark.parametrize("role", ["agent", "supervisor", "superuser"])
@pytest.mark.parametrize("query", ["?per_page=1", "?page[size]=1", "?page[size]=1&sort_order=desc"])
def test_lists_leave_out_the_skips_of_hidden_tickets(
    world: dict[str, Any], role: str, query: str
) -> None:
    user = world[role]
    client = client_for(user)
    own = Skip.objects.filter(user=user)
    if role != "superuser":
        own = own.filter(ticket__in=visible_tickets(user))
    paths = {
        "/api/v2/skips": Skip.objects.all() if role != "agent" else Skip.objects.filter(user=user),
        "/api/v2/users/me/skips": Skip.objects.filter(user=user),
        f"/api/v2/users/{user.pk}/skips": Skip.objects.filter(user=user),
        f"/api/v2/tickets/{world['visible'].pk}/skips": Skip.objects.filter(
            ticket=world["visible"], **({"user": user} if role == "agent" else {})
        ),
    }
    for path, everything in paths.items():
        expected = everything if role == "superuser" else everything.filter(ticket=world["visible"])
        ids, pages = walk(client, path, query)
        assert sorted(ids) == sorted(expected.values_list("pk", flat=True)), path
        assert ids, path
        if "per_page" in query:
            assert {page["count"] for page in pages} == {len(ids)}, path
        # A hidden ticket's id never shows, whatever the page.
        for page in pages:
            assert all(skip["ticket_id"] != world["hidden"].pk for skip in page["skips"]) or (
                role == "superuser"
            )
    assert own.exists()


def test_a_filter_on_a_hidden_ticket_is_the_filter_on_a_missing_one(
    world: dict[str, Any],
) -> None:
    client = client_for(world["supervisor"])
    for query in ("per_page=5", "page[size]=5"):
        hidden = client.get(f"/api/v2/skips?ticket_id={world['hidden'].pk}&{query}")
        missing = client.get(f"/api/v2/skips?ticket_id={MISSING}&{query}")
        same_but_id(hidden, missing, world["hidden"].pk, MISSING)
        assert hidden.json()["skips"] == []


def test_a_supervisor_reading_another_agents_skips_sees_only_visible_tickets(
    world: dict[str, Any],
) -> None:
    outsider = AgentFactory()  # in no group: sees no case at all
    SkipFactory(user=outsider, ticket=world["visible"])
    client = client_for(world["supervisor"])
    ids, _ = walk(client, f"/api/v2/users/{outsider.pk}/skips", "?per_page=10")
    assert ids == list(Skip.objects.filter(user=outsider).values_list("pk", flat=True))
    # And the outsider sees none of their own skips: they may see no ticket.
    assert walk(client_for(outsider), "/api/v2/users/me/skips", "")[0] == []


def test_the_rule_is_read_at_each_request(world: dict[str, Any], settings: Any) -> None:
    client = client_for(world["agent"])
    assert len(walk(client, "/api/v2/skips", "")[0]) == 2
    settings.SKIPS_TICKET_ACCESS = None
    assert len(walk(client, "/api/v2/skips", "")[0]) == 4
    # Leaving the team hides its cases at once.
    settings.SKIPS_TICKET_ACCESS = RULE
    world["agent"].groups.clear()
    assert walk(client, "/api/v2/skips", "")[0] == []


@pytest.mark.parametrize(
    "path", ["/api/v2/skips", "/api/v2/users/me/skips", "/api/v2/tickets/{visible}/skips"]
)
@pytest.mark.parametrize("query", ["?per_page=100", "?page[size]=100"])
def test_the_rule_adds_no_query(
    world: dict[str, Any], settings: Any, path: str, query: str
) -> None:
    client = client_for(world["supervisor"])
    url = path.format(visible=world["visible"].pk) + query

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    with_rule = queries()
    settings.SKIPS_TICKET_ACCESS = None
    without_rule = queries()
    assert with_rule == without_rule
    settings.SKIPS_TICKET_ACCESS = RULE
    for case in CaseFactory.create_batch(5, team=world["visible"].team):
        SkipFactory(user=world["agent"], ticket=case)
    assert queries() == with_rule


def my_groups_cases_as_a_queryset(user: Any) -> Any:
    """The same rule, written as the tickets themselves."""
    from tests.testapp.models import Case

    return Case.objects.filter(team__in=user.groups.all())


def test_a_rule_may_give_the_tickets_as_a_queryset(world: dict[str, Any], settings: Any) -> None:
    as_q = walk(client_for(world["supervisor"]), "/api/v2/skips", "?per_page=100")[0]
    settings.SKIPS_TICKET_ACCESS = f"{__name__}.my_groups_cases_as_a_queryset"
    assert walk(client_for(world["supervisor"]), "/api/v2/skips", "?per_page=100")[0] == as_q
    hidden = world["hidden"].pk
    response = client_for(world["agent"]).get(f"/api/v2/tickets/{hidden}/skips")
    assert response.status_code == 404


def test_a_rule_giving_anything_else_names_the_setting() -> None:
    from skips.querysets import ticket_access_q

    with (
        override_settings(SKIPS_TICKET_ACCESS=lambda user: ["not", "a", "Q"]),
        pytest.raises(TypeError, match="SKIPS_TICKET_ACCESS returned list"),
    ):
        ticket_access_q(object())


def test_the_rule_is_called_once_a_request(world: dict[str, Any], settings: Any) -> None:
    calls: list[Any] = []

    def counting_rule(user: Any) -> Q:
        calls.append(user)
        return my_groups_cases(user)

    settings.SKIPS_TICKET_ACCESS = counting_rule
    client = client_for(world["supervisor"])
    assert client.get("/api/v2/skips?per_page=5").status_code == 200
    assert len(calls) == 1
    calls.clear()
    visible = world["visible"].pk
    assert (
        client.post("/api/v2/skips", {"skip": {"ticket_id": visible}}, format="json").status_code
        == 201
    )
    assert len(calls) == 1
