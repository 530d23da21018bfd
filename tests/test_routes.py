"""Routes: with and without ``.json``, no redirects, and the error family for the rest."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from skips.models import Skip
from tests.conftest import client_for
from tests.factories import CaseFactory, SkipFactory

pytestmark = pytest.mark.django_db

LIST_ROUTES = ["/api/v2/skips", "/api/v2/tickets/{ticket}/skips", "/api/v2/users/{user}/skips"]


@pytest.fixture
def case() -> Any:
    return CaseFactory()


def paths(route: str, case: Any, user: Any) -> list[str]:
    path = route.format(ticket=case.pk, user=user.pk)
    return [path, path + ".json"]


@pytest.mark.parametrize("route", [*LIST_ROUTES, "/api/v2/users/me/skips"])
def test_suffix_changes_nothing(route: str, agent: Any, case: Any) -> None:
    SkipFactory(user=agent, ticket=case)
    plain, suffixed = (
        client_for(agent).get(path, HTTP_ACCEPT="*/*") for path in paths(route, case, agent)
    )
    assert plain.status_code == suffixed.status_code == 200
    assert plain.json() == suffixed.json()
    assert plain["Content-Type"] == suffixed["Content-Type"] == "application/json"


@pytest.mark.parametrize("route", ["/api/v2/skips", "/api/v2/tickets/{ticket}/skips"])
def test_post_with_and_without_suffix_is_never_redirected(
    route: str, agent: Any, case: Any
) -> None:
    for path in paths(route, case, agent):
        response = client_for(agent).post_json(path, {"skip": {"ticket_id": case.pk}})
        assert response.status_code == 201, (path, response.status_code)
    assert Skip.objects.count() == 2


@pytest.mark.parametrize("path", ["/api/v2/skips/", "/api/v2/skips.json/", "/api/v2/skips.xml"])
def test_other_forms_are_not_redirected(path: str, agent: Any) -> None:
    response = client_for(agent).post_json(path, {"skip": {"ticket_id": 1}})
    assert response.status_code == 404
    assert not Skip.objects.exists()


@pytest.mark.parametrize(
    ("route", "methods"),
    [
        ("/api/v2/skips", ["put", "patch", "delete"]),
        ("/api/v2/tickets/{ticket}/skips", ["put", "patch", "delete"]),
        ("/api/v2/users/{user}/skips", ["post", "put", "patch", "delete"]),
    ],
)
def test_other_methods_are_405(route: str, methods: list[str], agent: Any, case: Any) -> None:
    for path in paths(route, case, agent):
        for method in methods:
            response = getattr(client_for(agent), method)(path, {}, format="json")
            assert response.status_code == 405, (method, path)
            body = response.json()
            assert body["error"] == "MethodNotAllowed"
            assert method.upper() in body["description"]
            assert response["Content-Type"] == "application/json"


def test_unacceptable_accept_header_is_406(agent: Any) -> None:
    response = client_for(agent).get("/api/v2/skips", HTTP_ACCEPT="application/xml")
    assert response.status_code == 406
    assert response.json()["error"] == "NotAcceptable"
    assert response["Content-Type"] == "application/json"


def test_browsable_api_for_a_logged_in_user(agent: Any) -> None:
    SkipFactory(user=agent)
    c = client_for(None)
    c.force_login(agent)
    response = c.get("/api/v2/skips", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"skips" in response.content
    # The POST form holds the envelope, not the bare serializer fields.
    assert b"&quot;skip&quot;: {" in response.content
    # The suffix still means JSON.
    assert c.get("/api/v2/skips.json", HTTP_ACCEPT="text/html")["Content-Type"] == (
        "application/json"
    )


def test_routes_reverse(case: Any) -> None:
    assert reverse("skips:skip-list") == "/api/v2/skips"
    assert reverse("skips:skip-list", kwargs={"format": "json"}) == "/api/v2/skips.json"
    assert reverse("skips:ticket-skip-list", kwargs={"ticket_id": 7}) == "/api/v2/tickets/7/skips"
    assert reverse("skips:user-skip-list", kwargs={"user_id": "me"}) == "/api/v2/users/me/skips"


@pytest.mark.parametrize("user_id", ["18446744073709551617", "9" * 100, "-1", "0"])
def test_overflowing_path_ids(user_id: str, supervisor: Any) -> None:
    c = client_for(supervisor)
    assert c.get(f"/api/v2/users/{user_id}/skips").status_code == 404
    assert c.get(f"/api/v2/tickets/{user_id}/skips").status_code == 404
    response = c.post_json(f"/api/v2/tickets/{user_id}/skips.json", {"skip": {}})
    assert response.status_code == 404
    assert response.json()["error"] == "RecordNotFound"
