"""Who may do what, as a generated matrix.

Every route (with and without ``.json``) x every method x every role x every
way in, checked against the table of ``zendesk-conventions.md`` (§ Who may do
what). The expected answer comes from :func:`expect`, a small rule that reads
like the table, not from the implementation; a GET is also checked for what
its list holds (:func:`visible`).

The CSRF rule (session-authenticated writes need the token, token-authenticated
ones do not) is tested in ``test_authentication.py``: ``test_session_post_without_csrf_
token_is_refused``, ``..._with_a_wrong_csrf_token_is_refused``, ``..._with_csrf_token_
succeeds`` and ``test_token_post_needs_no_csrf_token``. Here the session way in
sends the token as a browser would, and :func:`test_csrf_comes_before_405` adds
the methods without a handler.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.middleware.csrf import get_token
from django.test import RequestFactory

from skips.exceptions import FORBIDDEN_DESCRIPTION
from tests.conftest import Client
from tests.factories import AgentFactory, CaseFactory, SkipFactory, SupervisorFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "secret-pass"  # the factories' password
UNKNOWN_ID = 987_654_321
WRONG_KEY = "0" * 40
EMPTY: Any = b"{}"

# The table's words


ROLES = ("anonymous", "inactive agent", "end user", "agent", "supervisor", "superuser")
#: Roles holding skips.add_skip (may record, and read their own).
AGENTS = {"agent", "supervisor", "superuser"}
#: Roles with reports access, skips.view_skip (may read everyone's).
REPORTS = {"supervisor", "superuser"}

WAYS = (
    "session",
    "token",
    "bearer",
    "password, off",
    "password, on",
    "wrong token",
    "deleted user's token",
)
#: Ways in that never sign anybody in.
FAILING_WAYS = {"password, off", "wrong token", "deleted user's token"}

ROUTES = {
    "skips": "skips",
    "tickets/{id}": "tickets/{ticket}/skips",
    "users/{self}": "users/{self}/skips",
    "users/me": "users/me/skips",
    "users/{other}": "users/{other}/skips",
    "users/{unknown}": "users/{unknown}/skips",
}
SUFFIXES = ("", ".json")
METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")
#: The methods each route has a handler for; any other is a 405 once authorised.
HANDLED = {
    "skips": {"GET", "HEAD", "OPTIONS", "POST"},
    "tickets/{id}": {"GET", "HEAD", "OPTIONS", "POST"},
}
USER_ROUTE_METHODS = {"GET", "HEAD", "OPTIONS"}


def handled(route: str) -> set[str]:
    return HANDLED.get(route, USER_ROUTE_METHODS)


def signed_in_as(role: str, way: str) -> str | None:
    """The role a request is served as, or None when nobody is signed in (401).

    An inactive user cannot sign in by any way (Django refuses them, and so do
    the token authenticators); the 403 the table gives them is for a host whose
    lenient backend lets them in (test_permissions.py).
    """
    if role in ("anonymous", "inactive agent") or way in FAILING_WAYS:
        return None
    return role


def expect(route: str, method: str, role: str, way: str) -> int:
    """The status the conventions' table gives this request."""
    who = signed_in_as(role, way)
    if who is None:
        return 401
    if who not in AGENTS and who not in REPORTS:
        return 403  # an end user
    if route in ("users/{other}", "users/{unknown}") and who not in REPORTS:
        return 403  # "403 (also for an unknown id)"
    if method not in handled(route):
        return 405
    if route == "users/{unknown}" and method in ("GET", "HEAD"):
        return 404  # "unknown id 404"
    if method == "POST":
        return 201  # "201 (as itself)"
    return 200


# The world the requests are made in


#: A new user of each role (but anonymous).
FACTORIES: dict[str, Callable[[], Any]] = {
    "inactive agent": lambda: AgentFactory(is_active=False),
    "end user": UserFactory,
    "agent": AgentFactory,
    "supervisor": SupervisorFactory,
    "superuser": lambda: UserFactory(is_superuser=True, is_staff=True),
}


