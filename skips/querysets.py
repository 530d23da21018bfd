"""QuerySet of skips, with the verbs the views and host projects need."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from django.db import models
from django.db.models import Exists, OuterRef, Prefetch, Q

from skips.conf import conf, get_ticket_model
from skips.rollups import flags_in_use

if TYPE_CHECKING:
    from skips.models import Skip

SortOrder = Literal["asc", "desc"]


def archived_q() -> Q | None:
    """The Q over the ticket model that matches archived tickets, or None."""
    value = conf.ARCHIVED_TICKETS
    if value is None:
        return None
    if callable(value):
        rule: Q = value()
        return rule
    return Q(**{value: True})


def ticket_access_q(user: Any) -> Q | None:
    """The Q over the ticket model of the tickets ``user`` may see, or None for all.

    ``SKIPS_TICKET_ACCESS`` decides (a Q, a queryset of tickets, or None);
    superusers see every ticket.
    """
    rule = conf.TICKET_ACCESS
    if rule is None or getattr(user, "is_superuser", False):
        return None
    q = rule(user)
    if q is None or isinstance(q, Q):
        return q
    if isinstance(q, models.QuerySet):  # the tickets themselves: as good as a Q
        return Q(pk__in=q.values("pk"))
    raise TypeError(
        f"SKIPS_TICKET_ACCESS returned {type(q).__name__}: it must return a Q over "
        "the ticket model, a queryset of tickets, or None"
    )


def visible_tickets(user: Any) -> models.QuerySet[models.Model]:
    """The host's tickets that ``user`` may see (``SKIPS_TICKET_ACCESS``)."""
    tickets = get_ticket_model()._default_manager.all()
    q = ticket_access_q(user)
    return tickets if q is None else tickets.filter(q)


def through_ticket(q: Q) -> Q:
    """A Q over skips matching the skips whose ticket matches ``q`` (a Q over tickets).

    A Q of plain lookups is taken through the join (``ticket__...``); one that
    holds expressions (``Q(Exists(...))``), which cannot be re-rooted, becomes
    an ``EXISTS`` on the skip's ticket (negated, an anti-join: ``NOT IN`` a
    million tickets would be read again for every skip).
    """
    prefixed = _prefix_q(q, "ticket")
    if prefixed is not None:
        return prefixed
    tickets = get_ticket_model()._default_manager.filter(q, pk=OuterRef("ticket_id"))
    return Q(Exists(tickets))


def _prefix_q(q: Q, prefix: str) -> Q | None:
    """The same Q with every lookup taken through ``prefix``; None if it holds expressions."""
    prefixed = q.copy()
    children: list[Any] = []
    for child in q.children:
        if isinstance(child, Q):
            inner = _prefix_q(child, prefix)
            if inner is None:
                return None
            children.append(inner)
        elif isinstance(child, tuple) and len(child) == 2 and isinstance(child[0], str):
            children.append((f"{prefix}__{child[0]}", child[1]))
        else:
            return None
    prefixed.children = children
    return prefixed


def _prefix_lookup(lookup: str | Prefetch[Any], prefix: str) -> str | Prefetch[Any]:
    if isinstance(lookup, Prefetch):
        return Prefetch(
            f"{prefix}__{lookup.prefetch_through}",
            queryset=lookup.queryset,
            to_attr=lookup.to_attr,
        )
    return f"{prefix}__{lookup}"


@dataclass(frozen=True)
class CountScope:
    """Which maintained count (:mod:`skips.rollups`) answers ``count()``: the
    listed skips of one agent, or of everyone (``user_id`` None)."""

    user_id: Any | None = None
    not_archived: bool = False


