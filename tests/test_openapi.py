"""The OpenAPI description: valid, complete, and true to what the API answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from skips.models import Skip
from tests.conftest import client_for
from tests.factories import CaseFactory, SkipFactory

ROUTES = ["/api/v2/skips", "/api/v2/tickets/{ticket_id}/skips", "/api/v2/users/{user_id}/skips"]
EXPORT_ROUTE = "/api/v2/incremental/skips/cursor"
ERROR_STATUSES = {"400", "401", "403", "405", "406", "429", "503"}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    # Through JSON, as a client reads it.
    return json.loads(json.dumps(generated, default=str))


def test_schema_is_valid_openapi(schema: dict[str, Any]) -> None:
    assert schema["openapi"].startswith("3.1")
    validate(schema)


def test_every_route_with_and_without_suffix(schema: dict[str, Any]) -> None:
    for route in ROUTES:
        for path in (route, route + ".json"):
            methods = set(schema["paths"][path])
            expected = {"get"} if "users" in route else {"get", "post"}
            assert methods == expected, path
    for path in (EXPORT_ROUTE, EXPORT_ROUTE + ".json"):
        assert set(schema["paths"][path]) == {"get"}
    ids = [op["operationId"] for item in schema["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids)) == 12


def test_list_parameters(schema: dict[str, Any]) -> None:
    expected = {
        "sort_order",
        "page",
        "per_page",
        "page[size]",
        "page[after]",
        "page[before]",
        "created_after",
        "created_before",
        "user_id",
        "ticket_id",
        "reason",
        "has_reason",
    }
    for route in ROUTES:
        for path in (route, route + ".json"):
            params = schema["paths"][path]["get"]["parameters"]
            query = {p["name"] for p in params if p["in"] == "query"}
            assert query == expected, path
            by_name = {p["name"]: p for p in params if p["in"] == "query"}
            assert by_name["sort_order"]["schema"]["enum"] == ["asc", "desc"]
            assert by_name["has_reason"]["schema"]["type"] == "boolean"
            assert by_name["created_after"]["schema"]["format"] == "date-time"
            assert by_name["page[size]"]["schema"]["maximum"] == 100
    ticket_path = schema["paths"]["/api/v2/tickets/{ticket_id}/skips"]["get"]["parameters"]
    (ticket_id,) = [p for p in ticket_path if p["in"] == "path"]
    assert ticket_id["schema"]["type"] == "integer"


def test_every_operation_documents_its_errors(schema: dict[str, Any]) -> None:
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            statuses = set(operation["responses"])
            # The export has no path parameter: nothing of it can be missing.
            missing = set() if path.startswith(EXPORT_ROUTE) else {"404"}
            assert statuses >= ERROR_STATUSES | missing, (path, method)
            if method == "post":
                assert statuses >= {"201", "413", "415", "422"}, path
            else:
                assert "200" in statuses


def test_security_schemes(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert schemes["skipsBasicAuth"] == {
        "type": "http",
        "scheme": "basic",
        "description": schemes["skipsBasicAuth"]["description"],
    }
    assert schemes["skipsBearerAuth"]["scheme"] == "bearer"
    assert schemes["skipsSessionAuth"]["in"] == "cookie"
    for item in schema["paths"].values():
        for operation in item.values():
            assert {next(iter(s)) for s in operation["security"]} == set(schemes)


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_skip_object_matches_the_reference(schema: dict[str, Any]) -> None:
    """Property names and types of the reference's TicketSkipObject."""
    skip = schema["components"]["schemas"]["Skip"]
    properties = skip["properties"]
    assert sorted(properties) == [
        "created_at",
        "id",
        "reason",
        "ticket",
        "ticket_id",
        "updated_at",
        "user_id",
    ]

    def types(name: str) -> set[str]:
        kind = properties[name]["type"]
        return {kind} if isinstance(kind, str) else set(kind) - {"null"}

    for name in ("id", "ticket_id", "user_id"):
        assert types(name) == {"integer"}, name
    for name in ("created_at", "updated_at"):
        assert types(name) == {"string"}
        assert properties[name]["format"] == "date-time"
        assert properties[name]["readOnly"] is True
    assert types("reason") == {"string"}
    ticket = properties["ticket"]
    ref = ticket.get("$ref") or ticket["allOf"][0]["$ref"]
    ticket_schema = resolve(schema, {"$ref": ref})
    assert ticket_schema["type"] == "object"
    assert {"id", "url"} <= set(ticket_schema["properties"])


def response_validator(schema: dict[str, Any], path: str, method: str, status: int) -> Any:
    operation = schema["paths"][path][method]
    response = operation["responses"][str(status)]
    body_schema = response["content"]["application/json"]["schema"]
    # The components ride along, so that "#/components/..." resolves.
    return Draft202012Validator({**body_schema, "components": schema["components"]})


@pytest.fixture
def world(agent: Any, other_agent: Any) -> dict[str, Any]:
    case = CaseFactory()
    SkipFactory.create_batch(3, user=agent, ticket=case)
    SkipFactory(user=other_agent, ticket=case, reason="")
    return {"case": case}


def check(schema: dict[str, Any], path: str, method: str, response: Any, status: int) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    validator = response_validator(schema, path, method, status)
    errors = list(validator.iter_errors(response.json()))
    assert errors == [], [e.message for e in errors]