@dataclass
class World:
    users: dict[str, Any]  # by role, plus "other" (an agent with skips)
    ticket: Any
    #: (skip id, author role, ticket name, archived)
    skips: list[tuple[int, str, str, bool]]


@pytest.fixture
def world(db: Any) -> World:
    users = {role: make() for role, make in FACTORIES.items()}
    users["other"] = AgentFactory()
    tickets = {"t": CaseFactory(), "t2": CaseFactory(), "archived": CaseFactory(is_archived=True)}
    made = [
        ("agent", "t"),
        ("agent", "t"),
        ("agent", "t2"),
        ("agent", "archived"),
        ("other", "t"),
        ("other", "t2"),
        ("other", "archived"),
        ("supervisor", "t"),
        ("supervisor", "t2"),
        ("superuser", "t2"),
        ("inactive agent", "t"),  # an agent who left: history still counts
    ]
    skips = [
        (_skip(users[author], tickets[name]), author, name, name == "archived")
        for author, name in made
    ]
    return World(users=users, ticket=tickets["t"], skips=skips)


def _skip(user: Any, ticket: Any) -> int:
    skip: Any = SkipFactory(user=user, ticket=ticket)
    return int(skip.pk)


def visible(route: str, who: str, world: World) -> set[int]:
    """The skips a GET of ``route`` lists for ``who``: the table's "own" or "all"."""
    own_only = who not in REPORTS
    author = {"users/{self}": who, "users/me": who, "users/{other}": "other"}.get(route)
    return {
        skip_id
        for skip_id, by, ticket, archived in world.skips
        if not archived  # "Archived tickets are not included"
        and (author is None or by == author)
        and (not own_only or by == who)
        and (route != "tickets/{id}" or ticket == "t")
    }


# Ways in


def b64(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def key_of(user: Any) -> str:
    return str(user.auth_token.key)


def client_for(role: str, way: str, world: World, settings: Any) -> Client:
    settings.SKIPS_ALLOW_PASSWORD_AUTH = way == "password, on"
    settings.SKIPS_FAILED_AUTH_RATE = None  # 84 failed logins in a row; limits: test_authentication
    client = Client(enforce_csrf_checks=True)
    if role == "anonymous":
        return client
    user = world.users[role]
    if way == "session":
        client.force_login(user)
        request = RequestFactory().get("/")
        token = get_token(request)
        client.cookies[django_settings.CSRF_COOKIE_NAME] = request.META["CSRF_COOKIE"]
        client.defaults["HTTP_X_CSRFTOKEN"] = token
    elif way == "token":
        client.credentials(HTTP_AUTHORIZATION=b64(f"{user.email}/token:{key_of(user)}"))
    elif way == "bearer":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key_of(user)}")
    elif way in ("password, off", "password, on"):
        client.credentials(HTTP_AUTHORIZATION=b64(f"{user.email}:{PASSWORD}"))
    elif way == "wrong token":
        client.credentials(HTTP_AUTHORIZATION=b64(f"{user.email}/token:{WRONG_KEY}"))
    elif way == "deleted user's token":
        gone = FACTORIES[role]()  # a user of this role, then deleted
        key = key_of(gone)
        gone.delete()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    else:  # pragma: no cover
        raise AssertionError(way)
    return client


# The matrix


ROLE_WAYS = [("anonymous", "none")] + [(r, w) for r in ROLES if r != "anonymous" for w in WAYS]
CELLS = [(route, suffix, method) for route in ROUTES for suffix in SUFFIXES for method in METHODS]


def path_of(route: str, suffix: str, role: str, world: World) -> str:
    me = world.users.get(role, world.users["agent"])
    return (
        "/api/v2/"
        + ROUTES[route].format(
            ticket=world.ticket.pk, self=me.pk, other=world.users["other"].pk, unknown=UNKNOWN_ID
        )
        + suffix
    )


