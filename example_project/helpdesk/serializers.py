"""The ticket as the reference API renders it, embedded in each skip.

``select_related`` and ``prefetch_related`` name every relation the serializer
reads, so that a page of skips costs one query per related collection, never
one per ticket.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet
from rest_framework import serializers

from example_project.helpdesk.models import CustomFieldValue, SharingAgreement, Ticket
from skips.serializers import (
    CompiledQuery,
    TicketURLField,
    TimestampField,
    format_timestamp,
    ticket_url_prefix,
)


def _only_pk(queryset: QuerySet) -> QuerySet:
    """Rows of a related collection of which the serializer reads only the id."""
    return queryset.only("pk").order_by("pk")


def _ids(manager: Any) -> list[int]:
    """Primary keys of a to-many relation, read from the prefetch cache."""
    return [obj.pk for obj in manager.all()]


class SatisfactionRatingSerializer(serializers.Serializer):
    """The requester's rating: ``{"comment", "id", "score"}``."""

    comment = serializers.CharField(read_only=True)
    id = serializers.IntegerField(read_only=True)
    score = serializers.CharField(read_only=True)


class TicketSerializer(serializers.ModelSerializer):
    """A help desk ticket, key for key the reference ticket object."""

    #: Nothing to join: the ticket's own columns hold every foreign key id.
    select_related = ()
    #: One query each for the to-many relations, loading only what is rendered.
    prefetch_related = (
        Prefetch("collaborators", queryset=_only_pk(get_user_model()._default_manager.all())),
        Prefetch("followers", queryset=_only_pk(get_user_model()._default_manager.all())),
        "tags",
        Prefetch("sharing_agreements", queryset=_only_pk(SharingAgreement.objects.all())),
        "custom_fields",
        # has_incidents: whether any ticket names this one as its problem.
        Prefetch("incidents", queryset=Ticket.objects.only("pk", "problem_id").order_by()),
    )

    assignee_id = serializers.IntegerField(read_only=True, allow_null=True)
    collaborator_ids = serializers.SerializerMethodField()
    created_at = TimestampField()
    custom_fields = serializers.SerializerMethodField()
    due_at = TimestampField(allow_null=True)
    follower_ids = serializers.SerializerMethodField()
    generated_timestamp = serializers.SerializerMethodField()
    group_id = serializers.IntegerField(read_only=True, allow_null=True)
    has_incidents = serializers.SerializerMethodField()
    organization_id = serializers.IntegerField(read_only=True, allow_null=True)
    problem_id = serializers.IntegerField(read_only=True, allow_null=True)
    requester_id = serializers.IntegerField(read_only=True)
    satisfaction_rating = SatisfactionRatingSerializer(read_only=True, allow_null=True)
    sharing_agreement_ids = serializers.SerializerMethodField()
    submitter_id = serializers.IntegerField(read_only=True)
    tags = serializers.SerializerMethodField()
    updated_at = TimestampField()
    url = TicketURLField()
    via = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = (
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
            "id",
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
            "url",
            "via",
        )
        read_only_fields = fields

    def get_collaborator_ids(self, ticket: Ticket) -> list[int]:
        return _ids(ticket.collaborators)

    def get_custom_fields(self, ticket: Ticket) -> list[dict[str, Any]]:
        return [
            {"id": field.field_id, "value": field.value} for field in ticket.custom_fields.all()
        ]

    def get_follower_ids(self, ticket: Ticket) -> list[int]:
        return _ids(ticket.followers)

    def get_generated_timestamp(self, ticket: Ticket) -> int | None:
        return int(ticket.updated_at.timestamp()) if ticket.updated_at else None

    def get_has_incidents(self, ticket: Ticket) -> bool:
        return bool(ticket.incidents.all())

    def get_sharing_agreement_ids(self, ticket: Ticket) -> list[int]:
        return _ids(ticket.sharing_agreements)

    def get_tags(self, ticket: Ticket) -> list[str]:
        return [tag.name for tag in ticket.tags.all()]

    def get_via(self, ticket: Ticket) -> dict[str, str]:
        return {"channel": ticket.via_channel}

    # The fast path of list pages: the same JSON from plain values, one query per
    # collection for the whole page (see skips.serializers.TicketSerializer.render_many).

    COLUMNS = (
        "id",
        "assignee_id",
        "created_at",
        "description",
        "due_at",
        "external_id",
        "from_messaging_channel",
        "group_id",
        "organization_id",
        "priority",
        "problem_id",
        "raw_subject",
        "recipient",
        "requester_id",
        "satisfaction_comment",
        "satisfaction_id",
        "satisfaction_score",
        "status",
        "subject",
        "submitter_id",
        "type",
        "updated_at",
        "via_channel",
    )

    @classmethod
    def render_many(cls, ticket_ids: Collection[int], context: Any) -> dict[int, dict[str, Any]]:
        """Each ticket's JSON by id, as ``.data`` gives it, from ``values()`` queries
        compiled once (``skips.serializers.CompiledQuery``)."""
        rows = _TICKETS.rows(list(ticket_ids))
        ids = [row["id"] for row in rows]
        collaborators = _grouped(_COLLABORATORS.rows(ids))
        followers = _grouped(_FOLLOWERS.rows(ids))
        agreements = _grouped(_AGREEMENTS.rows(ids))
        tags = _grouped(_TAGS.rows(ids))
        fields: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for ticket_id, field_id, value in _CUSTOM_FIELDS.rows(ids):
            fields[ticket_id].append({"id": field_id, "value": value})
        problems = set(_PROBLEMS.rows(ids))
        prefix = ticket_url_prefix(context)
        return {
            row["id"]: {
                "assignee_id": row["assignee_id"],
                "collaborator_ids": collaborators.get(row["id"], []),
                "created_at": format_timestamp(row["created_at"]),
                "custom_fields": fields.get(row["id"], []),
                "description": row["description"],
                "due_at": format_timestamp(row["due_at"]),
                "external_id": row["external_id"],
                "follower_ids": followers.get(row["id"], []),
                "from_messaging_channel": row["from_messaging_channel"],
                "generated_timestamp": (
                    int(row["updated_at"].timestamp()) if row["updated_at"] else None
                ),
                "group_id": row["group_id"],
                "has_incidents": row["id"] in problems,
                "id": row["id"],
                "organization_id": row["organization_id"],
                "priority": row["priority"],
                "problem_id": row["problem_id"],
                "raw_subject": row["raw_subject"],
                "recipient": row["recipient"],
                "requester_id": row["requester_id"],
                "satisfaction_rating": (
                    {
                        "comment": row["satisfaction_comment"],
                        "id": row["satisfaction_id"],
                        "score": row["satisfaction_score"],
                    }
                    if row["satisfaction_score"]
                    else None
                ),
                "sharing_agreement_ids": agreements.get(row["id"], []),
                "status": row["status"],
                "subject": row["subject"],
                "submitter_id": row["submitter_id"],
                "tags": tags.get(row["id"], []),
                "type": row["type"],
                "updated_at": format_timestamp(row["updated_at"]),
                "url": f"{prefix}{row['id']}.json",
                "via": {"channel": row["via_channel"]},
            }
            for row in rows
        }


