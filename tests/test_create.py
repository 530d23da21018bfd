"""Recording a skip: POST skips and POST tickets/{id}/skips."""

from __future__ import annotations

import json
from typing import Any

import pytest

from skips.models import Skip
from skips.signals import skip_recorded
from tests.conftest import client_for
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


def assert_unchanged(before: int = 0) -> None:
    assert Skip.objects.count() == before


def test_record_a_skip(agent: Any) -> None:
    case = CaseFactory()
    response = client_for(agent).post_json(
        "/api/v2/skips.json", {"skip": {"ticket_id": case.pk, "reason": "I have no idea."}}
    )
    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    assert "Location" not in response
    skip = Skip.objects.get()
    body = response.json()["skip"]
    assert body["id"] == skip.pk
    assert body["ticket_id"] == case.pk
    assert body["ticket"]["id"] == case.pk
    assert body["user_id"] == agent.pk
    assert body["reason"] == skip.reason == "I have no idea."


@pytest.mark.parametrize("body", [{"ticket_id": "T"}, {}, {"reason": "x", "ticket_id": 1}])
def test_record_on_ticket_route_takes_the_path_ticket(agent: Any, body: dict[str, Any]) -> None:
    case = CaseFactory()
    CaseFactory()  # ticket 1 might exist: the path still wins
    response = client_for(agent).post_json(f"/api/v2/tickets/{case.pk}/skips", {"skip": body})
    assert response.status_code == 201, response.json()
    assert Skip.objects.get().ticket == case
    assert response.json()["skip"]["ticket_id"] == case.pk


def test_record_on_unknown_path_ticket_is_404(agent: Any) -> None:
    for path in ("/api/v2/tickets/999999/skips", "/api/v2/tickets/abc/skips.json"):
        response = client_for(agent).post_json(path, {"skip": {"reason": "x"}})
        assert response.status_code == 404
        assert response.json() == {"error": "RecordNotFound", "description": "Not found"}
    assert_unchanged()


@pytest.mark.parametrize("reason", ["", None, "é" * 1024, "  spaced  "])
def test_reason_optional_and_kept_as_given(agent: Any, reason: Any) -> None:
    case = CaseFactory()
    skip: dict[str, Any] = {"ticket_id": case.pk}
    if reason is not None:
        skip["reason"] = reason
    response = client_for(agent).post_json("/api/v2/skips", {"skip": skip})
    assert response.status_code == 201
    assert Skip.objects.get().reason == (reason or "")
    assert response.json()["skip"]["reason"] == (reason or "")


def test_explicit_null_reason_is_no_reason(agent: Any) -> None:
    case = CaseFactory()
    response = client_for(agent).post_json(
        "/api/v2/skips", {"skip": {"ticket_id": case.pk, "reason": None}}
    )
    assert response.status_code == 201
    assert Skip.objects.get().reason == ""


def test_the_same_ticket_can_be_skipped_again(agent: Any) -> None:
    case = CaseFactory()
    for _ in range(2):
        response = client_for(agent).post_json("/api/v2/skips", {"skip": {"ticket_id": case.pk}})
        assert response.status_code == 201
    assert Skip.objects.filter(ticket=case, user=agent).count() == 2


def invalid(response: Any, field: str) -> str:
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error"] == "RecordInvalid"
    assert body["description"] == "Record validation errors"
    assert list(body["details"]) == [field]
    (detail,) = body["details"][field]
    assert detail["error"] == "InvalidValue"
    assert detail["description"]
    return detail["description"]


@pytest.mark.parametrize(
    "ticket_id", ["1", 1.0, 1.5, True, False, None, -1, 0, 2**63, 2**64, [1], {"id": 1}]
)
def test_bad_ticket_id_is_422(agent: Any, ticket_id: Any) -> None:
    CaseFactory()  # ticket 1 exists, so that "1" or 1.0 could not pass by accident
    response = client_for(agent).post_json("/api/v2/skips", {"skip": {"ticket_id": ticket_id}})
    invalid(response, "ticket_id")
    assert_unchanged()


def test_missing_ticket_id_is_422(agent: Any) -> None:
    response = client_for(agent).post_json("/api/v2/skips", {"skip": {"reason": "x"}})
    invalid(response, "ticket_id")
    assert_unchanged()


def test_unknown_ticket_is_422(agent: Any) -> None:
    response = client_for(agent).post_json("/api/v2/skips", {"skip": {"ticket_id": 987654}})
    assert "no such ticket" in invalid(response, "ticket_id")
    assert_unchanged()


