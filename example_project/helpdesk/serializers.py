"""The ticket as the reference API renders it, embedded in each skip.

``select_related`` and ``prefetch_related`` name every relation the serializer
reads, so that a page of skips costs one query per related collection, never
one per ticket.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet
from rest_framework import serializers

from example_project.helpdesk.models import SharingAgreement, Ticket
from skips.serializers import TicketURLField, TimestampField


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

    assignee_id = serializers.IntegerField(read_only=True)
    collaborator_ids = serializers.SerializerMethodField()
    created_at = TimestampField()
    custom_fields = serializers.SerializerMethodField()
    due_at = TimestampField()
    follower_ids = serializers.SerializerMethodField()
    generated_timestamp = serializers.SerializerMethodField()
    group_id = serializers.IntegerField(read_only=True)
    has_incidents = serializers.SerializerMethodField()
    organization_id = serializers.IntegerField(read_only=True)
    problem_id = serializers.IntegerField(read_only=True)
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
