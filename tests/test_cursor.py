"""Cursor pagination: page[size], page[after], page[before], meta and links."""

from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from skips.models import Skip
from skips.pagination import decode_cursor, encode_cursor
from tests.conftest import client_for
from tests.factories import CaseFactory, SkipFactory

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2024, 3, 1, 9, 30, 15, 123456, tzinfo=datetime.timezone.utc)


def make_skips(user: Any, n: int, ties: bool = True, ticket: Any = None) -> list[int]:
    """``n`` skips; with ``ties`` they all share one created_at, to the microsecond."""
    ticket = ticket or CaseFactory()
    made = Skip.objects.bulk_create(
        [
            Skip(
                user=user,
                ticket=ticket,
                created_at=T0 if ties else T0 + datetime.timedelta(seconds=i % 4),
            )
            for i in range(n)
        ]
    )
    order = sorted(made, key=lambda s: (s.created_at, s.pk))
    return [s.pk for s in order]


def ids(body: dict[str, Any]) -> list[int]:
    return [skip["id"] for skip in body["skips"]]


def walk(client: Any, url: str, direction: str = "next") -> tuple[list[int], int]:
    """Every id met following ``links[direction]`` from ``url``; and the pages read."""
    seen: list[int] = []
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        pages += 1
        seen += ids(body) if direction == "next" else ids(body)[::-1]
        assert (body["links"]["next"] is None) == (not body["meta"]["has_more"])
        url = body["links"][direction]
        assert pages < 1000
    return (seen if direction == "next" else seen[::-1]), pages


@pytest.mark.parametrize("sort_order", ["asc", "desc"])
@pytest.mark.parametrize("ties", [True, False])
def test_forward_walk_returns_everything_once_in_order(
    agent: Any, sort_order: str, ties: bool
) -> None:
    expected = make_skips(agent, 23, ties=ties)
    if sort_order == "desc":
        expected.reverse()
    c = client_for(agent)
    seen, pages = walk(c, f"/api/v2/skips.json?page[size]=5&sort_order={sort_order}")
    assert seen == expected
    assert pages == 5


@pytest.mark.parametrize("sort_order", ["asc", "desc"])
def test_backward_walk_returns_pages_in_forward_order(agent: Any, sort_order: str) -> None:
    expected = make_skips(agent, 17)
    if sort_order == "desc":
        expected.reverse()
    c = client_for(agent)
    # Walk to the last page, then back with links.prev.
    url = f"/api/v2/skips?page[size]=4&sort_order={sort_order}"
    while True:
        body = c.get(url).json()
        if not body["links"]["next"]:
            break
        url = body["links"]["next"]
    last_page = ids(body)
    assert last_page == expected[-len(last_page) :]
    previous = c.get(body["links"]["prev"]).json()
    assert ids(previous) == expected[-len(last_page) - 4 : -len(last_page)]
    seen, _ = walk(c, body["links"]["prev"], direction="prev")
    assert seen + last_page == expected


def test_first_page_meta_and_links(agent: Any) -> None:
    expected = make_skips(agent, 3)
    body = client_for(agent).get("/api/v2/skips.json?page%5Bsize%5D=2&sort_order=desc").json()
    assert list(body) == ["skips", "meta", "links"]
    assert ids(body) == expected[::-1][:2]
    assert body["meta"]["has_more"] is True
    assert body["links"]["prev"] is None
    next_url = urlsplit(body["links"]["next"])
    assert (next_url.scheme, next_url.netloc, next_url.path) == (
        "http",
        "testserver",
        "/api/v2/skips.json",
    )
    query = parse_qs(next_url.query)
    assert query["page[after]"] == [body["meta"]["after_cursor"]]
    assert query["page[size]"] == ["2"]
    assert query["sort_order"] == ["desc"]
    assert "page%5Bafter%5D=" in body["links"]["next"]


def test_last_page_has_no_next(agent: Any) -> None:
    make_skips(agent, 2)
    body = client_for(agent).get("/api/v2/skips?page[size]=2").json()
    assert body["meta"]["has_more"] is False
    assert body["links"]["next"] is None


def test_empty_list(agent: Any) -> None:
    body = client_for(agent).get("/api/v2/skips?page[size]=10").json()
    assert body == {
        "skips": [],
        "meta": {"has_more": False, "after_cursor": None, "before_cursor": None},
        "links": {"next": None, "prev": None},
    }


def test_default_cursor_page_size_is_100(agent: Any) -> None:
    make_skips(agent, 101)
    c = client_for(agent)
    first = c.get("/api/v2/skips?page[size]=100").json()
    assert len(first["skips"]) == 100
    # page[after] alone chooses the cursor style, with its default size.
    rest = c.get(f"/api/v2/skips?page[after]={first['meta']['after_cursor']}").json()
    assert len(rest["skips"]) == 1
    assert "meta" in rest
    back = c.get(f"/api/v2/skips?page[before]={rest['meta']['before_cursor']}").json()
    assert ids(back) == ids(first)


def test_links_keep_filters_and_drop_offset_parameters(agent: Any) -> None:
    make_skips(agent, 5)
    body = (
        client_for(agent)
        .get("/api/v2/skips?page[size]=2&has_reason=false&per_page=3&page=2&sort_order=asc")
        .json()
    )
    query = parse_qs(urlsplit(body["links"]["next"]).query)
    assert query["has_reason"] == ["false"]
    assert query["sort_order"] == ["asc"]
    assert "page" not in query
    assert "per_page" not in query


