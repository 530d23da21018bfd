"""The skips API as a competent Django REST framework developer would write it.

The yardstick for ``skips``: a ``ModelViewSet``, a nested ``ModelSerializer``
for the ticket built from REST framework's own fields, ``select_related`` and
``prefetch_related`` for every relation (no query per row), the stock
``JSONRenderer``, and pagination classes that give the same envelopes as the
shipped app. It authenticates with the skips authentication classes (so that
authentication costs the same) and applies the same rules: an agent reads its
own skips, an agent with reports access reads everyone's.

It answers with the same bytes as ``skips`` for the requests the benchmark
makes; error answers are REST framework's own and are not compared.
"""

from __future__ import annotations

import datetime
from base64 import b64encode
from typing import Any
from urllib import parse

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import re_path
from rest_framework import pagination, permissions, serializers, status, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from example_project.helpdesk.models import CustomFieldValue, SharingAgreement, Ticket
from skips.authentication import (
    BearerTokenAuthentication,
    SessionAuthentication,
    TokenBasicAuthentication,
)
from skips.models import Skip

UTC = datetime.timezone.utc
TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"
#: Where the tickets live in the API: their ``url`` points there whatever mount serves this copy.
API_PREFIX = "/api/v2/"
CURSOR_PARAMS = ("page[size]", "page[after]", "page[before]")


def timestamp_field(**kwargs: Any) -> serializers.DateTimeField:
    return serializers.DateTimeField(
        format=TIMESTAMP, default_timezone=UTC, read_only=True, **kwargs
    )


class CustomFieldSerializer(serializers.ModelSerializer):
    """One custom field value: ``{"id": field id, "value": ...}``."""

    id = serializers.IntegerField(source="field_id")

    class Meta:
        model = CustomFieldValue
        fields = ("id", "value")


class TicketSerializer(serializers.ModelSerializer):
    """The help desk ticket, key for key the reference ticket object."""

    assignee_id: Any = serializers.PrimaryKeyRelatedField(source="assignee", read_only=True)
    collaborator_ids: Any = serializers.PrimaryKeyRelatedField(
        source="collaborators", many=True, read_only=True
    )
    created_at = timestamp_field()
    custom_fields = CustomFieldSerializer(many=True, read_only=True)
    due_at = timestamp_field()
    follower_ids: Any = serializers.PrimaryKeyRelatedField(
        source="followers", many=True, read_only=True
    )
    generated_timestamp = serializers.SerializerMethodField()
    group_id: Any = serializers.PrimaryKeyRelatedField(source="group", read_only=True)
    has_incidents = serializers.SerializerMethodField()
    organization_id: Any = serializers.PrimaryKeyRelatedField(source="organization", read_only=True)
    problem_id: Any = serializers.PrimaryKeyRelatedField(source="problem", read_only=True)
    requester_id: Any = serializers.PrimaryKeyRelatedField(source="requester", read_only=True)
    satisfaction_rating = serializers.ReadOnlyField()
    sharing_agreement_ids: Any = serializers.PrimaryKeyRelatedField(
        source="sharing_agreements", many=True, read_only=True
    )
    submitter_id: Any = serializers.PrimaryKeyRelatedField(source="submitter", read_only=True)
    tags: Any = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    updated_at = timestamp_field()
    url = serializers.SerializerMethodField()
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

    def get_generated_timestamp(self, ticket: Ticket) -> int:
        return int(ticket.updated_at.timestamp())

    def get_has_incidents(self, ticket: Ticket) -> bool:
        return bool(ticket.incidents.all())

    def get_url(self, ticket: Ticket) -> str:
        return self.context["request"].build_absolute_uri(f"{API_PREFIX}tickets/{ticket.pk}.json")

    def get_via(self, ticket: Ticket) -> dict[str, str]:
        return {"channel": ticket.via_channel}


class SkipSerializer(serializers.ModelSerializer):
    """A skip with its ticket; takes ``ticket_id`` and ``reason`` on create."""

    created_at = timestamp_field()
    reason = serializers.CharField(
        max_length=1024, allow_blank=True, required=False, trim_whitespace=False
    )
    ticket = TicketSerializer(read_only=True)
    ticket_id: Any = serializers.PrimaryKeyRelatedField(
        source="ticket", queryset=Ticket.objects.filter(is_archived=False)
    )
    updated_at = timestamp_field()
    user_id: Any = serializers.PrimaryKeyRelatedField(source="user", read_only=True)

    class Meta:
        model = Skip
        fields = ("created_at", "id", "reason", "ticket", "ticket_id", "updated_at", "user_id")


class OffsetPagination(pagination.PageNumberPagination):
    """``page`` and ``per_page``: ``{"skips", "next_page", "previous_page", "count"}``."""

    page_size = 100
    page_size_query_param = "per_page"
    max_page_size = 100
    max_depth = 10_000

    def paginate_queryset(
        self, queryset: Any, request: Request, view: Any = None
    ) -> list[Any] | None:
        page_size = self.get_page_size(request)
        number = request.query_params.get(self.page_query_param, "1")
        if number.isdigit() and page_size and int(number) * page_size > self.max_depth:
            raise ValidationError("Use cursor pagination to go past the first 10,000 records.")
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "skips": data,
                "next_page": self.get_next_link(),
                "previous_page": self.get_previous_link(),
                "count": self.page.paginator.count,  # type: ignore[union-attr]
            }
        )


