"""Headers a client controls, bodies refused before anything reads them, and caching.

Each case keeps the hostile catalogue's guarantee: the documented status, a JSON
error body, ``Content-Type: application/json`` and an unchanged database.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test.client import FakePayload

from skips.models import Skip
from tests.conftest import Client, basic, client_for
from tests.factories import CaseFactory, SkipFactory

JSON = "application/json"


class CountingPayload(FakePayload):
    """A request body that remembers how many bytes were read from it."""

    def __init__(self, content: bytes) -> None:
        super().__init__(content)
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readline(self, size: int | None = None) -> bytes:
        line = super().readline(size)
        self.bytes_read += len(line)
        return line


def assert_error(response: Any, status: int, error: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == JSON
    assert response.json()["error"] == error


@pytest.mark.parametrize(
    "length",
    ["\u00b2", "\u0663", "\uff11\uff12", "12a", "-5", "1e3", " 12", "0x10", "1" * 40],
    ids=[
        "superscript two",
        "arabic-indic three",
        "fullwidth",
        "letters",
        "negative",
        "exponent",
        "leading space",
        "hex",
        "forty digits",
    ],
)
def test_a_content_length_that_is_not_ascii_digits_is_a_400(agent: Any, length: str) -> None:
    body = json.dumps({"skip": {"ticket_id": CaseFactory().pk}}).encode()
    before = Skip.objects.count()
    response = client_for(agent).generic(
        "POST", "/api/v2/skips", body, content_type=JSON, CONTENT_LENGTH=length
    )
    if length == "1" * 40:  # digits, just too many bytes
        assert_error(response, 413, "RecordInvalid")
    else:
        assert_error(response, 400, "InvalidParameter")
        assert "Content-Length" in response.json()["description"]
    assert Skip.objects.count() == before


@pytest.mark.parametrize("content_type", [JSON, "application/x-www-form-urlencoded"])
def test_an_over_long_session_post_is_refused_before_its_body_is_read(
    agent: Any, settings: Any, content_type: str
) -> None:
    """The CSRF check of a session reads a form body: the limit comes first."""
    settings.SKIPS_MAX_BODY_SIZE = 1024
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    payload = CountingPayload(b"csrfmiddlewaretoken=x&" + b"a" * 3_000_000)
    before = Skip.objects.count()
    response = client.generic(
        "POST",
        "/api/v2/skips",
        b"",
        content_type=content_type,
        **{"wsgi.input": payload, "CONTENT_LENGTH": str(len(payload))},
    )
    assert_error(response, 413, "RecordInvalid")
    assert payload.bytes_read == 0
    assert Skip.objects.count() == before


def test_a_session_post_within_the_limit_still_needs_its_csrf_token(agent: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    body = json.dumps({"skip": {"ticket_id": CaseFactory().pk}})
    response = client.post("/api/v2/skips", body, content_type=JSON)
    assert_error(response, 403, "Forbidden")


def _answers(agent: Any, supervisor: Any, settings: Any) -> dict[str, Any]:
    case = CaseFactory()
    SkipFactory(user=agent, ticket=case)
    as_agent = client_for(agent)
    body = {"skip": {"ticket_id": case.pk}}
    answers = {
        "200 list": as_agent.get("/api/v2/skips"),
        "200 cursor page": as_agent.get("/api/v2/skips.json?page[size]=1"),
        "200 ticket list": client_for(supervisor).get(f"/api/v2/tickets/{case.pk}/skips"),
        "201": as_agent.post("/api/v2/skips", body, format="json"),
        "400": as_agent.get("/api/v2/skips?sort_order=up"),
        "401": Client().get("/api/v2/skips", HTTP_AUTHORIZATION="Bearer wrong"),
        "403": client_for(agent).get(f"/api/v2/users/{supervisor.pk}/skips"),
        "404": as_agent.get("/api/v2/tickets/987654321/skips"),
        "405": as_agent.delete("/api/v2/skips"),
        "406": as_agent.get("/api/v2/skips", HTTP_ACCEPT="text/csv"),
        "413": as_agent.generic(
            "POST", "/api/v2/skips", b"{}", content_type=JSON, CONTENT_LENGTH="99999999"
        ),
        "415": as_agent.post("/api/v2/skips", "x", content_type="text/plain"),
        "422": as_agent.post("/api/v2/skips", {"skip": {"ticket_id": 987654321}}, format="json"),
        "OPTIONS": as_agent.options("/api/v2/skips"),
        "HEAD": as_agent.head("/api/v2/skips"),
    }
    settings.SKIPS_THROTTLE_RATE = "1/min"
    throttled = Client()
    throttled.credentials(HTTP_AUTHORIZATION=basic(supervisor))
    throttled.get("/api/v2/skips")
    answers["429"] = throttled.get("/api/v2/skips")
    return answers


def test_no_answer_may_be_kept_by_a_shared_cache(
    agent: Any, supervisor: Any, settings: Any
) -> None:
    from django.core.cache import cache

    cache.clear()
    answers = _answers(agent, supervisor, settings)
    cache.clear()
    statuses = {name: response.status_code for name, response in answers.items()}
    for name, response in answers.items():
        if name[:3].isdigit():
            assert response.status_code == int(name[:3]), (name, response.content[:200])
        directives = {d.strip() for d in response["Cache-Control"].split(",")}
        assert {"no-store", "private"} <= directives, (name, statuses[name])
