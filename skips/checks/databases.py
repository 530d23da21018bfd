"""Checks of routing and read replicas: skips.E011, E030-E033."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured
from django.db import router

from skips.checks.common import setting_value


@register()
def check_database_routing(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """skips.E011: skips are written to the database their tickets and users are written to.

    A skip's ticket and user are foreign keys, constrained in the skips table's
    database, and the lists join the tickets. The routers are asked as the
    skips queries ask them, without hints. Only writes are compared: a router
    may spread reads over replicas at random.
    """
    from django.contrib.auth import get_user_model

    from skips.models import Skip, get_ticket_model

    try:
        related = [get_ticket_model(), get_user_model()]
    except ImproperlyConfigured:
        return []  # reported by skips.E001 / skips.E002, or by Django (AUTH_USER_MODEL)
    skips_alias = router.db_for_write(Skip)
    return [
        Error(
            f"DATABASE_ROUTERS send writes of skips to {skips_alias!r} but of "
            f"{model._meta.label} to {router.db_for_write(model)!r}.",
            hint="Route the skips app with the ticket and user models' apps (reads and writes).",
            obj=model,
            id="skips.E011",
        )
        for model in related
        if router.db_for_write(model) != skips_alias
    ]


@register()
def check_replica_databases(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """skips.E030: ``SKIPS_REPLICA_DATABASES`` is a list (or tuple) of database aliases.

    skips.E031: each of them is an alias of ``DATABASES``.

    skips.W032: with replicas listed, a router of ``DATABASE_ROUTERS`` reads
    them: ``skips.routers.PrimaryReplicaRouter`` or a subclass. Silence it if a
    router of your own reads them (through ``skips.routers.scoped_read_alias``).
    """
    from django.core.checks import Warning as CheckWarning

    from skips.routers import PrimaryReplicaRouter

    value = setting_value("SKIPS_REPLICA_DATABASES")
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or not all(isinstance(a, str) for a in value):
        return [
            Error(
                f"SKIPS_REPLICA_DATABASES = {value!r} must be a list of database aliases.",
                hint='Name the aliases of DATABASES that are read replicas, e.g. ["replica"].',
                id="skips.E030",
            )
        ]
    messages: list[CheckMessage] = [
        Error(
            f"SKIPS_REPLICA_DATABASES names {alias!r}, which is not an alias of DATABASES.",
            hint="Add the replica to DATABASES, or take it out of SKIPS_REPLICA_DATABASES.",
            id="skips.E031",
        )
        for alias in value
        if alias not in settings.DATABASES
    ]
    if value and not any(isinstance(r, PrimaryReplicaRouter) for r in router.routers):
        messages.append(
            CheckWarning(
                "SKIPS_REPLICA_DATABASES lists replicas, but no router of DATABASE_ROUTERS "
                "is a skips.routers.PrimaryReplicaRouter: nothing is read from them.",
                hint='Add "skips.routers.PrimaryReplicaRouter" to DATABASE_ROUTERS, or '
                "silence skips.W032 if a router of your own reads the replicas.",
                id="skips.W032",
            )
        )
    return messages


@register()
def check_read_your_writes(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """skips.E033: ``SKIPS_READ_YOUR_WRITES_SECONDS`` is a whole number of seconds, 0 or more.

    After a user records a skip (or deletes skips in the admin), their reads go
    to the primary for that long; 0 turns it off.
    """
    value = setting_value("SKIPS_READ_YOUR_WRITES_SECONDS")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return []
    return [
        Error(
            f"SKIPS_READ_YOUR_WRITES_SECONDS = {value!r} must be a whole number of seconds, "
            "0 or more.",
            hint="Longer than your replicas usually lag (a few seconds); 0 turns it off.",
            id="skips.E033",
        )
    ]
