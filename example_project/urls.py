"""URLs of the example project: the admin, the skips API and the API login."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/v2/", include("skips.urls")),
    path("api-auth/", include("rest_framework.urls")),
]
