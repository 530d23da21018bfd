"""Listing skips: envelopes, timestamps, ordering, offset pages, archived tickets."""

from __future__ import annotations

import datetime
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from skips.models import Skip
from tests.conftest import client_for
from tests.factories import CaseFactory, LabelFactory, SkipFactory

pytestmark = pytest.mark.django_db

REFERENCE_SKIP_KEYS = ["created_at", "id", "reason", "ticket", "ticket_id", "updated_at", "user_id"]


def skips_at(user: Any, *stamps: datetime.datetime, ticket: Any = None) -> list[Skip]:
    made = []
    for stamp in stamps:
        skip = SkipFactory(user=user, **({"ticket": ticket} if ticket else {}))
        Skip.objects.filter(pk=skip.pk).update(created_at=stamp)
        made.append(skip)
    return made


def test_list_envelope_and_skip_keys(agent: Any) -> None:
    SkipFactory(user=agent)
    response = client_for(agent).get("/api/v2/skips")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ["skips", "next_page", "previous_page", "count"]
    (skip,) = body["skips"]
    assert list(skip) == REFERENCE_SKIP_KEYS
    assert "url" not in skip


def test_skip_fields_match_the_database(agent: Any) -> None:
    label = LabelFactory(name="vip")
    case = CaseFactory(labels=[label])
    skip = SkipFactory(user=agent, ticket=case, reason="I am lost.")
    Skip.objects.filter(pk=skip.pk).update(
        created_at=datetime.datetime(2015, 9, 30, 21, 44, 3, 654321, tzinfo=datetime.timezone.utc)
    )
    body = client_for(agent).get("/api/v2/skips.json").json()["skips"][0]
    assert body["created_at"] == "2015-09-30T21:44:03Z"  # UTC, whole seconds, whatever TIME_ZONE
    assert body["reason"] == "I am lost."
    assert body["ticket_id"] == case.pk
    assert body["user_id"] == agent.pk
    assert body["updated_at"].endswith("Z")
    assert body["ticket"] == {
        "id": case.pk,
        "url": f"http://testserver/api/v2/tickets/{case.pk}.json",
        "title": case.title,
        "owner_id": case.owner_id,
        "owner_email": case.owner.email,
        "labels": ["vip"],
        "opened_at": case.opened_at.astimezone(datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
    }


def test_ticket_url_follows_the_request_host_and_scheme(agent: Any) -> None:
    case = CaseFactory()
    SkipFactory(user=agent, ticket=case)
    response = client_for(agent).get("/api/v2/skips", HTTP_HOST="help.example.org", secure=True)
    url = response.json()["skips"][0]["ticket"]["url"]
    assert url == f"https://help.example.org/api/v2/tickets/{case.pk}.json"


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [skip["id"] for skip in response.json()["skips"]]


def test_sort_order_by_created_at_then_id(agent: Any) -> None:
    t = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone.utc)
    hour = datetime.timedelta(hours=1)
    late, tie_a, tie_b, early = skips_at(agent, t + hour, t, t, t - hour)
    expected = [early.pk, tie_a.pk, tie_b.pk, late.pk]
    c = client_for(agent)
    assert ids(c.get("/api/v2/skips")) == expected
    assert ids(c.get("/api/v2/skips?sort_order=asc")) == expected
    assert ids(c.get("/api/v2/skips.json?sort_order=desc")) == expected[::-1]
    assert ids(c.get("/api/v2/users/me/skips?sort_order=desc")) == expected[::-1]


@pytest.mark.parametrize("value", ["ASC", "up", "", "asc,desc", "1"])
def test_bad_sort_order_is_400(agent: Any, value: str) -> None:
    response = client_for(agent).get("/api/v2/skips", {"sort_order": value})
    assert response.status_code == 400
    assert response.json()["error"] == "InvalidParameter"
    assert "sort_order" in response.json()["description"]


