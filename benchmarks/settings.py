"""Settings of the benchmarks: the example project, without debugging.

``DATABASE_URL`` picks the database as in the example project, but the default
is a SQLite file of its own (``bench.sqlite3`` at the top of the checkout), so
that building a data set never touches the demo's database. Point it at a
scratch PostgreSQL database for the headline figures::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/skips_bench

``BENCH_DB_POOL=1`` (PostgreSQL only) serves through Django's connection pool
(psycopg's ``ConnectionPool``, ``pip install "psycopg[pool]"``) instead of one
persistent connection per thread. Its options are the recipe a host would use,
each one overridable by an environment variable:

- ``BENCH_DB_POOL_MAX_SIZE`` (4, also ``min_size``): connections per process; one
  per thread of the server (gunicorn ``--threads``) is enough, a request holds
  at most one;
- ``BENCH_DB_POOL_TIMEOUT`` (3 seconds; psycopg's default is 30): how long a
  request waits for a connection before the pool gives up (``PoolTimeout``, a
  503 ``ServiceUnavailable``). While the database is down every request waits
  this long, so keep it well under the server's and the clients' timeouts (with
  30, requests hung past 10 seconds through a 10-second outage;
  ``benchmarks/outage_probe.py``);
- ``BENCH_DB_POOL_RECONNECT_TIMEOUT`` (5 seconds; psycopg's default is 300): how
  long the pool retries a lost connection in the background, the delay doubling
  from one second. Past it the pool connects again on the next request's demand,
  at once: after a 10-second outage, requests still waited up to 2.5 seconds
  for the pool with 300, not at all with 5;
- ``BENCH_DB_POOL_CHECK`` (1): ``CONN_HEALTH_CHECKS``, with which Django gives the
  pool ``check=ConnectionPool.check_connection``: a connection is checked as a
  request takes it, so that one that died with the server is replaced instead of
  failing the request (a 503 after the server is back, when the pool sat idle
  through the outage). Django sets the pool's ``check`` itself: ``"check"`` in
  the ``"pool"`` options is a ``TypeError`` (a keyword given twice).
"""

import os

import dj_database_url

# The example project has no built-in secret key; the benchmarks sign nothing that lasts.
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmarks-only-not-secret")

from example_project.settings import *  # noqa: F403
from example_project.settings import BASE_DIR

DEBUG = False
ROOT_URLCONF = "benchmarks.urls"
WSGI_APPLICATION = "benchmarks.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'bench.sqlite3'}"),
        # One connection for the whole run: a reconnect inside a timed request
        # would be noise, not the API's cost.
        conn_max_age=None,
    )
}
if os.environ.get("BENCH_DB_POOL") == "1":
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError("BENCH_DB_POOL=1 needs PostgreSQL (Django pools psycopg 3 only)")
    # Django refuses a pool with persistent connections.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = os.environ.get("BENCH_DB_POOL_CHECK", "1") == "1"
    _pool_size = int(os.environ.get("BENCH_DB_POOL_MAX_SIZE", "4"))
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": _pool_size,
        "max_size": _pool_size,
        "timeout": float(os.environ.get("BENCH_DB_POOL_TIMEOUT", "3")),
        "reconnect_timeout": float(os.environ.get("BENCH_DB_POOL_RECONNECT_TIMEOUT", "5")),
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    DATABASES["default"].setdefault("OPTIONS", {})["charset"] = "utf8mb4"

# The timed requests answer 4xx only on purpose; keep the console for results.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "loggers": {"django.request": {"handlers": ["null"], "propagate": False}},
}