@pytest.mark.parametrize("route", ["/api/v2/skips", "/api/v2/tickets/{id}/skips"])
def test_archived_ticket_is_422(agent: Any, route: str) -> None:
    case = CaseFactory(is_archived=True)
    response = client_for(agent).post_json(
        route.format(id=case.pk), {"skip": {"ticket_id": case.pk}}
    )
    assert "archived" in invalid(response, "ticket_id")
    assert_unchanged()


@pytest.mark.parametrize(
    "reason", ["x" * 1025, "nul\x00byte", "lone \ud800 surrogate", 5, 1.5, True, ["a"], {"a": 1}]
)
def test_bad_reason_is_422(agent: Any, reason: Any) -> None:
    case = CaseFactory()
    response = client_for(agent).post(
        "/api/v2/skips",
        json.dumps({"skip": {"ticket_id": case.pk, "reason": reason}}),
        content_type="application/json",
    )
    invalid(response, "reason")
    assert_unchanged()


@pytest.mark.parametrize(
    "body",
    [
        "[]",
        '"skip"',
        "1",
        "null",
        "{}",
        '{"skip": null}',
        '{"skip": []}',
        '{"skip": "x"}',
        '{"a":1}',
    ],
)
def test_body_without_a_skip_object_is_400(agent: Any, body: str) -> None:
    response = client_for(agent).post("/api/v2/skips", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "InvalidParameter"
    assert '"skip"' in response.json()["description"]
    assert_unchanged()


@pytest.mark.parametrize("body", ["{", '{"skip": {"ticket_id": 1,}}', "\xff", "NaN-ish"])
def test_unparseable_json_is_400(agent: Any, body: str) -> None:
    response = client_for(agent).post("/api/v2/skips", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "InvalidJSON"
    assert response.json()["description"]
    assert_unchanged()


def test_form_encoded_body_is_415(agent: Any) -> None:
    case = CaseFactory()
    response = client_for(agent).post("/api/v2/skips", {"ticket_id": case.pk})
    assert response.status_code == 415
    assert response.json()["error"] == "UnsupportedMediaType"
    assert response["Content-Type"] == "application/json"
    assert_unchanged()


def test_body_over_the_limit_is_413(agent: Any, settings: Any) -> None:
    settings.SKIPS_MAX_BODY_SIZE = 2048
    case = CaseFactory()
    body = json.dumps({"skip": {"ticket_id": case.pk, "reason": "x" * 1000, "pad": "y" * 2000}})
    response = client_for(agent).post("/api/v2/skips", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"] == "RecordInvalid"
    assert "2048" in response.json()["description"]
    assert_unchanged()


def test_skip_recorded_signal(agent: Any) -> None:
    case = CaseFactory()
    received: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        received.append({"sender": sender, **kwargs})

    skip_recorded.connect(receiver)
    try:
        client_for(agent).post_json("/api/v2/skips", {"skip": {"ticket_id": case.pk}})
    finally:
        skip_recorded.disconnect(receiver)
    skip = Skip.objects.get()
    assert len(received) == 1
    assert received[0]["sender"] is Skip
    assert received[0]["skip"] == skip
    assert received[0]["user"] == agent
    assert received[0]["ticket"] == case


def test_no_signal_when_invalid(agent: Any) -> None:
    received: list[Any] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)

    skip_recorded.connect(receiver)
    try:
        client_for(agent).post_json("/api/v2/skips", {"skip": {"ticket_id": 424242}})
        assert received == []
        client_for(agent).post_json("/api/v2/skips", {"skip": {"ticket_id": CaseFactory().pk}})
        assert len(received) == 1
    finally:
        skip_recorded.disconnect(receiver)


def test_create_reads_the_ticket_once_without_stray_joins(agent: Any) -> None:
    """The ticket is read once (existence, archived state and the embedded object)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    case = CaseFactory()
    c = client_for(agent)
    with CaptureQueriesContext(connection) as queries:
        response = c.post_json("/api/v2/skips", {"skip": {"ticket_id": case.pk}})
    assert response.status_code == 201
    table = f"FROM {connection.ops.quote_name('testapp_case')}"
    ticket_reads = [q["sql"] for q in queries if table in q["sql"]]
    assert len(ticket_reads) == 1
    # The case serializer joins its owner, and nothing else.
    assert ticket_reads[0].count("JOIN") == 1