class SkipQuerySet(models.QuerySet["Skip"]):
    """Skips, narrowed with verbs: ``Skip.objects.visible_to(user).for_ticket(t)``."""

    #: Set by the verbs when the skips are exactly those a maintained count
    #: counts; kept by ordering and loading, dropped by any other narrowing.
    _count_scope: CountScope | None = None

    def _clone(self) -> Any:
        clone = super()._clone()  # type: ignore[misc]
        clone._count_scope = self._count_scope
        return clone

    def _scoped(self, scope: CountScope | None) -> SkipQuerySet:
        self._count_scope = scope
        return self

    def _filter_or_exclude(self, negate: bool, args: Any, kwargs: Any) -> Any:
        narrowed = super()._filter_or_exclude(negate, args, kwargs)  # type: ignore[misc]
        return narrowed._scoped(None)

    def complex_filter(self, filter_obj: Any) -> Any:
        narrowed: Any = super().complex_filter(filter_obj)
        return narrowed._scoped(None)

    def annotate(self, *args: Any, **kwargs: Any) -> Any:
        changed: Any = super().annotate(*args, **kwargs)
        return changed._scoped(None)

    def alias(self, *args: Any, **kwargs: Any) -> Any:
        changed: Any = super().alias(*args, **kwargs)
        return changed._scoped(None)

    def distinct(self, *field_names: Any) -> Any:
        changed: Any = super().distinct(*field_names)
        return changed._scoped(None)

    def extra(self, *args: Any, **kwargs: Any) -> Any:
        changed: Any = super().extra(*args, **kwargs)
        return changed._scoped(None)

    def _combinator_query(self, *args: Any, **kwargs: Any) -> Any:
        combined = super()._combinator_query(*args, **kwargs)  # type: ignore[misc]
        return combined._scoped(None)

    def count(self) -> int:
        """The number of skips; from the maintained counts when they answer exactly
        this question (PostgreSQL, see :mod:`skips.rollups`), else ``COUNT(*)``."""
        scope = self._count_scope
        if (
            scope is not None
            and scope.not_archived
            and self._result_cache is None
            and not self.query.is_sliced
            and not self.query.is_empty()
        ):
            from skips.rollups import rollup_count

            counted = rollup_count(self.db, scope.user_id)
            if counted is not None:
                return counted
        return super().count()

    def for_user(self, user: Any) -> SkipQuerySet:
        """Skips recorded by ``user`` (a user or a primary key)."""
        scope = self._count_scope
        narrowed = self.filter(user=user)
        pk = getattr(user, "pk", user)
        if scope is not None and scope.user_id in (None, pk):
            narrowed._count_scope = CountScope(pk, scope.not_archived)
        return narrowed

    def for_ticket(self, ticket: Any) -> SkipQuerySet:
        """Skips of ``ticket`` (a ticket or a primary key)."""
        return self.filter(ticket=ticket)

    def visible_to(self, user: Any) -> SkipQuerySet:
        """What ``user`` may read: every skip with reports access, else their own,
        and only of the tickets they may see (``SKIPS_TICKET_ACCESS``)."""
        if not user or not user.is_active:
            return self.none()
        can_read_all = user.has_perm("skips.view_skip")
        if not can_read_all and not user.has_perm("skips.add_skip"):
            return self.none()
        q = ticket_access_q(user)  # the host's rule: called once
        skips = self if can_read_all else self.for_user(user)
        if q is not None:
            return skips._of_tickets_matching(q)
        # Every skip, or every skip of the user: what the maintained counts
        # count, unless something narrowed the skips before.
        if not self.query.where:
            scope = CountScope() if can_read_all else CountScope(getattr(user, "pk", None))
            return skips.all()._scoped(scope)
        return skips

    def of_tickets_visible_to(self, user: Any) -> SkipQuerySet:
        """Only the skips of tickets ``user`` may see (``SKIPS_TICKET_ACCESS``)."""
        q = ticket_access_q(user)
        return self if q is None else self._of_tickets_matching(q)

    def _of_tickets_matching(self, q: Q) -> SkipQuerySet:
        # A subquery rather than a join: a rule over a many-valued relation
        # (the ticket's groups) would repeat the skips it matched twice.
        visible = get_ticket_model()._default_manager.filter(q)
        return self.filter(ticket__in=visible.values("pk"))

    def not_archived(self) -> SkipQuerySet:
        """Leave out the skips of archived tickets (see ``SKIPS_ARCHIVED_TICKETS``)."""
        q = archived_q()
        scope = self._count_scope
        if q is None:
            skips = self.all()
        elif flags_in_use(self.db):
            # The same skips, as the triggers keep them: PostgreSQL reads the
            # partial indexes of listed skips, no ticket looked up per skip.
            skips = self.filter(listed=True)
        else:
            skips = self.exclude(through_ticket(q))
        if scope is not None:
            skips._count_scope = CountScope(scope.user_id, not_archived=True)
        return skips

    def in_order(self, sort_order: SortOrder = "asc") -> SkipQuerySet:
        """Order by ``created_at`` then ``id``, ascending or descending."""
        if sort_order == "desc":
            return self.order_by("-created_at", "-id")
        return self.order_by("created_at", "id")

    def with_tickets(
        self,
        select_related: Iterable[str] = (),
        prefetch_related: Iterable[str | Prefetch[Any]] = (),
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

    def tickets_not_skipped_by(
        self, user: Any, tickets: models.QuerySet[models.Model] | None = None
    ) -> models.QuerySet[models.Model]:
        """Tickets that ``user`` has not skipped yet (for a host's guided mode).

        ``tickets`` narrows the candidates (a view's queryset); by default every
        ticket that is not archived.
        """
        if tickets is None:
            tickets = get_ticket_model()._default_manager.all()
            q = archived_q()
            if q is not None:
                tickets = tickets.exclude(q)
        skipped = self.model._default_manager.filter(user=user, ticket=OuterRef("pk"))
        return tickets.filter(~Exists(skipped))

    def erase(self, *, anonymise: bool) -> int:
        """Erase these skips' personal data, for a request to erase a person's data.

        ``anonymise=True``: keep the skips for reports, with the reason ``""`` and
        the "erased user" account (``SKIPS_ERASED_USER``, created once) as their
        agent; their ``updated_at`` changes, so the incremental export carries it.
        ``anonymise=False``: delete them, recording their tombstones. Returns how
        many skips were erased, in one transaction. Then the person's user row
        can be deleted: ``Skip.objects.for_user(user).erase(anonymise=True)``.
        """
        from skips.erasure import erase_skips

        return erase_skips(self, anonymise=anonymise)
