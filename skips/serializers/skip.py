"""The skip serializer: a skip with its ticket embedded, on ``POST`` and on list pages."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from itertools import chain
from typing import Any

from django.db import models, router
from django.db.models import Exists, OuterRef
from django.db.models.query import ValuesIterable
from django.db.models.sql.constants import MULTI
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from skips.conf import conf
from skips.models import REASON_MAX_LENGTH, Skip, get_ticket_model
from skips.querysets import SkipQuerySet, archived_q, ticket_access_q
from skips.serializers.compiled import column_converters, convert_rows
from skips.serializers.fields import (
    StrictCharField,
    StrictIntegerField,
    TimestampField,
    format_timestamp,
)
from skips.serializers.tickets import ticket_queryset_for

#: The columns of a skip that a list page reads (the lean path of list pages).
ROW_FIELDS = ("id", "created_at", "updated_at", "reason", "ticket_id", "user_id")


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
        queryset = ticket_queryset_for(cls.get_ticket_serializer_class()).using(
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
            rows._iterable_class = PageRowsIterable
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
                "created_at": (created := format_timestamp(row["created_at"])),
                "id": row["id"],
                "reason": row["reason"],
                "ticket": tickets.get(row["ticket_id"]),
                "ticket_id": row["ticket_id"],
                # Most skips are never changed: formatted once.
                "updated_at": created
                if row["updated_at"] == row["created_at"]
                else format_timestamp(row["updated_at"]),
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
        tickets = list(ticket_queryset_for(serializer).filter(pk__in=ticket_ids))
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


class PageRowsIterable(ValuesIterable):
    """``values()`` rows of a list page, converted as the ORM converts them,
    SQLite's timestamps quicker (see :func:`skips.serializers.compiled.column_converters`)."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        queryset = self.queryset
        query = queryset.query
        compiler = query.get_compiler(queryset.db)
        results = compiler.execute_sql(
            MULTI, chunked_fetch=self.chunked_fetch, chunk_size=self.chunk_size
        )
        names = (
            list(query.selected)
            if query.selected
            else [*query.extra_select, *query.values_select, *query.annotation_select]
        )
        columns = [column for column, _, _ in compiler.select[: compiler.col_count]]
        rows: Iterator[Any] = chain.from_iterable(results)
        converters = column_converters(compiler.connection, columns)
        if converters:
            rows = convert_rows(rows, converters, compiler.connection)
        for row in rows:
            yield dict(zip(names, row, strict=True))


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