def _links(relation: str) -> CompiledQuery:
    """(ticket id, linked id) rows of a many-to-many relation, in linked id order."""

    def build(ticket_ids: list[int]) -> QuerySet:
        field = Ticket._meta.get_field(relation)
        through = field.remote_field.through  # type: ignore[union-attr]
        source, target = field.m2m_column_name(), field.m2m_reverse_name()  # type: ignore[union-attr]
        return (
            through.objects.filter(**{f"{source}__in": ticket_ids})
            .order_by(target)
            .values_list(source, target)
        )

    return CompiledQuery(build)


def _grouped(rows: list[tuple[int, Any]]) -> dict[int, list[Any]]:
    """The values of (ticket id, value) rows, by ticket, in the rows' order."""
    grouped: dict[int, list[Any]] = defaultdict(list)
    for ticket_id, value in rows:
        grouped[ticket_id].append(value)
    return grouped


# The queries of render_many, compiled once per number of tickets (the ORM
# builds and compiles a queryset anew each time it runs it).
_TICKETS = CompiledQuery(
    lambda ids: Ticket.objects.filter(pk__in=ids).order_by().values(*TicketSerializer.COLUMNS)
)
_COLLABORATORS = _links("collaborators")
_FOLLOWERS = _links("followers")
_AGREEMENTS = _links("sharing_agreements")
_TAGS = CompiledQuery(
    lambda ids: (
        Ticket.tags.through.objects.filter(ticket_id__in=ids)
        .order_by("tag__name")
        .values_list("ticket_id", "tag__name")
    )
)
_CUSTOM_FIELDS = CompiledQuery(
    lambda ids: (
        CustomFieldValue.objects.filter(ticket_id__in=ids)
        .order_by("ticket_id", "field_id")
        .values_list("ticket_id", "field_id", "value")
    )
)
# has_incidents: whether any ticket names this one as its problem.
_PROBLEMS = CompiledQuery(
    lambda ids: (
        Ticket.objects.filter(problem_id__in=ids).order_by().values_list("problem_id", flat=True)
    )
)
