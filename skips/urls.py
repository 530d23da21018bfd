"""URLs of the skips API. Include them where the API lives, for example::

    path("api/v2/", include("skips.urls")),

Every route answers with and without ``.json``; none redirects.
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path

from skips import incremental, views

app_name = "skips"


def _with_json(route: str, view: Any, name: str) -> list[URLPattern]:
    """``route.json`` and ``route``: one view, one name; reverse with format="json" for the first.

    The plain route comes last so that ``reverse(name)`` without ``format`` finds it.
    """
    return [
        path(f"{route}.json", view, {"format": "json"}, name=name),
        path(route, view, name=name),
    ]


urlpatterns = [
    *_with_json("skips", views.SkipListView.as_view(), "skip-list"),
    *_with_json(
        "tickets/<str:ticket_id>/skips", views.TicketSkipListView.as_view(), "ticket-skip-list"
    ),
    *_with_json("users/<str:user_id>/skips", views.UserSkipListView.as_view(), "user-skip-list"),
    *_with_json(
        "incremental/skips/cursor",
        incremental.IncrementalSkipExportView.as_view(),
        "incremental-skip-export",
    ),
]