@pytest.mark.django_db
def test_real_answers_match_the_schema(
    schema: dict[str, Any], world: dict[str, Any], agent: Any, supervisor: Any, end_user: Any
) -> None:
    case = world["case"]
    c = client_for(supervisor)
    ticket_path = "/api/v2/tickets/{ticket_id}/skips"
    user_path = "/api/v2/users/{user_id}/skips"
    lists = [
        ("/api/v2/skips", "/api/v2/skips.json?per_page=2"),
        ("/api/v2/skips.json", "/api/v2/skips.json?page[size]=2&sort_order=desc"),
        (ticket_path, f"/api/v2/tickets/{case.pk}/skips?page[size]=1"),
        (ticket_path + ".json", f"/api/v2/tickets/{case.pk}/skips.json"),
        (user_path, f"/api/v2/users/{agent.pk}/skips?has_reason=true"),
        (user_path + ".json", "/api/v2/users/me/skips.json"),
    ]
    for path, url in lists:
        check(schema, path, "get", c.get(url), 200)
    # Following links: the next cursor page and the last offset page.
    body = c.get("/api/v2/skips?page[size]=3").json()
    check(schema, "/api/v2/skips", "get", c.get(body["links"]["next"]), 200)

    created = c.post_json("/api/v2/skips", {"skip": {"ticket_id": case.pk, "reason": "x"}})
    check(schema, "/api/v2/skips", "post", created, 201)
    created = c.post_json(f"/api/v2/tickets/{case.pk}/skips.json", {"skip": {}})
    check(schema, ticket_path + ".json", "post", created, 201)

    errors = [
        ("get", "/api/v2/skips", client_for(None).get("/api/v2/skips"), 401),
        ("get", "/api/v2/skips", client_for(end_user).get("/api/v2/skips"), 403),
        ("get", "/api/v2/skips", c.get("/api/v2/skips?sort_order=up"), 400),
        ("get", "/api/v2/skips", c.get("/api/v2/skips?page[after]=forged"), 400),
        ("get", ticket_path, c.get("/api/v2/tickets/999999/skips"), 404),
        ("get", user_path, c.get("/api/v2/users/999999/skips"), 404),
        ("get", "/api/v2/skips", c.get("/api/v2/skips", HTTP_ACCEPT="text/csv"), 406),
        ("post", "/api/v2/skips", c.delete("/api/v2/skips"), 405),
        (
            "post",
            "/api/v2/skips",
            c.post("/api/v2/skips", "{", content_type="application/json"),
            400,
        ),
        ("post", "/api/v2/skips", c.post("/api/v2/skips", {"a": "b"}), 415),
        ("post", "/api/v2/skips", c.post_json("/api/v2/skips", {"skip": {"ticket_id": 0}}), 422),
        ("post", ticket_path, c.post_json("/api/v2/tickets/999999/skips", {"skip": {}}), 404),
    ]
    for method, path, response, status in errors:
        check(schema, path, method, response, status)
    assert Skip.objects.count() == 6


def test_export_parameters_and_page(schema: dict[str, Any]) -> None:
    for path in (EXPORT_ROUTE, EXPORT_ROUTE + ".json"):
        operation = schema["paths"][path]["get"]
        params = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
        assert set(params) == {"start_time", "cursor", "per_page", "exclude_deleted"}
        assert params["start_time"]["schema"] == {"type": "integer", "minimum": 0}
        assert params["per_page"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000}
        assert params["exclude_deleted"]["schema"]["type"] == "boolean"
        page = resolve(
            schema, operation["responses"]["200"]["content"]["application/json"]["schema"]
        )
        assert set(page["required"]) == {
            "skips",
            "after_cursor",
            "after_url",
            "before_cursor",
            "before_url",
            "end_of_stream",
        }
        item = resolve(schema, page["properties"]["skips"]["items"])
        assert sorted(item["properties"]) == sorted(
            ["id", "ticket_id", "user_id", "reason", "created_at", "updated_at", "deleted_at"]
        )
        assert "null" in item["properties"]["deleted_at"]["type"]
        assert "null" in item["properties"]["reason"]["type"]


@pytest.mark.django_db
def test_real_export_answers_match_the_schema(
    schema: dict[str, Any], world: dict[str, Any], agent: Any, settings: Any
) -> None:
    from django.core.cache import cache

    from tests.factories import UserFactory, grant

    settings.SKIPS_EXPORT_HORIZON_SECONDS = 0
    settings.SKIPS_EXPORT_THROTTLE_RATE = "3/min"
    cache.clear()
    c = client_for(grant(UserFactory(), "export_skip"))
    Skip.objects.first().delete()  # type: ignore[union-attr]
    path = EXPORT_ROUTE + ".json"
    first = c.get(path, {"start_time": 0, "per_page": 2})
    check(schema, path, "get", first, 200)
    check(schema, EXPORT_ROUTE, "get", c.get(first.json()["after_url"]), 200)
    check(schema, path, "get", c.get(path, {"start_time": "x"}), 400)
    check(schema, path, "get", c.get(path, {"start_time": 0}), 429)
    check(schema, path, "get", client_for(None).get(path, {"start_time": 0}), 401)
    check(schema, path, "get", client_for(agent).get(path, {"start_time": 0}), 403)
    cache.clear()
