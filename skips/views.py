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

import functools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.signals import setting_changed
from django.db import IntegrityError, router, transaction
from django.db.models import Model
from django.db.models.base import ModelState
from django.db.models.query import ValuesIterable
from django.http import HttpResponse
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.http import http_date
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
from skips.rollups import flags_in_use
from skips.routers import note_write, read_primary, read_scope, wrote_recently
from skips.schema import TICKET_ID, USER_ID, SkipsAutoSchema, create_schema, list_schema
from skips.serializers import CompiledQuery, SkipSerializer
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
        never_cache(response)
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
        return listed_skips(self.request.user)

    def get_queryset(self) -> SkipQuerySet:
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI generator
            return Skip.objects.none()
        return self.get_base_queryset().in_order(self.get_sort_order())

    def filter_queryset(self, queryset: Any) -> Any:
        if self.filters_nothing():
            return queryset
        return super().filter_queryset(queryset)

    def filters_nothing(self) -> bool:
        """The API's own filters, none of them in the query string: nothing to narrow
        (django-filter would build and validate an empty form to say so)."""
        return (
            self.filter_backends == (SkipFilterBackend,)
            and getattr(self, "filterset_class", None) is SkipFilter
            and not any(name in self.request.query_params for name in SkipFilter.base_filters)
        )

    def get_list_path(self) -> tuple[str, list[Any]] | None:
        """What the stock ``get_base_queryset`` lists, as (kind, path ids): see
        :data:`LIST_KINDS`; None when a subclass lists otherwise."""
        if _resolves(self, "get_base_queryset", SkipsAPIView):
            return "all", []
        return None

    def compiled_list(self, serializer_class: Any) -> CompiledList | None:
        """The list this request pages, read through SQL compiled once per shape of
        list, or None when the ORM builds it (an override, a filter, a host rule).

        Only where the stock methods build the list: ``get_queryset``,
        ``get_base_queryset``, ``filter_queryset``, the serializer's ``page_queryset``
        and :class:`SkipsPagination`. The queryset that the ORM would build is built
        anyway if the paginator asks for more than a count and a slice.
        """
        view = type(self)
        if (
            view.get_queryset is not SkipsAPIView.get_queryset
            or view.filter_queryset is not SkipsAPIView.filter_queryset
            or getattr(self, "swagger_fake_view", False)
            or type(self.paginator) is not SkipsPagination
            or getattr(serializer_class.page_queryset, "__func__", None) is not _PAGE_QUERYSET
            or not serializer_class.renders_from_rows()
        ):
            return None
        path = self.get_list_path()  # raises NotFound as get_base_queryset does
        if path is None:
            return None
        order = self.get_sort_order()
        user = self.request.user
        if (
            not self.filters_nothing()
            or not getattr(user, "is_active", False)
            or conf.TICKET_ACCESS is not None
            or callable(conf.ARCHIVED_TICKETS)
        ):
            return None
        kind, ids = path
        can_read_all = bool(user.has_perm("skips.view_skip"))
        can_add = can_read_all or bool(user.has_perm("skips.add_skip"))
        uses_pk = kind == "own" or not can_read_all
        using = router.db_for_read(Skip)
        # What the database says, not the settings: whether not_archived() reads
        # the listed flags there (they are kept only while the triggers are).
        listed = flags_in_use(using)
        shape = ListShape(kind, order, can_read_all, can_add, uses_pk, listed)
        values = [user.pk, *ids] if uses_pk else ids

        def queryset() -> Any:
            return serializer_class.page_queryset(self.filter_queryset(self.get_queryset()))

        return CompiledList(shape, values, using, queryset)

    def check_path_object(self) -> None:
        """Raise ``NotFound`` unless what the path names (a ticket, an agent) is there.

        A list looks it up only when its page is empty: a skip on the page is
        proof enough. Here there is nothing to look up.
        """

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer_class: Any = self.get_serializer_class()
        queryset: Any = self.compiled_list(serializer_class)
        if queryset is None:
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
        return super().get_base_queryset().for_ticket(self.unchecked_ticket())

    def unchecked_ticket(self) -> int:
        """The path's ticket id, to be looked up only if the page is empty."""
        ticket_id = parse_id(self.kwargs["ticket_id"])
        if ticket_id is None:
            raise NotFound()
        self.unchecked_ticket_id: int | None = ticket_id
        return ticket_id

    def get_list_path(self) -> tuple[str, list[Any]] | None:
        if (
            _resolves(self, "get_base_queryset", TicketSkipListView)
            and _resolves(self, "get_ticket", TicketSkipListView)
            and _resolves(super(), "get_base_queryset", SkipsAPIView)
            and _lists_every_row(get_ticket_model())
        ):
            return "ticket", [self.unchecked_ticket()]
        return None

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
        return super().get_base_queryset().for_user(self.unchecked_user())

    def unchecked_user(self) -> int:
        """The path's agent id, to be looked up only if the page is empty."""
        pk = parse_id(self.kwargs["user_id"])
        if pk is None:
            raise NotFound()
        self.unchecked_user_id: int | None = pk
        return pk

    def get_list_path(self) -> tuple[str, list[Any]] | None:
        if not (
            _resolves(self, "get_base_queryset", UserSkipListView)
            and _resolves(self, "get_user", UserSkipListView)
            and _resolves(super(), "get_base_queryset", SkipsAPIView)
        ):
            return None
        user_id = self.kwargs["user_id"]
        if user_id == "me" or user_id == str(self.request.user.pk):
            return "own", []
        if not _lists_every_row(get_user_model()):
            return None
        return "agent", [self.unchecked_user()]

    def check_path_object(self) -> None:
        pk = getattr(self, "unchecked_user_id", None)
        if pk is not None and not get_user_model()._default_manager.filter(pk=pk).exists():
            raise NotFound()


