"""What the checks share: a setting's value, and a dotted path imported."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error
from django.utils.module_loading import import_string

from skips.conf import DEFAULTS


def setting_value(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])


def import_setting(name: str, value: Any, error_id: str) -> tuple[Any, list[CheckMessage]]:
    if not isinstance(value, str):
        return value, []
    try:
        return import_string(value), []
    except Exception as e:  # ImportError, or whatever the module raises when imported
        return None, [
            Error(
                f"{name} = {value!r} cannot be imported: {type(e).__name__}: {e}",
                hint="Give the dotted path of an importable object.",
                id=error_id,
            )
        ]


def is_whole_number(value: Any, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def is_days_or_none(value: Any) -> bool:
    return value is None or is_whole_number(value, 1)
