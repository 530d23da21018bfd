"""The lookups every request makes, in fewer queries, with the same answers.

- The user's permissions: one query under ModelBackend (its own cache filled as
  it fills it: the user's own permissions and their groups'), read anew at
  each request; any other backend is asked as Django asks it.
- The API token's user: one query, compiled once.
- A ticket's or an agent's list looks it up only when the page is empty.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from skips import views
from skips.authentication import authtoken_user
from skips.permissions import load_permissions
from tests.conftest import client_for
from tests.factories import (
    AgentFactory,
    CaseFactory,
    SkipFactory,
    SupervisorFactory,
    UserFactory,
    grant,
)
from tests.testapp.models import Agent, Case

pytestmark = pytest.mark.django_db

FORBIDDEN = 403


def permission(codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label="skips", codename=codename)


def fresh(user: Any) -> Any:
    return Agent.objects.get(pk=user.pk)


def permission_queries(user: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        load_permissions(user)
    return sum('"auth_permission"' in q["sql"] or "`auth_permission`" in q["sql"] for q in captured)


# Permissions


def test_own_and_group_permissions_in_one_query(db: Any) -> None:
    user = UserFactory()
    group = Group.objects.create(name="reports")
    group.permissions.add(permission("view_skip"))
    user.groups.add(group)
    user.user_permissions.add(permission("add_skip"))
    user = fresh(user)
    assert permission_queries(user) == 1
    expected = ModelBackend().get_all_permissions(fresh(user))
    assert user._perm_cache == expected == {"skips.view_skip", "skips.add_skip"}
    with CaptureQueriesContext(connection) as captured:
        assert user.has_perm("skips.view_skip")
        assert user.has_perm("skips.add_skip")
        assert not user.has_perm("skips.delete_skip")
    assert len(captured) == 0


def test_nothing_is_read_for_whom_django_reads_nothing(db: Any) -> None:
    superuser = fresh(UserFactory(is_superuser=True))
    inactive = fresh(AgentFactory(is_active=False))
    for user in (superuser, inactive):
        assert permission_queries(user) == 0
        assert not hasattr(user, "_perm_cache")
    assert superuser.has_perm("skips.view_skip")
    assert not inactive.has_perm("skips.add_skip")


def test_permissions_are_read_anew_at_each_request(db: Any) -> None:
    agent = SupervisorFactory()
    client = client_for(agent)
    assert client.get("/api/v2/skips").status_code == 200
    agent.user_permissions.clear()
    assert client.get("/api/v2/skips").status_code == FORBIDDEN
    group = Group.objects.create(name="agents")
    group.permissions.add(permission("add_skip"))
    agent.groups.add(group)
    assert client.get("/api/v2/skips").status_code == 200


class EveryoneReports(ModelBackend):
    """A host's backend that grants reports access its own way."""

    def get_user_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return {*super().get_user_permissions(user_obj, obj), "skips.view_skip"}


class ReportsByEmail:
    """A backend that is not ModelBackend: reports access for @boss addresses."""

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        return perm == "skips.view_skip" and user_obj.email.endswith("@boss.example.com")


@pytest.mark.parametrize(
    "backends",
    [
        ["tests.test_python_share_lookups.EveryoneReports"],
        [
            "django.contrib.auth.backends.ModelBackend",
            "tests.test_python_share_lookups.ReportsByEmail",
        ],
    ],
    ids=["a ModelBackend of its own", "another backend beside"],
)
def test_a_host_s_backend_is_asked_as_django_asks_it(
    db: Any, settings: Any, backends: list[str]
) -> None:
    settings.AUTHENTICATION_BACKENDS = backends
    reporter = grant(UserFactory(email="ada@boss.example.com"), "add_skip")
    other = AgentFactory()
    SkipFactory(user=other)
    assert permission_queries(fresh(reporter)) == 0  # Django's own reads, later
    listed = client_for(reporter).get(f"/api/v2/users/{other.pk}/skips").json()["skips"]
    assert [skip["user_id"] for skip in listed] == [other.pk]


def test_a_model_backend_subclass_that_keeps_the_reading_is_served(db: Any, settings: Any) -> None:
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.AllowAllUsersModelBackend"]
    assert permission_queries(fresh(SupervisorFactory())) == 1


# The API token's user


