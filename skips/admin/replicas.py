"""The skips admin with read replicas: each page reads one database, and staff read their writes.

Every view of :class:`~skips.admin.options.SkipAdmin` runs in a read scope
(:mod:`skips.routers`): its changelist, count, report, export and page of a
skip read one replica (or the primary without replicas), so that a page's
figures agree. A ``POST`` that ends in a redirect (a deletion, an erasure, an
action carried out) marks the staff user as having written: for
``SKIPS_READ_YOUR_WRITES_SECONDS`` their pages read the primary, so the
changelist they are sent back to no longer shows what they deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.urls import URLPattern

from skips.routers import note_write, request_reads

View = Callable[..., HttpResponseBase]


def scoped_view(view: View) -> View:
    """``view`` in a read scope of its user, noting a ``POST`` that redirects as a write."""

    @wraps(view)
    def in_read_scope(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        with request_reads(request.user):
            response = view(request, *args, **kwargs)
        if request.method == "POST" and response.status_code in (301, 302, 303):
            note_write(request.user)
        return response

    return in_read_scope


def scoped_urls(patterns: Iterable[URLPattern]) -> list[URLPattern]:
    """The same URL patterns, each view in a read scope (see :func:`scoped_view`)."""
    return [
        URLPattern(
            pattern.pattern, scoped_view(pattern.callback), pattern.default_args, pattern.name
        )
        for pattern in patterns
    ]
