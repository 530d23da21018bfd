"""CompiledQuery: compiled once, it answers what the ORM answers for any values."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from skips.models import Skip
from skips.serializers import ROW_FIELDS, CompiledQuery, SkipSerializer
from skips.serializers import compiled as compiled_module
from tests.factories import AgentFactory, CaseFactory, LabelFactory, SkipFactory
from tests.testapp.models import Agent, Case, Label

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(db: Any) -> list[Case]:
    labels = [LabelFactory(name=name) for name in ("billing", "vip", "bug")]
    made = [CaseFactory(labels=labels[: i % 3 + 1]) for i in range(6)]
    for i, case in enumerate(made):
        for _ in range(i % 3):
            SkipFactory(ticket=case)
    return made


@pytest.fixture
def compilations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many values each compilation was for."""
    calls: list[int] = []
    real = compiled_module._compile

    def counting(build: Any, count: int, kind: type, using: str) -> Any:
        calls.append(count)
        return real(build, count, kind, using)

    monkeypatch.setattr(compiled_module, "_compile", counting)
    return calls


SHAPES = {
    "values": lambda ids: Case.objects.filter(pk__in=ids).order_by("pk").values("id", "title"),
    "values_list": lambda ids: (
        Case.labels.through.objects.filter(case_id__in=ids)
        .order_by("case_id", "label__name")
        .values_list("case_id", "label__name")
    ),
    "flat": lambda ids: (
        Skip.objects.filter(ticket_id__in=ids).order_by("id").values_list("ticket_id", flat=True)
    ),
    "timestamps": lambda ids: (
        Case.objects.filter(pk__in=ids)
        .order_by("-pk")
        .values_list("pk", "opened_at", "is_archived")
    ),
    "instances": lambda ids: Case.objects.filter(pk__in=ids).order_by("pk"),
}


def comparable(rows: list[Any]) -> list[Any]:
    return [
        (row.pk, row.title, row.opened_at, row.is_archived, row.owner_id)
        if isinstance(row, Case)
        else row
        for row in rows
    ]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_the_same_rows_as_the_orm(cases: list[Case], shape: str, compilations: list[int]) -> None:
    build = SHAPES[shape]
    query = CompiledQuery(build)
    pks = [case.pk for case in cases]
    for ids in ([pks[0]], pks[1:3], pks[3:5], [pks[5], pks[0]], [pks[2]], [987_654]):
        expected = list(build(ids))
        with CaptureQueriesContext(connection) as captured:
            got = query.rows(ids)
        assert comparable(got) == comparable(expected)
        assert len(captured) == 1
        assert [type(v) for v in comparable(got)] == [type(v) for v in comparable(expected)]
    # Once per number of values: 1, 2 and 2 again, 2, 1 and 1.
    assert compilations == [1, 2]


def test_instances_are_the_orm_s(cases: list[Case]) -> None:
    query = CompiledQuery(lambda ids: Agent.objects.filter(pk__in=ids))
    agent = AgentFactory(is_active=False)
    Agent.objects.filter(pk=agent.pk).update(
        last_login=datetime.datetime(2024, 5, 6, 7, 8, 9, 123, tzinfo=datetime.timezone.utc)
    )
    (got,) = query.rows([agent.pk])
    (again,) = query.rows([agent.pk])
    expected = Agent.objects.get(pk=agent.pk)
    for field in Agent._meta.concrete_fields:
        assert getattr(got, field.attname) == getattr(expected, field.attname)
    assert got.is_active is False
    assert got._state.adding is False
    assert got._state.db == "default"
    assert got.last_login == datetime.datetime(
        2024, 5, 6, 7, 8, 9, 123, tzinfo=datetime.timezone.utc
    )
    assert again is not got


def test_strings_are_values_too(db: Any, compilations: list[int]) -> None:
    for name in ("vip", "bug", "100%", "o'brien", "%s"):
        LabelFactory(name=name)
    query = CompiledQuery(
        lambda names: Label.objects.filter(name__in=names).order_by("name").values_list("name")
    )
    assert query.rows(["vip", "nope"]) == [("vip",)]
    assert query.rows(["100%", "o'brien"]) == [("100%",), ("o'brien",)]
    assert query.rows(["%s", "bug"]) == [("%s",), ("bug",)]
    assert compilations == [2]


def test_a_constant_equal_to_a_value_stays_a_constant(cases: list[Case]) -> None:
    target = cases[1]
    query = CompiledQuery(
        lambda ids: (
            Case.objects.filter(pk__in=ids)
            .exclude(pk=target.pk)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    )
    assert query.rows([target.pk]) == []
    assert query.rows([cases[2].pk]) == [cases[2].pk]
    assert query.rows([target.pk, cases[3].pk]) == [cases[3].pk]


BY_FIELD = {
    "pk": lambda vs: Case.objects.filter(pk__in=vs).values_list("pk", flat=True),
    "title": lambda vs: Case.objects.filter(title__in=vs).values_list("pk", flat=True),
    "opened_at": lambda vs: Case.objects.filter(opened_at__in=vs).values_list("pk", flat=True),
}


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("pk", [True]),
        ("pk", [1.5]),
        ("opened_at", [datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)]),
        ("title", [1, "1"]),
    ],
    ids=["bool", "float", "datetime", "mixed"],
)
def test_other_values_go_through_the_orm(
    cases: list[Case], field: str, values: list[Any], compilations: list[int]
) -> None:
    build = BY_FIELD[field]
    assert CompiledQuery(build).rows(values) == list(build(values))
    assert compilations == []


