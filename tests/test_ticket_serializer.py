"""The default ticket serializer is safe: an allow-list, never the host's secrets.

The test host's ``Case`` holds ``secret_key``, ``password``, ``token``,
``internal_note`` and ``api_key`` (each filled with a ``SECRET-`` value by the
factory). With the default ``SKIPS_TICKET_SERIALIZER`` and with a subclass
that adds columns, none of them appears in any answer of any route.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import models
from django.test.utils import isolate_apps

from skips.serializers import REFERENCE_TICKET_FIELDS, TicketSerializer
from tests.conftest import client_for
from tests.factories import CaseFactory, SkipFactory, SupervisorFactory, UserFactory

SECRET = b"SECRET-"
SECRET_COLUMNS = ("secret_key", "password", "token", "internal_note", "api_key")


class CaseWithTitle(TicketSerializer):
    """The documented recipe: name more columns in a subclass."""

    extra_fields = ("title", "owner", "opened_at")


@pytest.fixture(params=["default", "with extra fields"])
def ticket_serializer(request: Any, settings: Any) -> str:
    settings.SKIPS_TICKET_SERIALIZER = (
        "skips.serializers.TicketSerializer"
        if request.param == "default"
        else f"{__name__}.CaseWithTitle"
    )
    return str(request.param)


def test_default_renders_only_id_and_url_of_a_model_without_reference_columns(
    agent: Any, settings: Any
) -> None:
    settings.SKIPS_TICKET_SERIALIZER = "skips.serializers.TicketSerializer"
    case = CaseFactory()
    SkipFactory(user=agent, ticket=case)
    ticket = client_for(agent).get("/api/v2/skips").json()["skips"][0]["ticket"]
    assert ticket == {"id": case.pk, "url": f"http://testserver/api/v2/tickets/{case.pk}.json"}


def test_extra_fields_add_columns_by_field_or_column_name(agent: Any, settings: Any) -> None:
    settings.SKIPS_TICKET_SERIALIZER = f"{__name__}.CaseWithTitle"
    case = CaseFactory()
    SkipFactory(user=agent, ticket=case)
    ticket = client_for(agent).get("/api/v2/skips").json()["skips"][0]["ticket"]
    opened = case.opened_at.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ticket == {
        "id": case.pk,
        "opened_at": opened,
        "owner_id": case.owner_id,
        "title": case.title,
        "url": f"http://testserver/api/v2/tickets/{case.pk}.json",
    }
    response = client_for(agent).post(
        "/api/v2/skips", {"skip": {"ticket_id": case.pk}}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["skip"]["ticket"] == ticket


@isolate_apps("tests.testapp")
def test_the_allow_list_is_the_reference_keys_the_model_has(monkeypatch: Any) -> None:
    class Person(models.Model):  # noqa: DJ008
        class Meta:
            app_label = "testapp"

    class Ticket(models.Model):  # noqa: DJ008
        subject = models.CharField(max_length=100)
        status = models.CharField(max_length=10, null=True)  # noqa: DJ001
        requester = models.ForeignKey(Person, on_delete=models.CASCADE)
        created_at = models.DateTimeField()
        tags = models.JSONField(default=list)
        signing_secret = models.CharField(max_length=64)
        title = models.CharField(max_length=100)

        class Meta:
            app_label = "testapp"

    monkeypatch.setattr("skips.serializers.tickets.get_ticket_model", lambda: Ticket)
    names = [field.attname for field in TicketSerializer.get_columns()]
    assert names == ["created_at", "requester_id", "status", "subject", "tags"]
    assert set(names) <= REFERENCE_TICKET_FIELDS
    fields = TicketSerializer().get_fields()
    assert list(fields) == [
        "created_at",
        "id",
        "requester_id",
        "status",
        "subject",
        "tags",
        "url",
    ]
    # Each column is described as REST framework's field for it would be.
    described = {
        name: field._spectacular_annotation["field"]
        for name, field in fields.items()
        if hasattr(field, "_spectacular_annotation")
    }
    assert {name: type(field).__name__ for name, field in described.items()} == {
        "id": "IntegerField",
        "requester_id": "IntegerField",
        "status": "CharField",
        "subject": "CharField",
        "tags": "JSONField",
        "url": "OpenApiTypes",
    }
    assert described["status"].allow_null
    assert not described["subject"].allow_null


def _answers(agent: Any) -> dict[str, bytes]:
    """Every answer of every route that shows a ticket, as the agent and a supervisor."""
    supervisor = SupervisorFactory()
    cases = CaseFactory.create_batch(3)
    for case in cases:
        SkipFactory.create_batch(2, user=agent, ticket=case)
        SkipFactory.create_batch(2, user=supervisor, ticket=case)
    answers: dict[str, bytes] = {}
    agent_client = client_for(agent)
    created = agent_client.post(
        "/api/v2/skips", {"skip": {"ticket_id": cases[0].pk, "reason": "r"}}, format="json"
    )
    answers["POST skips"] = created.content
    answers["POST tickets/{id}/skips"] = agent_client.post(
        f"/api/v2/tickets/{cases[1].pk}/skips.json", {"skip": {}}, format="json"
    ).content
    assert created.status_code == 201, created.content
    lists = ["/api/v2/skips", f"/api/v2/users/{agent.pk}/skips", "/api/v2/users/me/skips"]
    lists += [f"/api/v2/tickets/{case.pk}/skips" for case in cases]
    for who, client in (("agent", agent_client), ("supervisor", client_for(supervisor))):
        for path in lists:
            for query in ("?per_page=2", "?page=2&per_page=2", "?page[size]=2"):
                response = client.get(path + query)
                assert response.status_code == 200, response.content
                answers[f"{who} GET {path}{query}"] = response.content
                follow = response.json().get("links", {}).get("next")
                if follow:
                    answers[f"{who} GET {follow}"] = client.get(follow).content
    # The browsable API, as a person logged in.
    browser = client_for(None)
    browser.force_login(agent)
    page = browser.get("/api/v2/skips", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert b"<html" in page.content.lower()
    answers["browsable API"] = page.content
    # The admin's CSV export, as a superuser.
    admin = UserFactory(is_staff=True, is_superuser=True)
    browser.force_login(admin)
    export = browser.get("/admin/skips/skip/export/")
    assert export.status_code == 200
    answers["CSV export"] = b"".join(export.streaming_content)
    return answers


def test_no_secret_column_reaches_any_answer(agent: Any, ticket_serializer: str) -> None:
    answers = _answers(agent)
    assert len(answers) > 30
    # The answers do show tickets, so the absence of secrets is not an empty page.
    empty = [route for route, body in answers.items() if b"ticket" not in body]
    assert not empty
    for route, body in answers.items():
        assert SECRET not in body, route
        for column in SECRET_COLUMNS:
            assert f'"{column}"'.encode() not in body, (route, column)
