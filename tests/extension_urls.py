"""A host that extends the skips views as REST framework views are extended.

The ROOT_URLCONF of ``tests/test_view_extension.py``. The app's own URLs stay at
``api/v2/`` (namespace ``skips``). Each variant is a namespace under
``ext/<variant>/`` that routes subclasses of the three skips views, each with
one class attribute (or method) set, beside a stand-in of the host's ticket API
(``tickets/<id>.json``), where the embedded ticket's ``url`` points.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, URLResolver, include, path
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.filters import BaseFilterBackend
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.throttling import UserRateThrottle

from skips import views
from skips.models import REASON_MAX_LENGTH, Skip
from skips.pagination import CursorPagination, OffsetPagination, SkipsPagination
from skips.permissions import HasReportsAccess
from skips.serializers import (
    SkipSerializer,
    StrictCharField,
    TicketSerializer,
    TicketURLField,
)
from tests.testapp.models import Case
from tests.testapp.serializers import CaseSerializer

# Authentication, permissions, throttles, filters and pagination of a host


class HeaderUserAuthentication(BaseAuthentication):
    """``X-Test-User: <id>``: the active user of that id."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        raw = request.META.get("HTTP_X_TEST_USER")
        if raw is None:
            return None
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
            raise exceptions.AuthenticationFailed()
        user = get_user_model()._default_manager.filter(pk=int(raw), is_active=True).first()
        if user is None:
            raise exceptions.AuthenticationFailed()
        return user, None

    def authenticate_header(self, request: Request) -> str:
        return "X-Test-User"


class IsActiveUser(BasePermission):
    """Any active user, whatever their skips permissions."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active)


class OnePerMinuteThrottle(UserRateThrottle):
    """One request a minute per user, counted apart from the app's own throttle."""

    scope = "skips-extension-test"
    rate = "1/min"


class ReasonStartsWithBackend(BaseFilterBackend):
    """``?starts_with=text``: the skips whose reason starts with the text."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        prefix = request.query_params.get("starts_with")
        return queryset.filter(reason__startswith=prefix) if prefix else queryset


class PairsOffsetPagination(OffsetPagination):
    default_page_size = 2


class PairsCursorPagination(CursorPagination):
    default_page_size = 2


class PairsPagination(SkipsPagination):
    """The app's two paging styles, two skips to a page by default."""

    offset_class = PairsOffsetPagination
    cursor_class = PairsCursorPagination


# Ticket serializers


class BriefCaseSerializer(serializers.ModelSerializer):
    """A smaller ticket: id, url and title."""

    url = TicketURLField()

    class Meta:
        model = Case
        fields = ("id", "url", "title")


class LabelCountCaseSerializer(CaseSerializer):
    """The test host's ticket serializer with one more field (labels are prefetched)."""

    label_count = serializers.SerializerMethodField()

    class Meta(CaseSerializer.Meta):
        fields: Any = (*CaseSerializer.Meta.fields, "label_count")

    def get_label_count(self, case: Case) -> int:
        return len(case.labels.all())


class TitledTicketSerializer(TicketSerializer):
    """The app's default ticket serializer, one more column (its ``render_many`` path)."""

    extra_fields = ("title",)


class StampedTicketSerializer(TicketSerializer):
    """The default ticket serializer with its own ``to_representation``."""

    extra_fields = ("title",)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {**super().to_representation(instance), "host": "stamped"}


class ShoutingTicketSerializer(TicketSerializer):
    """The default ticket serializer with a declared field."""

    extra_fields = ("title",)
    title_upper = serializers.SerializerMethodField()

    def get_title_upper(self, case: Case) -> str:
        return case.title.upper()


# Skip serializers


class ReasonLengthSkipSerializer(SkipSerializer):
    """Adds a ``SerializerMethodField``."""

    reason_length = serializers.SerializerMethodField()

    class Meta(SkipSerializer.Meta):
        fields: Any = (*SkipSerializer.Meta.fields, "reason_length")

    def get_reason_length(self, skip: Skip) -> int:
        return len(skip.reason)


