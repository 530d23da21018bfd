"""Errors of the skips API, in the reference service's JSON family.

Every error body has ``error`` (a short name) and, but for 401, a
``description``; validation errors add ``details``. The views of this app use
:func:`exception_handler` whatever the host's ``REST_FRAMEWORK`` settings say.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

logger = logging.getLogger("skips")

FORBIDDEN_DESCRIPTION = (
    "You do not have access to this page. Please contact the account owner of this "
    "help desk for further help."
)


class SkipsAPIException(exceptions.APIException):
    """An error with a fixed ``error`` name."""

    error = "InvalidParameter"

    def __init__(self, description: str | None = None) -> None:
        super().__init__(description or self.default_detail)


class InvalidParameter(SkipsAPIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "A parameter is not valid."
    error = "InvalidParameter"


class InvalidPaginationParameter(InvalidParameter):
    default_detail = "A pagination parameter is not valid."
    error = "InvalidPaginationParameter"


class RequestTooLarge(SkipsAPIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    error = "RecordInvalid"


class ServiceUnavailable(SkipsAPIException):
    """The database could not be reached; the request changed nothing."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service is briefly unavailable. Please try again."
    error = "ServiceUnavailable"
    wait = 1


class RecordInvalid(exceptions.APIException):
    """422 with ``details``: ``{field: [{"description": ..., "error": "InvalidValue"}]}``."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "Record validation errors"

    def __init__(self, details: dict[str, list[str]]) -> None:
        super().__init__(self.default_detail)
        self.details = details


# DRF's own exceptions, by the short name the reference service gives them.
_ERROR_NAMES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.ParseError, "InvalidJSON"),
    (exceptions.ValidationError, "InvalidParameter"),
    (exceptions.NotFound, "RecordNotFound"),
    (exceptions.MethodNotAllowed, "MethodNotAllowed"),
    (exceptions.NotAcceptable, "NotAcceptable"),
    (exceptions.UnsupportedMediaType, "UnsupportedMediaType"),
    (exceptions.Throttled, "TooManyRequests"),
]


def _flatten(detail: Any) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {_flatten(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return " ".join(_flatten(item) for item in detail)
    return str(detail)


def error_body(exc: exceptions.APIException) -> dict[str, Any]:
    """The JSON body for ``exc``."""
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        if exc.status_code == status.HTTP_401_UNAUTHORIZED:
            return {"error": "Couldn't authenticate you"}
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.PermissionDenied):
        return {"error": "Forbidden", "description": FORBIDDEN_DESCRIPTION}
    if isinstance(exc, RecordInvalid):
        return {
            "error": "RecordInvalid",
            "description": str(exc.detail),
            "details": {
                field: [
                    {"description": str(message), "error": "InvalidValue"} for message in messages
                ]
                for field, messages in exc.details.items()
            },
        }
    if isinstance(exc, SkipsAPIException):
        return {"error": exc.error, "description": str(exc.detail)}
    if isinstance(exc, exceptions.NotFound):
        return {"error": "RecordNotFound", "description": "Not found"}
    name = next((name for cls, name in _ERROR_NAMES if isinstance(exc, cls)), None)
    if name is None:
        name = type(exc).__name__
    return {"error": name, "description": _flatten(exc.detail)}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler answering in the reference service's error family."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, SuspiciousOperation):
        # Too many fields, a body too large for Django's own limits, and the like.
        exc = InvalidParameter(str(exc) or "The request is not valid.")
    elif isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("Database unavailable: %s", exc)
        exc = ServiceUnavailable()
    if not isinstance(exc, exceptions.APIException):
        return None

    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    wait = getattr(exc, "wait", None)
    if wait is not None:
        headers["Retry-After"] = str(max(1, int(wait + 0.999)))
    set_rollback()
    return Response(error_body(exc), status=exc.status_code, headers=headers)