def check(response: Any, status: int, route: str, method: str, role: str, world: World) -> None:
    assert response.status_code == status, f"{response.status_code}, expected {status}"
    if method == "HEAD":
        assert response.content == b""
        return
    assert response["Content-Type"] == "application/json"
    body = response.json()
    if status == 401:
        assert body == {"error": "Couldn't authenticate you"}
        assert response["WWW-Authenticate"].startswith("Basic")
    elif status == 403:
        assert body == {"error": "Forbidden", "description": FORBIDDEN_DESCRIPTION}
    elif status == 404:
        assert body == {"error": "RecordNotFound", "description": "Not found"}
    elif status == 405:
        assert body["error"] == "MethodNotAllowed"
        assert method in body["description"]
        allowed = {m.strip() for m in response["Allow"].split(",")}
        assert allowed == handled(route)
    elif status == 201:
        skip = body["skip"]
        assert skip["user_id"] == world.users[role].pk
        assert skip["ticket_id"] == world.ticket.pk
    elif method == "GET":
        listed = [skip["id"] for skip in body["skips"]]
        assert len(listed) == len(set(listed))
        assert set(listed) == visible(route, role, world)
        assert body["count"] == len(listed)
    else:
        assert method == "OPTIONS"
        assert "name" in body


def matrix_params() -> list[Any]:
    return [pytest.param(role, way, id=f"{role} by {way}") for role, way in ROLE_WAYS]


@pytest.mark.parametrize(("role", "way"), matrix_params())
def test_matrix(role: str, way: str, world: World, settings: Any) -> None:
    client = client_for(role, way, world, settings)
    body = json.dumps({"skip": {"ticket_id": world.ticket.pk, "reason": "matrix"}}).encode()
    wrong: list[str] = []
    for route, suffix, method in CELLS:
        path = path_of(route, suffix, role, world)
        status = expect(route, method, role, way)
        # Each cell leaves the database as it found it.
        with transaction.atomic():
            data: Any = b"" if method in ("GET", "HEAD", "OPTIONS") else body
            response = client.generic(method, path, data, content_type="application/json")
            try:
                check(response, status, route, method, role, world)
            except AssertionError as e:
                wrong.append(f"{method} {path}: {e} {response.content[:200]!r}")
            transaction.set_rollback(True)
    assert not wrong, f"{len(wrong)} of {len(CELLS)} cells differ:\n" + "\n".join(wrong)


def test_matrix_size() -> None:
    assert len(ROLE_WAYS) == 1 + 5 * 7
    assert len(CELLS) == len(ROUTES) * len(SUFFIXES) * len(METHODS) == 84
    assert len(CELLS) * len(ROLE_WAYS) == 3024


# Lists, however they are paged


def token_client(user: Any) -> Client:
    client = Client()
    client.credentials(HTTP_AUTHORIZATION=b64(f"{user.email}/token:{key_of(user)}"))
    return client


def follow(client: Client, url: str, limit: int = 50) -> list[dict[str, Any]]:
    """Every skip of every page from ``url`` on, by ``next_page``."""
    skips: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url and limit:
        response = client.get(next_url)
        assert response.status_code == 200, response.content
        skips += response.json()["skips"]
        next_url = response.json()["next_page"]
        limit -= 1
    assert limit, "the pages ended"
    return skips


@pytest.mark.parametrize("route", ["skips", "tickets/{id}", "users/{self}", "users/me"])
@pytest.mark.parametrize("sort_order", [None, "asc", "desc"])
@pytest.mark.parametrize("per_page", [None, 1, 2, 3, 100])
def test_an_agent_never_sees_another_agents_skips_whatever_the_paging(
    route: str, sort_order: str | None, per_page: int | None, world: World
) -> None:
    agent = world.users["agent"]
    params = {"sort_order": sort_order, "per_page": per_page}
    query = "&".join(f"{k}={v}" for k, v in params.items() if v is not None)
    path = path_of(route, ".json", "agent", world) + (f"?{query}" if query else "")
    client = token_client(agent)
    skips = follow(client, path)
    assert {skip["user_id"] for skip in skips} <= {agent.pk}
    ids = [skip["id"] for skip in skips]
    assert len(ids) == len(set(ids))
    assert set(ids) == visible(route, "agent", world)
    # Any page number, past the end too.
    for page in range(1, 6):
        response = client.get(path + ("&" if query else "?") + f"page={page}")
        assert response.status_code == 200
        assert {skip["user_id"] for skip in response.json()["skips"]} <= {agent.pk}


