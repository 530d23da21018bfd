"""Settings of the example project.

Environment variables:

- ``DATABASE_URL``: the database, as a URL (default: ``db.sqlite3`` at the top
  of the checkout). ``postgres://postgres@127.0.0.1:5432/test`` and
  ``mysql://root@127.0.0.1:3306/test`` (MariaDB, utf8mb4) work too.
- ``DATABASE_REPLICA_URL``: a read replica of that database, as a URL (unset:
  none). Reads then go to it and writes to ``DATABASE_URL``, and a user who has
  just recorded a skip reads ``DATABASE_URL`` for a few seconds
  (``skips.routers.PrimaryReplicaRouter``).
- ``DJANGO_SECRET_KEY``: the secret key (sessions, CSRF, password reset links,
  the API's cursors). Required, but by ``manage.py demo``, which makes up a
  throwaway one for its own run (logins and cursors then last as long as it).
- ``DJANGO_DEBUG``: "1" turns Django's debug pages on (never where anyone but
  you can reach the server); off otherwise, the demo included.
- ``SKIPS_EXPORT_HORIZON_SECONDS`` and ``SKIPS_EXPORT_THROTTLE_RATE`` (empty:
  off): the incremental export's settings, 60 and "10/min" by default.
"""

import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent

# ``manage.py demo`` (or ``django-admin demo``): the one run that needs no key.
_running_the_demo = sys.argv[1:2] == ["demo"]

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not _running_the_demo:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. The example project has no built-in secret "
            "key: set DJANGO_SECRET_KEY to a long random value, e.g. the output of "
            "python -c 'from django.core.management.utils import get_random_secret_key; "
            "print(get_random_secret_key())'. (`manage.py demo` alone makes up a "
            "throwaway key for its own run.)"
        )
    SECRET_KEY = get_random_secret_key()
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "example_project.helpdesk",
    "skips",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # the admin in the browser's language
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    DATABASES["default"].setdefault("OPTIONS", {})["charset"] = "utf8mb4"
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = {
        **DATABASES["default"],
        **dj_database_url.parse(os.environ["DATABASE_REPLICA_URL"], conn_max_age=60),
        # Tests make no database on the replica: it replays the primary's.
        "TEST": {"MIRROR": "default"},
    }
    DATABASE_ROUTERS = ["skips.routers.PrimaryReplicaRouter"]
    SKIPS_REPLICA_DATABASES = ["replica"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_REDIRECT_URL = "/api/v2/skips"

# The skips app: the help desk's tickets, how they render, which are archived.
SKIPS_TICKET_MODEL = "helpdesk.Ticket"
SKIPS_TICKET_SERIALIZER = "example_project.helpdesk.serializers.TicketSerializer"
SKIPS_ARCHIVED_TICKETS = "is_archived"
# The incremental export's horizon and rate limit (the defaults, unless the
# environment says otherwise: the test suite's live server shortens the first
# and lifts the second).
SKIPS_EXPORT_HORIZON_SECONDS = int(os.environ.get("SKIPS_EXPORT_HORIZON_SECONDS", "60"))
SKIPS_EXPORT_THROTTLE_RATE = os.environ.get("SKIPS_EXPORT_THROTTLE_RATE", "10/min") or None

# The project's own REST framework settings; the skips views bring their own
# authentication, permissions, pagination and errors whatever these say.
REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}

# The OpenAPI description at /api/schema/, and its documentation page at
# /api/docs/ (Swagger UI served from this project's static files, no CDN).
SPECTACULAR_SETTINGS = {
    "TITLE": "Ticket Skips API",
    "DESCRIPTION": "The Ticket Skips API of the skips app, as served by the example project.",
    "VERSION": __import__("skips").__version__,
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
