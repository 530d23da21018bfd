"""Serializers of skips and of the embedded ticket.

The embedded ``ticket`` is rendered by the class named in
``SKIPS_TICKET_SERIALIZER``. A ticket serializer declares the relations it reads
in ``select_related`` and ``prefetch_related`` (lookups from the ticket), so
that a list page costs a fixed number of queries whatever its size.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection, Sequence
from typing import Any, ClassVar, cast

from django.db import models, router
from django.db.models import Exists, OuterRef, Prefetch
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.utils.field_mapping import ClassLookupDict

from skips.conf import conf
from skips.models import MAX_ID, REASON_MAX_LENGTH, Skip, get_ticket_model
from skips.querysets import SkipQuerySet, archived_q, ticket_access_q

#: The columns of a skip that a list page reads (the lean path of list pages).
ROW_FIELDS = ("id", "created_at", "updated_at", "reason", "ticket_id", "user_id")


def format_timestamp(value: datetime.datetime | None) -> str | None:
    """UTC, ISO 8601, whole seconds, with a ``Z``: ``2015-09-30T21:44:03Z``.

    A naive value is taken as UTC. This runs for every timestamp of a page, so
    it avoids the slower ``strftime``.
    """
    if value is None:
        return None
    offset = value.utcoffset()
    if offset:
        value = value - offset
    return value.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


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
        try:
            skips_path = reverse(f"{namespace or 'skips'}:skip-list")
        except NoReverseMatch:
            skips_path = reverse("skips:skip-list")
        path = skips_path[: -len("skips")] + "tickets/"
        prefix = request.build_absolute_uri(path) if request is not None else path
        context["_skips_ticket_url_prefix"] = prefix
    return prefix


@extend_schema_field(OpenApiTypes.URI)
class TicketURLField(serializers.Field[Any, Any, str, Any]):
    """The ticket's absolute API URL: ``{scheme}://{host}/api/v2/tickets/{id}.json``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.update(source="*", read_only=True)
        super().__init__(**kwargs)

    def to_representation(self, ticket: Any) -> str:
        return f"{ticket_url_prefix(self.context)}{ticket.pk}.json"


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
            tickets = list(_ticket_queryset(cls).filter(pk__in=ticket_ids))
            data = cls(tickets, many=True, context=context).data  # type: ignore[arg-type]
            return {ticket.pk: item for ticket, item in zip(tickets, data, strict=True)}
        columns = cls.get_columns()
        timestamps = {f.attname for f in columns if isinstance(f, models.DateTimeField)}
        names = sorted({"id", "url", *(f.attname for f in columns)})
        prefix = ticket_url_prefix(context)
        rendered = {}
        for row in (
            get_ticket_model()
            ._default_manager.filter(pk__in=ticket_ids)
            .values("pk", *(f.attname for f in columns))
        ):
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


def _ticket_queryset(serializer: Any) -> models.QuerySet[models.Model]:
    """Tickets with the relations ``serializer`` declares it reads."""
    queryset = get_ticket_model()._default_manager.prefetch_related(
        *getattr(serializer, "prefetch_related", ())
    )
    joins = getattr(serializer, "select_related", ())
    if joins:  # select_related() with no names would join every foreign key
        queryset = queryset.select_related(*joins)
    return queryset


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


