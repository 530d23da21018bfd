"""Fields of the skips API: timestamps in the reference format, the ticket's URL,
and strict JSON types for what a client sends.
"""

from __future__ import annotations

import datetime
import functools
from typing import Any

from django.core.signals import setting_changed
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from skips.models import MAX_ID

#: ``YYYY-MM-DDTHH:MM:SSZ``: %-formatting is the quickest way to it from a datetime's fields.
_TIMESTAMP = "%04d-%02d-%02dT%02d:%02d:%02dZ"


def format_timestamp(value: datetime.datetime | None) -> str | None:
    """UTC, ISO 8601, whole seconds, with a ``Z``: ``2015-09-30T21:44:03Z``.

    A naive value is taken as UTC. This runs for every timestamp of a page, so
    it avoids the slower ``strftime`` and ``isoformat`` (which formats the offset).
    """
    if value is None:
        return None
    offset = value.utcoffset()
    if offset:
        value = value - offset
    return _TIMESTAMP % (
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
    )


class TimestampField(serializers.DateTimeField):
    """A read-only timestamp in the reference format, whatever ``TIME_ZONE`` is."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str | None:  # type: ignore[override]
        return format_timestamp(value)


def ticket_url_prefix(context: Any) -> str:
    """``{scheme}://{host}{api prefix}tickets/``, worked out once per serializer context."""
    prefix: str | None = context.get("_skips_ticket_url_prefix")
    if prefix is None:
        request = context.get("request")
        namespace = getattr(getattr(request, "resolver_match", None), "namespace", None)
        path = _tickets_path(
            namespace or "skips", get_urlconf(), get_script_prefix(), get_language()
        )
        prefix = request.build_absolute_uri(path) if request is not None else path
        context["_skips_ticket_url_prefix"] = prefix
    return prefix


@functools.lru_cache(maxsize=64)
def _tickets_path(namespace: str, urlconf: Any, script_prefix: str, language: str | None) -> str:
    """The path of ``tickets/`` beside the skips list of ``namespace`` (reversed once
    per URLconf, script prefix and language)."""
    try:
        skips_path = reverse(f"{namespace}:skip-list")
    except NoReverseMatch:
        skips_path = reverse("skips:skip-list")
    return skips_path[: -len("skips")] + "tickets/"


def _forget_paths(**kwargs: Any) -> None:
    # ROOT_URLCONF (and what the URLconf includes) may change under tests.
    _tickets_path.cache_clear()


setting_changed.connect(_forget_paths)


@extend_schema_field(OpenApiTypes.URI)
class TicketURLField(serializers.Field[Any, Any, str, Any]):
    """The ticket's absolute API URL: ``{scheme}://{host}/api/v2/tickets/{id}.json``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.update(source="*", read_only=True)
        super().__init__(**kwargs)

    def to_representation(self, ticket: Any) -> str:
        return f"{ticket_url_prefix(self.context)}{ticket.pk}.json"


@extend_schema_field(OpenApiTypes.INT64)
class StrictIntegerField(serializers.Field[int, Any, Any, Any]):
    """A JSON integer (not a string, float or boolean) that fits a 64-bit id."""

    default_error_messages = {
        "invalid": _("must be an integer"),
        "out_of_range": _("is not a valid ticket id"),
    }

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        if not 1 <= data <= MAX_ID:
            self.fail("out_of_range")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class StrictCharField(serializers.CharField):
    """A JSON string: numbers and other types are refused, not converted."""

    default_error_messages = {"invalid": _("must be a string")}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