def test_repeated_sort_order_is_400(agent: Any) -> None:
    response = client_for(agent).get("/api/v2/skips?sort_order=asc&sort_order=desc")
    assert response.status_code == 400
    assert "sort_order" in response.json()["description"]


def test_offset_pages(agent: Any) -> None:
    t = datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc)
    made = skips_at(agent, *(t + datetime.timedelta(minutes=i) for i in range(5)))
    c = client_for(agent)
    first = c.get("/api/v2/skips.json?per_page=2&sort_order=desc").json()
    assert [s["id"] for s in first["skips"]] == [made[4].pk, made[3].pk]
    assert first["count"] == 5
    assert first["previous_page"] is None
    nxt = urlsplit(first["next_page"])
    assert (nxt.scheme, nxt.netloc, nxt.path) == ("http", "testserver", "/api/v2/skips.json")
    assert parse_qs(nxt.query) == {"page": ["2"], "per_page": ["2"], "sort_order": ["desc"]}

    second = c.get(first["next_page"]).json()
    assert [s["id"] for s in second["skips"]] == [made[2].pk, made[1].pk]
    assert parse_qs(urlsplit(second["previous_page"]).query) == {
        "per_page": ["2"],
        "sort_order": ["desc"],
    }
    last = c.get(second["next_page"]).json()
    assert [s["id"] for s in last["skips"]] == [made[0].pk]
    assert last["next_page"] is None
    assert parse_qs(urlsplit(last["previous_page"]).query)["page"] == ["2"]