def test_no_values_is_a_query_too(cases: list[Case], compilations: list[int]) -> None:
    every = CompiledQuery(lambda _: Case.objects.order_by("pk").values_list("pk", flat=True))
    pks = [case.pk for case in cases]
    with CaptureQueriesContext(connection) as captured:
        assert every.rows([]) == pks
        assert every.rows([]) == pks
        assert every.count([]) == len(pks)
        assert every.count([]) == len(pks)
    assert len(captured) == 4
    # An empty IN () has no statement: the ORM answers, with no query.
    none = CompiledQuery(lambda ids: Case.objects.filter(pk__in=ids).values_list("pk"))
    assert none.rows([]) == []
    assert none.count([]) == 0
    assert compilations == [0, 0]


def test_a_value_the_field_refuses_is_the_orm_s_error(cases: list[Case]) -> None:
    query = CompiledQuery(lambda ids: Case.objects.filter(pk__in=ids).values_list("pk"))
    with pytest.raises(ValueError, match="expected a number"):
        query.rows(["not a number"])


def test_a_changed_setting_compiles_again(
    cases: list[Case], compilations: list[int], settings: Any
) -> None:
    query = CompiledQuery(lambda ids: Case.objects.filter(pk__in=ids).values_list("pk"))
    query.rows([cases[0].pk])
    settings.SKIPS_THROTTLE_RATE = "100/min"
    assert query.rows([cases[1].pk]) == [(cases[1].pk,)]
    assert compilations == [1, 1]


def test_the_router_s_database_or_the_one_given(cases: list[Case]) -> None:
    query = CompiledQuery(lambda ids: Case.objects.filter(pk__in=ids).values_list("pk"))
    assert query.rows([cases[0].pk], using="default") == [(cases[0].pk,)]
    assert query.rows([cases[0].pk]) == [(cases[0].pk,)]


@pytest.mark.parametrize("use_tz", [True, False])
@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin"])
def test_a_page_s_rows_are_the_orm_s(
    cases: list[Case], settings: Any, use_tz: bool, zone: str
) -> None:
    settings.USE_TZ = use_tz
    settings.TIME_ZONE = zone
    skips = Skip.objects.order_by("created_at", "id")
    rows = list(SkipSerializer.page_queryset(skips)[:50])
    assert rows == list(skips.values(*ROW_FIELDS)[:50])
    assert [type(row["created_at"]) for row in rows] == [datetime.datetime] * len(rows)
    assert all((row["created_at"].tzinfo is not None) is use_tz for row in rows)
    # Cursor pages filter and reverse the same rows.
    assert list(SkipSerializer.page_queryset(skips).reverse()[:2]) == list(
        skips.values(*ROW_FIELDS).reverse()[:2]
    )


@pytest.mark.parametrize("use_tz", [True, False])
def test_compiled_dict_rows_are_the_orm_s(cases: list[Case], settings: Any, use_tz: bool) -> None:
    settings.USE_TZ = use_tz
    query = CompiledQuery(
        lambda ids: (
            Case.objects.filter(pk__in=ids)
            .order_by("pk")
            .values("pk", "opened_at", "is_archived", "title", "owner_id")
        )
    )
    pks = [case.pk for case in cases]
    for ids in (pks[:1], pks[1:3], pks[2:4]):
        assert query.rows(ids) == list(query.build(ids))


def test_counts_are_the_orm_s_compiled_once(cases: list[Case]) -> None:
    counts: list[int] = []
    real = compiled_module._compile_count

    def counting(*args: Any) -> Any:
        counts.append(args[1])
        return real(*args)

    build = lambda ids: Skip.objects.filter(ticket_id__in=ids).exclude(reason="x")  # noqa: E731
    query = CompiledQuery(build)
    pks = [case.pk for case in cases]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compiled_module, "_compile_count", counting)
        for ids in ([pks[0]], pks[1:3], [pks[2]], [pks[4], pks[5]], [987_654]):
            with CaptureQueriesContext(connection) as captured:
                assert query.count(ids) == build(ids).count()
            # Compiling records its statement without running it: one query each.
            assert len(captured) == 2, captured
    assert counts == [1, 2]


def test_a_plan_that_is_not_the_orm_s_statement_is_not_used(cases: list[Case]) -> None:
    """A build that makes another query for the stand-ins than for real values:
    the check against the ORM's own statement finds it; the ORM answers."""

    def build(ids: list[int]) -> Any:
        queryset = Case.objects.filter(pk__in=ids)
        if ids[0] < 0:  # the stand-ins
            queryset = queryset.filter(title="never")
        return queryset.order_by("pk").values_list("pk", flat=True)

    query = CompiledQuery(build)
    pks = [case.pk for case in cases]
    assert query.rows(pks[:2]) == pks[:2]
    assert query.count(pks[:2]) == 2
    assert list(query.plans.values()) == [None]
    assert list(query.count_plans.values()) == [None]
    assert query.rows(pks[2:4]) == pks[2:4]
