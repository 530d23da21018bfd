"""URLs of the skips API. Include them where the API lives, for example::

    path("api/v2/", include("skips.urls")),

Every route answers with and without ``.json``; none redirects.
"""

from django.urls import re_path

from skips import views

app_name = "skips"

_SUFFIX = r"(?:\.(?P<format>json))?$"

urlpatterns = [
    re_path(r"^skips" + _SUFFIX, views.SkipListView.as_view(), name="skip-list"),
    re_path(
        r"^tickets/(?P<ticket_id>[^/.]+)/skips" + _SUFFIX,
        views.TicketSkipListView.as_view(),
        name="ticket-skip-list",
    ),
    re_path(
        r"^users/(?P<user_id>[^/.]+)/skips" + _SUFFIX,
        views.UserSkipListView.as_view(),
        name="user-skip-list",
    ),
]
