"""Pagination of the skips lists, as the reference service pages them.

Offset style: ``page`` (from 1) and ``per_page`` (1..100, default 100); the
answer carries ``next_page``, ``previous_page`` (absolute URLs or null) and
``count``. A request reaching past the first 10,000 records is refused: cursor
pagination is the way through longer lists.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

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
        self.page = int_param(request, self.page_query_param, 1, 1, None)
        self.page_size = int_param(
            request, self.page_size_query_param, self.default_page_size, 1, self.max_page_size
        )
        if self.page * self.page_size > self.max_offset_depth:
            raise InvalidPaginationParameter(
                f"Offset pagination is limited to the first {self.max_offset_depth:,} records."
                " Use cursor pagination (page[size], page[after]) to go further."
            )
        self.count = queryset.select_related(None).prefetch_related(None).count()
        offset = (self.page - 1) * self.page_size
        return list(queryset[offset : offset + self.page_size])

    def page_link(self, page: int) -> str:
        url = self.request.build_absolute_uri()
        if page == 1:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, page)

    def get_paginated_response(self, data: Any) -> Response:
        has_next = self.page * self.page_size < self.count
        return Response(
            OrderedDict(
                [
                    (self.envelope, data),
                    ("next_page", self.page_link(self.page + 1) if has_next else None),
                    ("previous_page", self.page_link(self.page - 1) if self.page > 1 else None),
                    ("count", self.count),
                ]
            )
        )