_GET_TICKET = TicketSkipListView.get_ticket
_GET_USER = UserSkipListView.get_user
_PAGE_QUERYSET = SkipSerializer.page_queryset.__func__  # type: ignore[attr-defined]


def _resolves(obj: Any, name: str, owner: type) -> bool:
    """Whether ``obj.name`` is the method ``owner`` defines (no subclass overrides it)."""
    method = getattr(obj, name, None)
    return getattr(method, "__func__", None) is owner.__dict__.get(name)


def never_cache(response: Any) -> None:
    """``add_never_cache_headers(response)``; on an answer with neither header yet
    (every one of these views'), the ``Cache-Control`` it writes, worked out once."""
    if response.has_header("Cache-Control") or response.has_header("Expires"):
        add_never_cache_headers(response)
        return
    response.headers["Expires"] = http_date(time.time())
    response.headers["Cache-Control"] = _never_cache_control()


@functools.cache
def _never_cache_control() -> str:
    response = HttpResponse()
    add_never_cache_headers(response)
    value: str = response.headers["Cache-Control"]
    return value


def listed_skips(user: Any) -> SkipQuerySet:
    """The skips ``user`` may read, less those of archived tickets: every list's base."""
    return Skip.objects.visible_to(user).not_archived()


#: How each list narrows the skips ``user`` may read, by the path's ids.
LIST_KINDS: dict[str, Callable[[Any, list[Any]], SkipQuerySet]] = {
    "all": lambda user, ids: listed_skips(user),
    "ticket": lambda user, ids: listed_skips(user).for_ticket(ids[0]),
    "own": lambda user, ids: listed_skips(user).for_user(user),
    "agent": lambda user, ids: listed_skips(user).for_user(ids[0]),
}


@dataclass(frozen=True)
class ListShape:
    """What decides a list's SQL but its values: the list, the order, what the
    user may read (and whether their id is one of the values)."""

    kind: str
    order: SortOrder
    can_read_all: bool
    can_add: bool
    uses_pk: bool
    #: Whether the database's listed flags are in use (skips.rollups.flags_in_use).
    listed: bool = False

    def build(self, values: list[Any]) -> Any:
        """The rows of the list of ``values`` (the user's id first if it takes it),
        as ``SkipSerializer.page_queryset`` reads them."""
        user = _StandInUser.make(self, values[0] if self.uses_pk else None)
        ids = values[1:] if self.uses_pk else values
        rows = SkipSerializer.page_queryset(LIST_KINDS[self.kind](user, ids).in_order(self.order))
        rows._iterable_class = ValuesIterable  # what PageRowsIterable gives, as CompiledQuery reads
        return rows


