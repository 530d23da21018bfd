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
from django.db import Error as DatabaseError
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
    """400 ``InvalidParameter``: a query parameter or the body is malformed."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "A parameter is not valid."
    error = "InvalidParameter"


class InvalidPaginationParameter(InvalidParameter):
    """400 ``InvalidPaginationParameter``: a paging value is malformed, out of range or repeated."""

    default_detail = "A pagination parameter is not valid."
    error = "InvalidPaginationParameter"


class RequestTooLarge(SkipsAPIException):
    """413 ``RecordInvalid`` (the reference's name): the body is over ``SKIPS_MAX_BODY_SIZE``."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    error = "RecordInvalid"


class ServiceUnavailable(SkipsAPIException):
    """The database could not be reached; the request changed nothing."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service is briefly unavailable. Please try again."
    error = "ServiceUnavailable"
    wait = 1


class InternalError(SkipsAPIException):
    """A fault of the server (a database error that is not an outage); logged."""

    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_detail = "Something went wrong on our side. It has been logged."
    error = "InternalError"


class TooManyFailedAttempts(exceptions.Throttled):
    """429: too many failed authentications from this address or for this account."""

    default_detail = "Too many failed attempts to authenticate."
    extra_detail_singular = "Try again in {wait} second."
    extra_detail_plural = "Try again in {wait} seconds."


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


#: PostgreSQL SQLSTATEs of a server that is going away, starting or full, and of
#: a transaction rolled back by a conflict (class 08, connection exceptions, is
#: matched as a class).
POSTGRESQL_RETRYABLE = {
    "57P01",  # admin_shutdown (the backend was terminated)
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now (starting up)
    "53300",  # too_many_connections
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
}
#: MySQL and MariaDB error codes of a connection lost or refused, a server
#: shutting down or full, and a transaction rolled back by a lock conflict.
MYSQL_RETRYABLE = {
    1040,  # ER_CON_COUNT_ERROR: too many connections
    1053,  # ER_SERVER_SHUTDOWN
    1205,  # ER_LOCK_WAIT_TIMEOUT
    1213,  # ER_LOCK_DEADLOCK
    1927,  # ER_CONNECTION_KILLED (MariaDB)
    2002,  # CR_CONNECTION_ERROR (socket)
    2003,  # CR_CONN_HOST_ERROR
    2005,  # CR_UNKNOWN_HOST
    2006,  # CR_SERVER_GONE_ERROR
    2013,  # CR_SERVER_LOST
    2026,  # CR_SSL_CONNECTION_ERROR
    2055,  # CR_SERVER_LOST_EXTENDED
    4031,  # ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8)
}
#: SQLite's primary result codes of a database busy with another writer.
SQLITE_RETRYABLE = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED


DRIVERS = ("psycopg", "psycopg_pool", "psycopg2", "MySQLdb", "pymysql", "sqlite3")


def driver_error(exc: BaseException) -> BaseException | None:
    """The database driver's own error behind ``exc``, or None if it is none.

    Django raises its own classes with the driver's error as ``__cause__``; a
    driver's error can also come unwrapped (mysqlclient's ``cursor.close()``
    after a lost connection, which Django calls while handling the first).
    """
    if isinstance(exc, DatabaseError):
        return exc.__cause__ or exc
    names = {cls.__name__ for cls in type(exc).__mro__}
    if type(exc).__module__.partition(".")[0] in DRIVERS and names & {
        "DatabaseError",
        "InterfaceError",
    }:
        return exc
    return None


def database_unavailable(exc: BaseException) -> bool:
    """Whether a database error says the database could not be reached (retry later).

    Decided by the driver's own error code (:func:`driver_error`): PostgreSQL
    (psycopg 3 and 2) SQLSTATE class 08 and :data:`POSTGRESQL_RETRYABLE`, or a
    client-side error with no SQLSTATE (libpq's lost connection); any error of
    Django's connection pool (``psycopg_pool``: no connection within the pool's
    ``timeout``, too many requests waiting, the pool closed); MySQL and
    MariaDB (mysqlclient, PyMySQL) :data:`MYSQL_RETRYABLE`, or an
    ``InterfaceError`` (a closed connection); SQLite "database is locked".
    Anything else, a missing column included, is a fault of the server.
    """
    cause = driver_error(exc)
    if cause is None:
        return False
    driver = type(cause).__module__.partition(".")[0]
    if driver == "psycopg_pool":
        # PoolTimeout, TooManyRequests, PoolClosed: the request got no connection
        # (the database is down, or every connection is busy), so it did nothing.
        return True
    if driver in ("psycopg", "psycopg2"):
        code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
        if code is None:
            # libpq's own errors ("server closed the connection unexpectedly",
            # "the connection is closed") carry no SQLSTATE.
            return type(cause).__name__ == "OperationalError" or (
                driver == "psycopg2" and type(cause).__name__ == "InterfaceError"
            )
        return str(code).startswith("08") or code in POSTGRESQL_RETRYABLE
    if driver in ("MySQLdb", "pymysql"):
        if type(cause).__name__ == "InterfaceError":
            return True
        code = cause.args[0] if cause.args else None
        return code in MYSQL_RETRYABLE
    if driver == "sqlite3":
        code = getattr(cause, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in SQLITE_RETRYABLE
        return "is locked" in str(cause)  # Python 3.10: no sqlite_errorcode
    return False


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler answering in the reference service's error family."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, SuspiciousOperation):
        # Too many fields, a body too large for Django's own limits, and the like.
        exc = InvalidParameter(str(exc) or "The request is not valid.")
    elif driver_error(exc) is not None:
        if database_unavailable(exc):
            logger.warning("Database unavailable: %s", exc)
            exc = ServiceUnavailable()
        else:
            # A coding or schema error ("Unknown column" is an OperationalError on
            # MariaDB): a 500 with its traceback in the log, never "try again".
            logger.exception("Database error", exc_info=exc)
            exc = InternalError()
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
