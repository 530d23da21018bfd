"""List filters of the Skip changelist: date range, agent, reason, archived tickets.

Each filter costs a fixed number of small queries whatever the size of the
skips table: the agent filter lists agents who have skipped through an
``EXISTS`` probe per user on the ``(user, created_at, id)`` index, never by
reading the skips. Filters read the skips the viewer may see (the admin's
queryset, which follows ``SKIPS_TICKET_ACCESS``): an agent is offered, or
named, only through those.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from skips.dates import created_between
from skips.models import Skip, get_ticket_model
from skips.querysets import archived_q
from skips.rollups import flags_in_use
from skips.users import agents_who_skipped, user_label

#: Lookups of the query string that Django's field list filters use
#: (``BooleanFieldListFilter``, ``DateFieldListFilter``, ``EmptyFieldListFilter``...).
FIELD_FILTER_LOOKUPS = ("exact", "isnull", "gte", "lt", "isempty")


def parse_day(value: str | None) -> datetime.date | None:
    """``YYYY-MM-DD`` as a date; None for nothing; IncorrectLookupParameters otherwise."""
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as e:
        raise IncorrectLookupParameters(f"not a date: {value[:20]!r}") from e


def parse_pk(model: Any, value: Any) -> Any:
    """``value`` as a primary key of ``model`` within the database's range; else ValidationError."""
    field: Any = model._meta.pk
    pk = field.to_python(value)
    field.run_validators(pk)
    return pk


def is_pk(model: Any, value: Any) -> bool:
    """Whether ``value`` can be a primary key of ``model`` (see :func:`parse_pk`)."""
    try:
        parse_pk(model, value)
    except ValidationError:
        return False
    return True


def parse_user_pk(value: Any) -> Any:
    """``value`` as a user primary key, within the database's range; else ValidationError."""
    return parse_pk(get_user_model(), value)


def filter_parameters(list_filter: Any) -> list[str]:
    """The query string names that an entry of ``list_filter`` reads.

    A :class:`~django.contrib.admin.SimpleListFilter` reads its
    ``parameter_name``; :class:`CreatedDateFilter` its two dates; a field (or
    ``(field, FieldListFilter)``) the parameters of Django's field filters.
    """
    if isinstance(list_filter, type):
        if issubclass(list_filter, admin.SimpleListFilter):
            return [str(list_filter.parameter_name)]
        if issubclass(list_filter, CreatedDateFilter):
            return [list_filter.from_parameter, list_filter.to_parameter]
        return []
    path = list_filter[0] if isinstance(list_filter, list | tuple) else list_filter
    if not isinstance(path, str):
        return []
    names = [f"{path}__{lookup}" for lookup in FIELD_FILTER_LOOKUPS]
    try:
        field = get_fields_from_path(Skip, path)[-1]
    except (FieldDoesNotExist, NotRelationField):
        return names
    target = getattr(field, "target_field", None)
    if target is not None:
        names.append(f"{path}__{target.name}__exact")
    return names


def fk_filter_parameter(fk_name: str) -> str:
    """The changelist query parameter that narrows skips to one ticket ("ticket") or agent."""
    if fk_name == "user":
        return AgentFilter.parameter_name
    target = Skip._meta.get_field(fk_name).target_field.name  # type: ignore[union-attr]
    return f"{fk_name}__{target}__exact"


