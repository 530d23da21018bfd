"""What the admin tests share: staff users, skips in bulk, the SQL a page ran.

No tests here: the admin test modules import these helpers.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from skips.models import Skip
from tests.factories import CaseFactory, UserFactory, grant

CHANGELIST = "/admin/skips/skip/"
REPORT = "/admin/skips/skip/report/"
EXPORT = "/admin/skips/skip/export/"
REASONS = ("I have no idea.", "I am lost.", "Not my language", "", "Needs a manager, sorry")


def staff(*codenames: str, **fields: Any) -> Any:
    """A staff user holding the skips permissions named."""
    user = UserFactory(is_staff=True, **fields)
    return grant(user, *codenames)


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def bulk_skips(
    count: int,
    *,
    users: Sequence[Any] | None = None,
    tickets: Sequence[Any] | None = None,
    newest: datetime.datetime | None = None,
    step: datetime.timedelta = datetime.timedelta(minutes=13),
    reasons: Sequence[str] = REASONS,
) -> list[Skip]:
    """``count`` skips, newest first ``step`` apart, spread over the users and tickets."""
    users = users or [UserFactory()]
    tickets = tickets or [CaseFactory()]
    newest = newest or timezone.now()
    skips = []
    for i in range(count):
        stamp = newest - i * step
        skips.append(
            Skip(
                user=users[i % len(users)],
                ticket=tickets[i % len(tickets)],
                reason=reasons[i % len(reasons)],
                created_at=stamp,
                updated_at=stamp,
            )
        )
    return Skip.objects.bulk_create(skips)


def skip_at(stamp: datetime.datetime, **fields: Any) -> Skip:
    """One skip made at ``stamp``."""
    return bulk_skips(1, newest=stamp, **fields)[0]


def result_ids(response: Any) -> list[int]:
    """The skip ids a changelist response shows, in order."""
    return [skip.pk for skip in response.context["cl"].result_list]


@contextmanager
def sql() -> Iterator[list[str]]:
    """The SQL of the queries run inside the block (filled in when it ends)."""
    statements: list[str] = []
    with CaptureQueriesContext(connection) as queries:
        yield statements
    statements.extend(q["sql"] for q in queries.captured_queries)
