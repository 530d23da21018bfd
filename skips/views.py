"""The Ticket Skips API views::

    GET  skips                     skips the user may see
    POST skips                     record a skip for the current user
    GET  tickets/{ticket_id}/skips skips of one ticket
    POST tickets/{ticket_id}/skips record a skip of that ticket
    GET  users/{user_id}/skips     skips of one agent (``me`` is the current user)

Every route also answers with a ``.json`` suffix. Override points are the
``get_*`` methods and class attributes, as in REST framework's generic views.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, router, transaction
from django.db.models import Model
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import ValidationError

from skips.conf import conf
from skips.exceptions import (
    InvalidParameter,
    RecordInvalid,
    RequestTooLarge,
    exception_handler,
)
from skips.filters import SkipFilter, SkipFilterBackend
from skips.models import MAX_ID, Skip, get_ticket_model
from skips.pagination import SkipsPagination, single_param
from skips.permissions import HasReportsAccess, IsAgent, IsPathUser, IsRecording
from skips.querysets import SkipQuerySet, SortOrder, visible_tickets
from skips.renderers import (
    SkipsBrowsableAPIRenderer,
    SkipsContentNegotiation,
    SkipsJSONParser,
    SkipsJSONRenderer,
)
from skips.routers import note_write, read_primary, read_scope, wrote_recently
from skips.schema import TICKET_ID, USER_ID, SkipsAutoSchema, create_schema, list_schema
from skips.serializers import SkipSerializer
from skips.throttling import SkipsRateThrottle


def parse_id(value: str) -> int | None:
    """A path id as an int, or None when it is not a positive 64-bit integer."""
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


class FromSettings:
    """A class attribute read from the ``SKIPS_*`` settings at each use.

    A subclass that sets the attribute itself wins, as with any class
    attribute of a REST framework view.
    """

    def __init__(self, read: Callable[[], Any]) -> None:
        self.read = read

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        return self.read()


class SkipsAPIView(generics.GenericAPIView[Skip]):
    """Base of the skips views: the app's authentication, errors and envelopes.

    Extend it as any REST framework view: ``authentication_classes``,
    ``permission_classes``, ``throttle_classes`` and ``serializer_class`` set
    on a subclass win; their defaults follow the ``SKIPS_*`` settings.
    """

    serializer_class = SkipSerializer
    pagination_class = SkipsPagination
    renderer_classes = (SkipsJSONRenderer, SkipsBrowsableAPIRenderer)
    parser_classes = (SkipsJSONParser,)
    content_negotiation_class = SkipsContentNegotiation
    filter_backends = (SkipFilterBackend,)
    filterset_class = SkipFilter
    #: How clients prove who they are; by default ``SKIPS_AUTHENTICATION_CLASSES``.
    authentication_classes: Any = FromSettings(lambda: conf.AUTHENTICATION_CLASSES)
    #: Rate limits; by default one per user at ``SKIPS_THROTTLE_RATE``, none when unset.
    throttle_classes: Any = FromSettings(lambda: [SkipsRateThrottle] if conf.THROTTLE_RATE else [])
    #: Agents read and record; reports access reads too.
    permission_classes: Any = (IsAgent | (~IsRecording & HasReportsAccess),)
    #: The key of the request's and the answer's skip object.
    envelope = "skip"
    schema = SkipsAutoSchema()

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        # The request's reads go to one database (skips.routers): one replica,
        # or the primary for a POST and for a user who wrote a moment ago.
        # Answers are in the reference's English whatever the request's
        # language: clients compare error texts (LocaleMiddleware would say "de").
        with read_scope(), translation.override("en"):
            response = super().dispatch(request, *args, **kwargs)
        response.headers.setdefault("Content-Language", "en")
        return response

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Before authentication: the CSRF check of a session would read the body.
        self.check_body_size(request)
        super().initial(request, *args, **kwargs)
        if request.method == "POST" or wrote_recently(request.user):
            read_primary()

    def check_body_size(self, request: Request) -> None:
        """Refuse a body longer than ``SKIPS_MAX_BODY_SIZE`` before anything reads it.

        Only ``POST`` reads a body (the CSRF check reads a form's); other
        methods' bodies are ignored.
        """
        if request.method != "POST":
            return
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not (length.isascii() and length.isdigit()):
            raise InvalidParameter("The Content-Length header must be a whole number of bytes.")
        if int(length) > conf.MAX_BODY_SIZE:
            raise RequestTooLarge(f"The request body must be at most {conf.MAX_BODY_SIZE} bytes.")

    def get_exception_handler(self) -> Any:
        return exception_handler

    def get_throttles(self) -> list[Any]:
        if not hasattr(self, "_throttles"):
            self._throttles = super().get_throttles()
        return self._throttles

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        for throttle in getattr(self, "_throttles", ()):
            headers = getattr(throttle, "rate_limit_headers", None)
            for header, value in (headers() if headers else {}).items():
                response[header] = value
        # Answers hold one user's data: no shared cache may keep them.
        add_never_cache_headers(response)
        return response

    # Reading

    def get_sort_order(self) -> SortOrder:
        value = single_param(self.request, "sort_order", InvalidParameter) or "asc"
        if value == "asc":
            return "asc"
        if value == "desc":
            return "desc"
        raise InvalidParameter("sort_order must be 'asc' or 'desc'")

    def get_base_queryset(self) -> SkipQuerySet:
        """Skips this request lists, before filtering and ordering."""
        return Skip.objects.visible_to(self.request.user).not_archived()

    def get_queryset(self) -> SkipQuerySet:
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI generator
            return Skip.objects.none()
        return self.get_base_queryset().in_order(self.get_sort_order())

    def filter_queryset(self, queryset: Any) -> Any:
        # The API's own filters, none of them in the query string: nothing to narrow
        # (django-filter would build and validate an empty form to say so).
        if (
            self.filter_backends == (SkipFilterBackend,)
            and getattr(self, "filterset_class", None) is SkipFilter
            and not any(name in self.request.query_params for name in SkipFilter.base_filters)
        ):
            return queryset
        return super().filter_queryset(queryset)

    def check_path_object(self) -> None:
        """Raise ``NotFound`` unless what the path names (a ticket, an agent) is there.

        A list looks it up only when its page is empty: a skip on the page is
        proof enough. Here there is nothing to look up.
        """

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer_class: Any = self.get_serializer_class()
        queryset = serializer_class.page_queryset(self.filter_queryset(self.get_queryset()))
        page = self.paginate_queryset(queryset)
        if page is None:  # pagination_class = None: the whole list, as REST framework does
            rows = list(queryset)
            if not rows:
                self.check_path_object()
            return Response(
                {"skips": serializer_class.render_page(rows, self.get_serializer_context())}
            )
        if not page:
            self.check_path_object()
        data = serializer_class.render_page(page, self.get_serializer_context())
        return self.get_paginated_response(data)

    # Recording

    def get_path_ticket(self) -> Model | None:
        """The ticket named in the path, for ``POST tickets/{id}/skips``; None here."""
        return None

    def get_skip_data(self) -> dict[str, Any]:
        """The ``skip`` object of the request body."""
        data = self.request.data
        if not isinstance(data, dict) or not isinstance(data.get(self.envelope), dict):
            raise InvalidParameter(
                f'The request body must be a JSON object with a "{self.envelope}" object.'
            )
        skip: dict[str, Any] = data[self.envelope]
        return skip

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        ticket = self.get_path_ticket()
        serializer = self.get_serializer(data=self.get_skip_data(), context_ticket=ticket)
        try:
            serializer.is_valid(raise_exception=True)
            database = router.db_for_write(Skip)
            with transaction.atomic(using=database):
                serializer.save(user=request.user)
                # Stored: the user's next requests read it back from the primary.
                transaction.on_commit(lambda: note_write(request.user), using=database)
        except ValidationError as e:
            raise RecordInvalid(e.detail) from e  # type: ignore[arg-type]
        except IntegrityError as e:
            # The ticket was deleted between the check and the insert.
            raise RecordInvalid({"ticket_id": ["no such ticket"]}) from e
        return Response({self.envelope: serializer.data}, status=status.HTTP_201_CREATED)

    def get_serializer(self, *args: Any, context_ticket: Model | None = None, **kwargs: Any) -> Any:
        kwargs["context"] = {**self.get_serializer_context(), "ticket": context_ticket}
        return self.get_serializer_class()(*args, **kwargs)


@list_schema(
    "List Ticket Skips",
    "Every skip with reports access (skips.view_skip); an agent's own otherwise. "
    "Skips of archived tickets are left out.",
    [],
)
@create_schema(
    "Record a New Skip for the Current User",
    "Records that the current user skipped the ticket `skip.ticket_id`, with an optional reason.",
    [],
)
class SkipListView(SkipsAPIView):
    """List the skips you may see, or record a skip for yourself."""


@list_schema(
    "List the Skips of a Ticket",
    "All skips of the ticket with reports access; the user's own otherwise. "
    "An archived ticket has none.",
    [TICKET_ID],
)
@create_schema(
    "Record a Skip of a Ticket for the Current User",
    "As `POST /skips`, the ticket taken from the path.",
    [TICKET_ID],
)
class TicketSkipListView(SkipsAPIView):
    """List the skips of one ticket, or record a skip of it."""

    def get_ticket(self) -> Model:
        ticket_id = parse_id(self.kwargs["ticket_id"])
        ticket: Model | None = None
        if ticket_id is not None:
            # A ticket the user may not see is answered as one that does not exist.
            user = self.request.user
            if self.request.method == "POST":
                queryset = self.get_serializer_class().ticket_queryset(user)  # type: ignore[attr-defined]
            else:
                queryset = visible_tickets(user)
            ticket = queryset.filter(pk=ticket_id).first()
        if ticket is None:
            raise NotFound()
        return ticket

    def get_base_queryset(self) -> SkipQuerySet:
        # Skips of an archived ticket are left out by not_archived().
        if (
            self.request.method == "POST"
            or type(self).get_ticket is not _GET_TICKET
            or not _lists_every_row(get_ticket_model())
        ):
            return super().get_base_queryset().for_ticket(self.get_ticket())
        # A list: the ticket is looked up only if the page is empty
        # (check_path_object). A skip listed is one of a ticket the user may see.
        ticket_id = parse_id(self.kwargs["ticket_id"])
        if ticket_id is None:
            raise NotFound()
        self.unchecked_ticket_id: int | None = ticket_id
        return super().get_base_queryset().for_ticket(ticket_id)

    def check_path_object(self) -> None:
        ticket_id = getattr(self, "unchecked_ticket_id", None)
        if (
            ticket_id is not None
            and not visible_tickets(self.request.user).filter(pk=ticket_id).exists()
        ):
            raise NotFound()

    def get_path_ticket(self) -> Model | None:
        return self.get_ticket()


@list_schema(
    "List the Skips of an Agent",
    "An agent's skips: one's own (`me`), or anyone's with reports access.",
    [USER_ID],
)
class UserSkipListView(SkipsAPIView):
    """List the skips of one agent; ``me`` names the current user."""

    http_method_names = ["get", "head", "options"]

    #: Another agent's route is closed, whatever the method, without reports access.
    permission_classes: Any = (*SkipsAPIView.permission_classes, IsPathUser | HasReportsAccess)

    def get_user(self) -> Any:
        user_id = self.kwargs["user_id"]
        if user_id == "me" or user_id == str(self.request.user.pk):
            return self.request.user
        pk = parse_id(user_id)
        user = None
        if pk is not None:
            user = get_user_model()._default_manager.filter(pk=pk).first()
        if user is None:
            raise NotFound()
        return user

    def get_base_queryset(self) -> SkipQuerySet:
        user_id = self.kwargs["user_id"]
        if (
            type(self).get_user is not _GET_USER
            or user_id == "me"
            or user_id == str(self.request.user.pk)
            or not _lists_every_row(get_user_model())
        ):
            return super().get_base_queryset().for_user(self.get_user())
        # Another agent: looked up only if the page is empty (check_path_object).
        pk = parse_id(user_id)
        if pk is None:
            raise NotFound()
        self.unchecked_user_id: int | None = pk
        return super().get_base_queryset().for_user(pk)

    def check_path_object(self) -> None:
        pk = getattr(self, "unchecked_user_id", None)
        if pk is not None and not get_user_model()._default_manager.filter(pk=pk).exists():
            raise NotFound()


_GET_TICKET = TicketSkipListView.get_ticket
_GET_USER = UserSkipListView.get_user


def _lists_every_row(model: type[Model]) -> bool:
    """Whether the model's default manager hides no row: then a skip listed proves
    its ticket or agent there, as the lookup through that manager would."""
    return not model._default_manager.get_queryset().query.has_filters()
