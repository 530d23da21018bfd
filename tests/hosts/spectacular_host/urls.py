"""The host's own view beside the skips API and drf-spectacular's schema view."""

from django.urls import include, path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class WhoAmISerializer(serializers.Serializer):
    user = serializers.CharField()


class WhoAmIView(APIView):
    """A view of the host's own, behind REST framework's Basic and session authentication."""

    authentication_classes = [BasicAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=WhoAmISerializer)
    def get(self, request: Request) -> Response:
        return Response({"user": str(request.user)})


urlpatterns = [
    path("api/v2/", include("skips.urls")),
    path("api/whoami/", WhoAmIView.as_view(), name="whoami"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
]