class CreatedDateFilter(admin.ListFilter):
    """By date: today, the past 7 days, this month, or a range picked in a small form.

    Dates are local (the current time zone) and inclusive at both ends; the
    query string carries them as ``created_from`` and ``created_to``.
    """

    title = _("date")
    template = "skips/admin/date_range_filter.html"
    from_parameter = "created_from"
    to_parameter = "created_to"

    def __init__(
        self, request: HttpRequest, params: dict[str, Any], model: Any, model_admin: Any
    ) -> None:
        super().__init__(request, params, model, model_admin)
        for name in (self.from_parameter, self.to_parameter):
            if name in params:
                value = params.pop(name)
                self.used_parameters[name] = value[-1] if isinstance(value, list) else value
        self.first = parse_day(self._given(self.from_parameter))
        self.last = parse_day(self._given(self.to_parameter))

    def _given(self, name: str) -> str | None:
        value = self.used_parameters.get(name)
        return value if isinstance(value, str) else None

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str | None]:
        return [self.from_parameter, self.to_parameter]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Skip]) -> QuerySet[Skip]:
        return created_between(queryset, self.first, self.last)

    def presets(self) -> list[tuple[Any, datetime.date | None, datetime.date | None]]:
        """(label, first day, last day) of the ready-made ranges."""
        today = timezone.localdate()
        month_start = today.replace(day=1)
        month_end = (month_start + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(
            days=1
        )
        return [
            (_("Any date"), None, None),
            (_("Today"), today, today),
            (_("Past 7 days"), today - datetime.timedelta(days=6), today),
            (_("This month"), month_start, month_end),
        ]

    def choices(self, changelist: Any) -> Iterator[dict[str, Any]]:
        mine = [self.from_parameter, self.to_parameter]
        matched = False
        for label, first, last in self.presets():
            selected = (first, last) == (self.first, self.last)
            matched |= selected
            params = {}
            if first is not None:
                params[self.from_parameter] = first.isoformat()
            if last is not None:
                params[self.to_parameter] = last.isoformat()
            yield {
                "selected": selected,
                "query_string": changelist.get_query_string(params, mine),
                "display": label,
            }
        yield {
            "form": True,
            "selected": not matched,
            "from_parameter": self.from_parameter,
            "to_parameter": self.to_parameter,
            "first": self.first.isoformat() if self.first else "",
            "last": self.last.isoformat() if self.last else "",
            "hidden": [(k, v) for k, v in changelist.params.items() if k not in mine],
        }


class AgentFilter(admin.SimpleListFilter):
    """By agent: the agents who have skipped (the first ``limit`` by login name).

    Any user id in the query string narrows the list, listed or not, so that
    links from a user's page or the report work. A name is shown only for a
    user with a skip the viewer may see: an id never reveals anyone else's.
    """

    title = _("agent")
    parameter_name = "user__id__exact"
    #: How many agents the filter lists.
    limit = 50

    def selected_id(self) -> Any:
        """The primary key of the chosen user, or None."""
        value = self.value()
        if value is None:
            return None
        try:
            return parse_user_pk(value)
        except ValidationError as e:
            raise IncorrectLookupParameters(f"not a user id: {value[:20]!r}") from e

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[Any, str]]:
        skips = model_admin.get_queryset(request)
        users = agents_who_skipped(self.limit, self.selected_id(), skips)
        return [(str(user.pk), user_label(user)) for user in users]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Skip]) -> QuerySet[Skip] | None:
        selected = self.selected_id()
        return queryset.filter(user_id=selected) if selected is not None else None


class HasReasonFilter(admin.SimpleListFilter):
    """Whether the agent gave a reason."""

    title = _("reason")
    parameter_name = "has_reason"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Has a reason")), ("no", _("No reason"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Skip]) -> QuerySet[Skip] | None:
        if self.value() == "yes":
            return queryset.exclude(reason="")
        if self.value() == "no":
            return queryset.filter(reason="")
        return None


class ArchivedFilter(admin.SimpleListFilter):
    """Skips of archived tickets: shown (the default), hidden (as the API), or only them.

    Shown only when ``SKIPS_ARCHIVED_TICKETS`` says how to recognise an
    archived ticket.
    """

    title = _("archived tickets")
    parameter_name = "archived"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        if archived_q() is None:
            return []
        return [("hide", _("Hidden")), ("only", _("Only archived"))]

    def choices(self, changelist: Any) -> Iterator[Any]:
        for i, choice in enumerate(super().choices(changelist)):
            yield {**choice, "display": _("Shown")} if i == 0 else choice

    def queryset(self, request: HttpRequest, queryset: QuerySet[Skip]) -> QuerySet[Skip] | None:
        q = archived_q()
        if q is None:
            return None
        if self.value() not in ("hide", "only"):
            return None
        hide = self.value() == "hide"  # the skips the API lists
        if flags_in_use(queryset.db):
            # Kept by triggers (PostgreSQL): the partial indexes of listed
            # skips, no ticket looked up per skip.
            return queryset.filter(listed=hide)
        # EXISTS, not IN: at a million tickets the list of archived ones is
        # too big to hash, and NOT IN would read it again for every skip; an
        # (anti) semi-join probes the ticket's primary key instead.
        archived = Exists(get_ticket_model()._default_manager.filter(q, pk=OuterRef("ticket_id")))
        return queryset.filter(~archived if hide else archived)