def test_records_created_during_a_walk_cause_no_duplicates_or_gaps(agent: Any) -> None:
    before = make_skips(agent, 9)
    c = client_for(agent)
    body = c.get("/api/v2/skips?page[size]=4").json()
    seen = ids(body)
    new = [SkipFactory(user=agent).pk for _ in range(3)]
    while body["links"]["next"]:
        body = c.get(body["links"]["next"]).json()
        seen += ids(body)
    assert len(seen) == len(set(seen))
    assert seen[: len(before)] == before
    assert set(seen) - set(before) <= set(new)


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("page[size]=0", "page[size]"),
        ("page[size]=101", "page[size]"),
        ("page[size]=-5", "page[size]"),
        ("page[size]=abc", "page[size]"),
        ("page[size]=", "page[size]"),
        ("page[size]=1&page[size]=2", "page[size]"),
        ("page[after]=", "page[after]"),
        ("page[after]=garbage", "page[after]"),
        ("page[before]=garbage", "page[before]"),
        ("page[after]=%00", "page[after]"),
    ],
)
def test_bad_cursor_parameters_are_400(agent: Any, query: str, name: str) -> None:
    response = client_for(agent).get(f"/api/v2/skips?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "InvalidPaginationParameter"
    assert name in body["description"]


def cursor_from(client: Any, url: str) -> str:
    return client.get(url).json()["meta"]["after_cursor"]


def test_after_and_before_together_are_400(agent: Any) -> None:
    make_skips(agent, 3)
    c = client_for(agent)
    cursor = cursor_from(c, "/api/v2/skips?page[size]=1")
    response = c.get(f"/api/v2/skips?page[after]={cursor}&page[before]={cursor}")
    assert response.status_code == 400
    assert "together" in response.json()["description"]


def test_forged_truncated_and_foreign_cursors_are_400(
    agent: Any, other_agent: Any, supervisor: Any
) -> None:
    make_skips(agent, 3)
    c = client_for(agent)
    cursor = cursor_from(c, "/api/v2/skips?page[size]=1")
    forged = encode_cursor(T0, 1, "0" * 16)
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    for bad in (cursor[:-1], cursor[: len(cursor) // 2], tampered, forged, cursor + "x"):
        response = c.get(f"/api/v2/skips?page[after]={bad}")
        assert response.status_code == 400, bad
        assert response.json()["error"] == "InvalidPaginationParameter"
    # Replayed on another endpoint, with another order, or by another user.
    for url, user in [
        (f"/api/v2/users/{agent.pk}/skips?page[after]={cursor}", agent),
        (f"/api/v2/skips?sort_order=desc&page[after]={cursor}", agent),
        (f"/api/v2/skips?page[after]={cursor}", other_agent),
        (f"/api/v2/skips?page[after]={cursor}", supervisor),
    ]:
        response = client_for(user).get(url)
        assert response.status_code == 400, url
        assert response.json()["error"] == "InvalidPaginationParameter"


def test_the_same_endpoint_with_and_without_suffix_shares_cursors(agent: Any) -> None:
    expected = make_skips(agent, 3)
    c = client_for(agent)
    cursor = cursor_from(c, "/api/v2/skips.json?page[size]=1")
    assert ids(c.get(f"/api/v2/skips?page[after]={cursor}").json()) == expected[1:]


def test_cursor_round_trip_keeps_microseconds() -> None:
    position = (T0, 42)
    assert decode_cursor(encode_cursor(*position, "scope"), "scope", "page[after]") == position


def test_cursor_pages_on_ticket_and_user_routes(agent: Any, supervisor: Any) -> None:
    case = CaseFactory()
    mine = make_skips(agent, 7, ticket=case)
    theirs = make_skips(supervisor, 4, ticket=case)
    c = client_for(supervisor)
    seen, _ = walk(c, f"/api/v2/tickets/{case.pk}/skips?page[size]=3")
    assert seen == sorted(mine + theirs)
    seen, _ = walk(c, f"/api/v2/users/{agent.pk}/skips.json?page[size]=3&sort_order=desc")
    assert seen == mine[::-1]
    # Without reports access: only one's own, whatever the cursor.
    seen, _ = walk(client_for(agent), f"/api/v2/tickets/{case.pk}/skips?page[size]=2")
    assert seen == mine


def query_count(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_cursor_page_queries_are_fixed_and_count_nothing(supervisor: Any) -> None:
    make_skips(supervisor, 1)
    c = client_for(supervisor)
    small = query_count(c, "/api/v2/skips?page[size]=100")
    make_skips(supervisor, 150, ties=False)
    c = client_for(supervisor)
    cursor = cursor_from(c, "/api/v2/skips?page[size]=10")
    c = client_for(supervisor)
    assert query_count(c, "/api/v2/skips?page[size]=100") == small
    with CaptureQueriesContext(connection) as queries:
        c.get(f"/api/v2/skips?page[size]=100&page[after]={cursor}")
    assert len(queries) == small
    sql = " ".join(q["sql"].upper() for q in queries)
    assert "COUNT(" not in sql
    assert "OFFSET" not in sql


def test_me_and_ones_own_id_share_cursors(agent: Any) -> None:
    expected = make_skips(agent, 3)
    c = client_for(agent)
    cursor = cursor_from(c, "/api/v2/users/me/skips?page[size]=1")
    page = c.get(f"/api/v2/users/{agent.pk}/skips.json?page[after]={cursor}")
    assert ids(page.json()) == expected[1:]
