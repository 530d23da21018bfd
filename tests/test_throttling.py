"""Optional throttling: off by default; per user; 429 with Retry-After; rate headers.

The failed-authentication limits are tested through HTTP in test_authentication.py;
their settings' checks are here.
"""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from skips.models import Skip
from tests.conftest import client_for
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def test_off_by_default(agent: Any) -> None:
    c = client_for(agent)
    for _ in range(30):
        response = c.get("/api/v2/skips")
        assert response.status_code == 200
        assert "X-Rate-Limit" not in response


def test_headers_count_down_then_429(agent: Any, settings: Any) -> None:
    settings.SKIPS_THROTTLE_RATE = "3/min"
    c = client_for(agent)
    remaining = []
    for _ in range(3):
        response = c.get("/api/v2/skips.json")
        assert response.status_code == 200
        assert response["X-Rate-Limit"] == "3"
        remaining.append(response["X-Rate-Limit-Remaining"])
    assert remaining == ["2", "1", "0"]
    throttled = c.get("/api/v2/skips")
    assert throttled.status_code == 429
    assert throttled["Content-Type"] == "application/json"
    body = throttled.json()
    assert body["error"] == "TooManyRequests"
    assert body["description"]
    assert 1 <= int(throttled["Retry-After"]) <= 60
    assert throttled["X-Rate-Limit-Remaining"] == "0"


def test_a_throttled_post_records_nothing(agent: Any, settings: Any) -> None:
    settings.SKIPS_THROTTLE_RATE = "1/min"
    case = CaseFactory()
    c = client_for(agent)
    assert c.post_json("/api/v2/skips", {"skip": {"ticket_id": case.pk}}).status_code == 201
    response = c.post_json("/api/v2/skips", {"skip": {"ticket_id": case.pk}})
    assert response.status_code == 429
    assert Skip.objects.count() == 1


def test_an_exhausted_user_does_not_throttle_another(
    agent: Any, other_agent: Any, settings: Any
) -> None:
    settings.SKIPS_THROTTLE_RATE = "2/hour"
    c = client_for(agent)
    for _ in range(2):
        c.get("/api/v2/skips")
    assert c.get("/api/v2/skips").status_code == 429
    other = client_for(other_agent).get("/api/v2/skips")
    assert other.status_code == 200
    assert other["X-Rate-Limit-Remaining"] == "1"


def test_the_limit_spans_every_skips_route(agent: Any, settings: Any) -> None:
    settings.SKIPS_THROTTLE_RATE = "3/min"
    case = CaseFactory()
    c = client_for(agent)
    assert c.get("/api/v2/users/me/skips").status_code == 200
    assert c.get(f"/api/v2/tickets/{case.pk}/skips.json").status_code == 200
    assert c.post_json("/api/v2/skips", {"skip": {"ticket_id": case.pk}}).status_code == 201
    assert c.get("/api/v2/skips").status_code == 429


# The failed-authentication limits' settings (skips.E012, skips.W012)


def skips_messages() -> list[Any]:
    from django.core.checks import run_checks

    return [m for m in run_checks() if m.id and m.id.startswith("skips.")]


@pytest.mark.parametrize("name", ["SKIPS_FAILED_AUTH_RATE", "SKIPS_FAILED_TOKEN_RATE"])
@pytest.mark.parametrize("value", ["", "ten/min", "10", "0/min", "10/fortnight", 10, ["10/min"]])
def test_a_bad_failed_auth_rate_is_e012(name: str, value: Any, settings: Any) -> None:
    setattr(settings, name, value)
    messages = skips_messages()
    assert [m.id for m in messages] == ["skips.E012"]
    assert name in messages[0].msg
    with pytest.raises(SystemCheckError, match=r"skips\.E012"):
        call_command("check", stdout=StringIO(), stderr=StringIO())


@pytest.mark.parametrize("name", ["SKIPS_FAILED_AUTH_RATE", "SKIPS_FAILED_TOKEN_RATE"])
@pytest.mark.parametrize("value", [None, "10/min", "1/s", "100/hour", "1000/day"])
def test_a_valid_failed_auth_rate_gives_no_error(name: str, value: Any, settings: Any) -> None:
    setattr(settings, name, value)
    assert [m.id for m in skips_messages() if m.id == "skips.E012"] == []


@pytest.mark.parametrize(
    ("overrides", "warned"),
    [
        ({}, False),  # no password logins, no token limit: nothing is counted by address
        ({"SKIPS_ALLOW_PASSWORD_AUTH": True}, True),
        ({"SKIPS_ALLOW_PASSWORD_AUTH": True, "SKIPS_FAILED_AUTH_RATE": None}, False),
        ({"SKIPS_FAILED_TOKEN_RATE": "60/min"}, True),
        ({"SKIPS_ALLOW_PASSWORD_AUTH": True, "NUM_PROXIES": 0}, False),
        ({"SKIPS_FAILED_TOKEN_RATE": "60/min", "NUM_PROXIES": 1}, False),
    ],
)
def test_counting_by_address_without_num_proxies_is_w012(
    overrides: dict[str, Any], warned: bool, settings: Any
) -> None:
    for name, value in overrides.items():
        if name == "NUM_PROXIES":
            settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, name: value}
        else:
            setattr(settings, name, value)
    ids = [m.id for m in skips_messages()]
    assert ids == (["skips.W012"] if warned else [])
    call_command("check", stdout=StringIO(), stderr=StringIO())  # a warning, not an error