class TicketTitleSkipSerializer(SkipSerializer):
    """Adds a model field read through the ticket."""

    ticket_title = serializers.CharField(source="ticket.title", read_only=True)

    class Meta(SkipSerializer.Meta):
        fields: Any = (*SkipSerializer.Meta.fields, "ticket_title")


class NoReasonSkipSerializer(SkipSerializer):
    """Drops ``reason`` from ``Meta.fields``."""

    class Meta(SkipSerializer.Meta):
        fields: Any = tuple(name for name in SkipSerializer.Meta.fields if name != "reason")


class WriteOnlyReasonSkipSerializer(SkipSerializer):
    """Takes a reason but never shows it."""

    reason = StrictCharField(
        max_length=REASON_MAX_LENGTH,
        allow_blank=True,
        allow_null=True,
        required=False,
        trim_whitespace=False,
        write_only=True,
    )


class KindSkipSerializer(SkipSerializer):
    """Changes ``to_representation``."""

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {**super().to_representation(instance), "kind": "skip"}


class AgentEmailSkipSerializer(SkipSerializer):
    """Reads the skip's user, which its view joins (see ``WithAgentsMixin``)."""

    agent_email = serializers.SerializerMethodField()

    class Meta(SkipSerializer.Meta):
        fields: Any = (*SkipSerializer.Meta.fields, "agent_email")

    def get_agent_email(self, skip: Skip) -> str:
        return skip.user.email


class BriefTicketSkipSerializer(SkipSerializer):
    """The skip's own fields, a smaller ticket through ``get_ticket_serializer_class``."""

    @classmethod
    def get_ticket_serializer_class(cls) -> type[serializers.BaseSerializer]:
        return BriefCaseSerializer


class BriefTicketReasonLengthSkipSerializer(ReasonLengthSkipSerializer):
    """A smaller ticket, and a field of its own."""

    @classmethod
    def get_ticket_serializer_class(cls) -> type[serializers.BaseSerializer]:
        return BriefCaseSerializer


class CheckedReasonSkipSerializer(SkipSerializer):
    """Only validates more: it renders what ``SkipSerializer`` renders."""

    def validate_reason(self, value: str | None) -> str:
        value = super().validate_reason(value)
        if "forbidden" in value.lower():
            raise serializers.ValidationError("must not say forbidden")
        return value


class ReorderedSkipSerializer(SkipSerializer):
    """``SkipSerializer``'s fields, in another order."""

    class Meta(SkipSerializer.Meta):
        fields = ("id", "ticket_id", "user_id", "reason", "created_at", "updated_at", "ticket")


class ReasonForReportsSkipSerializer(SkipSerializer):
    """Shows ``reason`` only to users with reports access (fields chosen per request)."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and not request.user.has_perm("skips.view_skip"):
            fields.pop("reason")
        return fields


# View mixins


class WithAgentsMixin:
    """Joins each skip's user, which ``AgentEmailSkipSerializer`` reads."""

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().select_related("user")  # type: ignore[misc]


class ReasonedOnlyMixin:
    """Lists only the skips that give a reason (a ``get_queryset`` override)."""

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().exclude(reason="")  # type: ignore[misc]


class WithArchivedMixin:
    """Lists skips of archived tickets too (a ``get_base_queryset`` override)."""

    request: Request

    def get_base_queryset(self) -> QuerySet:
        return Skip.objects.visible_to(self.request.user)


# Routes


def ticket_detail(request: HttpRequest, ticket_id: int) -> JsonResponse:
    """The host's ticket API, reduced to what the tests follow."""
    case = get_object_or_404(Case, pk=ticket_id)
    return JsonResponse({"ticket": {"id": case.pk, "title": case.title}})


BASES: dict[str, tuple[type[views.SkipsAPIView], str]] = {
    "skip-list": (views.SkipListView, "skips"),
    "ticket-skip-list": (views.TicketSkipListView, "tickets/<str:ticket_id>/skips"),
    "user-skip-list": (views.UserSkipListView, "users/<str:user_id>/skips"),
}


