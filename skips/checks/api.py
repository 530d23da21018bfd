"""Checks of the API's settings: authentication, tokens and limits.

skips.E005-E008, E012, W012, E013.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.checks import CheckMessage, Error, register
from rest_framework.authentication import BaseAuthentication

from skips.checks.common import import_setting, setting_value
from skips.conf import DEFAULTS


@register()
def check_authentication(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    classes = setting_value("SKIPS_AUTHENTICATION_CLASSES")
    if isinstance(classes, (str, bytes)) or not hasattr(classes, "__iter__"):
        errors.append(Error("SKIPS_AUTHENTICATION_CLASSES must be a list.", id="skips.E005"))
        classes = ()
    for path in classes:
        cls, import_errors = import_setting("SKIPS_AUTHENTICATION_CLASSES", path, "skips.E005")
        errors += import_errors
        if not import_errors and not (
            isinstance(cls, type) and issubclass(cls, BaseAuthentication)
        ):
            errors.append(
                Error(f"{path!r} is not a REST framework authentication class.", id="skips.E005")
            )
    token_user, import_errors = import_setting(
        "SKIPS_TOKEN_USER", setting_value("SKIPS_TOKEN_USER"), "skips.E006"
    )
    errors += import_errors
    if not import_errors and not callable(token_user):
        errors.append(Error("SKIPS_TOKEN_USER must be a callable.", id="skips.E006"))
    return errors


@register()
def check_token_app(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """skips.E013: the default ``SKIPS_TOKEN_USER`` reads REST framework's tokens, whose
    app (``rest_framework.authtoken``) must then be installed."""
    if setting_value("SKIPS_TOKEN_USER") != DEFAULTS["SKIPS_TOKEN_USER"]:
        return []
    if apps.is_installed("rest_framework.authtoken"):
        return []
    return [
        Error(
            "API tokens are read from REST framework's authtoken app, which is not installed.",
            hint='Add "rest_framework.authtoken" to INSTALLED_APPS (and migrate), or name '
            "your own token lookup in SKIPS_TOKEN_USER.",
            id="skips.E013",
        )
    ]


@register()
def check_max_body_size(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    value = setting_value("SKIPS_MAX_BODY_SIZE")
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

    value = setting_value("SKIPS_THROTTLE_RATE")
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


@register()
def check_failed_auth_rates(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """skips.E012: the failed-authentication limits are rates or None.

    skips.W012: they count per client address, which REST framework reads from
    ``X-Forwarded-For`` as the client sent it while ``NUM_PROXIES`` is unset.
    """
    from django.core.checks import Warning as CheckWarning
    from rest_framework.settings import api_settings

    from skips.throttling import parse_rate

    messages: list[CheckMessage] = []
    counting = False
    for name in ("SKIPS_FAILED_AUTH_RATE", "SKIPS_FAILED_TOKEN_RATE"):
        value = setting_value(name)
        if value is None:
            continue
        try:
            if not isinstance(value, str):
                raise TypeError(value)
            parse_rate(value)
        except (TypeError, ValueError):
            messages.append(
                Error(
                    f"{name} = {value!r} is not a rate.",
                    hint='Give failed attempts per period, e.g. "10/min", or None to turn '
                    "the limit off.",
                    id="skips.E012",
                )
            )
            continue
        if name == "SKIPS_FAILED_TOKEN_RATE" or setting_value("SKIPS_ALLOW_PASSWORD_AUTH"):
            counting = True
    if counting and api_settings.NUM_PROXIES is None:
        messages.append(
            CheckWarning(
                "Failed authentications are counted per client address, and REST "
                "framework's NUM_PROXIES is not set: the address is then read from the "
                "X-Forwarded-For header as the client sent it, which a client can vary.",
                hint="Set REST_FRAMEWORK['NUM_PROXIES'] to the number of proxies in front "
                "of the application (0 for none).",
                id="skips.W012",
            )
        )
    return messages