class _StandInUser:
    """What ``visible_to`` reads of a user, and nothing more: an active user of the
    user model with the id given, holding what the shape says. Whether it stands in
    for the request's user is checked once per shape (:meth:`CompiledList.compiled`)."""

    @staticmethod
    def make(shape: ListShape, pk: Any) -> Any:
        model = get_user_model()
        user = model.__new__(model)
        user._state = ModelState()
        perms = {"skips.view_skip": shape.can_read_all, "skips.add_skip": shape.can_add}
        vars(user).update(
            {
                model._meta.pk.attname: pk,
                "is_active": True,
                "has_perm": lambda perm, obj=None: obj is None and perms.get(perm, False),
            }
        )
        return user


@dataclass(frozen=True)
class _Compiled:
    """A shape's compiled queries, or None when the ORM builds its lists."""

    #: Whether its count is Django's COUNT (not SkipQuerySet's maintained counts).
    plain_count: bool
    count: CompiledQuery
    #: Its rows, by slice.
    pages: dict[tuple[int | None, int | None], CompiledQuery]


_NO_SCOPE = object()
#: By shape of list, at most MAX_LISTS of them; past it the ORM builds the list.
_SHAPES: dict[ListShape, _Compiled | None] = {}
#: Shapes, and slices of a shape, kept at most.
MAX_LISTS = 256


class CompiledList:
    """A list as the paginators read it: ``count()`` and a slice through SQL compiled
    once per shape (:class:`skips.serializers.CompiledQuery`); anything else from the
    queryset the ORM builds, built when first asked for."""

    def __init__(
        self, shape: ListShape, values: list[Any], using: str, queryset: Callable[[], Any]
    ) -> None:
        self.shape = shape
        self.values = values
        self.using = using
        self._build = queryset
        self._queryset: Any = None

    def queryset(self) -> Any:
        """The list as the ORM builds it."""
        if self._queryset is None:
            self._queryset = self._build()
        return self._queryset

    def compiled(self) -> _Compiled | None:
        """The shape's compiled queries; checked when first met: the shape built
        with the request's own values must be the very query the ORM builds."""
        shape = self.shape
        if shape in _SHAPES:
            return _SHAPES[shape]
        real = self.queryset()
        try:
            built = shape.build(self.values)
            same = _statement(built, self.using) == _statement(real, self.using)
        except Exception:
            same = False
        compiled = None
        if same:
            # The maintained counts answer some lists (SkipQuerySet.count, when it
            # has a count scope): those go through the queryset; the others are
            # Django's COUNT.
            plain = getattr(real, "_count_scope", _NO_SCOPE) is None
            compiled = _Compiled(plain, CompiledQuery(shape.build), {})
        if len(_SHAPES) < MAX_LISTS:
            _SHAPES[shape] = compiled
        return compiled

    def count(self) -> int:
        compiled = self.compiled()
        if compiled is None or not compiled.plain_count:
            return int(self.queryset().count())
        return compiled.count.count(self.values, self.using)

    def __getitem__(self, item: Any) -> Any:
        compiled = self.compiled()
        if compiled is None or not isinstance(item, slice) or item.step is not None:
            return self.queryset()[item]
        key = (item.start, item.stop)
        page = compiled.pages.get(key)
        if page is None:
            if len(compiled.pages) >= MAX_LISTS:
                return self.queryset()[item]
            build = self.shape.build
            page = compiled.pages[key] = CompiledQuery(lambda values: build(values)[item])
        return page.rows(self.values, self.using)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.queryset())

    def __len__(self) -> int:
        return len(self.queryset())

    def __getattr__(self, name: str) -> Any:
        # filter() of a cursor, reverse(), anything else a paginator reads: the queryset's.
        return getattr(self.queryset(), name)


def _statement(queryset: Any, using: str) -> tuple[str, tuple[Any, ...]]:
    sql, params = queryset.query.get_compiler(using).as_sql()
    return sql, tuple(params)


def _forget_lists(**kwargs: Any) -> None:
    _SHAPES.clear()


setting_changed.connect(_forget_lists)


def _lists_every_row(model: type[Model]) -> bool:
    """Whether the model's default manager hides no row: then a skip listed proves
    its ticket or agent there, as the lookup through that manager would."""
    return not model._default_manager.get_queryset().query.has_filters()
