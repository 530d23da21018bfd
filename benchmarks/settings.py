"""Settings of the benchmarks: the example project, without debugging.

``DATABASE_URL`` picks the database as in the example project, but the default
is a SQLite file of its own (``bench.sqlite3`` at the top of the checkout), so
that building a data set never touches the demo's database. Point it at a
scratch PostgreSQL database for the headline figures::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/skips_bench
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
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    DATABASES["default"].setdefault("OPTIONS", {})["charset"] = "utf8mb4"

# The timed requests answer 4xx only on purpose; keep the console for results.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "loggers": {"django.request": {"handlers": ["null"], "propagate": False}},
}
