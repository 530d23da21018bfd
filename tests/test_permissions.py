"""The permission table of the conventions page, row by row."""

from __future__ import annotations

from typing import Any

import pytest

from skips.exceptions import FORBIDDEN_DESCRIPTION
from skips.models import Skip
from tests.conftest import client_for
from tests.factories import CaseFactory, SkipFactory, UserFactory, grant

pytestmark = pytest.mark.django_db

FORBIDDEN = {"error": "Forbidden", "description": FORBIDDEN_DESCRIPTION}
UNAUTHENTICATED = {"error": "Couldn't authenticate you"}


@pytest.fixture
def world(agent: Any, other_agent: Any, supervisor: Any) -> dict[str, Any]:
    case = CaseFactory()
    return {
        "case": case,
        "mine": SkipFactory.create_batch(2, user=agent, ticket=case),
        "theirs": SkipFactory.create_batch(3, user=other_agent, ticket=case),
        "elsewhere": SkipFactory.create_batch(1, user=other_agent),
    }


def ids(response: Any) -> set[int]:
    return {skip["id"] for skip in response.json()["skips"]}


def pks(skips: list[Skip]) -> set[int]:
    return {skip.pk for skip in skips}


def role(name: str, request: Any) -> Any:
    if name == "anonymous":
        return None
    if name == "inactive_agent":
        user = request.getfixturevalue("agent")
        user.is_active = False
        user.save()
        return user
    return request.getfixturevalue(name)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 401),
        ("end_user", 403),
        ("agent", 201),
        ("supervisor", 201),
        ("superuser", 201),
    ],
)
def test_post_skips(who: str, status: int, request: Any) -> None:
    user = role(who, request)
    case = CaseFactory()
    response = client_for(user).post_json("/api/v2/skips", {"skip": {"ticket_id": case.pk}})
    assert response.status_code == status
    if status == 201:
        assert response.json()["skip"]["user_id"] == user.pk
        assert Skip.objects.get().user == user
    else:
        assert response.json() == (UNAUTHENTICATED if status == 401 else FORBIDDEN)
        assert not Skip.objects.exists()


def test_view_only_user_cannot_record(world: Any) -> None:
    viewer = grant(UserFactory(), "view_skip")
    response = client_for(viewer).post_json(
        "/api/v2/skips", {"skip": {"ticket_id": world["case"].pk}}
    )
    assert response.status_code == 403
    assert response.json() == FORBIDDEN


def test_inactive_user_by_session_is_forbidden(world: Any, agent: Any) -> None:
    """An inactive user let in by a lenient backend still gets nothing."""
    agent.is_active = False
    agent.save()
    c = client_for(None)
    c.force_authenticate(agent)
    response = c.get("/api/v2/skips")
    assert response.status_code == 403
    assert response.json() == FORBIDDEN


@pytest.mark.parametrize("path", ["/api/v2/skips", "/api/v2/skips.json"])
def test_get_skips(path: str, world: Any, agent: Any, supervisor: Any, end_user: Any) -> None:
    assert client_for(None).get(path).status_code == 401
    assert client_for(end_user).get(path).json() == FORBIDDEN
    assert ids(client_for(agent).get(path)) == pks(world["mine"])
    everything = pks(world["mine"] + world["theirs"] + world["elsewhere"])
    assert ids(client_for(supervisor).get(path)) == everything


def test_get_ticket_skips(world: Any, agent: Any, supervisor: Any, end_user: Any) -> None:
    path = f"/api/v2/tickets/{world['case'].pk}/skips"
    assert client_for(None).get(path).status_code == 401
    assert client_for(end_user).get(path).json() == FORBIDDEN
    assert ids(client_for(agent).get(path)) == pks(world["mine"])
    assert ids(client_for(supervisor).get(path)) == pks(world["mine"] + world["theirs"])


@pytest.mark.parametrize("who", ["agent", "supervisor"])
def test_get_own_user_skips(who: str, world: Any, request: Any) -> None:
    user = request.getfixturevalue(who)
    own = pks(list(Skip.objects.filter(user=user)))
    for path in (f"/api/v2/users/{user.pk}/skips", "/api/v2/users/me/skips.json"):
        response = client_for(user).get(path)
        assert response.status_code == 200
        assert ids(response) == own
    assert client_for(None).get("/api/v2/users/me/skips").status_code == 401


def test_end_user_cannot_read_own_user_skips(end_user: Any) -> None:
    response = client_for(end_user).get("/api/v2/users/me/skips")
    assert response.status_code == 403
    assert response.json() == FORBIDDEN


def test_get_other_user_skips(world: Any, agent: Any, other_agent: Any, supervisor: Any) -> None:
    path = f"/api/v2/users/{other_agent.pk}/skips"
    # An agent without reports access: 403, for an unknown id too.
    assert client_for(agent).get(path).json() == FORBIDDEN
    assert client_for(agent).get("/api/v2/users/999999/skips").status_code == 403
    assert client_for(agent).get("/api/v2/users/nobody/skips").status_code == 403
    # Reports access: the other agent's skips; an unknown id is a 404.
    response = client_for(supervisor).get(path)
    assert response.status_code == 200
    assert ids(response) == pks(world["theirs"] + world["elsewhere"])
    missing = client_for(supervisor).get("/api/v2/users/999999/skips")
    assert missing.status_code == 404
    assert missing.json() == {"error": "RecordNotFound", "description": "Not found"}
    assert client_for(supervisor).get("/api/v2/users/nobody/skips").status_code == 404


def test_superuser_reads_everything(world: Any, superuser: Any) -> None:
    assert len(ids(client_for(superuser).get("/api/v2/skips"))) == 6


def test_body_user_id_is_ignored(agent: Any, other_agent: Any) -> None:
    case = CaseFactory()
    body = {
        "skip": {
            "ticket_id": case.pk,
            "user_id": other_agent.pk,
            "id": 4242,
            "created_at": "2001-01-01T00:00:00Z",
            "updated_at": "2001-01-01T00:00:00Z",
        }
    }
    response = client_for(agent).post_json("/api/v2/skips", body)
    assert response.status_code == 201
    skip = Skip.objects.get()
    assert skip.user == agent
    assert skip.pk != 4242
    assert skip.created_at.year != 2001
    assert response.json()["skip"]["user_id"] == agent.pk


def test_permissions_granted_through_groups(db: Any) -> None:
    from django.contrib.auth.models import Group, Permission

    group = Group.objects.create(name="Agents")
    group.permissions.add(Permission.objects.get(codename="add_skip"))
    user = UserFactory()
    user.groups.add(group)
    SkipFactory(user=user)
    SkipFactory()
    response = client_for(user).get("/api/v2/skips")
    assert response.status_code == 200
    assert len(response.json()["skips"]) == 1
