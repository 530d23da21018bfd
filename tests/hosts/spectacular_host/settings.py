"""Settings of the drf-spectacular host: the test app's models, drf-spectacular's defaults."""

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "tests.testapp",
    "skips",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "tests.hosts.spectacular_host.urls"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
AUTH_USER_MODEL = "testapp.Agent"
SKIPS_TICKET_MODEL = "testapp.Case"
SKIPS_TICKET_SERIALIZER = "tests.testapp.serializers.CaseSerializer"

# REST framework's default authentication (session, then Basic) for the host's
# views, described by drf-spectacular.
REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
# drf-spectacular's defaults, SERVE_INCLUDE_SCHEMA among them.
SPECTACULAR_SETTINGS: dict[str, object] = {}
