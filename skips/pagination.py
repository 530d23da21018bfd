"""Pagination of the skips lists, as the reference service pages them.

Two styles, chosen by the request (:class:`SkipsPagination`):

- Cursor (recommended), when ``page[size]``, ``page[after]`` or ``page[before]``
  is present: a keyset on (``created_at``, ``id``) in the requested order, with
  opaque signed cursors; the answer carries ``meta`` and ``links``.
- Offset otherwise: ``page`` (from 1) and ``per_page`` (1..100, default 100); the
  answer carries ``next_page``, ``previous_page`` and ``count``. A request
  reaching past the first 10,000 records is refused: cursors go further.
"""

from __future__ import annotations

import datetime
import hashlib
from typing import Any

from django.core import signing
from django.db.models import Q
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from skips.exceptions import InvalidPaginationParameter, InvalidParameter


def single_param(
    request: Request, name: str, error: type[InvalidParameter] = InvalidPaginationParameter
) -> str | None:
    """The one value of query parameter ``name``, or None; repeated or empty is a 400."""
    values = request.query_params.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise error(f"{name} is given more than once")
    if values[0] == "":
        raise error(f"{name} is empty")
    return values[0]


def int_param(request: Request, name: str, default: int, low: int, high: int | None) -> int:
    raw = single_param(request, name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise InvalidPaginationParameter(f"{name} must be a whole number, got {raw[:40]!r}")
    value = int(raw)
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InvalidPaginationParameter(f"{name} must be {bound}, got {value}")
    return value


class OffsetPagination(BasePagination):
    """``page`` / ``per_page`` pages with ``next_page``, ``previous_page`` and ``count``."""

    envelope = "skips"
    page_query_param = "page"
    page_size_query_param = "per_page"
    default_page_size = 100
    max_page_size = 100
    #: Deepest record an offset page may reach.
    max_offset_depth = 10_000

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        self.request = request
        self.page_number = int_param(request, self.page_query_param, 1, 1, None)
        self.page_size = int_param(
            request, self.page_size_query_param, self.default_page_size, 1, self.max_page_size
        )
        if self.page_number * self.page_size > self.max_offset_depth:
            raise InvalidPaginationParameter(
                f"Offset pagination is limited to the first {self.max_offset_depth:,} records."
                " Use cursor pagination (page[size], page[after]) to go further."
            )
        self.count = queryset.count()  # select_related joins are left out of a count
        offset = (self.page_number - 1) * self.page_size
        return list(queryset[offset : offset + self.page_size])

    def page_link(self, page: int) -> str:
        url = self.request.build_absolute_uri()
        if page == 1:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, page)

    def get_paginated_response(self, data: Any) -> Response:
        has_next = self.page_number * self.page_size < self.count
        return Response(
            {
                self.envelope: data,
                "next_page": self.page_link(self.page_number + 1) if has_next else None,
                "previous_page": self.page_link(self.page_number - 1)
                if self.page_number > 1
                else None,
                "count": self.count,
            }
        )


class CursorError(InvalidPaginationParameter):
    """400 ``InvalidPaginationParameter``: a forged, truncated or foreign cursor."""

    default_detail = "The cursor is not valid for this request."


def cursor_scope(request: Request, view: Any, sort_order: str) -> str:
    """What a cursor is bound to: the endpoint, its path ids, the user and the order."""
    match = getattr(request, "resolver_match", None)
    path_ids = dict(view.kwargs if view else {})
    path_ids.pop("format", None)  # the .json suffix changes nothing
    if path_ids.get("user_id") == "me":
        path_ids["user_id"] = request.user.pk
    kwargs = sorted((k, str(v)) for k, v in path_ids.items())
    route = getattr(match, "url_name", "") or ""
    raw = f"{route}|{kwargs}|{request.user.pk}|{sort_order}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def encode_cursor(created_at: datetime.datetime, pk: int, scope: str) -> str:
    """An opaque, signed cursor for the position (``created_at``, ``pk``) in ``scope``."""
    micros = (created_at - EPOCH) // datetime.timedelta(microseconds=1)
    return signing.dumps([micros, pk, scope], salt=CURSOR_SALT)


def decode_cursor(value: str, scope: str, name: str) -> tuple[datetime.datetime, int]:
    """The position in ``value``; any forged, truncated or foreign cursor is a 400."""
    try:
        micros, pk, cursor_scope_ = signing.loads(value, salt=CURSOR_SALT)
        if cursor_scope_ != scope or type(micros) is not int or type(pk) is not int:
            raise ValueError("cursor of another request")
        return EPOCH + datetime.timedelta(microseconds=micros), pk
    except (signing.BadSignature, ValueError, TypeError, OverflowError) as e:
        raise CursorError(f"{name} is not a valid cursor for this request") from e


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
CURSOR_SALT = "skips.pagination.cursor"


