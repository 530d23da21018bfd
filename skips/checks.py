"""System checks for the ``SKIPS_*`` settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from rest_framework.authentication import BaseAuthentication
from rest_framework.serializers import BaseSerializer

from skips.conf import DEFAULTS


def _setting(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])


def _import(name: str, value: Any, error_id: str) -> tuple[Any, list[CheckMessage]]:
    if not isinstance(value, str):
        return value, []
    try:
        return import_string(value), []
    except ImportError as e:
        return None, [
            Error(
                f"{name} = {value!r} cannot be imported: {e}",
                hint="Give the dotted path of an importable object.",
                id=error_id,
            )
        ]


@register(Tags.models)
def check_ticket_model(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from skips.models import get_ticket_model

    value = _setting("SKIPS_TICKET_MODEL")
    if not value:
        return [
            Error(
                "SKIPS_TICKET_MODEL is not set.",
                hint="Name your ticket model, e.g. SKIPS_TICKET_MODEL = 'helpdesk.Ticket'.",
                id="skips.E001",
            )
        ]
    if not isinstance(value, str):
        return [Error("SKIPS_TICKET_MODEL must be a string.", id="skips.E002")]
    try:
        get_ticket_model()
    except ImproperlyConfigured as e:
        return [
            Error(
                str(e),
                hint="Use 'app_label.ModelName' of an installed model.",
                id="skips.E002",
            )
        ]
    return []


@register()
def check_ticket_serializer(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    serializer, errors = _import(
        "SKIPS_TICKET_SERIALIZER", _setting("SKIPS_TICKET_SERIALIZER"), "skips.E003"
    )
    if errors:
        return errors
    if not (isinstance(serializer, type) and issubclass(serializer, BaseSerializer)):
        return [
            Error(
                "SKIPS_TICKET_SERIALIZER must name a REST framework serializer class.",
                id="skips.E003",
            )
        ]
    return []


@register(Tags.models)
def check_archived_tickets(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from skips.models import get_ticket_model
    from skips.querysets import archived_q

    value = _setting("SKIPS_ARCHIVED_TICKETS")
    if value is None:
        return []
    if not (callable(value) or (isinstance(value, str) and value)):
        return [
            Error(
                "SKIPS_ARCHIVED_TICKETS must be None, a field lookup or a callable.",
                id="skips.E004",
            )
        ]
    if isinstance(value, str) and "." in value:
        loaded, errors = _import("SKIPS_ARCHIVED_TICKETS", value, "skips.E004")
        if errors:
            return errors
        if not callable(loaded):
            return [Error(f"SKIPS_ARCHIVED_TICKETS = {value!r} is not callable.", id="skips.E004")]
    try:
        model = get_ticket_model()
    except ImproperlyConfigured:
        return []  # reported by skips.E002
    try:
        # Building the query resolves every name in the lookup, without running it.
        str(model._default_manager.filter(archived_q()).query)
    except Exception as e:  # the host's callable may raise anything
        return [
            Error(
                f"SKIPS_ARCHIVED_TICKETS = {value!r} is not a valid filter of "
                f"{model._meta.label}: {e}",
                hint="Name a field lookup of the ticket model, or give a callable returning a Q.",
                id="skips.E004",
            )
        ]
    return []


@register()
def check_authentication(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    classes = _setting("SKIPS_AUTHENTICATION_CLASSES")
    if isinstance(classes, (str, bytes)) or not hasattr(classes, "__iter__"):
        errors.append(Error("SKIPS_AUTHENTICATION_CLASSES must be a list.", id="skips.E005"))
        classes = ()
    for path in classes:
        cls, import_errors = _import("SKIPS_AUTHENTICATION_CLASSES", path, "skips.E005")
        errors += import_errors
        if not import_errors and not (
            isinstance(cls, type) and issubclass(cls, BaseAuthentication)
        ):
            errors.append(
                Error(f"{path!r} is not a REST framework authentication class.", id="skips.E005")
            )
    token_user, import_errors = _import(
        "SKIPS_TOKEN_USER", _setting("SKIPS_TOKEN_USER"), "skips.E006"
    )
    errors += import_errors
    if not import_errors and not callable(token_user):
        errors.append(Error("SKIPS_TOKEN_USER must be a callable.", id="skips.E006"))
    return errors


@register()
def check_max_body_size(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    value = _setting("SKIPS_MAX_BODY_SIZE")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1024:
        return [
            Error(
                "SKIPS_MAX_BODY_SIZE must be a whole number of bytes, at least 1024.",
                id="skips.E007",
            )
        ]
    return []


@register()
def check_throttle_rate(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from skips.throttling import parse_rate

    value = _setting("SKIPS_THROTTLE_RATE")
    if value is None:
        return []
    try:
        if not isinstance(value, str):
            raise TypeError(value)
        parse_rate(value)
    except (TypeError, ValueError):
        return [
            Error(
                f"SKIPS_THROTTLE_RATE = {value!r} is not a rate.",
                hint='Give requests per period, e.g. "700/min" or "10/s", or None.',
                id="skips.E008",
            )
        ]
    return []
