"""The incremental export: ``GET incremental/skips/cursor.json`` (../spec/incremental-export.md).

Who may use it, every bad parameter, the answer's shape, the (updated_at, id)
order over skips and tombstones, the horizon, walks that yield every change
exactly once, tombstones from every path that deletes a skip, the rate limit,
a fixed number of queries a page, and (PostgreSQL) index use and a transaction
that commits late.
"""

from __future__ import annotations

import datetime
import re
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from skips.incremental import Position
from skips.models import Skip, SkipTombstone
from tests.admin_support import logged_in, staff
from tests.conftest import POSTGRESQL_ONLY, Client, client_for
from tests.factories import CaseFactory, SkipFactory, UserFactory, grant
from tests.testapp.models import Case

pytestmark = pytest.mark.django_db

EXPORT = "/api/v2/incremental/skips/cursor.json"
KEYS = ["id", "ticket_id", "user_id", "reason", "created_at", "updated_at", "deleted_at"]
UTC = datetime.timezone.utc
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture(autouse=True)
def export_settings(settings: Any) -> Iterator[None]:
    """No horizon and no rate limit, unless a test sets them: most tests walk at once."""
    settings.SKIPS_EXPORT_HORIZON_SECONDS = 0
    settings.SKIPS_EXPORT_THROTTLE_RATE = None
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def exporter(db: Any) -> Any:
    """A data team's account: ``skips.export_skip`` and nothing else."""
    return grant(UserFactory(), "export_skip")


def stamp(seconds: float) -> datetime.datetime:
    """A time ``seconds`` after 2026-01-01 UTC."""
    return datetime.datetime(2026, 1, 1, tzinfo=UTC) + datetime.timedelta(seconds=seconds)


def skip_at(at: datetime.datetime, **fields: Any) -> Skip:
    """A skip created (and so updated) at ``at``."""
    skip: Skip = SkipFactory(created_at=at, **fields)
    return skip


def tombstone_at(at: datetime.datetime, skip: Skip) -> SkipTombstone:
    """``skip`` deleted at ``at``."""
    pk = skip.pk
    skip.delete()
    skip.pk = pk
    SkipTombstone.objects.filter(pk=pk).update(deleted_at=at)
    return SkipTombstone.objects.get(pk=pk)


def get(client: Client, **params: Any) -> Any:
    return client.get(EXPORT, params)


def walk(client: Client, first: str, per_page: int | None = None) -> tuple[list[Any], str, int]:
    """Follow ``after_url`` from ``first`` until ``end_of_stream``: (items, cursor, pages)."""
    items: list[Any] = []
    url = first + (f"&per_page={per_page}" if per_page else "")
    pages = 0
    while True:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        pages += 1
        items += body["skips"]
        if body["end_of_stream"]:
            return items, body["after_cursor"], pages
        url = body["after_url"]
        assert pages < 1000


def key(item: dict[str, Any]) -> tuple[str, int, int]:
    return (item["updated_at"], item["id"], item["deleted_at"] is not None)


# Who


def test_roles(exporter: Any, agent: Any, supervisor: Any, end_user: Any, superuser: Any) -> None:
    SkipFactory()
    anonymous = client_for(None).get(EXPORT, {"start_time": 0})
    assert anonymous.status_code == 401
    assert anonymous.json() == {"error": "Couldn't authenticate you"}
    assert anonymous["WWW-Authenticate"].startswith("Basic")
    for user in (end_user, agent, supervisor):
        forbidden = client_for(user).get(EXPORT, {"start_time": 0})
        assert forbidden.status_code == 403
        assert forbidden.json()["error"] == "Forbidden"
    for user in (exporter, superuser):
        for path in (EXPORT, EXPORT.removesuffix(".json")):
            response = client_for(user).get(path, {"start_time": 0})
            assert response.status_code == 200, response.content
            assert response["Content-Type"] == "application/json"
            assert len(response.json()["skips"]) == 1


