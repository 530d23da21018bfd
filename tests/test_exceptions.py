"""Database errors through HTTP: an outage is a 503, a fault of the server a logged 500.

The errors are real ones of the database the suite runs on, caused in the middle
of a request by an execute wrapper:

- a query on a column that does not exist (a ``ProgrammingError`` on
  PostgreSQL, but an ``OperationalError`` on MariaDB and SQLite): a 500
  ``InternalError`` in the error family, logged with its traceback, never a
  "try again";
- the connection ended by the server (PostgreSQL ``pg_terminate_backend``,
  MariaDB ``KILL``), or closed under the request, and on SQLite the database
  locked by another writer: a 503 ``ServiceUnavailable`` with ``Retry-After``.

Then each driver error code the handler knows, raised as Django raises it (and
unwrapped), for the codes a test cannot cause (too many connections, a server
shutting down).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django import db
from django.db import connection, connections

from skips.models import Skip
from tests.conftest import client_for
from tests.factories import AgentFactory, CaseFactory

pytestmark = pytest.mark.django_db(transaction=True)

VENDOR = connections["default"].vendor
SKIPS = "/api/v2/skips"

Action = Callable[[Any, str, Any, bool, dict[str, Any]], Any]


class Fault:
    """An execute wrapper that acts on the first query of ``matches`` (once)."""

    def __init__(self, action: Action, matches: Callable[[str], bool]) -> None:
        self.action = action
        self.matches = matches
        self.fired = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if self.fired or not self.matches(sql):
            return execute(sql, params, many, context)
        self.fired += 1
        return self.action(execute, sql, params, many, context)


def reads_skips(sql: str) -> bool:
    return sql.lstrip().upper().startswith("SELECT") and "skips_skip" in sql


def inserts_a_skip(sql: str) -> bool:
    return sql.lstrip().upper().startswith("INSERT") and "skips_skip" in sql


@pytest.fixture
def agent() -> Any:
    return AgentFactory()


@pytest.fixture
def ticket() -> Any:
    return CaseFactory()


@pytest.fixture(autouse=True)
def fresh_connection() -> Iterator[None]:
    """A connection a test broke is not the next query's."""
    yield
    with contextlib.suppress(Exception):
        connection.close()


def request(method: str, agent: Any, ticket: Any, fault: Fault) -> Any:
    client = client_for(agent)
    with connection.execute_wrapper(fault):
        if method == "GET":
            response = client.get(SKIPS)
        else:
            response = client.post_json(SKIPS, {"skip": {"ticket_id": ticket.pk, "reason": "x"}})
    with contextlib.suppress(Exception):
        connection.close()  # what Django does after a request with a broken connection
    assert fault.fired == 1, "the fault was reached"
    return response


def assert_error(response: Any, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "description"}
    assert body["error"] == error
    assert isinstance(body["description"], str)
    assert body["description"]
    return body


# A fault of the server: 500, logged with its traceback