def extend(
    base: type[views.SkipsAPIView], mixins: Sequence[type] = (), **attrs: Any
) -> type[views.SkipsAPIView]:
    """A subclass of ``base`` with ``mixins`` first and ``attrs`` as class attributes."""
    name = "".join(m.__name__.removesuffix("Mixin") for m in mixins) + "Extended" + base.__name__
    return type(name, (*mixins, base), {"__module__": __name__, **attrs})


def variant(
    namespace: str,
    *,
    mixins: Sequence[type] = (),
    only: Sequence[str] = tuple(BASES),
    initkwargs: dict[str, Any] | None = None,
    **attrs: Any,
) -> URLResolver:
    """``ext/<namespace>/``: the skips routes (those named in ``only``), each a subclass
    of the app's view with ``attrs`` (or the app's view with ``initkwargs``), with
    and without ``.json``, and the stand-in ticket API."""
    patterns: list[URLPattern] = [
        path("tickets/<int:ticket_id>.json", ticket_detail, name="ticket-detail")
    ]
    for name in only:
        base, route = BASES[name]
        if initkwargs is not None:
            view = base.as_view(**initkwargs)
        else:
            view = extend(base, mixins, **attrs).as_view()
        patterns += [
            path(f"{route}.json", view, {"format": "json"}, name=name),
            path(route, view, name=name),
        ]
    return path(f"ext/{namespace}/", include((patterns, namespace)))


#: The skip serializer of each variant namespace that sets ``serializer_class``.
SERIALIZER_VARIANTS: dict[str, type[SkipSerializer]] = {
    "reason-length": ReasonLengthSkipSerializer,
    "ticket-title": TicketTitleSkipSerializer,
    "no-reason": NoReasonSkipSerializer,
    "write-only-reason": WriteOnlyReasonSkipSerializer,
    "kind": KindSkipSerializer,
    "agent-email": AgentEmailSkipSerializer,
    "brief-ticket": BriefTicketSkipSerializer,
    "brief-ticket-reason-length": BriefTicketReasonLengthSkipSerializer,
    "checked-reason": CheckedReasonSkipSerializer,
    "reordered": ReorderedSkipSerializer,
    "reason-for-reports": ReasonForReportsSkipSerializer,
}

#: Mixins of some of those variants' views.
SERIALIZER_VARIANT_MIXINS: dict[str, tuple[type, ...]] = {"agent-email": (WithAgentsMixin,)}

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/v2/", include("skips.urls")),
    path("api/v2/tickets/<int:ticket_id>.json", ticket_detail, name="ticket-detail"),
    # A subclass routed with no namespace: its tickets are the app's (namespace "skips").
    path(
        "plain/skips",
        extend(views.SkipListView, serializer_class=ReasonLengthSkipSerializer).as_view(),
    ),
    # Authentication, permissions, throttles.
    variant("header-auth", authentication_classes=[HeaderUserAuthentication]),
    variant("initkwargs", initkwargs={"authentication_classes": [HeaderUserAuthentication]}),
    variant("active-users", permission_classes=[IsActiveUser]),
    variant("reports-only", permission_classes=[HasReportsAccess]),
    variant("one-per-minute", throttle_classes=[OnePerMinuteThrottle]),
    variant("unthrottled", throttle_classes=[]),
    # Serializers.
    *(
        variant(
            namespace,
            mixins=SERIALIZER_VARIANT_MIXINS.get(namespace, ()),
            serializer_class=serializer,
        )
        for namespace, serializer in SERIALIZER_VARIANTS.items()
    ),
    # Filters, pagination, querysets.
    variant("own-filter", filter_backends=(ReasonStartsWithBackend,)),
    variant("pairs", pagination_class=PairsPagination),
    variant("unpaginated", pagination_class=None),
    variant("reasoned-only", mixins=(ReasonedOnlyMixin,)),
    variant("with-archived", mixins=(WithArchivedMixin,), only=("skip-list",)),
]
