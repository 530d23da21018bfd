"""The Skip model, its queryset verbs and what deleting does."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import ProtectedError

from skips.models import Skip, get_ticket_model
from tests.factories import AgentFactory, CaseFactory, SkipFactory, UserFactory, grant
from tests.testapp.models import Case

pytestmark = pytest.mark.django_db


def test_ticket_model_is_the_hosts() -> None:
    assert get_ticket_model() is Case
    assert Skip._meta.get_field("ticket").related_model is Case


def test_deleting_a_ticket_deletes_its_skips() -> None:
    skip = SkipFactory()
    other = SkipFactory()
    skip.ticket.delete()
    assert list(Skip.objects.all()) == [other]


def test_deleting_a_user_with_skips_is_refused(agent: Any) -> None:
    SkipFactory(user=agent)
    with pytest.raises(ProtectedError):
        agent.delete()
    assert Skip.objects.filter(user=agent).count() == 1
    # Deactivating is the way: the history stays.
    agent.is_active = False
    agent.save()
    assert Skip.objects.filter(user=agent).count() == 1


def test_deleting_a_user_without_skips_works() -> None:
    user = AgentFactory()
    pk = user.pk
    user.delete()
    assert not type(user)._default_manager.filter(pk=pk).exists()


def test_str_and_repr() -> None:
    skip = SkipFactory()
    assert str(skip) == f"Skip #{skip.pk} of ticket #{skip.ticket_id} by user #{skip.user_id}"
    assert repr(skip).startswith("<Skip id=")


def test_reverse_accessors_carry_skips_in_their_name(agent: Any) -> None:
    skip = SkipFactory(user=agent)
    assert list(agent.ticket_skips.all()) == [skip]
    assert not hasattr(skip.ticket, "skips")  # related_name="+": the host's own "skips" is free
    assert list(Skip.objects.for_ticket(skip.ticket)) == [skip]


def test_for_user_and_for_ticket(agent: Any, other_agent: Any) -> None:
    case = CaseFactory()
    mine = SkipFactory(user=agent, ticket=case)
    theirs = SkipFactory(user=other_agent, ticket=case)
    SkipFactory(user=other_agent)
    assert list(Skip.objects.for_user(agent)) == [mine]
    assert set(Skip.objects.for_ticket(case)) == {mine, theirs}
    assert list(Skip.objects.for_ticket(case.pk).for_user(other_agent.pk)) == [theirs]


def test_visible_to(agent: Any, supervisor: Any, end_user: Any) -> None:
    mine = SkipFactory(user=agent)
    SkipFactory()
    assert list(Skip.objects.visible_to(agent)) == [mine]
    assert Skip.objects.visible_to(supervisor).count() == 2
    assert not Skip.objects.visible_to(end_user).exists()
    viewer = grant(UserFactory(), "view_skip")
    assert Skip.objects.visible_to(viewer).count() == 2
    agent.is_active = False
    assert not Skip.objects.visible_to(agent).exists()


def test_not_archived() -> None:
    kept = SkipFactory()
    SkipFactory(ticket=CaseFactory(is_archived=True))
    assert list(Skip.objects.not_archived()) == [kept]


def test_ordered() -> None:
    a, b, c = SkipFactory.create_batch(3)
    Skip.objects.update(created_at=a.created_at)  # all tied: id breaks the tie
    assert list(Skip.objects.in_order("asc")) == [a, b, c]
    assert list(Skip.objects.in_order("desc")) == [c, b, a]


def test_record_saves_and_signals(agent: Any) -> None:
    from skips.signals import skip_recorded

    seen: list[Any] = []

    def receiver(sender: Any, skip: Skip, **kwargs: Any) -> None:
        seen.append(skip)

    skip_recorded.connect(receiver)
    try:
        skip = Skip.objects.record(user=agent, ticket=CaseFactory(), reason="Later")
    finally:
        skip_recorded.disconnect(receiver)
    assert seen == [skip]
    assert Skip.objects.get().reason == "Later"


def test_tickets_not_skipped_by(agent: Any, other_agent: Any) -> None:
    skipped, fresh, skipped_by_other = CaseFactory.create_batch(3)
    CaseFactory(is_archived=True)
    SkipFactory(user=agent, ticket=skipped)
    SkipFactory(user=other_agent, ticket=skipped_by_other)
    assert set(Skip.objects.tickets_not_skipped_by(agent)) == {fresh, skipped_by_other}
    narrowed = Case.objects.filter(pk__in=[skipped.pk, fresh.pk])
    assert list(Skip.objects.tickets_not_skipped_by(agent, narrowed)) == [fresh]


def test_indexes_serve_every_list() -> None:
    indexed = [tuple(index.fields) for index in Skip._meta.indexes]
    assert ("created_at", "id") in indexed
    assert ("user", "created_at", "id") in indexed
    assert ("ticket", "created_at", "id") in indexed


def test_new_skip_timestamps_are_equal_and_updates_move_updated_at(agent: Any) -> None:
    skip = Skip.objects.record(user=agent, ticket=CaseFactory())
    assert skip.updated_at == skip.created_at
    skip.refresh_from_db()
    assert skip.updated_at == skip.created_at
    skip.reason = "Changed my mind"
    skip.save(update_fields=["reason"])
    skip.refresh_from_db()
    assert skip.updated_at > skip.created_at


def test_with_tickets_loads_tickets_and_their_relations_at_once(agent: Any) -> None:
    from django.db import connection
    from django.db.models import Prefetch
    from django.test.utils import CaptureQueriesContext

    from tests.factories import LabelFactory

    labels = [LabelFactory(name="vip"), LabelFactory(name="bug")]
    for _ in range(5):
        SkipFactory(user=agent, ticket=CaseFactory(labels=labels))
    with CaptureQueriesContext(connection) as queries:
        skips = list(Skip.objects.with_tickets(["owner"], [Prefetch("labels")]).in_order("asc"))
        seen = [
            (s.ticket.owner.email, sorted(label.name for label in s.ticket.labels.all()))
            for s in skips
        ]
    assert len(queries) == 2  # skips joined with tickets and owners; labels
    assert all(names == ["bug", "vip"] for _, names in seen)