def missing_column(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    # Unquoted: SQLite reads a quoted name that is no column as a string.
    if sql.lstrip().upper().startswith("INSERT"):
        return execute("INSERT INTO skips_skip (no_such_column) VALUES (1)", None, False, context)
    return execute("SELECT no_such_column FROM skips_skip", None, False, context)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_missing_column_is_a_logged_500(
    method: str, agent: Any, ticket: Any, caplog: pytest.LogCaptureFixture
) -> None:
    existing = Skip.objects.create(user=agent, ticket=ticket, reason="before")
    fault = Fault(missing_column, reads_skips if method == "GET" else inserts_a_skip)
    with caplog.at_level(logging.WARNING, logger="skips"):
        response = request(method, agent, ticket, fault)
    body = assert_error(response, 500, "InternalError")
    assert "no_such_column" not in body["description"]  # nothing of the server's inside
    assert "Retry-After" not in response
    (record,) = [r for r in caplog.records if r.name == "skips"]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None, "the traceback is logged"
    assert "no_such_column" in str(record.exc_info[1]).lower()
    assert list(Skip.objects.values_list("pk", flat=True)) == [existing.pk]


# The database out of reach: 503, try again


def ended_by_the_server(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    wrapper = context["connection"]
    if VENDOR == "postgresql":
        import psycopg

        params_ = {**wrapper.get_connection_params(), "autocommit": True}
        params_.pop("cursor_factory", None)
        params_.pop("context", None)
        with psycopg.connect(**params_) as admin:
            pid = wrapper.connection.info.backend_pid
            admin.execute("SELECT pg_terminate_backend(%s, 10000)", [pid])
    elif VENDOR == "mysql":
        import MySQLdb

        admin = MySQLdb.connect(**wrapper.get_connection_params())
        try:
            admin.cursor().execute(f"KILL {int(wrapper.connection.thread_id())}")
        finally:
            admin.close()
    else:  # sqlite: no server; another writer holds the database
        return locked(execute, sql, params, many, context)
    return execute(sql, params, many, context)


def closed_under_the_request(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    if VENDOR == "sqlite":  # closing SQLite is the program's doing: see locked()
        return locked(execute, sql, params, many, context)
    context["connection"].connection.close()
    return execute(sql, params, many, context)


def locked(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    name = context["connection"].settings_dict["NAME"]
    other = sqlite3.connect(name, uri=str(name).startswith("file:"), isolation_level=None)
    raw = context["connection"].connection
    raw.execute("PRAGMA busy_timeout = 0")  # a file database would wait 5 s first
    try:
        other.execute("BEGIN EXCLUSIVE")
        return execute(sql, params, many, context)
    finally:
        other.execute("ROLLBACK")
        other.close()
        raw.execute("PRAGMA busy_timeout = 5000")


OUTAGES = {"ended by the server": ended_by_the_server, "closed": closed_under_the_request}


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("outage", list(OUTAGES))
def test_a_database_out_of_reach_is_a_503(
    outage: str, method: str, agent: Any, ticket: Any, caplog: pytest.LogCaptureFixture
) -> None:
    existing = Skip.objects.create(user=agent, ticket=ticket, reason="before")
    fault = Fault(OUTAGES[outage], reads_skips if method == "GET" else inserts_a_skip)
    with caplog.at_level(logging.WARNING, logger="skips"):
        response = request(method, agent, ticket, fault)
    assert_error(response, 503, "ServiceUnavailable")
    assert int(response["Retry-After"]) >= 1
    records = [r for r in caplog.records if r.name == "skips"]
    assert [r.levelno for r in records] == [logging.WARNING]
    assert records[0].exc_info is None
    assert list(Skip.objects.values_list("pk", flat=True)) == [existing.pk]
    # And the next request is served.
    assert client_for(agent).get(SKIPS).status_code == 200


# Every driver code the handler knows, raised as Django raises it


def driver(module: str) -> Any:
    """A database driver's module; the test is skipped without it (CI installs both)."""
    return pytest.importorskip(module, reason=f"the {module} driver is not installed")


def driver_error(module: str, name: str, *args: Any, **attributes: Any) -> Exception:
    if module == "sqlite3":
        error: Exception = getattr(sqlite3, name)(*args)
    else:
        error = getattr(driver(module), name)(*args)
    for key, value in attributes.items():
        setattr(error, key, value)
    return error


def psycopg_error(sqlstate: str) -> Exception:
    errors = driver("psycopg").errors
    error: Exception = errors.lookup(sqlstate)(f"SQLSTATE {sqlstate}")
    return error


DRIVER_ERRORS: dict[str, tuple[Callable[[], Exception], int]] = {
    # PostgreSQL: connection exceptions (class 08), the server going away, full or
    # starting, and transactions rolled back by a conflict.
    "psycopg 08006 connection failure": (lambda: psycopg_error("08006"), 503),
    "psycopg 08001 cannot connect": (lambda: psycopg_error("08001"), 503),
    "psycopg 57P01 admin shutdown": (lambda: psycopg_error("57P01"), 503),
    "psycopg 57P02 crash shutdown": (lambda: psycopg_error("57P02"), 503),
    "psycopg 57P03 cannot connect now": (lambda: psycopg_error("57P03"), 503),
    "psycopg 53300 too many connections": (lambda: psycopg_error("53300"), 503),
    "psycopg 40001 serialization failure": (lambda: psycopg_error("40001"), 503),
    "psycopg 40P01 deadlock": (lambda: psycopg_error("40P01"), 503),
    "psycopg libpq connection lost": (
        lambda: driver_error("psycopg", "OperationalError", "consuming input failed"),
        503,
    ),
    "psycopg 42703 undefined column": (lambda: psycopg_error("42703"), 500),
    "psycopg 57014 statement timeout": (lambda: psycopg_error("57014"), 500),
    "psycopg 53100 disk full": (lambda: psycopg_error("53100"), 500),
    "psycopg 22001 value too long": (lambda: psycopg_error("22001"), 500),
    "psycopg interface error": (
        lambda: driver_error("psycopg", "InterfaceError", "the cursor is closed"),
        500,
    ),
    # MySQL and MariaDB
    **{
        f"MySQLdb {code} {what}": (
            lambda code=code: driver_error("MySQLdb", "OperationalError", code, "x"),
            503,
        )
        for code, what in [
            (1040, "too many connections"),
            (1053, "server shutdown"),
            (1205, "lock wait timeout"),
            (1213, "deadlock"),
            (1927, "connection killed"),
            (2002, "cannot connect (socket)"),
            (2003, "cannot connect"),
            (2006, "server gone away"),
            (2013, "lost connection"),
        ]
    },
    "MySQLdb interface error (closed)": (
        lambda: driver_error("MySQLdb", "InterfaceError", 0, ""),
        503,
    ),
    "MySQLdb 1054 unknown column": (
        lambda: driver_error("MySQLdb", "OperationalError", 1054, "Unknown column 'x'"),
        500,
    ),
    "MySQLdb 1146 no such table": (
        lambda: driver_error("MySQLdb", "ProgrammingError", 1146, "Table doesn't exist"),
        500,
    ),
    "MySQLdb 1366 incorrect string value": (
        lambda: driver_error("MySQLdb", "OperationalError", 1366, "Incorrect string value"),
        500,
    ),
    "MySQLdb 1406 data too long": (
        lambda: driver_error("MySQLdb", "DataError", 1406, "Data too long"),
        500,
    ),
    # SQLite
    "sqlite3 database is locked": (
        lambda: driver_error(
            "sqlite3", "OperationalError", "database is locked", sqlite_errorcode=5
        ),
        503,
    ),
    "sqlite3 table is locked": (
        lambda: driver_error(
            "sqlite3", "OperationalError", "database table is locked", sqlite_errorcode=262
        ),
        503,
    ),
    "sqlite3 no such column": (
        lambda: driver_error(
            "sqlite3", "OperationalError", "no such column: x", sqlite_errorcode=1
        ),
        500,
    ),
    "sqlite3 disk I/O error": (
        lambda: driver_error("sqlite3", "OperationalError", "disk I/O error", sqlite_errorcode=10),
        500,
    ),
    "sqlite3 closed database": (
        lambda: driver_error("sqlite3", "ProgrammingError", "Cannot operate on a closed database."),
        500,
    ),
}


def as_django(error: Exception) -> Exception:
    """The error Django raises for a driver's ``error`` (as ``DatabaseErrorWrapper``)."""
    names = {cls.__name__ for cls in type(error).__mro__}
    for django_class in (
        db.DataError,
        db.OperationalError,
        db.IntegrityError,
        db.InternalError,
        db.ProgrammingError,
        db.NotSupportedError,
        db.DatabaseError,
        db.InterfaceError,
        db.Error,
    ):
        if django_class.__name__ in names:
            wrapped = django_class(*error.args)
            wrapped.__cause__ = error
            return wrapped
    raise AssertionError(f"not a DB-API error: {error!r}")


@pytest.mark.parametrize("wrapped", [True, False], ids=["as Django raises it", "unwrapped"])
@pytest.mark.parametrize("case", list(DRIVER_ERRORS))
def test_each_driver_error_code(case: str, wrapped: bool, agent: Any, ticket: Any) -> None:
    """Unwrapped too: mysqlclient's ``cursor.close()`` after a lost connection raises
    its own error while Django handles the first (seen on MariaDB, test above)."""
    make, status = DRIVER_ERRORS[case]

    def raise_it(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        raise as_django(make()) if wrapped else make()

    response = request("GET", agent, ticket, Fault(raise_it, reads_skips))
    if status == 503:
        assert_error(response, 503, "ServiceUnavailable")
        assert int(response["Retry-After"]) >= 1
    else:
        assert_error(response, 500, "InternalError")
        assert "Retry-After" not in response
