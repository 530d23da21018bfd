"""The Skip changelist on a large table: counts without ``COUNT(*)``, a cheap date drill-down.

A million-row changelist costs what a thousand-row one does when nothing on
the page reads the whole table:

- :class:`SkipPaginator` counts an unfiltered list from PostgreSQL's planner
  estimate (``pg_class.reltuples``) and a filtered one up to a cap
  ("more than 10,000").
- :class:`SkipChangeList` replaces the date hierarchy's ``SELECT DISTINCT``
  over every date with the first and last date of the list (two ``ORDER BY
  created_at LIMIT 1`` queries, answered from the ``created_at`` index): the
  choices are the years, months or days between them. It reads the
  drill-down's year, month and day itself, so that the calendar's last year
  (9999) is a list like any other and a part that makes no date is the
  admin's usual "?e=1", never an error of the server.
"""

from __future__ import annotations

import calendar
import datetime
from typing import Any

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.functional import cached_property
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from skips.dates import created_between
from skips.models import Skip

#: The parts of a date the drill-down's query string may name, largest first.
DATE_PARTS = ("year", "month", "day")
#: How an unfiltered count was worked out, for the label.
EXACT, ESTIMATED, CAPPED = "exact", "estimated", "capped"


def planner_estimate(queryset: QuerySet[Any]) -> int | None:
    """PostgreSQL's estimate of the rows in ``queryset``'s table, or None.

    None on other databases, and when the table was never analysed (the
    estimate is then -1).

    Asked of the database the list is read from (``queryset.db``: a replica,
    with ``skips.routers``, the same one as the page's rows in a read scope).
    A streaming replica's ``pg_class`` is the primary's as of its replay: the
    statistics that ANALYZE and autovacuum write there are replicated.
    """
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    table = connection.ops.quote_name(queryset.model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
    if row is None or row[0] is None or row[0] < 0:
        return None
    return int(row[0])


def round_estimate(value: int) -> int:
    """An estimate to three significant digits: 1,234,567 becomes 1,230,000."""
    digits = len(str(value))
    if digits <= 3:
        return value
    scale = 10 ** (digits - 3)
    return int(round(value / scale) * scale)


class SkipPaginator(Paginator):  # type: ignore[type-arg]  # not generic at run time
    """Pages of a changelist that never counts a large table row by row.

    - Unfiltered, on PostgreSQL: the planner's estimate of the table's rows,
      when it is at least ``estimate_threshold``; else an exact count.
    - Filtered (a list filter, a search, a date): the rows counted up to
      ``count_cap`` + 1, so that a filter matching half a million rows costs a
      short index scan. ``count_label`` then says "more than 10,000".
    """

    #: Below this many rows (by the estimate), count exactly.
    estimate_threshold = 10_000
    #: Filtered lists are counted up to this many rows.
    count_cap = 10_000

    count_kind = EXACT

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return len(queryset)
        if not queryset.query.where:
            estimate = planner_estimate(queryset)
            if estimate is not None and estimate >= self.estimate_threshold:
                self.count_kind = ESTIMATED
                return estimate
            return queryset.count()
        # In the list's own order: an index range that stops at the cap (a
        # plan without an order may scan the table until it has enough rows).
        capped = queryset.values("pk")[: self.count_cap + 1].count()
        if capped > self.count_cap:
            self.count_kind = CAPPED
        return capped

    @property
    def count_is_exact(self) -> bool:
        return self.count == 0 or self.count_kind == EXACT

    @property
    def count_label(self) -> str:
        """The count for people: "1,234", "about 1,000,000" or "more than 10,000"."""
        count = self.count  # sets count_kind
        if self.count_kind == ESTIMATED:
            return gettext("about %(count)s") % {
                "count": number_format(round_estimate(count), force_grouping=True)
            }
        if self.count_kind == CAPPED:
            return gettext("more than %(count)s") % {
                "count": number_format(self.count_cap, force_grouping=True)
            }
        return number_format(count, force_grouping=True)


class SkipChangeList(ChangeList):
    """The Skip changelist, with a date drill-down that never lists distinct dates."""

    def date_parameters(self) -> list[str]:
        """The query string names of the drill-down: ``created_at__year`` and so on."""
        if not self.date_hierarchy:
            return []
        return [f"{self.date_hierarchy}__{part}" for part in DATE_PARTS]

    def get_filters_params(self, params: Any = None) -> dict[str, Any]:
        """The filters' parameters; the drill-down's are read by :attr:`date_parts`."""
        lookup_params = super().get_filters_params(params)
        for name in self.date_parameters():
            lookup_params.pop(name, None)
        return lookup_params

    @cached_property
    def date_parts(self) -> tuple[int | None, int | None, int | None]:
        """The year, month and day chosen in the drill-down (None where not chosen).

        IncorrectLookupParameters when they make no date, or name a month
        without its year or a day without its month.
        """
        if not self.date_hierarchy:
            return None, None, None
        parts: list[int | None] = []
        for name in self.date_parameters():
            value = self.params.get(name) or None
            if value is not None and not (value.isascii() and value.isdigit() and len(value) <= 4):
                raise IncorrectLookupParameters(f"not a date part: {name}={value[:20]!r}")
            parts.append(int(value) if value is not None else None)
        year, month, day = parts
        if (month is not None and year is None) or (day is not None and month is None):
            raise IncorrectLookupParameters("a month needs its year, a day its month")
        if year is not None:
            try:
                datetime.date(year, 1 if month is None else month, 1 if day is None else day)
            except ValueError as e:
                raise IncorrectLookupParameters(e) from e
        return year, month, day

    @cached_property
    def date_span(self) -> tuple[datetime.date, datetime.date] | None:
        """The first and last local day of the year, month or day chosen; None if none is."""
        year, month, day = self.date_parts
        if year is None:
            return None
        if month is None:
            return datetime.date(year, 1, 1), datetime.date(year, 12, 31)
        if day is None:
            last = calendar.monthrange(year, month)[1]
            return datetime.date(year, month, 1), datetime.date(year, month, last)
        chosen = datetime.date(year, month, day)
        return chosen, chosen

    def get_queryset(self, request: Any, exclude_parameters: Any = None) -> QuerySet[Skip]:
        span = self.date_span  # refuses a bad drill-down before any query
        queryset = super().get_queryset(request, exclude_parameters)
        if span is not None and self.date_hierarchy:
            queryset = created_between(queryset, *span, field=self.date_hierarchy)
        return queryset

    @cached_property
    def date_bounds(self) -> tuple[datetime.datetime, datetime.datetime] | None:
        """The first and last ``date_hierarchy`` value of the list, in local time."""
        # Two "ORDER BY ... LIMIT 1" queries rather than one MIN/MAX: PostgreSQL
        # answers MIN/MAX from an index only for a query on one table, and a
        # filter may join; an ordered LIMIT 1 walks the index either way.
        field = self.date_hierarchy
        values = self.queryset.select_related(None).values_list(field, flat=True)
        first = values.order_by(field).first()
        if first is None:
            return None
        last = values.order_by(f"-{field}").first()
        if last is None:  # deleted in between
            return None
        if timezone.is_aware(first):
            first, last = timezone.localtime(first), timezone.localtime(last)
        return first, last

    def _date_link(self, **parts: int) -> str:
        field = self.date_hierarchy
        params = {f"{field}__{name}": str(value) for name, value in parts.items()}
        return self.get_query_string(params, [f"{field}__"])

    @cached_property
    def date_drilldown(self) -> dict[str, Any]:
        """What ``admin/date_hierarchy.html`` shows: ``show``, ``back`` and ``choices``.

        At most two short queries (the first and the last date of the filtered
        list); none once a day is chosen. The choices are every year, month or day from
        the first skip of the list to its last, including quiet ones in between.
        """
        year, month, day = self.date_parts  # checked when the list was read
        if year is not None and month is not None and day is not None:
            chosen = datetime.date(year, month, day)
            return {
                "show": True,
                "back": {
                    "link": self._date_link(year=year, month=month),
                    "title": capfirst(date_format(chosen, "YEAR_MONTH_FORMAT")),
                },
                "choices": [{"title": capfirst(date_format(chosen, "MONTH_DAY_FORMAT"))}],
            }
        bounds = self.date_bounds
        if year is None:
            if bounds is None:
                return {"show": False, "back": None, "choices": []}
            first, last = bounds
            if first.year != last.year:
                return {
                    "show": True,
                    "back": None,
                    "choices": [
                        {"link": self._date_link(year=y), "title": str(y)}
                        for y in range(first.year, last.year + 1)
                    ],
                }
            year = first.year
            if first.month == last.month:
                month = first.month
        if month is None:
            return {
                "show": True,
                "back": {"link": self._date_link(), "title": _("All dates")},
                "choices": [
                    {
                        "link": self._date_link(year=year, month=m),
                        "title": capfirst(
                            date_format(datetime.date(year, m, 1), "YEAR_MONTH_FORMAT")
                        ),
                    }
                    for m in _span(bounds, year, None)
                ],
            }
        return {
            "show": True,
            "back": {"link": self._date_link(year=year), "title": str(year)},
            "choices": [
                {
                    "link": self._date_link(year=year, month=month, day=d),
                    "title": capfirst(
                        date_format(datetime.date(year, month, d), "MONTH_DAY_FORMAT")
                    ),
                }
                for d in _span(bounds, year, month)
            ],
        }


def _span(
    bounds: tuple[datetime.datetime, datetime.datetime] | None, year: int, month: int | None
) -> range:
    """Months of ``year`` (or days of ``year``-``month``) from the first to the last date."""
    if bounds is None:
        return range(0)
    first, last = bounds
    if month is None:
        low = first.month if first.year == year else 1
        high = last.month if last.year == year else 12
        return range(low, high + 1) if first.year <= year <= last.year else range(0)
    days_in_month = calendar.monthrange(year, month)[1]
    low = first.day if (first.year, first.month) == (year, month) else 1
    high = last.day if (last.year, last.month) == (year, month) else days_in_month
    inside = (first.year, first.month) <= (year, month) <= (last.year, last.month)
    return range(low, high + 1) if inside else range(0)


class ExportChangeList(SkipChangeList):
    """The filtered, searched and ordered queryset of the changelist, without a page of it."""

    def get_results(self, request: Any) -> None:
        self.result_count = 0
        self.result_list = self.queryset.none()
