"""The test host's ticket access rule (``SKIPS_TICKET_ACCESS``)."""

from typing import Any

from django.db.models import Q


def my_groups_cases(user: Any) -> Q:
    """A host's rule: a user sees the cases of their groups (a case of no team: nobody)."""
    return Q(team__in=user.groups.all())
