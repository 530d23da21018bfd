"""The SkipFilter filters: narrowing, combining, and bad values."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from skips.models import Skip
from tests.conftest import client_for
from tests.factories import CaseFactory, SkipFactory

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
T0 = datetime.datetime(2024, 6, 10, 12, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture
def data(agent: Any, other_agent: Any) -> dict[str, Any]:
    case_a, case_b = CaseFactory(), CaseFactory()
    rows = [
        (agent, case_a, "Needs billing access", T0 - 2 * DAY),
        (agent, case_b, "", T0 - DAY),
        (agent, case_a, "waiting on BILLING", T0),
        (other_agent, case_a, "", T0 + DAY),
        (other_agent, case_b, "No idea", T0 + 2 * DAY),
    ]
    skips = Skip.objects.bulk_create(
        [Skip(user=u, ticket=t, reason=r, created_at=c) for u, t, r, c in rows]
    )
    return {"skips": skips, "a": case_a, "b": case_b}


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [s["id"] for s in response.json()["skips"]]


def pick(data: dict[str, Any], *indexes: int) -> list[int]:
    return [data["skips"][i].pk for i in indexes]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("created_after=2024-06-10T12:00:00Z", [3, 4]),
        ("created_after=2024-06-10T08:00:00-04:00", [3, 4]),  # the same instant
        ("created_after=2024-06-10T11:59:59", [2, 3, 4]),  # no zone: UTC
        ("created_before=2024-06-10", [0, 1]),  # a date: midnight UTC
        ("created_after=2024-06-09&created_before=2024-06-11T00:00:00Z", [1, 2]),
        ("reason=billing", [0, 2]),
        ("reason=BILL", [0, 2]),
        ("has_reason=true", [0, 2, 4]),
        ("has_reason=false", [1, 3]),
        ("has_reason=0", [1, 3]),
        ("has_reason=false&created_after=2024-06-10", [3]),
    ],
)
def test_filters_narrow_the_list(
    data: dict[str, Any], supervisor: Any, query: str, expected: list[int]
) -> None:
    assert ids(client_for(supervisor).get(f"/api/v2/skips?{query}")) == pick(data, *expected)


def test_user_and_ticket_filters(data: dict[str, Any], supervisor: Any, agent: Any) -> None:
    c = client_for(supervisor)
    assert ids(c.get(f"/api/v2/skips?user_id={agent.pk}")) == pick(data, 0, 1, 2)
    assert ids(c.get(f"/api/v2/skips?ticket_id={data['a'].pk}")) == pick(data, 0, 2, 3)
    assert ids(c.get(f"/api/v2/skips?ticket_id={data['a'].pk}&user_id={agent.pk}")) == pick(
        data, 0, 2
    )
    assert ids(c.get(f"/api/v2/tickets/{data['b'].pk}/skips?has_reason=true")) == pick(data, 4)
    assert ids(c.get(f"/api/v2/users/{agent.pk}/skips?reason=billing")) == pick(data, 0, 2)


def test_filters_never_widen(data: dict[str, Any], agent: Any, other_agent: Any) -> None:
    c = client_for(agent)
    assert ids(c.get(f"/api/v2/skips?user_id={other_agent.pk}")) == []
    assert ids(c.get(f"/api/v2/tickets/{data['a'].pk}/skips?user_id={other_agent.pk}")) == []
    assert ids(c.get("/api/v2/skips?reason=idea")) == []


def test_filters_with_both_pagination_styles(data: dict[str, Any], supervisor: Any) -> None:
    c = client_for(supervisor)
    offset = c.get("/api/v2/skips?has_reason=true&per_page=2").json()
    assert offset["count"] == 3
    assert [s["id"] for s in offset["skips"]] == pick(data, 0, 2)
    assert "has_reason=true" in offset["next_page"]
    assert ids(c.get(offset["next_page"])) == pick(data, 4)
    cursor = c.get("/api/v2/skips?has_reason=true&page[size]=2&sort_order=desc").json()
    assert [s["id"] for s in cursor["skips"]] == pick(data, 4, 2)
    assert ids(c.get(cursor["links"]["next"])) == pick(data, 0)


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("created_after=yesterday", "created_after"),
        ("created_before=20150930", "created_before"),
        ("created_before=2015-W40", "created_before"),
        ("created_after=2024-13-01", "created_after"),
        ("created_before=2024-06-10T25:00:00Z", "created_before"),
        ("user_id=abc", "user_id"),
        ("user_id=0", "user_id"),
        ("user_id=-3", "user_id"),
        ("user_id=" + "9" * 30, "user_id"),
        ("ticket_id=1.5", "ticket_id"),
        ("has_reason=maybe", "has_reason"),
        ("reason=%00", "reason"),
        ("reason=" + "x" * 1025, "reason"),
        ("user_id=1&user_id=2", "user_id"),
        ("created_after=%00", "created_after"),
    ],
)
def test_malformed_filters_are_400(supervisor: Any, query: str, name: str) -> None:
    SkipFactory()
    response = client_for(supervisor).get(f"/api/v2/skips?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "InvalidParameter"
    assert body["description"].startswith(name)


def test_empty_filter_values_are_ignored(data: dict[str, Any], supervisor: Any) -> None:
    response = client_for(supervisor).get("/api/v2/skips?reason=&user_id=&has_reason=")
    assert len(ids(response)) == 5
