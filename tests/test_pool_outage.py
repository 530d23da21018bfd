"""Django's PostgreSQL connection pool through an outage: a 503, never a 500.

With ``OPTIONS["pool"]``, a request that finds no connection waits for the
pool's ``timeout`` and gets ``psycopg_pool.PoolTimeout``, which Django's
PostgreSQL backend raises as ``django.db.OperationalError`` (the pool's error as
its ``__cause__``) from the request's first query (the API token's lookup). It
is what every request sees while the database is down (seen under gunicorn with
the server restarted mid-load, ``benchmarks/outage_probe.py``), and when every
connection is busy for that long. The pool's other errors (too many requests
waiting, the pool closed) say the same: the request got no connection and
changed nothing.

Here the connection fails as the pool fails: Django's ``ensure_connection``
(which every query and transaction calls first) raises the pool's error, as
Django wraps it or bare. The pool's
errors are built from ``psycopg_pool`` itself: the test is skipped without it
(``pip install "psycopg[pool]"``, in the ``postgres`` extra).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django import db
from django.db import connection

from skips.exceptions import database_unavailable
from skips.models import Skip
from tests.conftest import client_for
from tests.factories import CaseFactory

pool_errors = pytest.importorskip("psycopg_pool", reason="psycopg_pool is not installed")

pytestmark = pytest.mark.django_db(transaction=True)

SKIPS = "/api/v2/skips"

#: The pool's errors, each as psycopg_pool words it.
POOL_ERRORS: dict[str, Callable[[], Exception]] = {
    "PoolTimeout": lambda: pool_errors.PoolTimeout("couldn't get a connection after 3.00 sec"),
    "TooManyRequests": lambda: pool_errors.TooManyRequests(
        "the pool 'pool-1' has already 8 requests waiting"
    ),
    "PoolClosed": lambda: pool_errors.PoolClosed("the pool 'pool-1' is already closed"),
}


def as_django(error: Exception) -> Exception:
    """``error`` as Django's backend raises it (``DatabaseErrorWrapper``): the
    ``django.db`` class of the same name, the driver's error as its cause."""
    wrapped = db.OperationalError(*error.args)
    wrapped.__cause__ = error
    return wrapped


@pytest.fixture
def ticket() -> Any:
    return CaseFactory()


@contextlib.contextmanager
def no_connection(error: Exception) -> Iterator[None]:
    """Every query's connection fails with ``error``, as when the pool gives up."""

    def ensure_connection() -> None:
        raise error

    connection.ensure_connection = ensure_connection  # type: ignore[method-assign]
    try:
        yield
    finally:
        del connection.ensure_connection


@pytest.mark.parametrize("wrapped", [True, False], ids=["as Django raises it", "bare"])
@pytest.mark.parametrize("name", list(POOL_ERRORS))
def test_a_pool_error_is_the_database_out_of_reach(name: str, wrapped: bool) -> None:
    error = POOL_ERRORS[name]()
    assert database_unavailable(as_django(error) if wrapped else error)


@pytest.mark.parametrize("wrapped", [True, False], ids=["as Django raises it", "bare"])
@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("name", list(POOL_ERRORS))
def test_no_connection_from_the_pool_is_a_503(
    name: str, method: str, wrapped: bool, agent: Any, ticket: Any
) -> None:
    client = client_for(agent)  # its token is made before the connection fails
    error = POOL_ERRORS[name]()
    with no_connection(as_django(error) if wrapped else error):
        if method == "GET":
            response = client.get(SKIPS)
        else:
            body = {"skip": {"ticket_id": ticket.pk, "reason": "pool"}}
            response = client.post_json(SKIPS, body)
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"] == "ServiceUnavailable"
    assert body["description"]
    assert int(response["Retry-After"]) >= 1
    # Nothing was written, and once the pool gives connections again all is served.
    assert not Skip.objects.exists()
    assert client.get(SKIPS).status_code == 200
