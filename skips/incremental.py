"""The incremental export of skips: ``GET incremental/skips/cursor.json``.

For data teams that keep a copy of the skips table elsewhere: "what changed
since T?", a page at a time, with a cursor to store and ask again with later,
deletions included. The shape is the reference service's incremental exports
of tickets and users.

- The first request gives ``start_time`` (Unix seconds); each answer gives
  ``after_cursor`` and ``after_url`` to continue from, ``end_of_stream`` once
  the walk has caught up.
- Items are every skip (archived tickets' included) and every tombstone of a
  deleted skip (:mod:`skips.tombstones`), merged in (``updated_at``, ``id``)
  order; a tombstone has the skip's ``id``, ``ticket_id``, ``user_id`` and
  ``created_at``, ``reason`` null, and its deletion time as ``updated_at`` and
  ``deleted_at``.
- Nothing changed in the last ``SKIPS_EXPORT_HORIZON_SECONDS`` (60) is
  exported yet: a transaction that commits within that time after its
  timestamp is never passed over.

The cursor is a keyset over both tables: (time, id, kind), where the kind of a
skip (0) sorts before a tombstone's (1) of the same time and id. A page reads
each table once along its (time, id) index, past the cursor and up to the
horizon, ``per_page + 1`` rows each, and merges them: two queries a page,
whatever its size and depth. The cursor only ever holds the position of an
exported item (or the start), so it never passes the horizon.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from skips.conf import conf
from skips.exceptions import InvalidPaginationParameter
from skips.models import Skip, SkipTombstone
from skips.pagination import EPOCH, int_param, single_param
from skips.routers import read_primary
from skips.schema import COMMON_ERRORS, ErrorSerializer
from skips.serializers import format_timestamp
from skips.throttling import SkipsRateThrottle
from skips.views import FromSettings, SkipsAPIView

#: The kinds of item, in the order they sort at the same time and id.
SKIP, TOMBSTONE = 0, 1
CURSOR_SALT = "skips.incremental.cursor"
MICROSECOND = datetime.timedelta(microseconds=1)


@dataclass(frozen=True, order=True)
class Position:
    """A place in the export's order: (time, id, kind); items strictly after it come next."""

    time: datetime.datetime
    id: int
    kind: int

    @classmethod
    def start(cls, time: datetime.datetime) -> Position:
        """Before every item changed at ``time`` or later (ids are at least 1)."""
        return cls(time, 0, TOMBSTONE)


def cursor_scope(request: Request) -> str:
    """What an export cursor is bound to: the route and the user."""
    match = getattr(request, "resolver_match", None)
    route = getattr(match, "url_name", "") or ""
    raw = f"incremental|{route}|{request.user.pk}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def encode_cursor(position: Position, scope: str) -> str:
    """An opaque, signed cursor for ``position`` in ``scope``."""
    micros = (position.time - EPOCH) // MICROSECOND
    return signing.dumps([micros, position.id, position.kind, scope], salt=CURSOR_SALT)


def decode_cursor(value: str, scope: str) -> Position:
    """The position in ``value``; a forged, truncated or foreign cursor is a 400."""
    try:
        micros, pk, kind, cursor_scope_ = signing.loads(value, salt=CURSOR_SALT)
        if (
            cursor_scope_ != scope
            or type(micros) is not int
            or type(pk) is not int
            or kind not in (SKIP, TOMBSTONE)
        ):
            raise ValueError("cursor of another request")
        return Position(EPOCH + micros * MICROSECOND, pk, kind)
    except (signing.BadSignature, ValueError, TypeError, OverflowError) as e:
        raise InvalidPaginationParameter("cursor is not a valid cursor for this request") from e


def after(position: Position, time_field: str, kind: int) -> Q:
    """Rows of ``kind`` strictly after ``position``, as a range of their (time, id) index."""
    op = "gte" if kind > position.kind else "gt"  # the same time and id, a later kind
    return Q(**{f"{time_field}__gte": position.time}) & (
        Q(**{f"{time_field}__gt": position.time}) | Q(**{f"id__{op}": position.id})
    )


