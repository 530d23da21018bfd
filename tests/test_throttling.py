"""Optional throttling: off by default; per user; 429 with Retry-After; rate headers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

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
