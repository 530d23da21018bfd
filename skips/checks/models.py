"""Checks of the ticket model and the rules over it: skips.E001-E004, E009, E010."""

from __future__ import annotations

import contextlib
import inspect
from typing import Any

from django.core.checks import CheckMessage, Error, Tags, register
from django.core.exceptions import EmptyResultSet, ImproperlyConfigured
from django.db import InterfaceError, OperationalError, models
from django.db.models import Q, QuerySet
from django.db.models.expressions import ExpressionWrapper
from django.db.models.lookups import IsNull, Lookup
from django.db.models.sql.where import WhereNode
from rest_framework.serializers import BaseSerializer

from skips.checks.common import import_setting, setting_value


@register(Tags.models)
def check_ticket_model(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from skips.models import get_ticket_model

    value = setting_value("SKIPS_TICKET_MODEL")
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
def check_ticket_serializer(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    serializer, errors = import_setting(
        "SKIPS_TICKET_SERIALIZER", setting_value("SKIPS_TICKET_SERIALIZER"), "skips.E003"
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

    value = setting_value("SKIPS_ARCHIVED_TICKETS")
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
        loaded, errors = import_setting("SKIPS_ARCHIVED_TICKETS", value, "skips.E004")
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
    value = setting_value("SKIPS_TICKET_ACCESS")
    if value is None:
        return []
    if not (callable(value) or isinstance(value, str)):
        return [
            Error(
                f"SKIPS_TICKET_ACCESS = {value!r} must be None, a callable or its dotted path.",
                id="skips.E009",
            )
        ]
    rule, errors = import_setting("SKIPS_TICKET_ACCESS", value, "skips.E009")
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
