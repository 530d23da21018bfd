"""System checks for the ``SKIPS_*`` settings."""

from __future__ import annotations

import contextlib
import inspect
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.exceptions import EmptyResultSet, ImproperlyConfigured
from django.db import InterfaceError, OperationalError, models, router
from django.db.models import Q, QuerySet
from django.db.models.expressions import ExpressionWrapper
from django.db.models.lookups import IsNull, Lookup
from django.db.models.sql.where import WhereNode
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
    except Exception as e:  # ImportError, or whatever the module raises when imported
        return None, [
            Error(
                f"{name} = {value!r} cannot be imported: {type(e).__name__}: {e}",
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


@register(Tags.models)
def check_ticket_primary_key(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """skips.E010: the ticket model's primary key is an integer.

    Ticket ids are integers in the reference API: in the paths
    (``tickets/{id}/skips``), in ``skip.ticket_id`` and in the filters. A
    primary key inherited from a parent model (multi-table inheritance) counts
    as the parent's.
    """
    from skips.models import get_ticket_model

    try:
        model = get_ticket_model()
    except ImproperlyConfigured:
        return []  # reported by skips.E001 / skips.E002
    pk: Any = model._meta.pk
    while pk is not None and pk.is_relation and pk.target_field is not pk:
        pk = pk.target_field
    if isinstance(pk, models.IntegerField):
        return []
    return [
        Error(
            f"The ticket model {model._meta.label} has a "
            f"{type(pk).__name__ if pk is not None else 'missing'} primary key; "
            "skips needs an integer one (SKIPS_TICKET_MODEL).",
            hint="Ticket ids are integers in the API, as on the reference service: "
            "give the ticket model an AutoField, BigAutoField or IntegerField primary key.",
            obj=model,
            id="skips.E010",
        )
    ]


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
    """skips.E004: ``SKIPS_ARCHIVED_TICKETS`` is None, a boolean lookup or a callable giving a Q.

    The rule's Q is built and its SQL compiled (never run) with the compiler of
    the database each query is routed to, in every form the skips queries use
    it: over tickets (filter, exclude, annotation) and over skips through their
    ticket. The lookup form compares a value with ``True``, so the field (or
    transform) it ends on must be a BooleanField, unless it ends in ``__isnull``.
    """
    from skips.models import Skip, get_ticket_model
    from skips.querysets import archived_q, through_ticket

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
        return []  # reported by skips.E001 / skips.E002

    def error(problem: str) -> list[CheckMessage]:
        return [
            Error(
                f"SKIPS_ARCHIVED_TICKETS = {value!r} is not a valid filter of "
                f"{model._meta.label}: {problem}",
                hint="Name a boolean field lookup of the ticket model, "
                "or give a callable returning a Q.",
                id="skips.E004",
            )
        ]

    try:
        q = archived_q()
        if not isinstance(q, Q):
            return error(f"the callable returned {q!r}, not a Q")
        tickets = model._default_manager.all()
        for queryset in (
            tickets.filter(q),
            tickets.exclude(q),
            tickets.annotate(_skips_archived=ExpressionWrapper(q, models.BooleanField())),
            Skip._default_manager.exclude(through_ticket(q)),
        ):
            _compile(queryset)
        if isinstance(value, str) and "." not in value:  # the lookup form
            problem = _not_a_boolean_test(tickets.filter(q))
            if problem:
                return error(problem)
    except (InterfaceError, OperationalError):
        return []  # the compiler needed the server (its version), which is not there
    except Exception as e:  # the host's callable may raise anything
        return error(f"{type(e).__name__}: {e}")
    return []


def _compile(queryset: QuerySet[Any]) -> None:
    """Compile the SQL of ``queryset``, WHERE included, as its database would; run nothing."""
    # EmptyResultSet: a rule that matches no ticket is valid; its query is just never sent.
    with contextlib.suppress(EmptyResultSet):
        queryset.query.get_compiler(using=queryset.db).as_sql()


def _not_a_boolean_test(queryset: QuerySet[Any]) -> str | None:
    """Why the lookup ``queryset`` was filtered on is not a test of a boolean with True."""
    lookup = next(_lookups(queryset.query.where), None)
    if lookup is None or isinstance(lookup, IsNull):
        return None
    field = getattr(lookup.lhs, "output_field", None)
    if isinstance(field, models.BooleanField):
        return None
    lhs = lookup.lhs  # a column, or a transform of one (``__year``)
    name = getattr(getattr(lhs, "target", None), "name", None) or getattr(lhs, "lookup_name", None)
    return (
        f"{name!r} ({type(field).__name__}) is not a BooleanField, so comparing it "
        "with True says nothing (end the lookup in __isnull, or give a callable)"
    )


def _lookups(node: WhereNode) -> Any:
    for child in node.children:
        if isinstance(child, WhereNode):
            yield from _lookups(child)
        elif isinstance(child, Lookup):
            yield child


@register()
def check_ticket_access(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """skips.E009: ``SKIPS_TICKET_ACCESS`` is None or a callable (or its dotted path) of a user.

    The rule is imported and its signature checked (one positional argument,
    the user), but it is not called: it needs a real user, and a rule that reads
    what only the host's users have would fail for any stand-in (an
    AnonymousUser), so calling one would report rules that work. What it returns
    is compiled with each request's queries.
    """
    value = _setting("SKIPS_TICKET_ACCESS")
    if value is None:
        return []
    if not (callable(value) or isinstance(value, str)):
        return [
            Error(
                f"SKIPS_TICKET_ACCESS = {value!r} must be None, a callable or its dotted path.",
                id="skips.E009",
            )
        ]
    rule, errors = _import("SKIPS_TICKET_ACCESS", value, "skips.E009")
    if errors:
        return errors
    if not callable(rule):
        return [Error(f"SKIPS_TICKET_ACCESS = {value!r} is not callable.", id="skips.E009")]
    try:
        inspect.signature(rule).bind(None)
    except TypeError:
        return [
            Error(
                f"SKIPS_TICKET_ACCESS = {value!r} does not take one argument, the user.",
                hint="Give a callable taking the user and returning a Q over the ticket model.",
                id="skips.E009",
            )
        ]
    except ValueError:
        pass  # no signature to read (some builtins): left to the first request
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
def check_token_app(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """skips.E013: the default ``SKIPS_TOKEN_USER`` reads REST framework's tokens, whose
    app (``rest_framework.authtoken``) must then be installed."""
    if _setting("SKIPS_TOKEN_USER") != DEFAULTS["SKIPS_TOKEN_USER"]:
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
        value = _setting(name)
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
        if name == "SKIPS_FAILED_TOKEN_RATE" or _setting("SKIPS_ALLOW_PASSWORD_AUTH"):
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


def _whole_number(value: Any, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


@register()
def check_export_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """skips.E020: ``SKIPS_EXPORT_HORIZON_SECONDS`` is a whole number of seconds, 0 or more.

    skips.E021: ``SKIPS_EXPORT_THROTTLE_RATE`` is a rate or None.
    """
    from skips.throttling import parse_rate

    errors: list[CheckMessage] = []
    if not _whole_number(_setting("SKIPS_EXPORT_HORIZON_SECONDS"), 0):
        errors.append(
            Error(
                "SKIPS_EXPORT_HORIZON_SECONDS must be a whole number of seconds, 0 or more.",
                hint="The incremental export leaves out what changed this recently "
                "(default 60): longer than your longest write transaction.",
                id="skips.E020",
            )
        )
    rate = _setting("SKIPS_EXPORT_THROTTLE_RATE")
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
    if not _days_or_none(_setting("SKIPS_RETENTION_DAYS")):
        errors.append(
            Error(
                "SKIPS_RETENTION_DAYS must be None or a whole number of days, 1 or more.",
                hint="purge_skips deletes the skips created longer ago; None keeps them.",
                id="skips.E022",
            )
        )
    if not _days_or_none(_setting("SKIPS_TOMBSTONE_DAYS")):
        errors.append(
            Error(
                "SKIPS_TOMBSTONE_DAYS must be None or a whole number of days, 1 or more.",
                hint="purge_skips deletes the tombstones of older deletions; None keeps them.",
                id="skips.E023",
            )
        )
    return errors


def _days_or_none(value: Any) -> bool:
    return value is None or _whole_number(value, 1)


@register()
def check_erased_user(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """skips.E024: ``SKIPS_ERASED_USER`` gives the user model's ``USERNAME_FIELD``.

    It is a dict of the erased account's field values; the keys that are not
    fields of the user model are left out, and what remains must hold the
    field the account is found by.
    """
    from django.contrib.auth import get_user_model

    value = _setting("SKIPS_ERASED_USER")
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

    value = _setting("SKIPS_REPLICA_DATABASES")
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
    value = _setting("SKIPS_READ_YOUR_WRITES_SECONDS")
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
