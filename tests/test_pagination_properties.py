"""Property tests: every walk, in both styles and orders, returns each visible skip once."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skips.models import Skip
from tests.conftest import client_for
from tests.factories import AgentFactory, CaseFactory

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
PROPERTY_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Few distinct timestamps, so that many skips tie to the microsecond.
stamps = st.integers(min_value=0, max_value=4).map(
    lambda n: T0 + datetime.timedelta(microseconds=n)
)
rows = st.lists(st.tuples(stamps, st.integers(0, 1), st.integers(0, 1)), max_size=40)


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    return {
        "agents": [AgentFactory(), AgentFactory()],
        "cases": [CaseFactory(), CaseFactory()],
    }


def build(world: dict[str, Any], data: list[tuple[datetime.datetime, int, int]]) -> list[Skip]:
    Skip.objects.all().delete()
    return Skip.objects.bulk_create(
        [
            Skip(created_at=at, user=world["agents"][u], ticket=world["cases"][t])
            for at, u, t in data
        ]
    )


def expected_ids(skips: list[Skip], sort_order: str, keep: Any = None) -> list[int]:
    chosen = [s for s in skips if keep is None or keep(s)]
    ordered = sorted(chosen, key=lambda s: (s.created_at, s.pk))
    ids = [s.pk for s in ordered]
    return ids[::-1] if sort_order == "desc" else ids


def endpoint(world: dict[str, Any], which: int, viewer: Any) -> tuple[str, Any]:
    """One of the three list routes, and which skips it lists for ``viewer``."""
    agent, case = world["agents"][0], world["cases"][0]
    own = viewer.has_perm("skips.view_skip") is False
    mine = (lambda s: s.user_id == viewer.pk) if own else (lambda s: True)
    if which == 0:
        return "/api/v2/skips", mine
    if which == 1:
        return f"/api/v2/tickets/{case.pk}/skips", lambda s: mine(s) and s.ticket_id == case.pk
    return f"/api/v2/users/{agent.pk}/skips", lambda s: s.user_id == agent.pk


def page_ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [s["id"] for s in response.json()["skips"]]


@PROPERTY_SETTINGS
@given(
    data=rows,
    size=st.integers(1, 12),
    sort_order=st.sampled_from(["asc", "desc"]),
    which=st.integers(0, 2),
    supervisor_view=st.booleans(),
)
def test_cursor_walks_forward_and_back(
    world: dict[str, Any],
    supervisor: Any,
    data: Any,
    size: int,
    sort_order: str,
    which: int,
    supervisor_view: bool,
) -> None:
    skips = build(world, data)
    viewer = supervisor if supervisor_view else world["agents"][0]
    path, keep = endpoint(world, which, viewer)
    expected = expected_ids(skips, sort_order, keep)
    c = client_for(viewer)

    seen: list[int] = []
    url: str | None = f"{path}?page[size]={size}&sort_order={sort_order}"
    pages = []
    while url:
        response = c.get(url)
        seen += page_ids(response)
        pages.append(response.json())
        url = pages[-1]["links"]["next"]
        assert len(pages) <= len(expected) + 1, "the walk does not end"
    assert seen == expected

    # Back from the last page with links.prev: the same records, the same order.
    back: list[int] = page_ids_of(pages[-1])
    url = pages[-1]["links"]["prev"]
    while url:
        body = c.get(url).json()
        back = page_ids_of(body) + back
        url = body["links"]["prev"]
        assert len(back) <= len(expected) + size, "the walk back does not end"
    assert back == expected


def page_ids_of(body: dict[str, Any]) -> list[int]:
    return [s["id"] for s in body["skips"]]


@PROPERTY_SETTINGS
@given(
    data=rows,
    size=st.integers(1, 8),
    new_per_page=st.integers(0, 3),
)
def test_records_created_during_a_cursor_walk(
    world: dict[str, Any], supervisor: Any, data: Any, size: int, new_per_page: int
) -> None:
    skips = build(world, data)
    expected = expected_ids(skips, "asc")
    c = client_for(supervisor)
    seen: list[int] = []
    url: str | None = f"/api/v2/skips?page[size]={size}"
    created = 0
    while url:
        body = c.get(url).json()
        seen += page_ids_of(body)
        url = body["links"]["next"]
        assert len(seen) <= len(expected) + created + size, "the walk does not end"
        if url and len(seen) < len(expected):  # new records while the old are being read
            Skip.objects.bulk_create(
                [
                    Skip(user=world["agents"][0], ticket=world["cases"][1])
                    for _ in range(new_per_page)
                ]
            )
            created += new_per_page
    assert len(seen) == len(set(seen))
    assert seen[: len(expected)] == expected


@PROPERTY_SETTINGS
@given(
    data=rows,
    per_page=st.integers(1, 12),
    sort_order=st.sampled_from(["asc", "desc"]),
    which=st.integers(0, 2),
)
def test_offset_walk(
    world: dict[str, Any], supervisor: Any, data: Any, per_page: int, sort_order: str, which: int
) -> None:
    skips = build(world, data)
    path, keep = endpoint(world, which, supervisor)
    expected = expected_ids(skips, sort_order, keep)
    c = client_for(supervisor)
    seen: list[int] = []
    url: str | None = f"{path}?per_page={per_page}&sort_order={sort_order}"
    while url:
        body = c.get(url).json()
        assert body["count"] == len(expected)
        seen += page_ids_of(body)
        url = body["next_page"]
        assert len(seen) <= len(expected) + per_page, "the walk does not end"
    assert seen == expected