class CanExport(BasePermission):
    """Allows active users holding ``skips.export_skip`` (superusers hold every permission)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(
            user and user.is_authenticated and user.is_active and user.has_perm("skips.export_skip")
        )


class ExportRateThrottle(SkipsRateThrottle):
    """``SKIPS_EXPORT_THROTTLE_RATE`` requests per user to the export (10 a minute)."""

    scope = "skips_export"

    def get_rate(self) -> str | None:
        return conf.EXPORT_THROTTLE_RATE


def _throttle_classes() -> list[type[SkipsRateThrottle]]:
    classes: list[type[SkipsRateThrottle]] = []
    if conf.THROTTLE_RATE:  # every skips route together
        classes.append(SkipsRateThrottle)
    if conf.EXPORT_THROTTLE_RATE:  # this route alone
        classes.append(ExportRateThrottle)
    return classes


# The OpenAPI description.


class ExportItemSerializer(serializers.Serializer[Any]):
    """A skip as the export shows it: no embedded ticket; a tombstone has ``deleted_at``."""

    id = serializers.IntegerField()
    ticket_id = serializers.IntegerField()
    user_id = serializers.IntegerField()
    reason = serializers.CharField(
        allow_null=True, help_text="null for a deleted skip; an erased reason is an empty string."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField(help_text="For a deleted skip, when it was deleted.")
    deleted_at = serializers.DateTimeField(
        allow_null=True, help_text="When the skip was deleted; null for a skip that exists."
    )


class ExportPageSerializer(serializers.Serializer[Any]):
    skips = ExportItemSerializer(many=True)
    after_cursor = serializers.CharField(help_text="Where to continue from (`cursor`).")
    after_url = serializers.URLField(help_text="The next page's URL.")
    before_cursor = serializers.CharField(allow_null=True, help_text="Always null.")
    before_url = serializers.URLField(allow_null=True, help_text="Always null.")
    end_of_stream = serializers.BooleanField(
        help_text="True when this page reached the horizon: ask again later with `after_url`."
    )


EXPORT_PARAMETERS = [
    OpenApiParameter(
        "start_time",
        {"type": "integer", "minimum": 0},
        description="Unix epoch seconds: items changed at or after it. Required on the first "
        "request; not with `cursor`.",
    ),
    OpenApiParameter(
        "cursor",
        {"type": "string", "minLength": 1},
        description="The `after_cursor` of a previous answer; replaces `start_time`.",
    ),
    OpenApiParameter(
        "per_page",
        {"type": "integer", "minimum": 1, "maximum": 1000},
        description="Items per page (default 1000).",
    ),
    OpenApiParameter(
        "exclude_deleted",
        bool,
        default=False,
        description="Leave out deleted skips (tombstones).",
    ),
]


@extend_schema(
    methods=["GET"],
    summary="Incremental Skip Export, Cursor Based",
    description="Every skip changed at or after `start_time`, and every deletion, in "
    "(`updated_at`, `id`) order, for holders of `skips.export_skip`. Nothing changed in the "
    "last `SKIPS_EXPORT_HORIZON_SECONDS` (60) is exported yet. Follow `after_url` until "
    "`end_of_stream`, store `after_cursor`, and continue from it later.",
    parameters=EXPORT_PARAMETERS,
    responses={
        200: ExportPageSerializer,
        400: OpenApiResponse(
            response=ErrorSerializer, description="A parameter is not valid (or the cursor)."
        ),
        **COMMON_ERRORS,
    },
)
class IncrementalSkipExportView(SkipsAPIView):
    """The incremental export of skips and deletions (``skips.export_skip``)."""

    http_method_names = ["get", "head", "options"]
    permission_classes: Any = (CanExport,)
    throttle_classes: Any = FromSettings(_throttle_classes)
    pagination_class: Any = None
    filter_backends: Any = ()
    filterset_class: Any = None
    serializer_class: Any = ExportItemSerializer  # for the browsable API and the schema
    envelope = "skips"
    default_per_page = 1000
    max_per_page = 1000

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # From the primary: the horizon covers transactions committing late
        # there, not a replica's lag on top of them (skips.routers).
        read_primary()

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        # Under two limits (every route's and this route's), the headers tell
        # the one with the fewest requests left.
        headers = [
            throttle.rate_limit_headers()
            for throttle in getattr(self, "_throttles", ())
            if hasattr(throttle, "rate_limit_headers")
        ]
        if len(headers) > 1:
            tightest = min(headers, key=lambda h: int(h["X-Rate-Limit-Remaining"]))
            for header, value in tightest.items():
                response[header] = value
        return response

    # The request

    def get_position(self, request: Request) -> Position:
        start_time = single_param(request, "start_time")
        cursor = single_param(request, "cursor")
        if start_time is not None and cursor is not None:
            raise InvalidPaginationParameter("start_time and cursor can't be used together")
        if cursor is not None:
            return decode_cursor(cursor, cursor_scope(request))
        if start_time is None:
            raise InvalidPaginationParameter("start_time is required (or cursor)")
        if not (start_time.isascii() and start_time.isdigit()) or len(start_time) > 18:
            raise InvalidPaginationParameter(
                f"start_time must be a whole number of seconds, got {start_time[:40]!r}"
            )
        seconds = int(start_time)
        if seconds > timezone.now().timestamp():
            raise InvalidPaginationParameter("start_time must not be in the future")
        return Position.start(EPOCH + datetime.timedelta(seconds=seconds))

    def get_per_page(self, request: Request) -> int:
        return int_param(request, "per_page", self.default_per_page, 1, self.max_per_page)

    def get_exclude_deleted(self, request: Request) -> bool:
        value = single_param(request, "exclude_deleted")
        if value is None:
            return False
        if value not in ("true", "false"):
            raise InvalidPaginationParameter("exclude_deleted must be 'true' or 'false'")
        return value == "true"

    def get_horizon(self) -> datetime.datetime:
        """The latest change exported now: ``SKIPS_EXPORT_HORIZON_SECONDS`` ago."""
        return timezone.now() - datetime.timedelta(seconds=conf.EXPORT_HORIZON_SECONDS)

    # The page

    def read_page(
        self, position: Position, horizon: datetime.datetime, size: int, exclude_deleted: bool
    ) -> list[tuple[Position, dict[str, Any]]]:
        """Up to ``size + 1`` items after ``position`` and up to ``horizon``, in order."""
        items: list[tuple[Position, dict[str, Any]]] = []
        skips = (
            Skip._default_manager.filter(
                after(position, "updated_at", SKIP), updated_at__lte=horizon
            )
            .order_by("updated_at", "id")
            .values_list("id", "ticket_id", "user_id", "reason", "created_at", "updated_at")
        )
        for pk, ticket_id, user_id, reason, created_at, updated_at in skips[: size + 1]:
            item = {
                "id": pk,
                "ticket_id": ticket_id,
                "user_id": user_id,
                "reason": reason,
                "created_at": format_timestamp(created_at),
                "updated_at": format_timestamp(updated_at),
                "deleted_at": None,
            }
            items.append((Position(updated_at, pk, SKIP), item))
        if not exclude_deleted:
            tombstones = (
                SkipTombstone._default_manager.filter(
                    after(position, "deleted_at", TOMBSTONE), deleted_at__lte=horizon
                )
                .order_by("deleted_at", "id")
                .values_list("id", "ticket_id", "user_id", "created_at", "deleted_at")
            )
            for pk, ticket_id, user_id, created_at, deleted_at in tombstones[: size + 1]:
                deleted = format_timestamp(deleted_at)
                item = {
                    "id": pk,
                    "ticket_id": ticket_id,
                    "user_id": user_id,
                    "reason": None,
                    "created_at": format_timestamp(created_at),
                    "updated_at": deleted,
                    "deleted_at": deleted,
                }
                items.append((Position(deleted_at, pk, TOMBSTONE), item))
        items.sort(key=lambda pair: pair[0])
        return items[: size + 1]

    def after_url(self, request: Request, cursor: str) -> str:
        url = remove_query_param(request.build_absolute_uri(), "start_time")
        return replace_query_param(url, "cursor", cursor)

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        position = self.get_position(request)
        size = self.get_per_page(request)
        exclude_deleted = self.get_exclude_deleted(request)
        items = self.read_page(position, self.get_horizon(), size, exclude_deleted)
        page = items[:size]
        if page:
            position = page[-1][0]
        cursor = encode_cursor(position, cursor_scope(request))
        return Response(
            {
                self.envelope: [item for _position, item in page],
                "after_cursor": cursor,
                "after_url": self.after_url(request, cursor),
                "before_cursor": None,
                "before_url": None,
                "end_of_stream": len(items) <= size,
            }
        )
