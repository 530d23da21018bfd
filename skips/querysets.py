"""QuerySet of skips, with the verbs the views and host projects need."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from django.db import models
from django.db.models import Exists, OuterRef, Prefetch, Q

from skips.conf import conf

if TYPE_CHECKING:
    from skips.models import Skip

SortOrder = Literal["asc", "desc"]


def archived_q() -> Q | None:
    """The Q over the ticket model that matches archived tickets, or None."""
    value = conf.ARCHIVED_TICKETS
    if value is None:
        return None
    if callable(value):
        return value()
    return Q(**{value: True})


def prefix_q(q: Q, prefix: str) -> Q:
    """The same Q, with every lookup taken through the relation ``prefix``."""
    prefixed = q.copy()
    children: list[Any] = []
    for child in q.children:
        if isinstance(child, Q):
            children.append(prefix_q(child, prefix))
        else:
            lookup, value = child  # type: ignore[misc]
            children.append((f"{prefix}__{lookup}", value))
    prefixed.children = children
    return prefixed


def _prefix_lookup(lookup: str | Prefetch, prefix: str) -> str | Prefetch:
    if isinstance(lookup, Prefetch):
        return Prefetch(
            f"{prefix}__{lookup.prefetch_through}",
            queryset=lookup.queryset,
            to_attr=lookup.to_attr,
        )
    return f"{prefix}__{lookup}"


class SkipQuerySet(models.QuerySet["Skip"]):
    """Skips, narrowed with verbs: ``Skip.objects.visible_to(user).for_ticket(t)``."""

    def for_user(self, user: Any) -> SkipQuerySet:
        """Skips recorded by ``user`` (a user or a primary key)."""
        return self.filter(user=user)

    def for_ticket(self, ticket: Any) -> SkipQuerySet:
        """Skips of ``ticket`` (a ticket or a primary key)."""
        return self.filter(ticket=ticket)

    def visible_to(self, user: Any) -> SkipQuerySet:
        """What ``user`` may read: every skip with reports access, else their own."""
        if not user or not user.is_active:
            return self.none()
        if user.has_perm("skips.view_skip"):
            return self
        if user.has_perm("skips.add_skip"):
            return self.for_user(user)
        return self.none()

    def not_archived(self) -> SkipQuerySet:
        """Leave out the skips of archived tickets (see ``SKIPS_ARCHIVED_TICKETS``)."""
        q = archived_q()
        return self if q is None else self.exclude(prefix_q(q, "ticket"))

    def in_order(self, sort_order: SortOrder = "asc") -> SkipQuerySet:
        """Order by ``created_at`` then ``id``, ascending or descending."""
        if sort_order == "desc":
            return self.order_by("-created_at", "-id")
        return self.order_by("created_at", "id")

    def with_tickets(
        self,
        select_related: Iterable[str] = (),
        prefetch_related: Iterable[str | Prefetch] = (),
    ) -> SkipQuerySet:
        """Load each skip's ticket, and the ticket relations given, in a fixed number of queries."""
        return self.select_related(
            "ticket", *(f"ticket__{name}" for name in select_related)
        ).prefetch_related(*(_prefix_lookup(lookup, "ticket") for lookup in prefetch_related))

    def record(self, *, user: Any, ticket: Any, reason: str = "") -> Skip:
        """Save a new skip of ``ticket`` by ``user`` and send ``skip_recorded``."""
        from skips.signals import skip_recorded

        skip = self.create(user=user, ticket=ticket, reason=reason)
        skip_recorded.send(sender=self.model, skip=skip, user=user, ticket=ticket)
        return skip

    def tickets_not_skipped_by(self, user: Any, tickets: models.QuerySet | None = None) -> Any:
        """Tickets that ``user`` has not skipped yet (for a host's guided mode).

        ``tickets`` narrows the candidates (a view's queryset); by default every
        ticket that is not archived.
        """
        from skips.models import get_ticket_model

        if tickets is None:
            tickets = get_ticket_model()._default_manager.all()
            q = archived_q()
            if q is not None:
                tickets = tickets.exclude(q)
        skipped = self.model._default_manager.filter(user=user, ticket=OuterRef("pk"))
        return tickets.filter(~Exists(skipped))
