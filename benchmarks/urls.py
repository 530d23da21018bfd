"""Three copies of the skips API, for the benchmarks to compare.

- ``/api/v2/``: ``skips`` as shipped;
- ``/drf/api/v2/``: the REST framework implementation of :mod:`benchmarks.drf_baseline`;
- ``/floor/api/v2/``: the hand-written views of :mod:`benchmarks.floor`.

Each has the same routes (``skips``, ``tickets/{id}/skips``, ``users/{id}/skips``,
with or without ``.json``) and the same authentication.
"""

from django.urls import include, path

from benchmarks import drf_baseline, floor

urlpatterns = [
    path("api/v2/", include("skips.urls")),
    path("drf/api/v2/", include(drf_baseline.urlpatterns)),
    path("floor/api/v2/", include(floor.urlpatterns)),
]