def follow_cursor(client: Client, url: str, limit: int = 50) -> list[dict[str, Any]]:
    """Every skip of every cursor page from ``url`` on, by ``links.next``."""
    skips: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url and limit:
        response = client.get(next_url)
        assert response.status_code == 200, response.content
        skips += response.json()["skips"]
        next_url = response.json()["links"]["next"]
        limit -= 1
    assert limit, "the pages ended"
    return skips


@pytest.mark.parametrize("route", ["skips", "tickets/{id}", "users/{self}", "users/me"])
@pytest.mark.parametrize("sort_order", ["asc", "desc"])
@pytest.mark.parametrize("size", [1, 2, 100])
def test_an_agent_never_sees_another_agents_skips_in_cursor_pages(
    route: str, sort_order: str, size: int, world: World
) -> None:
    agent = world.users["agent"]
    path = path_of(route, "", "agent", world) + f"?sort_order={sort_order}&page[size]={size}"
    skips = follow_cursor(token_client(agent), path)
    ids = [skip["id"] for skip in skips]
    assert {skip["user_id"] for skip in skips} <= {agent.pk}
    assert len(ids) == len(set(ids))
    assert set(ids) == visible(route, "agent", world)


def replay(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


@pytest.mark.parametrize("route", ["skips", "tickets/{id}", "users/me"])
def test_a_next_page_link_replayed_by_another_user_shows_only_their_own(
    route: str, world: World
) -> None:
    supervisor, agent = world.users["supervisor"], world.users["agent"]
    path = path_of(route, ".json", "supervisor", world) + "?per_page=1"
    first = token_client(supervisor).get(path).json()
    assert first["next_page"], "the supervisor's list has a second page"
    for user, role in ((agent, "agent"), (world.users["other"], "other")):
        skips = follow(token_client(user), replay(first["next_page"]))
        assert {skip["user_id"] for skip in skips} <= {user.pk}
        if route != "users/me":  # "me" is whoever asks: theirs, from page 2 on
            assert {skip["id"] for skip in skips} <= visible(route, role, world)


@pytest.mark.parametrize("route", ["skips", "tickets/{id}", "users/me"])
def test_a_cursor_link_replayed_by_another_user_is_a_400(route: str, world: World) -> None:
    """A foreign cursor is a 400 ("never someone else's data")."""
    supervisor = world.users["supervisor"]
    path = path_of(route, ".json", "supervisor", world) + "?page[size]=1"
    links = token_client(supervisor).get(path).json()["links"]
    assert links["next"], "the supervisor's list has a second page"
    for role in ("agent", "other"):
        response = token_client(world.users[role]).get(replay(links["next"]))
        assert response.status_code == 400, response.content
        assert response.json()["error"] == "InvalidPaginationParameter"
        assert "skips" not in response.json()


def test_a_next_page_link_of_another_agents_list_is_refused(world: World) -> None:
    supervisor = world.users["supervisor"]
    path = path_of("users/{other}", "", "supervisor", world) + "?per_page=1"
    link = token_client(supervisor).get(path).json()["next_page"]
    assert link
    response = token_client(world.users["agent"]).get(replay(link))
    assert response.status_code == 403
    assert response.json() == {"error": "Forbidden", "description": FORBIDDEN_DESCRIPTION}
    assert Client().get(replay(link)).status_code == 401


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_csrf_comes_before_405(method: str, world: World) -> None:
    """A session write without the CSRF token is refused before the method is."""
    session = Client(enforce_csrf_checks=True)
    session.force_login(world.users["agent"])
    response = session.generic(method, "/api/v2/skips", EMPTY, content_type="application/json")
    assert response.status_code == 403
    assert response.json() == {"error": "Forbidden", "description": FORBIDDEN_DESCRIPTION}
    token = token_client(world.users["agent"])
    token.handler.enforce_csrf_checks = True
    response = token.generic(method, "/api/v2/skips", EMPTY, content_type="application/json")
    assert response.status_code == 405
