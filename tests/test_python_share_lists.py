"""List pages read through SQL compiled once per shape of list: the same answers
as the ORM's, the same queries, and the ORM wherever the stock views are not.

Every test compares a list with the compiled path on against the same list with
it off (``SkipsAPIView.compiled_list`` answering None, the ORM building every
list), through HTTP, byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.models import Q
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import include, path
from django.utils.cache import add_never_cache_headers

from skips import views
from skips.serializers import compiled
from tests.conftest import client_for
from tests.factories import AgentFactory, CaseFactory, SkipFactory, SupervisorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    """Skips of three agents over five cases, one archived; ties on created_at."""
    agents = [AgentFactory() for _ in range(3)]
    cases = [CaseFactory(is_archived=i == 4) for i in range(5)]
    skips = [SkipFactory(ticket=cases[i % 5], user=agents[i % 3]) for i in range(40)]
    for skip in skips[10:14]:  # the same instant: the id breaks the tie
        skip.created_at = skips[10].created_at
        skip.save()
    return {"agents": agents, "cases": cases, "supervisor": SupervisorFactory()}


@pytest.fixture
def shapes() -> Iterator[None]:
    """No shape known before the test, none left after it."""
    views._SHAPES.clear()
    yield
    views._SHAPES.clear()


def orm_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views.SkipsAPIView, "compiled_list", lambda self, serializer: None)


#: Cursors are signed with a timestamp: two answers a second apart differ there only.
_SIGNED = re.compile(rb"(:|%3A)[\w-]{6}(:|%3A)[\w-]{43}")


def answer(user: Any, url: str) -> tuple[int, bytes, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client_for(user).get(url)
    return response.status_code, _SIGNED.sub(b":signed", response.content), len(captured)


def urls(world: dict[str, Any]) -> list[str]:
    case, agent = world["cases"][0], world["agents"][1]
    lists = [
        "skips",
        "skips.json",
        f"tickets/{case.pk}/skips",
        f"tickets/{world['cases'][4].pk}/skips",  # archived: empty, the case is there
        f"tickets/{case.pk + 999}/skips",  # no such case
        "tickets/x/skips",
        f"users/{agent.pk}/skips",
        f"users/{agent.pk + 999}/skips",
        "users/me/skips",
    ]
    queries = [
        "",
        "?per_page=3",
        "?per_page=3&page=2",
        "?per_page=3&page=99",
        "?sort_order=desc&per_page=4",
        "?page[size]=3",
        "?page[size]=3&sort_order=desc",
        "?sort_order=sideways",
        "?per_page=0",
        "?reason=nope",
    ]
    return [f"/api/v2/{lst}{query}" for lst in lists for query in queries]


def test_the_orm_s_answers_and_queries(
    world: dict[str, Any], shapes: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = [world["supervisor"], world["agents"][0], world["agents"][1]]
    compiled_answers = [answer(user, url) for user in users for url in urls(world)]
    # Twice: the first request of a shape compiles it, the second reads its plan.
    assert [answer(user, url) for user in users for url in urls(world)] == compiled_answers
    assert any(shape is not None for shape in views._SHAPES.values())
    orm_only(monkeypatch)
    orm_answers = [answer(user, url) for user in users for url in urls(world)]
    for url_answer, compiled_answer, orm_answer in zip(
        [url for _ in users for url in urls(world)], compiled_answers, orm_answers, strict=True
    ):
        assert compiled_answer == orm_answer, url_answer
    statuses = {status for status, _, _ in orm_answers}
    assert statuses == {200, 400, 403, 404}


def test_the_next_cursor_page_is_the_orm_s(
    world: dict[str, Any], shapes: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_for(world["supervisor"])
    first = client.get("/api/v2/skips?page[size]=5").json()
    walked = [skip["id"] for skip in first["skips"]]
    second = client.get(first["links"]["next"]).json()
    walked += [skip["id"] for skip in second["skips"]]
    orm_only(monkeypatch)
    expected = [skip["id"] for skip in client.get("/api/v2/skips?page[size]=10").json()["skips"]]
    assert walked == expected


def test_a_shape_is_compiled_once(
    world: dict[str, Any], shapes: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows: list[int] = []
    counts: list[int] = []
    real_rows, real_count = compiled._compile, compiled._compile_count
    monkeypatch.setattr(compiled, "_compile", lambda *a: rows.append(a[1]) or real_rows(*a))
    monkeypatch.setattr(
        compiled, "_compile_count", lambda *a: counts.append(a[1]) or real_count(*a)
    )
    supervisor = world["supervisor"]
    for case in world["cases"][:4]:
        assert answer(supervisor, f"/api/v2/tickets/{case.pk}/skips?per_page=2")[0] == 200
    # One plan for the page and one for the count of every case's list (the
    # ticket serializer's own compiled queries aside).
    assert counts == [1]
    assert len(views._SHAPES) == 1


def test_settings_are_read_at_each_request(
    world: dict[str, Any], shapes: None, settings: Any
) -> None:
    supervisor = world["supervisor"]
    archived = world["cases"][4]
    url = f"/api/v2/tickets/{archived.pk}/skips"
    assert client_for(supervisor).get(url).json()["count"] == 0
    settings.SKIPS_ARCHIVED_TICKETS = None
    assert client_for(supervisor).get(url).json()["count"] == 8
    settings.SKIPS_ARCHIVED_TICKETS = "is_archived"
    assert client_for(supervisor).get(url).json()["count"] == 0


def test_a_host_s_access_rule_takes_the_orm_s_way(
    world: dict[str, Any], shapes: None, settings: Any
) -> None:
    case = world["cases"][0]
    settings.SKIPS_TICKET_ACCESS = lambda user: Q(pk__in=[])
    agent = world["agents"][0]
    assert client_for(agent).get(f"/api/v2/tickets/{case.pk}/skips").status_code == 404
    assert client_for(agent).get("/api/v2/skips").json()["count"] == 0
    assert views._SHAPES == {}


class NewestCaseOnly(views.TicketSkipListView):
    """A subclass that narrows the list itself."""

    def get_base_queryset(self) -> Any:
        return super().get_base_queryset().filter(reason="only this")


urlpatterns = [
    path("api/v2/", include("skips.urls")),
    path("narrowed/tickets/<str:ticket_id>/skips", NewestCaseOnly.as_view(), name="narrowed"),
]


def test_a_subclass_that_lists_otherwise_is_built_by_the_orm(
    world: dict[str, Any], shapes: None, settings: Any
) -> None:
    settings.ROOT_URLCONF = __name__
    case = world["cases"][0]
    SkipFactory(ticket=case, reason="only this")
    response = client_for(world["supervisor"]).get(f"/narrowed/tickets/{case.pk}/skips")
    assert [skip["reason"] for skip in response.json()["skips"]] == ["only this"]
    assert views._SHAPES == {}


def test_a_stand_in_that_builds_another_query_is_not_used(
    world: dict[str, Any], shapes: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should a shape's stand-in build another query than the ORM's (a permission
    read otherwise, say), the check finds it and the ORM builds that shape."""
    real = views.ListShape.build
    monkeypatch.setattr(
        views.ListShape, "build", lambda self, values: real(self, values).filter(reason="x")
    )
    case = world["cases"][0]
    expected = answer(world["supervisor"], f"/api/v2/tickets/{case.pk}/skips")
    assert b'"count":8' in expected[1]
    assert list(views._SHAPES.values()) == [None]
    monkeypatch.undo()
    orm_only(monkeypatch)
    assert answer(world["supervisor"], f"/api/v2/tickets/{case.pk}/skips") == expected