class CursorPagination(pagination.CursorPagination):
    """REST framework's cursor pages under ``page[size]``, ``page[after]`` and ``page[before]``.

    Answered as ``{"skips", "meta": {"has_more", "after_cursor", "before_cursor"},
    "links": {"next", "prev"}}``.
    """

    page_size = 100
    page_size_query_param = "page[size]"
    max_page_size = 100
    ordering = ("created_at", "id")

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> tuple[str, ...]:
        if request.query_params.get("sort_order") == "desc":
            return ("-created_at", "-id")
        return ("created_at", "id")

    def decode_cursor(self, request: Request) -> Any:
        after = request.query_params.get("page[after]")
        before = request.query_params.get("page[before]")
        if after and before:
            raise NotFound(self.invalid_cursor_message)
        self.cursor_query_param = "page[before]" if before else "page[after]"
        return super().decode_cursor(request)

    def encode_cursor(self, cursor: Any) -> str:
        tokens = {"o": str(cursor.offset)} if cursor.offset else {}
        if cursor.reverse:
            tokens["r"] = "1"
        if cursor.position is not None:
            tokens["p"] = cursor.position
        token = b64encode(parse.urlencode(tokens).encode("ascii")).decode("ascii")
        param = "page[before]" if cursor.reverse else "page[after]"
        self.tokens[param] = token
        url = remove_query_param(
            remove_query_param(str(self.base_url), "page[after]"), "page[before]"
        )
        return replace_query_param(url, param, token)

    def get_paginated_response(self, data: Any) -> Response:
        self.tokens: dict[str, str] = {}
        next_link = self.get_next_link()
        prev_link = self.get_previous_link()
        return Response(
            {
                "skips": data,
                "meta": {
                    "has_more": self.has_next,
                    "after_cursor": self.tokens.get("page[after]"),
                    "before_cursor": self.tokens.get("page[before]"),
                },
                "links": {"next": next_link, "prev": prev_link},
            }
        )


class SkipsPagination(pagination.BasePagination):
    """Cursor pages when the request names a ``page[...]`` parameter, offset pages otherwise."""

    def paginate_queryset(
        self, queryset: Any, request: Request, view: Any = None
    ) -> list[Any] | None:
        cursor = any(name in request.query_params for name in CURSOR_PARAMS)
        self.style = CursorPagination() if cursor else OffsetPagination()
        return self.style.paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        return self.style.get_paginated_response(data)


class IsAgentOrReader(permissions.BasePermission):
    """Agents record and read skips; agents with reports access read everyone's."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        if request.method == "POST":
            return bool(user.has_perm("skips.add_skip"))
        return bool(user.has_perm("skips.add_skip") or user.has_perm("skips.view_skip"))


class SkipViewSet(viewsets.ModelViewSet):
    """Skips you may see, of one ticket or one agent when the URL names one."""

    serializer_class = SkipSerializer
    pagination_class = SkipsPagination
    authentication_classes = (
        TokenBasicAuthentication,
        BearerTokenAuthentication,
        SessionAuthentication,
    )
    permission_classes = (IsAgentOrReader,)
    renderer_classes = (JSONRenderer,)
    parser_classes = (JSONParser,)

    def get_queryset(self) -> QuerySet[Skip]:
        user = self.request.user
        queryset = Skip.objects.filter(ticket__is_archived=False)
        if not user.has_perm("skips.view_skip"):
            queryset = queryset.filter(user=user)
        if "ticket_id" in self.kwargs:
            queryset = queryset.filter(ticket=self.get_ticket())
        if "user_id" in self.kwargs:
            queryset = queryset.filter(user=self.get_user())
        order = ("-created_at", "-id")
        if self.request.query_params.get("sort_order", "asc") == "asc":
            order = ("created_at", "id")
        users = get_user_model()._default_manager.order_by("pk")
        return (
            queryset.order_by(*order)
            .select_related("ticket")
            .prefetch_related(
                Prefetch("ticket__collaborators", queryset=users),
                Prefetch("ticket__followers", queryset=users),
                "ticket__tags",
                Prefetch(
                    "ticket__sharing_agreements", queryset=SharingAgreement.objects.order_by("pk")
                ),
                "ticket__custom_fields",
                Prefetch("ticket__incidents", queryset=Ticket.objects.only("id", "problem_id")),
            )
        )

    def get_ticket(self) -> Ticket:
        return get_object_or_404(Ticket, pk=self.kwargs["ticket_id"])

    def get_user(self) -> Any:
        user_id = self.kwargs["user_id"]
        if user_id in ("me", str(self.request.user.pk)):
            return self.request.user
        if not self.request.user.has_perm("skips.view_skip"):
            raise PermissionDenied()
        return get_object_or_404(get_user_model(), pk=user_id)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = request.data.get("skip") if isinstance(request.data, dict) else None
        if not isinstance(data, dict):
            raise ValidationError('The body must be {"skip": {...}}.')
        if "ticket_id" in self.kwargs:
            data = {**data, "ticket_id": self.kwargs["ticket_id"]}
        serializer = self.get_serializer(data=data)
        serializer.is_valid(raise_exception=True)
        skip = serializer.save(user=request.user)
        # Read it back with the list's prefetches, so that it renders like a listed skip.
        saved = self.get_serializer(self.get_queryset().get(pk=skip.pk))
        return Response({"skip": saved.data}, status=status.HTTP_201_CREATED)


_SUFFIX = r"(?:\.json)?$"
_list_and_create = SkipViewSet.as_view({"get": "list", "post": "create"})

urlpatterns = [
    re_path(r"^skips" + _SUFFIX, _list_and_create),
    re_path(r"^tickets/(?P<ticket_id>[0-9]+)/skips" + _SUFFIX, _list_and_create),
    re_path(r"^users/(?P<user_id>[0-9]+|me)/skips" + _SUFFIX, SkipViewSet.as_view({"get": "list"})),
]
