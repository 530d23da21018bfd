"""The OpenAPI description of the skips API (drf-spectacular).

``list_schema`` and ``create_schema`` decorate a view class (not its methods),
so that they extend the view's own :class:`SkipsAutoSchema`.

The views carry their own schema class and annotations, so a host that serves
drf-spectacular's schema (``SpectacularAPIView``) gets the skips API described
without changing its ``REST_FRAMEWORK`` settings.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from skips.exceptions import FORBIDDEN_DESCRIPTION
from skips.serializers import SkipSerializer


class SkipsAutoSchema(AutoSchema):
    """Operation ids that tell the ``.json`` form of a route from the plain one."""

    def get_operation_id(self) -> str:
        operation_id = super().get_operation_id()
        return operation_id.replace(".json", "") + ("_json" if ".json" in self.path else "")

    def get_tags(self) -> list[str]:
        return ["Ticket Skips"]


# The schemes' names start with "skips" so that none is taken for one of the host's
# (drf-spectacular names REST framework's BasicAuthentication "basicAuth", its
# SessionAuthentication "cookieAuth"): a host whose schema describes its own views
# too gets one scheme per authentication class, and no collision warning.


class TokenBasicScheme(OpenApiAuthenticationExtension):
    target_class = "skips.authentication.TokenBasicAuthentication"
    name = "skipsBasicAuth"
    match_subclasses = True

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "basic",
            "description": "`{email}/token` as the user name and an API token as the password.",
        }


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "skips.authentication.BearerTokenAuthentication"
    name = "skipsBearerAuth"
    match_subclasses = True

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "description": "An API token."}


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "skips.authentication.SessionAuthentication"
    name = "skipsSessionAuth"
    match_subclasses = True

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        from django.conf import settings

        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}


# Documentation-only serializers of the envelopes and errors.


class SkipRequestEnvelope(serializers.Serializer[Any]):
    skip = SkipSerializer()


class SkipResponseEnvelope(serializers.Serializer[Any]):
    skip = SkipSerializer(read_only=True)


class ErrorSerializer(serializers.Serializer[Any]):
    error = serializers.CharField(help_text="A short name, e.g. RecordNotFound.")
    description = serializers.CharField()


class AuthErrorSerializer(serializers.Serializer[Any]):
    error = serializers.CharField(help_text="Couldn't authenticate you")


class InvalidValueSerializer(serializers.Serializer[Any]):
    description = serializers.CharField()
    error = serializers.CharField(help_text="InvalidValue")


class RecordInvalidSerializer(ErrorSerializer):
    details = serializers.DictField(
        child=InvalidValueSerializer(many=True), help_text="Errors by field."
    )


def _error(description: str, serializer: Any = ErrorSerializer) -> OpenApiResponse:
    return OpenApiResponse(response=serializer, description=description)


COMMON_ERRORS = {
    401: _error("Not authenticated (with `WWW-Authenticate: Basic`).", AuthErrorSerializer),
    403: _error(f"Forbidden: {FORBIDDEN_DESCRIPTION}"),
    405: _error("Method not allowed."),
    406: _error("Not acceptable."),
    429: _error("Too many requests (with `Retry-After`)."),
    503: _error("The database is briefly unavailable (with `Retry-After`)."),
}

SORT_ORDER = OpenApiParameter(
    "sort_order",
    str,
    enum=["asc", "desc"],
    default="asc",
    description="Order by created_at, then id.",
)
TICKET_ID = OpenApiParameter("ticket_id", int, OpenApiParameter.PATH, description="A ticket id.")
USER_ID = OpenApiParameter(
    "user_id",
    str,
    OpenApiParameter.PATH,
    pattern=r"^([0-9]+|me)$",
    description="A user id, or `me` for the current user.",
)


def list_schema(summary: str, description: str, path_parameters: list[OpenApiParameter]) -> Any:
    return extend_schema(
        methods=["GET"],
        summary=summary,
        description=description,
        parameters=[*path_parameters, SORT_ORDER],
        responses={
            200: SkipSerializer(many=True),
            400: _error("A query parameter is not valid."),
            404: _error("No such ticket or user."),
            **COMMON_ERRORS,
        },
    )


def create_schema(summary: str, description: str, path_parameters: list[OpenApiParameter]) -> Any:
    return extend_schema(
        methods=["POST"],
        summary=summary,
        description=description,
        parameters=path_parameters,
        request=SkipRequestEnvelope,
        responses={
            201: SkipResponseEnvelope,
            400: _error("The body is not JSON, or has no `skip` object."),
            404: _error("No such ticket (the ticket of the path)."),
            413: _error("The body is too large."),
            415: _error("The body is not JSON."),
            422: _error("The skip is not valid.", RecordInvalidSerializer),
            **COMMON_ERRORS,
        },
    )