def test_default_page_size_is_100(agent: Any) -> None:
    cases = CaseFactory.create_batch(3)
    Skip.objects.bulk_create([Skip(user=agent, ticket=cases[i % 3]) for i in range(102)])
    body = client_for(agent).get("/api/v2/skips").json()
    assert len(body["skips"]) == 100
    assert body["count"] == 102
    assert "page=2" in body["next_page"]


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page=-1",
        "page=abc",
        "page=",
        "page=1.5",
        "per_page=0",
        "per_page=101",
        "per_page=1000",
        "per_page=abc",
        "page=1&page=2",
        "page=%00",
        "page=" + "9" * 40,
    ],
)
def test_bad_offset_parameters_are_400(agent: Any, query: str) -> None:
    response = client_for(agent).get(f"/api/v2/skips?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "InvalidPaginationParameter"
    assert query.split("=")[0] in body["description"]


@pytest.mark.parametrize(
    ("query", "ok"),
    [
        ("page=100", True),
        ("page=101", False),
        ("page=10000&per_page=1", True),
        ("page=10001&per_page=1", False),
        ("page=201&per_page=50", False),
    ],
)
def test_offset_depth_is_capped_at_10000(agent: Any, query: str, ok: bool) -> None:
    response = client_for(agent).get(f"/api/v2/skips?{query}")
    if ok:
        assert response.status_code == 200
        assert response.json()["skips"] == []
    else:
        assert response.status_code == 400
        assert response.json()["error"] == "InvalidPaginationParameter"
        assert "cursor pagination" in response.json()["description"]


def test_archived_tickets_are_left_out(agent: Any, supervisor: Any) -> None:
    live, archived = CaseFactory(), CaseFactory(is_archived=True)
    kept = SkipFactory(user=agent, ticket=live)
    SkipFactory(user=agent, ticket=archived)
    for user in (agent, supervisor):
        c = client_for(user)
        assert ids(c.get("/api/v2/skips")) == [kept.pk]
        assert c.get("/api/v2/skips").json()["count"] == 1
        assert ids(c.get(f"/api/v2/users/{agent.pk}/skips")) == [kept.pk]
        assert ids(c.get(f"/api/v2/tickets/{archived.pk}/skips")) == []


def test_no_archived_setting_means_nothing_is_archived(agent: Any, settings: Any) -> None:
    settings.SKIPS_ARCHIVED_TICKETS = None
    SkipFactory(user=agent, ticket=CaseFactory(is_archived=True))
    assert len(ids(client_for(agent).get("/api/v2/skips"))) == 1


def test_archived_callable(agent: Any, settings: Any) -> None:
    settings.SKIPS_ARCHIVED_TICKETS = "tests.testapp.archived.vip_cases"
    vip = CaseFactory(labels=[LabelFactory(name="vip")])
    plain = CaseFactory(labels=[LabelFactory(name="billing")])
    SkipFactory(user=agent, ticket=vip)
    kept = SkipFactory(user=agent, ticket=plain)
    assert ids(client_for(agent).get("/api/v2/skips")) == [kept.pk]
    response = client_for(agent).post_json("/api/v2/skips", {"skip": {"ticket_id": vip.pk}})
    assert response.status_code == 422


def test_ticket_list_of_unknown_ticket_is_404(agent: Any) -> None:
    for ticket_id in ("424242", "abc", "9" * 30):
        response = client_for(agent).get(f"/api/v2/tickets/{ticket_id}/skips")
        assert response.status_code == 404
        assert response.json() == {"error": "RecordNotFound", "description": "Not found"}


def query_count(client: Any, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "path", ["/api/v2/skips", "/api/v2/tickets/{ticket}/skips", "/api/v2/users/{user}/skips"]
)
@pytest.mark.parametrize("who", ["agent", "supervisor"])
def test_queries_do_not_grow_with_the_page(path: str, who: str, request: Any) -> None:
    user = request.getfixturevalue(who)
    labels = [LabelFactory(name=n) for n in ("a", "b", "c")]
    one_case = CaseFactory(labels=labels)
    SkipFactory(user=user, ticket=one_case)
    path = path.format(ticket=one_case.pk, user=user.pk)
    c = client_for(user)
    small = query_count(c, path)
    cases = [CaseFactory(labels=labels) for _ in range(10)]
    Skip.objects.bulk_create(
        [Skip(user=user, ticket=one_case) for _ in range(49)]
        + [Skip(user=user, ticket=cases[i % 10]) for i in range(60)]
    )
    c = client_for(user)
    assert len(c.get(path).json()["skips"]) > 40
    assert query_count(c, path) == small


def test_head_and_options(agent: Any) -> None:
    c = client_for(agent)
    assert c.head("/api/v2/skips").status_code == 200
    response = c.options("/api/v2/skips.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "ticket_serializer",
    [
        "tests.testapp.serializers.CaseSerializer",  # no render_many: REST framework renders
        "skips.serializers.TicketSerializer",  # the default, with its own render_many
    ],
)
def test_list_path_renders_what_the_serializer_renders(
    agent: Any, settings: Any, ticket_serializer: str
) -> None:
    """The lean list path and SkipSerializer(...).data (used by POST) give the same JSON."""
    from rest_framework.test import APIRequestFactory

    from skips.serializers import ROW_FIELDS, SkipSerializer

    settings.SKIPS_TICKET_SERIALIZER = ticket_serializer
    labels = [LabelFactory(name="vip"), LabelFactory(name="bug")]
    shared = CaseFactory(labels=labels)
    for case in (shared, shared, CaseFactory(labels=[]), CaseFactory(owner=None)):
        SkipFactory(user=agent, ticket=case, reason="")
    context = {"request": APIRequestFactory().get("/api/v2/skips", secure=True)}
    queryset = Skip.objects.in_order("asc")
    rows = list(queryset.values(*ROW_FIELDS))
    lean = SkipSerializer.render_page(rows, context)
    full = SkipSerializer(list(queryset.select_related("ticket")), many=True, context=context).data
    assert json.loads(json.dumps(lean)) == json.loads(json.dumps(full))
    assert [list(skip) for skip in lean] == [list(skip) for skip in full]
    assert [list(skip["ticket"]) for skip in lean] == [list(skip["ticket"]) for skip in full]