def test_no_cache_may_keep_an_answer(world: dict[str, Any]) -> None:
    response = client_for(world["supervisor"]).get("/api/v2/skips")
    django_s = HttpResponse()
    add_never_cache_headers(django_s)
    assert response["Cache-Control"] == django_s["Cache-Control"]
    assert response["Expires"]


@pytest.mark.parametrize(
    ("accept", "content_type", "starts"),
    [
        ("application/json", "application/json", b'{"skips":[{'),
        ("application/json; indent=2", "application/json", b'{\n  "skips": [\n'),
        ("text/html", "text/html; charset=utf-8", b"<!DOCTYPE html>"),
        ("*/*", "application/json", b'{"skips":[{'),
    ],
)
def test_the_renderer_chosen_for_an_accept_header_again(
    world: dict[str, Any], accept: str, content_type: str, starts: bytes
) -> None:
    client = client_for(world["supervisor"])
    for _ in range(2):
        response = client.get("/api/v2/skips", HTTP_ACCEPT=accept)
        assert response.status_code == 200
        assert response["Content-Type"] == content_type
        assert starts in response.content[:200], response.content[:200]
    assert client.get("/api/v2/skips", HTTP_ACCEPT="image/png").status_code == 406
    assert client.get("/api/v2/skips.json", HTTP_ACCEPT="text/html").status_code == 406


def test_a_plan_follows_the_database_s_listed_flags(
    world: dict[str, Any], shapes: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether lists read Skip.listed is the database's to say (its triggers), not
    the settings': a plan made while the flags were not in use is not used once
    they are, nor the other way round."""
    from skips import querysets

    in_use = [False]
    monkeypatch.setattr(views, "flags_in_use", lambda using: in_use[0])
    monkeypatch.setattr(querysets, "flags_in_use", lambda using: in_use[0])
    case = world["cases"][0]
    url = f"/api/v2/tickets/{case.pk}/skips?per_page=3"

    def page_sql() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            assert client_for(world["supervisor"]).get(url).status_code == 200
        return [q["sql"] for q in captured if "LIMIT" in q["sql"] and "skips_skip" in q["sql"]]

    for flags in (False, True, False):
        in_use[0] = flags
        assert any("listed" in sql for sql in page_sql()) is flags
    assert sorted(shape.listed for shape in views._SHAPES) == [False, True]