def test_the_token_s_user_is_the_orm_s(db: Any) -> None:
    for user in (AgentFactory(), AgentFactory(is_active=False), UserFactory(is_superuser=True)):
        key = Token.objects.get(user=user).key
        expected = Token.objects.select_related("user").get(key=key).user
        with CaptureQueriesContext(connection) as captured:
            found = authtoken_user(key)
        assert len(captured) == 1
        assert type(found) is Agent
        for field in Agent._meta.concrete_fields:
            assert getattr(found, field.attname) == getattr(expected, field.attname)
        assert found.is_active is expected.is_active
        assert found._state.adding is False
    assert authtoken_user("0" * 40) is None
    assert authtoken_user("") is None
    assert authtoken_user("it's %s a key") is None


def test_an_inactive_user_s_token_lets_nobody_in(db: Any) -> None:
    inactive = AgentFactory(is_active=False)
    assert client_for(inactive).get("/api/v2/skips").status_code == 401


# A ticket's or an agent's list


def test_an_empty_ticket_list_is_a_404_only_when_the_ticket_is_not_there(
    db: Any, settings: Any
) -> None:
    supervisor = SupervisorFactory()
    client = client_for(supervisor)
    quiet, archived = CaseFactory(), CaseFactory(is_archived=True)
    SkipFactory(ticket=archived)
    assert client.get(f"/api/v2/tickets/{quiet.pk}/skips").json()["skips"] == []
    assert client.get(f"/api/v2/tickets/{archived.pk}/skips").json()["skips"] == []
    missing = quiet.pk + archived.pk + 1000
    for path in (f"/api/v2/tickets/{missing}/skips", "/api/v2/tickets/0/skips"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json() == {"error": "RecordNotFound", "description": "Not found"}
    # Past the end of a ticket's list: its page is empty, the ticket is there.
    SkipFactory(ticket=quiet)
    assert client.get(f"/api/v2/tickets/{quiet.pk}/skips?page=2&per_page=1").status_code == 200
    assert client.get(f"/api/v2/tickets/{missing}/skips?page=2&per_page=1").status_code == 404


def test_an_empty_agent_list_is_a_404_only_when_the_agent_is_not_there(db: Any) -> None:
    client = client_for(SupervisorFactory())
    idle = AgentFactory()
    assert client.get(f"/api/v2/users/{idle.pk}/skips").json()["skips"] == []
    assert client.get(f"/api/v2/users/{idle.pk + 1000}/skips").status_code == 404
    assert client.get(f"/api/v2/users/{idle.pk}/skips?reason=nothing-like-it").status_code == 200


class CountingTicketView(views.TicketSkipListView):
    looked_up: list[Any] = []

    def get_ticket(self) -> Any:
        ticket = super().get_ticket()
        self.looked_up.append(ticket.pk)
        return ticket


class CountingUserView(views.UserSkipListView):
    looked_up: list[Any] = []

    def get_user(self) -> Any:
        user = super().get_user()
        self.looked_up.append(user.pk)
        return user


def test_a_view_that_overrides_the_lookup_is_asked_at_each_request(rf: Any, db: Any) -> None:
    supervisor = SupervisorFactory()
    skip = SkipFactory()
    header = {"HTTP_AUTHORIZATION": client_for(supervisor)._credentials["HTTP_AUTHORIZATION"]}
    ticket_view = CountingTicketView.as_view()
    response = ticket_view(rf.get("/", **header), ticket_id=str(skip.ticket_id))
    assert response.status_code == 200
    assert CountingTicketView.looked_up == [skip.ticket_id]
    user_view = CountingUserView.as_view()
    response = user_view(rf.get("/", **header), user_id=str(skip.user_id))
    assert response.status_code == 200
    assert CountingUserView.looked_up == [skip.user_id]


class OpenCases(models.Manager[Case]):
    """A default manager that hides some rows (archived cases)."""

    def get_queryset(self) -> models.QuerySet[Case]:
        return super().get_queryset().filter(is_archived=False)


def test_a_default_manager_that_hides_rows_is_asked(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = OpenCases()
    manager.model = Case
    assert views._lists_every_row(Case)
    assert not views._lists_every_row(SimpleNamespace(_default_manager=manager))  # type: ignore[arg-type]
    # Then the list looks its ticket up first, as it always did: one query more.
    supervisor = SupervisorFactory()
    skip = SkipFactory()
    path = f"/api/v2/tickets/{skip.ticket_id}/skips"

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client_for(supervisor).get(path)
        assert [s["id"] for s in response.json()["skips"]] == [skip.pk]
        return len(captured)

    deferred = queries()
    monkeypatch.setattr(views, "_lists_every_row", lambda model: False)
    assert queries() == deferred + 1