class CursorPagination(BasePagination):
    """``page[size]``, ``page[after]``, ``page[before]``: a keyset on (created_at, id).

    No OFFSET, so a page deep in a long list costs what the first page costs,
    and ties on ``created_at`` (to the microsecond) are ordered by ``id``.
    """

    envelope = "skips"
    page_size_query_param = "page[size]"
    after_query_param = "page[after]"
    before_query_param = "page[before]"
    default_page_size = 100
    max_page_size = 100

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        self.request = request
        self.page_size = int_param(
            request, self.page_size_query_param, self.default_page_size, 1, self.max_page_size
        )
        after = single_param(request, self.after_query_param)
        before = single_param(request, self.before_query_param)
        if after is not None and before is not None:
            raise InvalidPaginationParameter(
                f"{self.after_query_param} and {self.before_query_param} can't be used together"
            )
        self.descending = view is not None and view.get_sort_order() == "desc"
        self.scope = cursor_scope(request, view, "desc" if self.descending else "asc")
        self.given = after if after is not None else before
        self.backwards = before is not None
        if self.given is not None:
            position = decode_cursor(
                self.given,
                self.scope,
                self.before_query_param if self.backwards else self.after_query_param,
            )
            queryset = queryset.filter(self._beyond(position))
        if self.backwards:
            queryset = queryset.reverse()
        rows = list(queryset[: self.page_size + 1])
        self.more = len(rows) > self.page_size  # more rows in the direction of the walk
        self.page = rows[: self.page_size]
        if self.backwards:
            self.page.reverse()
        return self.page

    def _beyond(self, position: tuple[datetime.datetime, int]) -> Q:
        """Rows strictly past ``position`` in the walk's direction."""
        created_at, pk = position
        later = self.descending == self.backwards
        op = "gt" if later else "lt"
        # The redundant bound lets the database range-scan the (…, created_at, id) index.
        return Q(**{f"created_at__{op}e": created_at}) & (
            Q(**{f"created_at__{op}": created_at}) | Q(**{f"id__{op}": pk})
        )

    def cursor(self, skip: Any) -> str:
        if isinstance(skip, dict):
            return encode_cursor(skip["created_at"], skip["id"], self.scope)
        return encode_cursor(skip.created_at, skip.pk, self.scope)

    def link(self, param: str, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        url = self.request.build_absolute_uri()
        for name in (self.after_query_param, self.before_query_param, "page", "per_page"):
            url = remove_query_param(url, name)
        url = replace_query_param(url, param, cursor)
        return replace_query_param(url, self.page_size_query_param, self.page_size)

    def get_paginated_response(self, data: Any) -> Response:
        first = self.cursor(self.page[0]) if self.page else None
        last = self.cursor(self.page[-1]) if self.page else None
        if self.backwards:
            next_cursor = last or self.given
            prev_cursor = first if self.more else None
        else:
            next_cursor = last if self.more else None
            prev_cursor = (first or self.given) if self.given is not None else None
        return Response(
            {
                self.envelope: data,
                "meta": {
                    "has_more": next_cursor is not None,
                    "after_cursor": last,
                    "before_cursor": first,
                },
                "links": {
                    "next": self.link(self.after_query_param, next_cursor),
                    "prev": self.link(self.before_query_param, prev_cursor),
                },
            }
        )


class SkipsPagination(BasePagination):
    """Cursor pagination when the request names a cursor parameter, else offset pages."""

    cursor_class = CursorPagination
    offset_class = OffsetPagination

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        params = request.query_params
        cursor_params = (
            self.cursor_class.page_size_query_param,
            self.cursor_class.after_query_param,
            self.cursor_class.before_query_param,
        )
        style = self.cursor_class if any(p in params for p in cursor_params) else self.offset_class
        self.style = style()
        return self.style.paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        return self.style.get_paginated_response(data)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        def param(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
            return {
                "name": name,
                "in": "query",
                "required": False,
                "schema": schema,
                "description": description,
            }

        cursor, offset = self.cursor_class, self.offset_class
        size = {"type": "integer", "minimum": 1, "maximum": cursor.max_page_size}
        return [
            param(
                cursor.page_size_query_param,
                size,
                "Cursor pagination: records per page (default 100).",
            ),
            param(
                cursor.after_query_param,
                {"type": "string", "minLength": 1},
                "Cursor pagination: the next page (not with page[before]).",
            ),
            param(
                cursor.before_query_param,
                {"type": "string", "minLength": 1},
                "Cursor pagination: the previous page (not with page[after]).",
            ),
            param(
                offset.page_query_param,
                {"type": "integer", "minimum": 1},
                "Offset pagination: the page, from 1.",
            ),
            param(
                offset.page_size_query_param,
                size,
                "Offset pagination: records per page (default 100).",
            ),
        ]

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        from drf_spectacular.plumbing import append_meta  # only the schema generator calls this

        url = append_meta({"type": "string", "format": "uri"}, {"nullable": True})
        text = append_meta({"type": "string"}, {"nullable": True})
        cursor_page = {
            "type": "object",
            "required": [self.cursor_class.envelope, "meta", "links"],
            "properties": {
                self.cursor_class.envelope: schema,
                "meta": {
                    "type": "object",
                    "required": ["has_more", "after_cursor", "before_cursor"],
                    "properties": {
                        "has_more": {"type": "boolean"},
                        "after_cursor": text,
                        "before_cursor": text,
                    },
                },
                "links": {
                    "type": "object",
                    "required": ["next", "prev"],
                    "properties": {"next": url, "prev": url},
                },
            },
        }
        offset_page = {
            "type": "object",
            "required": [self.offset_class.envelope, "next_page", "previous_page", "count"],
            "properties": {
                self.offset_class.envelope: schema,
                "next_page": url,
                "previous_page": url,
                "count": {"type": "integer"},
            },
        }
        return {"oneOf": [cursor_page, offset_page]}