def test_inactive_exporter_and_wrong_token_are_401(exporter: Any) -> None:
    wrong = Client()
    wrong.credentials(HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.get(EXPORT, {"start_time": 0}).status_code == 401
    exporter.is_active = False
    exporter.save()
    assert client_for(exporter).get(EXPORT, {"start_time": 0}).status_code == 401


def test_permission_in_a_group_and_session(exporter: Any) -> None:
    from django.contrib.auth.models import Group, Permission

    group = Group.objects.create(name="Data team")
    group.permissions.add(Permission.objects.get(codename="export_skip"))
    member = UserFactory()
    member.groups.add(group)
    assert client_for(member).get(EXPORT, {"start_time": 0}).status_code == 200
    session = Client()
    session.force_login(exporter)
    assert session.get(EXPORT, {"start_time": 0}).status_code == 200


def test_only_get(exporter: Any) -> None:
    c = client_for(exporter)
    assert c.head(EXPORT + "?start_time=0").status_code == 200
    assert c.options(EXPORT).status_code == 200
    for method in (c.post, c.put, c.patch, c.delete):
        response = method(EXPORT)
        assert response.status_code == 405
        assert response.json()["error"] == "MethodNotAllowed"


# Parameters


@pytest.mark.parametrize(
    "query",
    [
        "",
        "per_page=10",
        "start_time=",
        "start_time=-1",
        "start_time=%2B1",
        "start_time=1.5",
        "start_time=1e3",
        "start_time=abc",
        "start_time=%D9%A3",  # an Arabic-Indic digit three
        "start_time=1&start_time=2",
        "start_time=99999999999",  # the year 5138: in the future
        "start_time=9999999999999999999999",
        "start_time=0&cursor=x",
        "cursor=",
        "cursor=forged",
        "cursor=1&cursor=2",
        "start_time=0&per_page=0",
        "start_time=0&per_page=1001",
        "start_time=0&per_page=-5",
        "start_time=0&per_page=ten",
        "start_time=0&per_page=",
        "start_time=0&per_page=1&per_page=2",
        "start_time=0&exclude_deleted=yes",
        "start_time=0&exclude_deleted=TRUE",
        "start_time=0&exclude_deleted=1",
        "start_time=0&exclude_deleted=",
        "start_time=0&exclude_deleted=true&exclude_deleted=false",
    ],
)
def test_bad_parameters_are_400(exporter: Any, query: str) -> None:
    response = client_for(exporter).get(f"{EXPORT}?{query}")
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"] == "InvalidPaginationParameter"
    assert body["description"]


def test_start_time_now_and_the_bounds_of_per_page(exporter: Any) -> None:
    c = client_for(exporter)
    for query in (
        f"start_time={int(time.time())}",
        "start_time=0&per_page=1",
        "start_time=0&per_page=1000",
        "start_time=0&exclude_deleted=true",
        "start_time=0&exclude_deleted=false",
        "start_time=00",
        "start_time=0&unknown=1",
    ):
        assert c.get(f"{EXPORT}?{query}").status_code == 200, query


def test_cursors_are_bound_to_the_route_and_the_user(exporter: Any, superuser: Any) -> None:
    skip_at(stamp(0))
    skip_at(stamp(1))
    mine = client_for(exporter)
    cursor = mine.get(EXPORT, {"start_time": 0, "per_page": 1}).json()["after_cursor"]
    assert mine.get(EXPORT, {"cursor": cursor}).status_code == 200
    # Another user's, a tampered one, a truncated one, a list cursor.
    assert client_for(superuser).get(EXPORT, {"cursor": cursor}).status_code == 400
    tampered = cursor[:5] + ("A" if cursor[5] != "A" else "B") + cursor[6:]
    assert mine.get(EXPORT, {"cursor": tampered}).status_code == 400
    assert mine.get(EXPORT, {"cursor": cursor[:-3]}).status_code == 400
    grant(exporter, "view_skip")
    listing = mine.get("/api/v2/skips", {"page[size]": 1}).json()
    assert mine.get(EXPORT, {"cursor": listing["meta"]["after_cursor"]}).status_code == 400
    # And an export cursor is no list cursor.
    assert mine.get("/api/v2/skips", {"page[after]": cursor}).status_code == 400


# The answer


def test_envelope_and_items(exporter: Any) -> None:
    archived = CaseFactory(is_archived=True)
    live = skip_at(stamp(0), reason="I have no idea.")
    of_archived = skip_at(stamp(5), ticket=archived, reason="")
    gone = skip_at(stamp(10), reason="secret reason")
    deleted_at = stamp(20)
    tombstone_at(deleted_at, gone)
    response = get(client_for(exporter), start_time=0)
    body = response.json()
    assert list(body) == [
        "skips",
        "after_cursor",
        "after_url",
        "before_cursor",
        "before_url",
        "end_of_stream",
    ]
    assert body["before_cursor"] is None
    assert body["before_url"] is None
    assert body["end_of_stream"] is True
    assert body["skips"] == [
        {
            "id": live.pk,
            "ticket_id": live.ticket_id,
            "user_id": live.user_id,
            "reason": "I have no idea.",
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "deleted_at": None,
        },
        {
            "id": of_archived.pk,
            "ticket_id": archived.pk,
            "user_id": of_archived.user_id,
            "reason": "",
            "created_at": "2026-01-01T00:00:05Z",
            "updated_at": "2026-01-01T00:00:05Z",
            "deleted_at": None,
        },
        {
            "id": gone.pk,
            "ticket_id": gone.ticket_id,
            "user_id": gone.user_id,
            "reason": None,
            "created_at": "2026-01-01T00:00:10Z",
            "updated_at": "2026-01-01T00:00:20Z",
            "deleted_at": "2026-01-01T00:00:20Z",
        },
    ]
    assert all(list(item) == KEYS for item in body["skips"])


def test_timestamps_are_utc_whole_seconds(exporter: Any) -> None:
    skip_at(datetime.datetime(2026, 3, 8, 7, 30, 15, 999_999, tzinfo=UTC))
    (item,) = get(client_for(exporter), start_time=0).json()["skips"]
    assert item["created_at"] == item["updated_at"] == "2026-03-08T07:30:15Z"
    assert TIMESTAMP.match(item["created_at"])


def test_after_url_is_absolute_and_keeps_the_other_parameters(exporter: Any) -> None:
    skip_at(stamp(0))
    body = (
        client_for(exporter)
        .get(EXPORT, {"start_time": 0, "per_page": 7, "exclude_deleted": "true"}, secure=True)
        .json()
    )
    url = urlsplit(body["after_url"])
    assert (url.scheme, url.netloc, url.path) == ("https", "testserver", EXPORT)
    assert parse_qs(url.query) == {
        "cursor": [body["after_cursor"]],
        "per_page": ["7"],
        "exclude_deleted": ["true"],
    }
    plain = get(client_for(exporter), start_time=0).json()
    assert parse_qs(urlsplit(plain["after_url"]).query) == {"cursor": [plain["after_cursor"]]}


# Order


def test_order_is_updated_at_then_id_over_skips_and_tombstones(exporter: Any) -> None:
    a = skip_at(stamp(10))
    b = skip_at(stamp(10))  # a tie: by id
    c = skip_at(stamp(5))
    d = skip_at(stamp(1))
    e = skip_at(stamp(20))
    tombstone_at(stamp(10), d)  # deleted at the time of a and b: between by id? d > b
    c.reason = "edited"
    c.save()  # updated now: last
    Skip.objects.filter(pk=e.pk).update(updated_at=stamp(30))
    items, _, _ = walk(client_for(exporter), f"{EXPORT}?start_time=0")
    assert [(item["id"], item["deleted_at"] is not None) for item in items] == [
        (a.pk, False),
        (b.pk, False),
        (d.pk, True),
        (e.pk, False),
        (c.pk, False),
    ]
    assert items == sorted(items, key=key)
    assert items[-1]["reason"] == "edited"


def test_a_skip_and_a_tombstone_of_the_same_time_and_id_across_pages(exporter: Any) -> None:
    """The keyset's third part: a skip sorts before a tombstone of the same time and id."""
    skip = skip_at(stamp(0))
    SkipTombstone.objects.create(
        id=skip.pk,
        ticket_id=skip.ticket_id,
        user_id=skip.user_id,
        created_at=skip.created_at,
        deleted_at=skip.updated_at,
    )  # as if the skip had been restored, in a backup, at its deletion time
    other = skip_at(stamp(0))
    items, _, pages = walk(client_for(exporter), f"{EXPORT}?start_time=0", per_page=1)
    assert [(item["id"], item["deleted_at"] is not None) for item in items] == [
        (skip.pk, False),
        (skip.pk, True),
        (other.pk, False),
    ]
    assert pages == 3


def test_start_time_is_inclusive(exporter: Any) -> None:
    skip_at(stamp(-1))
    at = skip_at(stamp(0))
    after = skip_at(stamp(0.5))
    start = int(stamp(0).timestamp())
    items, _, _ = walk(client_for(exporter), f"{EXPORT}?start_time={start}")
    assert [item["id"] for item in items] == [at.pk, after.pk]


def test_exclude_deleted(exporter: Any) -> None:
    kept = skip_at(stamp(0))
    tombstone_at(stamp(2), skip_at(stamp(1)))
    with CaptureQueriesContext(connection) as queries:
        items, _, _ = walk(client_for(exporter), f"{EXPORT}?start_time=0&exclude_deleted=true")
    assert [item["id"] for item in items] == [kept.pk]
    assert not any("skiptombstone" in q["sql"] for q in queries.captured_queries)


# The horizon


def test_nothing_within_the_horizon_is_exported(exporter: Any, settings: Any) -> None:
    settings.SKIPS_EXPORT_HORIZON_SECONDS = 60
    now = timezone.now()
    old = skip_at(now - datetime.timedelta(seconds=61))
    recent = skip_at(now - datetime.timedelta(seconds=30))
    gone = skip_at(now - datetime.timedelta(seconds=120))
    gone_id = gone.pk
    gone.delete()  # a tombstone of now
    c = client_for(exporter)
    body = get(c, start_time=0).json()
    assert [item["id"] for item in body["skips"]] == [old.pk]
    assert body["end_of_stream"] is True
    # Later: from the stored cursor, what has passed the horizon since.
    settings.SKIPS_EXPORT_HORIZON_SECONDS = 0
    later = c.get(EXPORT, {"cursor": body["after_cursor"]}).json()
    assert [(item["id"], item["deleted_at"] is None) for item in later["skips"]] == [
        (recent.pk, True),
        (gone_id, False),
    ]


def test_an_empty_page_keeps_its_cursor_and_a_start_within_the_horizon(
    exporter: Any, settings: Any
) -> None:
    settings.SKIPS_EXPORT_HORIZON_SECONDS = 60
    c = client_for(exporter)
    start = int(time.time()) - 10
    body = get(c, start_time=start).json()
    assert body["skips"] == []
    assert body["end_of_stream"] is True
    skip = skip_at(timezone.now() - datetime.timedelta(seconds=5))
    again = c.get(body["after_url"]).json()
    assert again["skips"] == []
    assert again["end_of_stream"] is True
    settings.SKIPS_EXPORT_HORIZON_SECONDS = 0
    assert [item["id"] for item in c.get(again["after_url"]).json()["skips"]] == [skip.pk]


def test_a_page_that_reaches_the_horizon_ends_the_stream(exporter: Any) -> None:
    for i in range(4):
        skip_at(stamp(i))
    c = client_for(exporter)
    first = get(c, start_time=0, per_page=2).json()
    assert first["end_of_stream"] is False
    second = c.get(first["after_url"]).json()
    assert len(second["skips"]) == 2
    assert second["end_of_stream"] is True  # exactly full, and nothing after it


# Walks


def test_walks_yield_every_change_exactly_once(exporter: Any) -> None:
    """Walk, change things, walk on from the stored cursor: the copy equals the database."""
    cases = CaseFactory.create_batch(3)
    for i in range(12):
        skip_at(stamp(i), ticket=cases[i % 3])
    c = client_for(exporter)
    copy: dict[int, dict[str, Any]] = {}
    seen: list[tuple[str, int, bool]] = []

    def apply(items: list[Any]) -> None:
        for item in items:
            seen.append(key(item))
            copy[item["id"]] = item

    items, cursor, pages = walk(c, f"{EXPORT}?start_time=0", per_page=5)
    apply(items)
    assert pages == 3
    # Changes: new skips, an edit, deletions.
    SkipFactory.create_batch(2, ticket=cases[0])
    edited = Skip.objects.order_by("id").first()
    assert edited is not None
    edited.reason = "edited"
    edited.save()
    cases[1].delete()
    Skip.objects.filter(ticket=cases[2]).order_by("id")[:1].get().delete()
    items, cursor, _ = walk(c, f"{EXPORT}?cursor={cursor}", per_page=5)
    apply(items)
    # Nothing new: an empty page, the same position.
    again = c.get(EXPORT, {"cursor": cursor}).json()
    assert again["skips"] == []
    assert again["end_of_stream"] is True
    assert len(seen) == len(set(seen))  # every change once
    live = {item["id"]: item for item in copy.values() if item["deleted_at"] is None}
    assert set(live) == set(Skip.objects.values_list("id", flat=True))
    for skip in Skip.objects.all():
        assert live[skip.pk]["reason"] == skip.reason
        assert live[skip.pk]["user_id"] == skip.user_id
    deleted = {pk for pk, item in copy.items() if item["deleted_at"] is not None}
    assert deleted == set(SkipTombstone.objects.values_list("id", flat=True))
    assert len(deleted) == 5  # cases[1]'s four, and one of cases[2]'s


def test_a_skip_created_and_deleted_between_walks_is_a_tombstone_alone(exporter: Any) -> None:
    c = client_for(exporter)
    cursor = get(c, start_time=0).json()["after_cursor"]
    skip = SkipFactory()
    skip_id = skip.pk
    skip.delete()
    items = c.get(EXPORT, {"cursor": cursor}).json()["skips"]
    assert [(item["id"], item["reason"]) for item in items] == [(skip_id, None)]


def test_history_imported_with_past_times_is_behind_a_stored_cursor(exporter: Any) -> None:
    """A skip saved with a past ``created_at`` has that ``updated_at``: a walk that
    is past that time does not see it, until its ``updated_at`` is set to now."""
    c = client_for(exporter)
    walked = SkipFactory()
    cursor = get(c, start_time=0).json()["after_cursor"]
    imported = skip_at(timezone.now() - datetime.timedelta(days=400))
    assert c.get(EXPORT, {"cursor": cursor}).json()["skips"] == []
    Skip.objects.filter(pk=imported.pk).update(updated_at=timezone.now())
    items = c.get(EXPORT, {"cursor": cursor}).json()["skips"]
    assert [item["id"] for item in items] == [imported.pk]
    assert [item["id"] for item in get(c, start_time=0).json()["skips"]] == [
        walked.pk,
        imported.pk,
    ]


# Tombstones: every path that deletes a skip


def tombstone_fields(skip: Skip) -> tuple[Any, ...]:
    return (skip.pk, skip.ticket_id, skip.user_id, skip.created_at)


def stored_tombstones() -> set[tuple[Any, ...]]:
    return {(t.pk, t.ticket_id, t.user_id, t.created_at) for t in SkipTombstone.objects.all()}


def test_tombstone_of_skip_delete() -> None:
    skip = SkipFactory()
    before = timezone.now()
    skip_id = skip.pk
    skip.delete()
    tombstone = SkipTombstone.objects.get(pk=skip_id)
    assert before <= tombstone.deleted_at <= timezone.now()
    assert (tombstone.ticket_id, tombstone.user_id) == (skip.ticket_id, skip.user_id)
    assert tombstone.created_at == skip.created_at


def test_tombstones_of_a_queryset_delete() -> None:
    """The receiver turns Django's fast delete off: each skip is fetched and recorded."""
    skips = SkipFactory.create_batch(3)
    expected = {tombstone_fields(s) for s in skips[:2]}
    Skip.objects.filter(pk__in=[s.pk for s in skips[:2]]).delete()
    assert stored_tombstones() == expected
    Skip.objects.all().delete()
    assert len(stored_tombstones()) == 3


def test_tombstones_of_a_ticket_deleted() -> None:
    case = CaseFactory()
    skips = SkipFactory.create_batch(3, ticket=case)
    other = SkipFactory()
    case.delete()
    assert stored_tombstones() == {tombstone_fields(s) for s in skips}
    Case.objects.filter(pk=other.ticket_id).delete()  # a queryset of tickets
    assert len(stored_tombstones()) == 4


def test_tombstones_of_the_admin_delete_page_and_action() -> None:
    admin = staff("view_skip", "delete_skip")
    client = logged_in(admin)
    one, two, three = SkipFactory.create_batch(3)
    response = client.post(f"/admin/skips/skip/{one.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    response = client.post(
        "/admin/skips/skip/",
        {"action": "delete_selected", ACTION_CHECKBOX_NAME: [two.pk, three.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Skip.objects.exists()
    assert stored_tombstones() == {tombstone_fields(s) for s in (one, two, three)}


def test_a_failed_deletion_records_no_tombstone() -> None:
    skip = SkipFactory()
    skip_id = skip.pk

    def delete_then_fail() -> None:
        with transaction.atomic():
            skip.delete()
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        delete_then_fail()
    assert Skip.objects.filter(pk=skip_id).exists()
    assert not SkipTombstone.objects.exists()


def test_a_skip_deleted_again_keeps_one_tombstone_of_its_last_deletion() -> None:
    skip = SkipFactory()
    skip_id = skip.pk
    skip.delete()
    first = SkipTombstone.objects.get(pk=skip_id).deleted_at
    skip.pk = skip_id  # restored, as from a backup
    skip.save(force_insert=True)
    Skip.objects.filter(pk=skip_id).delete()
    assert SkipTombstone.objects.count() == 1
    assert SkipTombstone.objects.get(pk=skip_id).deleted_at >= first


def test_bulk_deletion_records_tombstones_and_sends_the_signals() -> None:
    from django.db.models.signals import post_delete, pre_delete

    from skips.tombstones import delete_skips

    skips = SkipFactory.create_batch(5)
    heard: list[int] = []

    def receiver(sender: Any, instance: Skip, **kwargs: Any) -> None:
        heard.append(instance.pk)

    pre_delete.connect(receiver, sender=Skip)
    post_delete.connect(receiver, sender=Skip)
    try:
        with CaptureQueriesContext(connection) as queries:
            assert delete_skips(Skip.objects.filter(pk__in=[s.pk for s in skips[:4]]), 2) == 4
    finally:
        pre_delete.disconnect(receiver, sender=Skip)
        post_delete.disconnect(receiver, sender=Skip)
    assert sorted(heard) == sorted([s.pk for s in skips[:4]] * 2)
    assert stored_tombstones() == {tombstone_fields(s) for s in skips[:4]}
    inserts = [q for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 2  # one a chunk


# Rate limit


def test_rate_limit_default_is_10_a_minute(exporter: Any, other_agent: Any, settings: Any) -> None:
    del settings.SKIPS_EXPORT_THROTTLE_RATE  # the default
    c = client_for(exporter)
    remaining = []
    for _ in range(10):
        response = c.get(EXPORT, {"start_time": 0})
        assert response.status_code == 200
        assert response["X-Rate-Limit"] == "10"
        remaining.append(int(response["X-Rate-Limit-Remaining"]))
    assert remaining == list(range(9, -1, -1))
    throttled = c.get(EXPORT, {"start_time": 0})
    assert throttled.status_code == 429
    assert throttled.json()["error"] == "TooManyRequests"
    assert 1 <= int(throttled["Retry-After"]) <= 60
    assert throttled["X-Rate-Limit-Remaining"] == "0"
    # Per user, and per route: the lists are not limited by it.
    another = client_for(grant(UserFactory(), "export_skip"))
    assert another.get(EXPORT, {"start_time": 0}).status_code == 200
    grant(exporter, "add_skip")
    listing = c.get("/api/v2/skips")
    assert listing.status_code == 200
    assert "X-Rate-Limit" not in listing


def test_rate_limit_off_and_the_tighter_of_two(exporter: Any, settings: Any) -> None:
    c = client_for(exporter)
    for _ in range(15):
        response = c.get(EXPORT, {"start_time": 0})
        assert response.status_code == 200
        assert "X-Rate-Limit" not in response
    cache.clear()
    settings.SKIPS_EXPORT_THROTTLE_RATE = "3/min"
    settings.SKIPS_THROTTLE_RATE = "100/min"
    response = c.get(EXPORT, {"start_time": 0})
    assert (response["X-Rate-Limit"], response["X-Rate-Limit-Remaining"]) == ("3", "2")
    settings.SKIPS_EXPORT_THROTTLE_RATE = "50/min"
    settings.SKIPS_THROTTLE_RATE = "2/min"
    cache.clear()
    response = c.get(EXPORT, {"start_time": 0})
    assert (response["X-Rate-Limit"], response["X-Rate-Limit-Remaining"]) == ("2", "1")
    c.get(EXPORT, {"start_time": 0})
    assert c.get(EXPORT, {"start_time": 0}).status_code == 429


# Queries


def page_queries(client: Client, **params: Any) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = get(client, **params)
    assert response.status_code == 200
    return [q["sql"] for q in queries.captured_queries]


def test_a_fixed_number_of_queries_a_page(exporter: Any) -> None:
    for i in range(30):
        skip_at(stamp(i))
    for skip in Skip.objects.order_by("id")[:10]:
        skip.delete()
    c = client_for(exporter)
    small = page_queries(c, start_time=0, per_page=1)
    large = page_queries(c, start_time=0, per_page=1000)
    assert len(small) == len(large)
    reads = [sql for sql in large if "skips_skip" in sql or "skiptombstone" in sql]
    assert len(reads) == 2  # one of each table
    cursor = get(c, start_time=0, per_page=7).json()["after_cursor"]
    assert len(page_queries(c, cursor=cursor, per_page=7)) == len(small)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason=f"{POSTGRESQL_ONLY}: EXPLAIN's index names are PostgreSQL's",
)
def test_postgresql_reads_both_tables_along_their_indexes(exporter: Any) -> None:
    """Each read is a range of its (time, id) index, in index order: no sort, no scan."""
    from skips.incremental import IncrementalSkipExportView

    for i in range(20):
        skip_at(stamp(i))
    for skip in Skip.objects.order_by("id")[:5]:
        skip.delete()
    view = IncrementalSkipExportView()
    position = Position(stamp(3), 4, 0)
    captured = CaptureQueriesContext(connection)
    with captured:
        view.read_page(position, timezone.now(), 100, exclude_deleted=False)
    reads = [q["sql"] for q in captured.captured_queries]
    assert len(reads) == 2
    with connection.cursor() as cursor:
        # A few rows: make the planner show what the indexes allow, not what is
        # cheapest on so small a table.
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            cursor.execute(f"SET LOCAL {setting} = off")
        plans = []
        for sql in reads:
            cursor.execute(f"EXPLAIN {sql}")
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    skips_plan, tombstones_plan = plans
    assert "Index Scan using skips_updated_id_idx" in skips_plan, skips_plan
    assert "Index Scan using skips_tombstone_deleted_idx" in tombstones_plan, tombstones_plan
    for plan in plans:
        assert "Sort" not in plan, plan
        assert "Seq Scan" not in plan, plan


# Late commits (PostgreSQL: a transaction open while another commits)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason=f"{POSTGRESQL_ONLY}: needs two writers at once (SQLite serialises them)",
)
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("horizon", [2, 0])
def test_a_skip_committed_late_within_the_horizon_is_exported(settings: Any, horizon: int) -> None:
    """Skip 1 gets the earlier updated_at but commits after skip 2.

    With a horizon longer than that delay, a walk running all along exports
    both, in order. With none, it passes skip 1 over: what the horizon is for.
    """
    settings.SKIPS_EXPORT_HORIZON_SECONDS = horizon
    exporter = grant(UserFactory(), "export_skip")
    case = CaseFactory()
    agent = UserFactory()
    c = client_for(exporter)
    cursor = get(c, start_time=0).json()["after_cursor"]
    inserted = threading.Event()
    commit = threading.Event()
    errors: list[BaseException] = []

    def late_writer() -> None:
        try:
            with transaction.atomic():
                Skip.objects.create(ticket=case, user=agent, reason="late")
                inserted.set()
                assert commit.wait(30)
        except BaseException as e:
            errors.append(e)
        finally:
            connections.close_all()

    thread = threading.Thread(target=late_writer)
    thread.start()
    assert inserted.wait(30)
    Skip.objects.create(ticket=case, user=agent, reason="early")  # commits first
    exported: list[Any] = []

    def poll(seconds: float) -> None:
        """A connector asking again and again, from its stored cursor."""
        nonlocal cursor
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            body = c.get(EXPORT, {"cursor": cursor}).json()
            exported.extend(body["skips"])
            cursor = body["after_cursor"]
            time.sleep(0.05)

    poll(1.0)  # "late" is still uncommitted
    commit.set()  # 1 s after its timestamp: within a 2 s horizon
    thread.join(30)
    assert not errors
    poll(horizon + 0.5)
    reasons = [item["reason"] for item in exported]
    if horizon:
        assert reasons == ["late", "early"]
    else:
        assert reasons == ["early"]  # "late" was passed over


# The permission


def test_export_permission_exists_and_superusers_hold_it(superuser: Any) -> None:
    from django.contrib.auth.models import Permission

    permission = Permission.objects.get(content_type__app_label="skips", codename="export_skip")
    assert permission.name == "Can export skips"
    assert superuser.has_perm("skips.export_skip")


def test_checks_of_the_export_settings(settings: Any) -> None:
    from django.core.management.base import SystemCheckError

    for name, value, error in (
        ("SKIPS_EXPORT_HORIZON_SECONDS", -1, "skips.E020"),
        ("SKIPS_EXPORT_HORIZON_SECONDS", "60", "skips.E020"),
        ("SKIPS_EXPORT_HORIZON_SECONDS", True, "skips.E020"),
        ("SKIPS_EXPORT_THROTTLE_RATE", "often", "skips.E021"),
        ("SKIPS_EXPORT_THROTTLE_RATE", 10, "skips.E021"),
    ):
        setattr(settings, name, value)
        with pytest.raises(SystemCheckError, match=error):
            call_command("check")
        delattr(settings, name)
    settings.SKIPS_EXPORT_HORIZON_SECONDS = 0
    settings.SKIPS_EXPORT_THROTTLE_RATE = None
    call_command("check")
