"""The embedded ticket: :class:`TicketSerializer`, safe for any ticket model.

The embedded ``ticket`` is rendered by the class named in
``SKIPS_TICKET_SERIALIZER``; this is its default. A ticket serializer declares
the relations it reads in ``select_related`` and ``prefetch_related`` (lookups
from the ticket), so that a list page costs a fixed number of queries.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, ClassVar, cast

from django.core.signals import setting_changed
from django.db import models
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.utils.field_mapping import ClassLookupDict

from skips.models import get_ticket_model
from skips.serializers.compiled import CompiledQuery
from skips.serializers.fields import (
    TicketURLField,
    TimestampField,
    format_timestamp,
    ticket_url_prefix,
)

#: The keys of the reference service's ticket object. The default ticket
#: serializer renders those the host's ticket model has a column for, and no other.
REFERENCE_TICKET_FIELDS = frozenset(
    {
        "assignee_id",
        "collaborator_ids",
        "created_at",
        "custom_fields",
        "description",
        "due_at",
        "external_id",
        "follower_ids",
        "from_messaging_channel",
        "generated_timestamp",
        "group_id",
        "has_incidents",
        "organization_id",
        "priority",
        "problem_id",
        "raw_subject",
        "recipient",
        "requester_id",
        "satisfaction_rating",
        "sharing_agreement_ids",
        "status",
        "subject",
        "submitter_id",
        "tags",
        "type",
        "updated_at",
        "via",
    }
)


class TicketSerializer(serializers.Serializer[models.Model]):
    """Renders any ticket model, safely: ``id``, ``url`` and an allow-list of columns.

    The allow-list is the reference ticket object's keys (``subject``,
    ``status``, ``requester_id``...) that the model has a column of that name
    for; nothing else, so that a secret column never reaches an agent. Name
    more columns in ``extra_fields`` of a subclass::

        class HelpdeskTicketSerializer(TicketSerializer):
            extra_fields = ("title", "channel")

    Foreign keys are rendered by their column (``requester_id``), timestamps in
    the reference format. A host with a richer ticket writes its own serializer.
    """

    #: Ticket relations joined into the skips query (``select_related`` lookups).
    select_related: ClassVar[Sequence[str]] = ()
    #: Ticket relations loaded with one query each (``prefetch_related`` lookups).
    prefetch_related: ClassVar[Sequence[str | Prefetch[Any]]] = ()
    #: Columns rendered when the model has them: the reference ticket's keys.
    reference_fields: ClassVar[Collection[str]] = REFERENCE_TICKET_FIELDS
    #: More columns to render, by field name or column name (``"title"``).
    extra_fields: ClassVar[Collection[str]] = ()

    @classmethod
    def get_columns(cls) -> list[models.Field[Any, Any]]:
        """The ticket model's columns this serializer renders, in name order."""
        wanted = {*cls.reference_fields, *cls.extra_fields}
        columns = [
            field
            for field in get_ticket_model()._meta.concrete_fields
            if not field.primary_key and (field.attname in wanted or field.name in wanted)
        ]
        return sorted(columns, key=lambda field: field.attname)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        model = get_ticket_model()
        fields: dict[str, serializers.Field[Any, Any, Any, Any]] = {
            "id": _column_field(model._meta.pk, source="pk"),
            "url": TicketURLField(),
        }
        for field in self.get_columns():
            if isinstance(field, models.DateTimeField):
                fields[field.attname] = TimestampField(allow_null=field.null)
            else:
                fields[field.attname] = _column_field(field)
        fields.update(super().get_fields())  # fields a subclass declares
        return dict(sorted(fields.items()))

    @classmethod
    def render_many(cls, ticket_ids: Collection[Any], context: Any) -> dict[Any, dict[str, Any]]:
        """The JSON of each ticket, by id, in one query: the fast path of list pages.

        A ticket serializer may define this classmethod to render a page's
        tickets from plain values; it must give what ``.data`` would. Without
        it, each ticket of a page is loaded and serialized once by REST framework.
        """
        if not cls._renders_columns_only():
            tickets = list(ticket_queryset_for(cls).filter(pk__in=ticket_ids))
            data = cls(tickets, many=True, context=context).data  # type: ignore[arg-type]
            return {ticket.pk: item for ticket, item in zip(tickets, data, strict=True)}
        attnames, timestamps, names = _column_plan(cls)
        prefix = ticket_url_prefix(context)
        rendered = {}
        for row in _rows_query(attnames).rows(list(ticket_ids)):
            pk = row.pop("pk")
            row.update(id=pk, url=f"{prefix}{pk}.json")
            for name in timestamps:
                row[name] = format_timestamp(row[name])
            rendered[pk] = {name: row[name] for name in names}
        return rendered

    @classmethod
    def _renders_columns_only(cls) -> bool:
        """Whether ``.data`` is the columns of :meth:`get_columns` (no subclass
        declares fields or changes how they are rendered)."""
        return (
            not cls._declared_fields
            and cls.get_fields is TicketSerializer.get_fields
            and cls.to_representation is TicketSerializer.to_representation
        )


