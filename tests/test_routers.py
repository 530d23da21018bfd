"""skips.routers on any database: where the router sends each read and write, the read
scopes, read-your-writes marks, and the checks of the replica settings.

The reads and writes against a real replica are ``tests/test_replica.py``'s.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import override_settings

from skips import checks, routers
from skips.models import Skip
from skips.routers import (
    PrimaryReplicaRouter,
    note_write,
    read_primary,
    read_scope,
    reads_pinned,
    request_reads,
    wrote_recently,
)
from skips.views import SkipsAPIView
from tests.admin_support import CHANGELIST, logged_in, staff
from tests.factories import AgentFactory, CaseFactory, SkipFactory

ROUTER = "skips.routers.PrimaryReplicaRouter"
#: "default" as its own replica: the router reads it as a replica, on one database.
ONE_DATABASE = {"SKIPS_REPLICA_DATABASES": ["default"], "DATABASE_ROUTERS": [ROUTER]}


@pytest.fixture(autouse=True)
def clean_cache() -> None:
    cache.clear()


def ids(messages: list[Any]) -> list[str]:
    return [message.id for message in messages]


# The router


def test_without_replicas_everything_is_on_the_primary() -> None:
    router = PrimaryReplicaRouter()
    assert router.db_for_read(Skip) == "default"
    assert router.db_for_write(Skip) == "default"
    assert router.allow_migrate("default", "skips") is None


@override_settings(SKIPS_REPLICA_DATABASES=["replica"])
def test_reads_on_the_replica_writes_and_migrations_on_the_primary() -> None:
    router = PrimaryReplicaRouter()
    assert router.db_for_read(Skip) == "replica"
    assert router.db_for_write(Skip) == "default"
    assert router.db_for_write(Skip, instance=Skip(id=1)) == "default"
    assert router.allow_migrate("replica", "skips") is False
    assert router.allow_migrate("default", "skips") is None
    assert router.allow_migrate("analytics", "skips") is None


@override_settings(SKIPS_REPLICA_DATABASES=["replica"])
def test_sessions_are_read_from_the_primary() -> None:
    assert PrimaryReplicaRouter().db_for_read(Session) == "default"


@override_settings(SKIPS_REPLICA_DATABASES=["replica"])
def test_an_objects_relations_are_read_where_it_was_read() -> None:
    router = PrimaryReplicaRouter()
    skip = Skip(id=1)
    skip._state.db = "default"
    assert router.db_for_read(Skip, instance=skip) == "default"
    skip._state.db = "replica"
    assert router.db_for_read(Skip, instance=skip) == "replica"
    skip._state.db = "elsewhere"
    assert router.db_for_read(Skip, instance=skip) == "replica"


@override_settings(SKIPS_REPLICA_DATABASES=["replica"])
def test_objects_of_the_primary_and_its_replicas_may_be_related() -> None:
    router = PrimaryReplicaRouter()
    one, other = Skip(), Skip()
    one._state.db, other._state.db = "default", "replica"
    assert router.allow_relation(one, other) is True
    other._state.db = "elsewhere"
    assert router.allow_relation(one, other) is None


@override_settings(SKIPS_REPLICA_DATABASES=["r1", "r2", "r3"])
def test_a_read_scope_reads_one_replica_and_each_read_outside_picks_one() -> None:
    router = PrimaryReplicaRouter()
    outside = Counter(router.db_for_read(Skip) for _ in range(300))
    assert set(outside) == {"r1", "r2", "r3"}
    for _ in range(10):
        with read_scope():
            assert len({router.db_for_read(model) for model in (Skip, Skip, Skip) * 10}) == 1


@override_settings(SKIPS_REPLICA_DATABASES=["replica"])
def test_a_pinned_scope_reads_the_primary_until_it_ends() -> None:
    router = PrimaryReplicaRouter()
    assert read_primary() is False  # no scope: nothing to pin
    with read_scope():
        assert router.db_for_read(Skip) == "replica"
        assert read_primary() is True
        assert reads_pinned()
        assert router.db_for_read(Skip) == "default"
        skip = Skip()
        skip._state.db = "replica"
        assert router.db_for_read(Skip, instance=skip) == "default"
        with read_scope():
            assert reads_pinned()  # an inner scope starts as the outer one is
    assert not reads_pinned()
    assert router.db_for_read(Skip) == "replica"


@override_settings(SKIPS_REPLICA_DATABASES=["replica"])
def test_the_replicas_are_read_from_the_settings_at_each_read() -> None:
    router = PrimaryReplicaRouter()
    assert router.db_for_read(Skip) == "replica"
    with override_settings(SKIPS_REPLICA_DATABASES=[]):
        assert router.db_for_read(Skip) == "default"


# Read-your-writes marks


@pytest.mark.django_db
@override_settings(SKIPS_REPLICA_DATABASES=["replica"])
def test_a_write_sends_the_writers_reads_to_the_primary_for_a_while(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    agent, other = AgentFactory(), AgentFactory()
    assert not wrote_recently(agent)
    timeouts: list[Any] = []

    class Recording:
        get = cache.get

        def set(self, key: str, value: Any, timeout: Any) -> None:
            timeouts.append(timeout)
            cache.set(key, value, timeout)

    monkeypatch.setattr(routers, "caches", {"default": Recording()})
    note_write(agent)
    assert timeouts == [5]  # SKIPS_READ_YOUR_WRITES_SECONDS
    assert wrote_recently(agent)
    assert not wrote_recently(other)
    with request_reads(agent):
        assert reads_pinned()
    with request_reads(other):
        assert not reads_pinned()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "settings_",
    [{"SKIPS_REPLICA_DATABASES": []}, {"SKIPS_READ_YOUR_WRITES_SECONDS": 0}],
    ids=["no replicas", "off"],
)
def test_no_mark_without_replicas_or_with_the_window_at_zero(settings_: dict[str, Any]) -> None:
    agent = AgentFactory()
    with override_settings(**{"SKIPS_REPLICA_DATABASES": ["replica"], **settings_}):
        note_write(agent)
        assert not wrote_recently(agent)
    assert cache.get(routers.MARK_KEY.format(pk=agent.pk)) is None


@pytest.mark.django_db
@override_settings(SKIPS_REPLICA_DATABASES=["replica"])
def test_a_failing_cache_loses_no_write_and_reads_the_primary(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def set(self, *args: Any) -> None:
            raise ConnectionError("cache down")

        get = set

    monkeypatch.setattr(routers, "caches", {"default": Broken()})
    agent = AgentFactory()
    note_write(agent)  # logged, not raised
    assert wrote_recently(agent) is True
    assert "could not note a write" in caplog.text


def spy_on_reads(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each list request of the API read the primary."""
    seen: list[bool] = []
    get = SkipsAPIView.get

    def spy(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(reads_pinned())
        return get(self, request, *args, **kwargs)

    monkeypatch.setattr(SkipsAPIView, "get", spy)
    return seen


@pytest.mark.django_db
@override_settings(**ONE_DATABASE)
def test_a_post_reads_the_primary_and_its_writer_then_does(
    monkeypatch: pytest.MonkeyPatch, as_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    agent, other, case = AgentFactory(), AgentFactory(), CaseFactory()
    pinned = spy_on_reads(monkeypatch)
    assert as_user(agent).get("/api/v2/skips.json").status_code == 200
    posted: list[bool] = []
    monkeypatch.setattr(
        "skips.serializers.SkipSerializer.create",
        lambda self, data: posted.append(reads_pinned()) or Skip.objects.record(**data),
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(agent).post_json("/api/v2/skips.json", {"skip": {"ticket_id": case.pk}})
    assert response.status_code == 201, response.content
    assert posted == [True]
    assert as_user(agent).get("/api/v2/skips.json").status_code == 200
    assert as_user(other).get("/api/v2/skips.json").status_code == 200
    assert pinned == [False, True, False]


@pytest.mark.django_db
@override_settings(**ONE_DATABASE)
def test_a_refused_post_marks_nobody(as_user: Any, django_capture_on_commit_callbacks: Any) -> None:
    agent = AgentFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(agent).post_json("/api/v2/skips.json", {"skip": {"ticket_id": 999}})
    assert response.status_code == 422
    assert not wrote_recently(agent)


@pytest.mark.django_db
@override_settings(**ONE_DATABASE)
def test_a_deletion_in_the_admin_marks_its_staff_user() -> None:
    skip = SkipFactory()
    user = staff("view_skip", "delete_skip")
    client = logged_in(user)
    assert client.get(CHANGELIST).status_code == 200
    assert not wrote_recently(user)
    response = client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [skip.pk], "post": "yes"}
    )
    assert response.status_code == 302
    assert not Skip.objects.exists()
    assert wrote_recently(user)


@pytest.mark.django_db
@override_settings(**ONE_DATABASE)
def test_the_export_action_is_no_write() -> None:
    skip = SkipFactory()
    user = staff("view_skip")
    response = logged_in(user).post(
        CHANGELIST, {"action": "export_csv", "_selected_action": [skip.pk]}
    )
    assert response.status_code == 200
    assert not wrote_recently(user)


# Checks


def test_no_replica_is_no_problem() -> None:
    assert checks.check_replica_databases() == []
    assert checks.check_read_your_writes() == []


@override_settings(**ONE_DATABASE)
def test_replicas_with_the_router_are_no_problem() -> None:
    assert checks.check_replica_databases() == []


@pytest.mark.parametrize("value", ["replica", [1], {"replica": 1}])
def test_replicas_not_a_list_of_aliases_is_e030(value: Any) -> None:
    with override_settings(SKIPS_REPLICA_DATABASES=value, DATABASE_ROUTERS=[ROUTER]):
        assert ids(checks.check_replica_databases()) == ["skips.E030"]


@override_settings(SKIPS_REPLICA_DATABASES=["default", "replica"], DATABASE_ROUTERS=[ROUTER])
def test_an_unknown_alias_is_e031() -> None:
    (error,) = checks.check_replica_databases()
    assert error.id == "skips.E031"
    assert "'replica'" in error.msg


@override_settings(SKIPS_REPLICA_DATABASES=["default"])
def test_replicas_without_the_router_is_w032() -> None:
    assert ids(checks.check_replica_databases()) == ["skips.W032"]


class OwnRouter(PrimaryReplicaRouter):
    primary_apps = frozenset({"sessions"})


@override_settings(SKIPS_REPLICA_DATABASES=["default"], DATABASE_ROUTERS=[f"{__name__}.OwnRouter"])
def test_a_subclass_of_the_router_is_the_router() -> None:
    assert checks.check_replica_databases() == []


@pytest.mark.parametrize("value", [-1, 1.5, "5", True, None])
def test_a_window_that_is_not_whole_seconds_is_e033(value: Any) -> None:
    with override_settings(SKIPS_READ_YOUR_WRITES_SECONDS=value):
        assert ids(checks.check_read_your_writes()) == ["skips.E033"]
