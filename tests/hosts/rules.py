"""Rules (archived tickets, ticket access) named by dotted path in the hosts' settings."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q


def uncompilable_archived_rule() -> Q:
    """A Q whose subquery names a field the ticket model does not have."""
    from tests.testapp.models import Label

    return Q(Exists(Label.objects.filter(name=OuterRef("no_such_field"))))


def not_a_q_archived_rule() -> Any:
    return "is_archived"


def access_without_a_user() -> Q:
    """Takes no argument, where SKIPS_TICKET_ACCESS passes the user."""
    return Q()


def own_team_access(user: Any) -> Q:
    """A host's rule: the cases of the user's groups."""
    return Q(team__in=user.groups.all())


NOT_CALLABLE = "a string"
