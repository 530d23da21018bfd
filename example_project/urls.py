"""URLs of the example project: the admin, the skips API, its OpenAPI description, login."""

from typing import Any

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from skips.conf import conf


class SkipsAuthentication:
    """The skips API's own authentication (``SKIPS_AUTHENTICATION_CLASSES``, read
    live), with its limits on failed attempts: what the API refuses, these refuse.
    Anyone may read them, signed in or not."""

    permission_classes = (AllowAny,)

    def get_authenticators(self) -> list[Any]:
        return [auth() for auth in conf.AUTHENTICATION_CLASSES]


class SchemaView(SkipsAuthentication, SpectacularAPIView):
    """The OpenAPI description."""


class DocsView(SkipsAuthentication, SpectacularSwaggerView):
    """Its documentation page (Swagger UI, from this project's static files)."""


urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/v2/", include("skips.urls")),
    path("api-auth/", include("rest_framework.urls")),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", DocsView.as_view(url_name="schema"), name="docs"),
]