#: By serializer class and ticket model: the columns ``render_many`` reads, those
#: that are timestamps, and the keys of a ticket in order.
_COLUMN_PLANS: dict[tuple[type, type], tuple[tuple[str, ...], frozenset[str], list[str]]] = {}
#: By ticket model and columns: the query of a page's tickets, compiled once.
_ROWS_QUERIES: dict[tuple[type, tuple[str, ...]], CompiledQuery] = {}


def _column_plan(
    serializer: type[TicketSerializer],
) -> tuple[tuple[str, ...], frozenset[str], list[str]]:
    key = (serializer, get_ticket_model())
    plan = _COLUMN_PLANS.get(key)
    if plan is None:
        columns = serializer.get_columns()
        attnames = tuple(f.attname for f in columns)
        timestamps = frozenset(f.attname for f in columns if isinstance(f, models.DateTimeField))
        plan = _COLUMN_PLANS[key] = (attnames, timestamps, sorted({"id", "url", *attnames}))
    return plan


def _rows_query(attnames: tuple[str, ...]) -> CompiledQuery:
    model = get_ticket_model()
    query = _ROWS_QUERIES.get((model, attnames))
    if query is None:
        query = _ROWS_QUERIES[model, attnames] = CompiledQuery(
            lambda ids: model._default_manager.filter(pk__in=ids).values("pk", *attnames)
        )
    return query


def _forget_plans(**kwargs: Any) -> None:
    _COLUMN_PLANS.clear()


setting_changed.connect(_forget_plans)


def _column_field(column: Any, **kwargs: Any) -> serializers.Field[Any, Any, Any, Any]:
    """A read-only field giving the column's value as it is (what ``render_many`` gives),
    described in the OpenAPI schema as REST framework's field for that column would be."""
    target = getattr(column, "target_field", None) or column  # a foreign key: its column
    try:
        field_class = _FIELD_CLASSES[target]
    except KeyError:  # a field REST framework does not know: a string, as it would say
        field_class = serializers.CharField
    described = field_class(read_only=True, allow_null=column.null)
    field: Any = serializers.ReadOnlyField(**kwargs)
    extend_schema_field(described)(field)
    return cast("serializers.Field[Any, Any, Any, Any]", field)


#: REST framework's field class for each model field class (subclasses included).
_FIELD_CLASSES = ClassLookupDict(serializers.ModelSerializer.serializer_field_mapping)  # type: ignore[type-var]


def ticket_queryset_for(serializer: Any) -> models.QuerySet[models.Model]:
    """Tickets with the relations ``serializer`` declares it reads."""
    queryset = get_ticket_model()._default_manager.prefetch_related(
        *getattr(serializer, "prefetch_related", ())
    )
    joins = getattr(serializer, "select_related", ())
    if joins:  # select_related() with no names would join every foreign key
        queryset = queryset.select_related(*joins)
    return queryset
