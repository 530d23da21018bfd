"""Filters of the skips lists, beyond the reference API.

``created_after`` / ``created_before`` (ISO 8601; a date alone means midnight
UTC; no zone means UTC), ``user_id``, ``ticket_id``, ``reason`` (contains, any
case) and ``has_reason`` (true/false). Filters narrow what the user may see;
they never widen it. A malformed or repeated value is a 400 naming it.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.dateparse import parse_date, parse_datetime
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.request import Request

from skips.exceptions import InvalidParameter
from skips.models import MAX_ID, REASON_MAX_LENGTH, Skip

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:$|[T ])")


class UTCDateTimeField(forms.DateTimeField):
    """An ISO 8601 date or date-time; without a zone it is UTC, as in the API."""

    def to_python(self, value: Any) -> datetime.datetime | None:
        if value in self.empty_values:
            return None
        text = str(value).strip()
        try:
            if not ISO_DATE.match(text):  # the extended format only, on every Python
                raise ValueError(text)
            parsed = parse_datetime(text)
            if parsed is None:
                day = parse_date(text)
                if day is None:
                    raise ValueError(text)
                parsed = datetime.datetime.combine(day, datetime.time())
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=datetime.timezone.utc)
            return parsed.astimezone(datetime.timezone.utc)
        except (ValueError, OverflowError) as e:
            raise forms.ValidationError(
                "Enter an ISO 8601 date or date-time, e.g. 2015-09-30T21:44:03Z.", code="invalid"
            ) from e


class StrictBooleanField(forms.Field):
    """``true``/``false`` (or ``1``/``0``), any case; anything else is an error."""

    values = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value: Any) -> bool | None:
        if value in self.empty_values:
            return None
        try:
            return self.values[str(value).strip().lower()]
        except KeyError as e:
            raise forms.ValidationError("Enter true or false.", code="invalid") from e


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(django_filters.Filter):
    field_class = StrictBooleanField


@extend_schema_field(OpenApiTypes.DATETIME)
class UTCDateTimeFilter(django_filters.Filter):
    field_class = UTCDateTimeField


@extend_schema_field({"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.Filter):
    """A positive 64-bit id."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class SkipFilter(django_filters.FilterSet):
    """Filters of ``GET skips``, ``users/{id}/skips`` and ``tickets/{id}/skips``."""

    created_after = UTCDateTimeFilter(
        field_name="created_at",
        lookup_expr="gt",
        help_text="Skips created after this ISO 8601 time (a date alone: midnight UTC).",
    )
    created_before = UTCDateTimeFilter(
        field_name="created_at",
        lookup_expr="lt",
        help_text="Skips created before this ISO 8601 time (a date alone: midnight UTC).",
    )
    user_id = IdFilter(field_name="user_id", help_text="Skips by this agent.")
    ticket_id = IdFilter(field_name="ticket_id", help_text="Skips of this ticket.")
    reason = django_filters.CharFilter(
        field_name="reason",
        lookup_expr="icontains",
        max_length=REASON_MAX_LENGTH,
        help_text="Skips whose reason contains this text, in any case.",
    )
    has_reason = StrictBooleanFilter(
        method="filter_has_reason", help_text="true: skips with a reason; false: without."
    )

    # No Meta.model: every filter is declared, so building the class resolves no
    # model field. With Meta.model = Skip, django-filter would follow ticket_id to
    # the host's ticket model at import, and a missing or misspelled
    # SKIPS_TICKET_MODEL would crash the URLconf (and manage.py check) with a
    # traceback instead of skips.E001/E002.

    def filter_has_reason(
        self, queryset: QuerySet[Skip], name: str, value: bool | None
    ) -> QuerySet[Skip]:
        if value is None:
            return queryset
        return queryset.exclude(reason="") if value else queryset.filter(reason="")


class SkipFilterBackend(DjangoFilterBackend):
    """django-filter, with the API's 400 for a malformed or repeated value."""

    def filter_queryset(
        self, request: Request, queryset: QuerySet[Skip], view: Any
    ) -> QuerySet[Skip]:
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            for name in filterset_class.base_filters:
                if len(request.query_params.getlist(name)) > 1:
                    raise InvalidParameter(f"{name} is given more than once")
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise InvalidParameter(
                "; ".join(
                    f"{name}: {' '.join(str(m) for m in messages)}"
                    for name, messages in filterset.errors.items()
                )
            )
        narrowed: QuerySet[Skip] = filterset.qs
        return narrowed
