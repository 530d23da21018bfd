"""Local calendar days as UTC bounds of ``created_at``: the admin's date filters and the report.

A bound at an end of the calendar that no timestamp can express is left open.
"""

from __future__ import annotations

import datetime
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

_QuerySet = TypeVar("_QuerySet", bound=QuerySet[Any, Any])


def local_day_start(day: datetime.date) -> datetime.datetime | None:
    """Midnight at the start of ``day`` in the current time zone (aware when USE_TZ).

    None when that instant is outside the calendar in UTC (the first day of
    year 1 east of Greenwich), where the database could not be given it.
    """
    start = datetime.datetime.combine(day, datetime.time.min)
    if not settings.USE_TZ:
        return start
    try:
        aware = timezone.make_aware(start)
        aware.astimezone(datetime.timezone.utc)
    except (OverflowError, ValueError):
        return None
    return aware


def next_day(day: datetime.date) -> datetime.date | None:
    """The day after ``day``; None after the calendar's last day."""
    try:
        return day + datetime.timedelta(days=1)
    except OverflowError:
        return None


def created_between(
    queryset: _QuerySet,
    first: datetime.date | None,
    last: datetime.date | None,
    *,
    field: str = "created_at",
) -> _QuerySet:
    """Skips created (``field``) from ``first`` to ``last`` included (local dates; None is open).

    A bound at an end of the calendar that no timestamp can express is open:
    from 0001-01-01 or to 9999-12-31 leaves nothing out on that side.
    """
    if first is not None:
        start = local_day_start(first)
        if start is not None:
            queryset = queryset.filter(**{f"{field}__gte": start})
    if last is not None:
        after = next_day(last)
        end = local_day_start(after) if after is not None else None
        if end is not None:
            queryset = queryset.filter(**{f"{field}__lt": end})
    return queryset
