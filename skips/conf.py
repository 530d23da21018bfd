"""Settings of the skips app.

Every setting is a flat ``SKIPS_*`` name in the host's settings with a default
here. Values are read on each access, so ``override_settings`` works in tests.
Bad values are reported by the system checks in :mod:`skips.checks`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from rest_framework.serializers import BaseSerializer

DEFAULTS: dict[str, Any] = {
    # "app_label.ModelName" of the host's ticket model. Required.
    "SKIPS_TICKET_MODEL": None,
    # Dotted path of the serializer that renders the embedded ``ticket``.
    "SKIPS_TICKET_SERIALIZER": "skips.serializers.TicketSerializer",
    # How an archived ticket is recognised: None (no ticket is archived), a
    # ticket field lookup that is true for archived tickets ("is_archived"
    # means Q(is_archived=True)), or a callable (or its dotted path) taking no
    # argument and returning a Q over the ticket model.
    "SKIPS_ARCHIVED_TICKETS": None,
    # Authentication classes of the skips views (dotted paths).
    "SKIPS_AUTHENTICATION_CLASSES": (
        "skips.authentication.TokenBasicAuthentication",
        "skips.authentication.BearerTokenAuthentication",
        "skips.authentication.SessionAuthentication",
    ),
    # Accept "email:password" over HTTP Basic (off, as on the reference service).
    "SKIPS_ALLOW_PASSWORD_AUTH": False,
    # Callable (or dotted path) taking an API token and returning its user or None.
    "SKIPS_TOKEN_USER": "skips.authentication.authtoken_user",
    # Largest request body accepted, in bytes (413 above it).
    "SKIPS_MAX_BODY_SIZE": 64 * 1024,
    # Requests per user and period ("700/min", "10/s"); None turns throttling off.
    "SKIPS_THROTTLE_RATE": None,
    # Failed email/password logins per client address, and per account, and
    # period; None turns the limit off. Only password logins are counted.
    "SKIPS_FAILED_AUTH_RATE": "10/min",
    # Failed API token attempts (Basic and Bearer) per client address and
    # period; None (the default) turns the limit off.
    "SKIPS_FAILED_TOKEN_RATE": None,
    # Which tickets a user may see: a callable (or its dotted path) taking the
    # user and returning a Q over the ticket model, or None for every ticket.
    # None (the default) lets everyone see every ticket; superusers always do.
    "SKIPS_TICKET_ACCESS": None,
    # The incremental export leaves out what changed in the last this many
    # seconds, so that a transaction committing late is not passed over.
    "SKIPS_EXPORT_HORIZON_SECONDS": 60,
    # Requests to the incremental export per user and period; None turns it off.
    "SKIPS_EXPORT_THROTTLE_RATE": "10/min",
    # Days a deleted skip's tombstone is kept for the export before purge_skips
    # removes it; None keeps tombstones for ever.
    "SKIPS_TOMBSTONE_DAYS": 30,
    # Days a skip is kept before purge_skips deletes it (by created_at); None
    # (the default) keeps skips for ever.
    "SKIPS_RETENTION_DAYS": None,
    # The one account that anonymised skips are reassigned to, created once,
    # inactive and without a usable password: its field values (those the user
    # model has; its USERNAME_FIELD must be one).
    "SKIPS_ERASED_USER": {"username": "erased-user", "email": "erased-user@erased.invalid"},
    # Database aliases that are read replicas of "default", read by
    # skips.routers.PrimaryReplicaRouter; empty: every read on the primary.
    "SKIPS_REPLICA_DATABASES": (),
    # Seconds a user's reads stay on the primary after they wrote (with
    # replicas): a client that records a skip and lists right away sees it.
    # 0 turns it off.
    "SKIPS_READ_YOUR_WRITES_SECONDS": 5,
    # On PostgreSQL, keep each agent's count of listed skips current with
    # triggers (installed by migrate), so that the offset count of a big list
    # is one small read: see skips.rollups. False removes them at the next migrate.
    "SKIPS_COUNT_ROLLUP": True,
}


class Settings:
    """Typed, live view of the ``SKIPS_*`` settings."""

    def _get(self, name: str) -> Any:
        return getattr(settings, name, DEFAULTS[name])

    @property
    def TICKET_MODEL(self) -> str:
        value = self._get("SKIPS_TICKET_MODEL")
        # An unset value still yields a label, so that the app registry loads
        # and the system check (skips.E001) can say what is wrong; Django's own
        # check of the foreign key then names this label, which says it too.
        if isinstance(value, str) and value:
            return value
        return "skips.SKIPS_TICKET_MODEL_is_not_set"

    @property
    def TICKET_SERIALIZER(self) -> type[BaseSerializer[Any]]:
        serializer: type[BaseSerializer[Any]] = _load(self._get("SKIPS_TICKET_SERIALIZER"))
        return serializer

    @property
    def ARCHIVED_TICKETS(self) -> str | Callable[[], Any] | None:
        value: str | Callable[[], Any] | None = self._get("SKIPS_ARCHIVED_TICKETS")
        if isinstance(value, str) and "." in value:
            rule: Callable[[], Any] = _load(value)
            return rule
        return value

    @property
    def TICKET_ACCESS(self) -> Callable[[Any], Any] | None:
        value = self._get("SKIPS_TICKET_ACCESS")
        return None if value is None else _load(value)

    @property
    def AUTHENTICATION_CLASSES(self) -> list[type]:
        return [_load(path) for path in self._get("SKIPS_AUTHENTICATION_CLASSES")]

    @property
    def ALLOW_PASSWORD_AUTH(self) -> bool:
        return bool(self._get("SKIPS_ALLOW_PASSWORD_AUTH"))

    @property
    def TOKEN_USER(self) -> Callable[[str], Any]:
        token_user: Callable[[str], Any] = _load(self._get("SKIPS_TOKEN_USER"))
        return token_user

    @property
    def THROTTLE_RATE(self) -> str | None:
        return self._get("SKIPS_THROTTLE_RATE") or None

    @property
    def FAILED_AUTH_RATE(self) -> str | None:
        return self._get("SKIPS_FAILED_AUTH_RATE") or None

    @property
    def FAILED_TOKEN_RATE(self) -> str | None:
        return self._get("SKIPS_FAILED_TOKEN_RATE") or None

    @property
    def MAX_BODY_SIZE(self) -> int:
        return int(self._get("SKIPS_MAX_BODY_SIZE"))

    @property
    def EXPORT_HORIZON_SECONDS(self) -> int:
        return int(self._get("SKIPS_EXPORT_HORIZON_SECONDS"))

    @property
    def EXPORT_THROTTLE_RATE(self) -> str | None:
        rate: str | None = self._get("SKIPS_EXPORT_THROTTLE_RATE") or None
        return rate

    @property
    def TOMBSTONE_DAYS(self) -> int | None:
        value = self._get("SKIPS_TOMBSTONE_DAYS")
        return None if value is None else int(value)

    @property
    def RETENTION_DAYS(self) -> int | None:
        value = self._get("SKIPS_RETENTION_DAYS")
        return None if value is None else int(value)

    @property
    def ERASED_USER(self) -> dict[str, Any]:
        return dict(self._get("SKIPS_ERASED_USER"))

    @property
    def REPLICA_DATABASES(self) -> tuple[str, ...]:
        return tuple(self._get("SKIPS_REPLICA_DATABASES") or ())

    @property
    def COUNT_ROLLUP(self) -> bool:
        return bool(self._get("SKIPS_COUNT_ROLLUP"))

    @property
    def READ_YOUR_WRITES_SECONDS(self) -> int:
        return int(self._get("SKIPS_READ_YOUR_WRITES_SECONDS") or 0)


def _load(value: Any) -> Any:
    """Import a dotted path; anything else (a class, a callable) is returned as is."""
    return import_string(value) if isinstance(value, str) else value


conf = Settings()


def get_ticket_model() -> type[models.Model]:
    """The host's ticket model, named by ``SKIPS_TICKET_MODEL`` (as ``get_user_model``)."""
    try:
        return apps.get_model(conf.TICKET_MODEL, require_ready=False)
    except ValueError as e:
        raise ImproperlyConfigured(
            "SKIPS_TICKET_MODEL must be of the form 'app_label.model_name'"
        ) from e
    except LookupError as e:
        raise ImproperlyConfigured(
            f"SKIPS_TICKET_MODEL refers to model {conf.TICKET_MODEL!r}, which is not installed"
        ) from e
