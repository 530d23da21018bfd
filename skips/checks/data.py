"""Checks of the data lifecycle's settings: export, retention, erasure: skips.E020-E024."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured

from skips.checks.common import is_days_or_none, is_whole_number, setting_value


@register()
def check_export_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """skips.E020: ``SKIPS_EXPORT_HORIZON_SECONDS`` is a whole number of seconds, 0 or more.

    skips.E021: ``SKIPS_EXPORT_THROTTLE_RATE`` is a rate or None.
    """
    from skips.throttling import parse_rate

    errors: list[CheckMessage] = []
    if not is_whole_number(setting_value("SKIPS_EXPORT_HORIZON_SECONDS"), 0):
        errors.append(
            Error(
                "SKIPS_EXPORT_HORIZON_SECONDS must be a whole number of seconds, 0 or more.",
                hint="The incremental export leaves out what changed this recently "
                "(default 60): longer than your longest write transaction.",
                id="skips.E020",
            )
        )
    rate = setting_value("SKIPS_EXPORT_THROTTLE_RATE")
    if rate is not None:
        try:
            if not isinstance(rate, str):
                raise TypeError(rate)
            parse_rate(rate)
        except (TypeError, ValueError):
            errors.append(
                Error(
                    f"SKIPS_EXPORT_THROTTLE_RATE = {rate!r} is not a rate.",
                    hint='Give requests per period, e.g. "10/min", or None.',
                    id="skips.E021",
                )
            )
    return errors


@register()
def check_retention_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """skips.E022: ``SKIPS_RETENTION_DAYS`` is None or a whole number of days, 1 or more.

    skips.E023: ``SKIPS_TOMBSTONE_DAYS`` is None or a whole number of days, 1 or more.
    """
    errors: list[CheckMessage] = []
    if not is_days_or_none(setting_value("SKIPS_RETENTION_DAYS")):
        errors.append(
            Error(
                "SKIPS_RETENTION_DAYS must be None or a whole number of days, 1 or more.",
                hint="purge_skips deletes the skips created longer ago; None keeps them.",
                id="skips.E022",
            )
        )
    if not is_days_or_none(setting_value("SKIPS_TOMBSTONE_DAYS")):
        errors.append(
            Error(
                "SKIPS_TOMBSTONE_DAYS must be None or a whole number of days, 1 or more.",
                hint="purge_skips deletes the tombstones of older deletions; None keeps them.",
                id="skips.E023",
            )
        )
    return errors


@register()
def check_erased_user(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """skips.E024: ``SKIPS_ERASED_USER`` gives the user model's ``USERNAME_FIELD``.

    It is a dict of the erased account's field values; the keys that are not
    fields of the user model are left out, and what remains must hold the
    field the account is found by.
    """
    from django.contrib.auth import get_user_model

    value = setting_value("SKIPS_ERASED_USER")
    try:
        model = get_user_model()
    except ImproperlyConfigured:
        return []  # reported by Django (AUTH_USER_MODEL)
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        return [
            Error(
                "SKIPS_ERASED_USER must be a dict of the erased account's field values.",
                hint='E.g. {"username": "erased-user", "email": "erased-user@erased.invalid"}.',
                id="skips.E024",
            )
        ]
    names = {field.name for field in model._meta.concrete_fields}
    if model.USERNAME_FIELD not in names or model.USERNAME_FIELD not in value:
        return [
            Error(
                f"SKIPS_ERASED_USER must give {model.USERNAME_FIELD!r}, the "
                f"USERNAME_FIELD of {model._meta.label}.",
                hint="Anonymised skips are reassigned to the account of that login, "
                "created once, inactive and without a usable password.",
                obj=model,
                id="skips.E024",
            )
        ]
    return []