class SkipSerializer(serializers.ModelSerializer[Skip]):
    """A skip, with its ticket embedded.

    On create it takes ``ticket_id`` and ``reason``; ``ticket`` may instead come
    from the view (``context["ticket"]``, for ``POST tickets/{id}/skips``). The
    user is the one passed to ``save(user=...)``, never the body's.
    """

    created_at = TimestampField()
    ticket_id = StrictIntegerField()
    reason = StrictCharField(
        max_length=REASON_MAX_LENGTH,
        allow_blank=True,
        allow_null=True,
        required=False,
        trim_whitespace=False,
    )
    updated_at = TimestampField()
    user_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Skip
        fields = ("created_at", "id", "reason", "ticket", "ticket_id", "updated_at", "user_id")
        read_only_fields = ("id",)

    @classmethod
    def get_ticket_serializer_class(cls) -> type[serializers.BaseSerializer[Any]]:
        return conf.TICKET_SERIALIZER

    @classmethod
    def ticket_queryset(cls, user: Any = None) -> models.QuerySet[models.Model]:
        """Tickets ``user`` may see (all for None), with what the ticket serializer
        reads, and ``_skips_archived``: the ticket of a new skip.

        Read from the database skips are written to (the primary, with
        replicas), where the insert checks the ticket's foreign key: a ticket
        created a moment ago is there, and one deleted is gone.
        """
        queryset = _ticket_queryset(cls.get_ticket_serializer_class()).using(
            router.db_for_write(Skip)
        )
        access = None if user is None else ticket_access_q(user)
        if access is not None:
            # A subquery: the rule may go through a many-valued relation.
            visible = get_ticket_model()._default_manager.filter(access)
            queryset = queryset.filter(pk__in=visible.values("pk"))
        q = archived_q()
        if q is not None:
            # EXISTS, not the rule itself: a rule over a many-valued relation
            # would give one row per related object, archived or not.
            archived = get_ticket_model()._default_manager.filter(q, pk=OuterRef("pk"))
            queryset = queryset.annotate(_skips_archived=Exists(archived))
        return queryset

    # List pages

    @classmethod
    def renders_from_rows(cls) -> bool:
        """Whether list pages may take the lean path: plain rows, not instances.

        True when this class renders the fields ``SkipSerializer`` declares, as
        it declares them. A subclass that adds, drops or changes a field (or
        ``to_representation``) gets the generic path, through its own fields.
        """
        lean = _LEAN.get(cls)
        if lean is None:
            lean = _LEAN[cls] = cls is SkipSerializer or (
                cls.to_representation is SkipSerializer.to_representation
                and cls.get_fields is SkipSerializer.get_fields  # fields chosen per request
                and _field_signature(cls) == _field_signature(SkipSerializer)
            )
        return lean

    @classmethod
    def page_queryset(cls, queryset: SkipQuerySet) -> models.QuerySet[Skip, Any]:
        """What a list page reads from the ordered, filtered skips ``queryset``."""
        if cls.renders_from_rows():
            rows: models.QuerySet[Skip, Any] = queryset.values(*ROW_FIELDS)
            return rows
        ticket = cls.get_ticket_serializer_class()
        return queryset.with_tickets(
            getattr(ticket, "select_related", ()), getattr(ticket, "prefetch_related", ())
        )

    @classmethod
    def render_page(cls, page: list[Any], context: Any) -> list[dict[str, Any]]:
        """A list page: what ``cls(page, many=True).data`` gives.

        ``page`` comes from :meth:`page_queryset`. On the lean path it holds
        plain rows (``ROW_FIELDS``): no model instance per skip, and each ticket
        of the page rendered once however many of its skips the page holds.
        """
        if not cls.renders_from_rows():
            return cls(page, many=True, context=context).data  # type: ignore[return-value]
        tickets = cls.render_tickets({row["ticket_id"] for row in page}, context)
        return [
            {
                "created_at": format_timestamp(row["created_at"]),
                "id": row["id"],
                "reason": row["reason"],
                "ticket": tickets.get(row["ticket_id"]),
                "ticket_id": row["ticket_id"],
                "updated_at": format_timestamp(row["updated_at"]),
                "user_id": row["user_id"],
            }
            for row in page
        ]

    @classmethod
    def render_tickets(cls, ticket_ids: Collection[Any], context: Any) -> dict[Any, Any]:
        """The embedded ticket of each id, each rendered once."""
        serializer = cls.get_ticket_serializer_class()
        render_many = getattr(serializer, "render_many", None)
        if render_many is not None:
            rendered: dict[Any, Any] = render_many(ticket_ids, context)
            return rendered
        tickets = list(_ticket_queryset(serializer).filter(pk__in=ticket_ids))
        data = serializer(tickets, many=True, context=context).data
        return {ticket.pk: item for ticket, item in zip(tickets, data, strict=True)}

    # One skip

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["ticket"] = self.get_ticket_serializer_class()(read_only=True)
        if self.context.get("ticket") is not None:
            fields["ticket_id"].read_only = True
        return fields

    def validate_reason(self, value: str | None) -> str:
        return value or ""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        ticket = self.context.get("ticket")
        if ticket is None:
            request = self.context.get("request")
            tickets = self.ticket_queryset(getattr(request, "user", None))
            ticket = tickets.filter(pk=attrs.pop("ticket_id")).first()
            if ticket is None:
                raise serializers.ValidationError({"ticket_id": [_("no such ticket")]})
        if getattr(ticket, "_skips_archived", False):
            raise serializers.ValidationError(
                {"ticket_id": [_("the ticket is archived and cannot be skipped")]}
            )
        attrs["ticket"] = ticket
        return attrs

    def create(self, validated_data: dict[str, Any]) -> Skip:
        return Skip.objects.record(
            user=validated_data["user"],
            ticket=validated_data["ticket"],
            reason=validated_data.get("reason", ""),
        )


#: Whether each SkipSerializer class renders from rows (see ``renders_from_rows``).
_LEAN: dict[type, bool] = {}


def _field_signature(serializer: type[SkipSerializer]) -> list[tuple[str, type, str | None]]:
    """The fields the output shows, in order: name, class and source (the ticket's name only)."""
    fields = serializer(context={}).fields
    return [
        (name, type(field), field.source) if name != "ticket" else (name, object, None)
        for name, field in fields.items()
        if not field.write_only
    ]
