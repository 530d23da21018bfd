"""Authentication of the skips API, through HTTP.

API token over Basic (``{email}/token:{token}``), Bearer token, session (with
CSRF for unsafe methods), email/password only when the host allows it, and one
401 answer for every failure. The host's own ``REST_FRAMEWORK`` settings are not
followed by the skips views.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.middleware.csrf import get_token
from django.test import RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.authentication import BasicAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from skips.models import Skip
from skips.throttling import FailedAuthThrottle
from tests import factories
from tests.testapp.models import Agent

PATHS = ["/api/v2/skips.json", "/api/v2/skips"]
LIST = "/api/v2/skips.json"
PASSWORD = "secret-pass"  # the factories' password
UNAUTHORIZED = {"error": "Couldn't authenticate you"}
FORBIDDEN = {
    "error": "Forbidden",
    "description": "You do not have access to this page. Please contact the account owner "
    "of this help desk for further help.",
}
WRONG_KEY = "0" * 40

# The SKIPS_TOKEN_USER hook of a host with its own API keys.
HOST_KEY = "hosts-own-key"
HOST_KEY_EMAIL = "host-key-owner@example.com"


def hosts_token_user(key: str) -> Any:
    """A host's own token lookup: one fixed key, for one fixed user."""
    if hmac.compare_digest(key.encode(), HOST_KEY.encode()):
        return Agent.objects.filter(email=HOST_KEY_EMAIL).first()
    return None


@pytest.fixture(autouse=True)
def fresh_cache() -> Any:
    """No failed attempt of another test counts here (the limits live in the cache)."""
    cache.clear()
    yield
    cache.clear()


# Helpers


def b64_basic(raw: str | bytes) -> str:
    if isinstance(raw, str):
        raw = raw.encode()
    return "Basic " + base64.b64encode(raw).decode()


def token_basic(email: str, key: str) -> str:
    return b64_basic(f"{email}/token:{key}")


def bearer(key: str) -> str:
    return f"Bearer {key}"


def key_of(user: Any) -> str:
    return Token.objects.get(user=user).key


def api(authorization: str | None = None, **kwargs: Any) -> APIClient:
    client = APIClient(**kwargs)
    if authorization is not None:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    return client


def skip_body(ticket: Any) -> dict[str, Any]:
    return {"skip": {"ticket_id": ticket.pk, "reason": "x"}}


def post_skip(client: APIClient, ticket: Any, path: str = LIST) -> Any:
    return client.post(path, skip_body(ticket), format="json")


def assert_ok_get(response: Any, user: Any) -> None:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"skips", "next_page", "previous_page", "count"}
    assert all(skip["user_id"] == user.pk for skip in body["skips"])


def assert_created(response: Any, user: Any, ticket: Any) -> None:
    assert response.status_code == 201, response.content
    skip = response.json()["skip"]
    assert skip["user_id"] == user.pk
    assert skip["ticket_id"] == ticket.pk
    assert skip["reason"] == "x"
    assert Skip.objects.filter(pk=skip["id"], user=user, ticket=ticket).exists()


def assert_401(response: Any) -> None:
    assert response.status_code == 401, response.content
    assert response.json() == UNAUTHORIZED
    assert response["Content-Type"].startswith("application/json")
    assert response["WWW-Authenticate"].startswith("Basic")


def assert_403(response: Any) -> None:
    assert response.status_code == 403, response.content
    assert response.json() == FORBIDDEN
    assert response["Content-Type"].startswith("application/json")


def csrf_pair() -> tuple[str, str]:
    """A CSRF cookie value and the matching (masked) token for the header."""
    request = RequestFactory().get("/")
    masked = get_token(request)
    return request.META["CSRF_COOKIE"], masked


@pytest.fixture
def ticket(db: Any) -> Any:
    return factories.CaseFactory()


@pytest.fixture
def agent_skip(agent: Any) -> Any:
    return factories.SkipFactory(user=agent)


# API token over Basic


@pytest.mark.django_db
@pytest.mark.parametrize("path", PATHS)
def test_basic_api_token_reads(path: str, agent: Any, agent_skip: Any, other_agent: Any) -> None:
    factories.SkipFactory(user=other_agent)
    response = api(token_basic(agent.email, key_of(agent))).get(path)
    assert_ok_get(response, agent)
    assert [s["id"] for s in response.json()["skips"]] == [agent_skip.pk]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PATHS)
def test_basic_api_token_creates(path: str, agent: Any, ticket: Any) -> None:
    response = post_skip(api(token_basic(agent.email, key_of(agent))), ticket, path)
    assert_created(response, agent, ticket)


@pytest.mark.django_db
@pytest.mark.parametrize("transform", [str.upper, str.title, str.swapcase])
def test_basic_api_token_email_is_case_insensitive(
    transform: Callable[[str], str], agent: Any, ticket: Any
) -> None:
    email = transform(agent.email)
    assert email != agent.email
    client = api(token_basic(email, key_of(agent)))
    assert_ok_get(client.get(LIST), agent)
    assert_created(post_skip(client, ticket), agent, ticket)


@pytest.mark.django_db
def test_basic_keyword_is_case_insensitive(agent: Any) -> None:
    header = token_basic(agent.email, key_of(agent)).replace("Basic", "basic")
    assert_ok_get(api(header).get(LIST), agent)


# Bearer token


@pytest.mark.django_db
@pytest.mark.parametrize("path", PATHS)
def test_bearer_token_reads_and_creates(path: str, agent: Any, ticket: Any) -> None:
    client = api(bearer(key_of(agent)))
    assert_ok_get(client.get(path), agent)
    assert_created(post_skip(client, ticket, path), agent, ticket)


# Session


@pytest.mark.django_db
@pytest.mark.parametrize("path", PATHS)
def test_session_login_reads(path: str, agent: Any, agent_skip: Any) -> None:
    client = APIClient()
    client.force_login(agent)
    response = client.get(path)
    assert_ok_get(response, agent)
    assert [s["id"] for s in response.json()["skips"]] == [agent_skip.pk]


@pytest.mark.django_db
def test_session_login_with_password_reads(agent: Any) -> None:
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(email=agent.email, password=PASSWORD)
    assert_ok_get(client.get(LIST), agent)


@pytest.mark.django_db
@pytest.mark.parametrize("path", PATHS)
def test_session_post_without_csrf_token_is_refused(path: str, agent: Any, ticket: Any) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(agent)
    assert_403(post_skip(client, ticket, path))
    assert not Skip.objects.exists()


@pytest.mark.django_db
def test_session_post_with_a_csrf_cookie_but_no_header_is_refused(agent: Any, ticket: Any) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(agent)
    cookie, _ = csrf_pair()
    client.cookies[settings.CSRF_COOKIE_NAME] = cookie
    assert_403(post_skip(client, ticket))
    assert not Skip.objects.exists()


@pytest.mark.django_db
def test_session_post_with_a_wrong_csrf_token_is_refused(agent: Any, ticket: Any) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(agent)
    cookie, _ = csrf_pair()
    _, other_token = csrf_pair()
    client.cookies[settings.CSRF_COOKIE_NAME] = cookie
    response = client.post(LIST, skip_body(ticket), format="json", HTTP_X_CSRFTOKEN=other_token)
    assert_403(response)
    assert not Skip.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("path", PATHS)
def test_session_post_with_csrf_token_succeeds(path: str, agent: Any, ticket: Any) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(agent)
    cookie, token = csrf_pair()
    client.cookies[settings.CSRF_COOKIE_NAME] = cookie
    response = client.post(path, skip_body(ticket), format="json", HTTP_X_CSRFTOKEN=token)
    assert_created(response, agent, ticket)


@pytest.mark.django_db
def test_session_post_with_the_csrf_token_of_a_served_page_succeeds(
    agent: Any, ticket: Any
) -> None:
    # The way a browser gets it: a page with a form sets the cookie.
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(agent)
    page = client.get("/admin/login/")
    assert page.status_code == 200
    cookie = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post(LIST, skip_body(ticket), format="json", HTTP_X_CSRFTOKEN=cookie)
    assert_created(response, agent, ticket)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization",
    [
        lambda user: token_basic(user.email, key_of(user)),
        lambda user: bearer(key_of(user)),
    ],
    ids=["basic", "bearer"],
)
def test_token_post_needs_no_csrf_token(
    authorization: Callable[[Any], str], agent: Any, ticket: Any
) -> None:
    client = api(authorization(agent), enforce_csrf_checks=True)
    assert_created(post_skip(client, ticket), agent, ticket)


# One 401 for every failure

FAILURES = [
    "wrong token",
    "unknown email with a valid token",
    "another user's email with this token",
    "inactive user's token",
    "deleted user's token",
    "not base64",
    "base64 without padding",
    "not utf-8",
    "no colon",
    "empty name",
    "empty token",
    "only a colon",
    "only the token suffix",
    "Basic alone",
    "Basic with two credentials",
    "Bearer wrong token",
    "Bearer alone",
    "Bearer with two tokens",
    "Bearer inactive user's token",
    "Bearer deleted user's token",
    "Bearer with the Basic credentials",
]


def failure_headers(agent: Any, other_agent: Any) -> dict[str, str]:
    """The Authorization header of each failure case."""
    key = key_of(agent)
    inactive = factories.AgentFactory(is_active=False)
    deleted = factories.AgentFactory()  # no skips, so that it can be deleted
    deleted_email, deleted_key = deleted.email, key_of(deleted)
    deleted.delete()
    padded = factories.AgentFactory(email="pad@example.com")  # 62 bytes: needs padding
    assert not Token.objects.filter(key=deleted_key).exists()
    return {
        "wrong token": token_basic(agent.email, WRONG_KEY),
        "unknown email with a valid token": token_basic("nobody@example.com", key),
        "another user's email with this token": token_basic(other_agent.email, key),
        "inactive user's token": token_basic(inactive.email, key_of(inactive)),
        "deleted user's token": token_basic(deleted_email, deleted_key),
        "not base64": "Basic !!!not-base64!!!",
        "base64 without padding": unpadded_basic(f"{padded.email}/token:{key_of(padded)}"),
        "not utf-8": b64_basic(b"\xff\xfe/token:\xff"),
        "no colon": b64_basic(f"{agent.email}/token{key}"),
        "empty name": b64_basic(f":{key}"),
        "empty token": b64_basic(f"{agent.email}/token:"),
        "only a colon": b64_basic(":"),
        "only the token suffix": b64_basic(f"/token:{key}"),
        "Basic alone": "Basic",
        "Basic with two credentials": token_basic(agent.email, key) + " extra",
        "Bearer wrong token": bearer(WRONG_KEY),
        "Bearer alone": "Bearer",
        "Bearer with two tokens": f"Bearer {key} {key}",
        "Bearer inactive user's token": bearer(key_of(inactive)),
        "Bearer deleted user's token": bearer(deleted_key),
        "Bearer with the Basic credentials": bearer(
            token_basic(agent.email, key).removeprefix("Basic ")
        ),
    }


def unpadded_basic(credentials: str) -> str:
    """Basic with valid credentials, but the base64 padding left out."""
    encoded = base64.b64encode(credentials.encode()).decode()
    assert encoded.endswith("=")
    return "Basic " + encoded.rstrip("=")


@pytest.mark.django_db
@pytest.mark.parametrize("case", FAILURES)
def test_failed_authentication_is_one_401(
    case: str, agent: Any, other_agent: Any, ticket: Any
) -> None:
    headers = failure_headers(agent, other_agent)
    assert set(headers) == set(FAILURES)
    client = api(headers[case])
    assert_401(client.get(LIST))
    assert_401(client.get("/api/v2/skips"))
    assert_401(post_skip(client, ticket))
    assert not Skip.objects.exists()


@pytest.mark.django_db
def test_every_failure_has_the_same_body_and_header(
    agent: Any, other_agent: Any, ticket: Any
) -> None:
    answers = set()
    for authorization in failure_headers(agent, other_agent).values():
        client = api(authorization)
        for response in (client.get(LIST), post_skip(client, ticket)):
            answers.add(
                (
                    response.status_code,
                    response.content,
                    response["Content-Type"],
                    response["WWW-Authenticate"],
                )
            )
    assert len(answers) == 1, answers
    ((status, content, _, _),) = answers
    assert status == 401
    assert content == b'{"error":"Couldn\'t authenticate you"}'


def nul_key(user: Any) -> str:
    key = key_of(user)
    return key[:20] + "\x00" + key[21:]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization",
    [
        lambda user: token_basic(user.email, nul_key(user)),
        # Over real HTTP most servers refuse a NUL in a header; base64 above carries it.
        lambda user: bearer(nul_key(user)),
    ],
    ids=["basic", "bearer"],
)
def test_nul_in_the_token_is_the_same_401(
    authorization: Callable[[Any], str], agent: Any, ticket: Any
) -> None:
    client = api(authorization(agent))
    assert_401(client.get(LIST))
    assert_401(post_skip(client, ticket))


@pytest.mark.django_db
def test_nul_in_the_email_is_the_same_401(agent: Any) -> None:
    assert_401(api(token_basic(agent.email + "\x00", key_of(agent))).get(LIST))


@pytest.mark.django_db
@override_settings(SKIPS_ALLOW_PASSWORD_AUTH=True)
def test_nul_in_the_email_is_the_same_401_with_passwords(agent: Any) -> None:
    response = api(b64_basic(f"{agent.email}\x00junk:{PASSWORD}")).get(LIST)
    assert_401(response)


@pytest.mark.django_db
@override_settings(SKIPS_ALLOW_PASSWORD_AUTH=True)
def test_nul_in_the_password_is_the_same_401_with_passwords(agent: Any) -> None:
    assert_401(api(b64_basic(f"{agent.email}:{PASSWORD}\x00")).get(LIST))


@pytest.mark.django_db
@pytest.mark.parametrize("path", PATHS)
def test_anonymous_is_the_same_401(path: str, agent: Any, ticket: Any) -> None:
    client = APIClient()
    get, post = client.get(path), post_skip(client, ticket, path)
    assert_401(get)
    assert_401(post)
    wrong = api(token_basic(agent.email, WRONG_KEY)).get(path)
    assert get.content == post.content == wrong.content
    assert get["WWW-Authenticate"] == wrong["WWW-Authenticate"]
    assert not Skip.objects.exists()


@pytest.mark.django_db
def test_a_deleted_users_session_is_anonymous(ticket: Any) -> None:
    user = factories.AgentFactory()
    client = APIClient()
    client.force_login(user)
    user.delete()
    assert_401(client.get(LIST))
    assert_401(post_skip(client, ticket))


@pytest.mark.django_db
def test_an_inactive_users_session_is_anonymous(ticket: Any) -> None:
    user = factories.AgentFactory()
    client = APIClient()
    client.force_login(user)
    Agent.objects.filter(pk=user.pk).update(is_active=False)
    assert_401(client.get(LIST))
    assert_401(post_skip(client, ticket))


# Email and password over Basic


@pytest.mark.django_db
def test_email_password_is_refused_by_default(agent: Any, ticket: Any) -> None:
    client = api(b64_basic(f"{agent.email}:{PASSWORD}"))
    assert_401(client.get(LIST))
    assert_401(post_skip(client, ticket))


@pytest.mark.django_db
@override_settings(SKIPS_ALLOW_PASSWORD_AUTH=True)
@pytest.mark.parametrize("transform", [str, str.upper], ids=["as is", "upper case"])
def test_email_password_works_when_allowed(
    transform: Callable[[str], str], agent: Any, ticket: Any
) -> None:
    client = api(b64_basic(f"{transform(agent.email)}:{PASSWORD}"))
    assert_ok_get(client.get(LIST), agent)
    assert_created(post_skip(client, ticket), agent, ticket)


@pytest.mark.django_db
@override_settings(SKIPS_ALLOW_PASSWORD_AUTH=True)
def test_the_token_still_works_when_passwords_are_allowed(agent: Any) -> None:
    assert_ok_get(api(token_basic(agent.email, key_of(agent))).get(LIST), agent)


@pytest.mark.django_db
@override_settings(SKIPS_ALLOW_PASSWORD_AUTH=True)
@pytest.mark.parametrize(
    "credentials",
    [
        lambda user: f"{user.email}:wrong-pass",
        lambda user: f"nobody@example.com:{PASSWORD}",
        lambda user: f"{user.email}:{PASSWORD.upper()}",
        lambda user: f"{user.email}/token:{PASSWORD}",  # the password is not a token
        lambda user: f"{user.email}:{key_of(user)}",  # nor the token a password
    ],
    ids=["wrong password", "unknown email", "password case", "password as token", "token"],
)
def test_bad_email_password_is_401_when_allowed(
    credentials: Callable[[Any], str], agent: Any, ticket: Any
) -> None:
    client = api(b64_basic(credentials(agent)))
    assert_401(client.get(LIST))
    assert_401(post_skip(client, ticket))


@pytest.mark.django_db
@override_settings(SKIPS_ALLOW_PASSWORD_AUTH=True)
def test_inactive_users_password_is_401_when_allowed() -> None:
    user = factories.AgentFactory(is_active=False)
    assert_401(api(b64_basic(f"{user.email}:{PASSWORD}")).get(LIST))


@pytest.mark.django_db
def test_password_setting_is_read_live(agent: Any) -> None:
    client = api(b64_basic(f"{agent.email}:{PASSWORD}"))
    assert_401(client.get(LIST))
    with override_settings(SKIPS_ALLOW_PASSWORD_AUTH=True):
        assert_ok_get(client.get(LIST), agent)
    assert_401(client.get(LIST))


# The host's REST_FRAMEWORK settings are not the skips views'


@pytest.mark.django_db
def test_hosts_basic_authentication_is_not_used(agent: Any, ticket: Any) -> None:
    header = b64_basic(f"{agent.email}:{PASSWORD}")
    # The host's own DEFAULT_AUTHENTICATION_CLASSES would accept these credentials...
    assert settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] == [
        "rest_framework.authentication.BasicAuthentication"
    ]
    request = Request(APIRequestFactory().get(LIST, HTTP_AUTHORIZATION=header))
    assert BasicAuthentication().authenticate(request) == (agent, None)
    # ...the skips views do not.
    client = api(header)
    assert_401(client.get(LIST))
    assert_401(post_skip(client, ticket))


@pytest.mark.django_db
def test_hosts_allow_any_is_not_used(agent_skip: Any, ticket: Any) -> None:
    assert settings.REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"] == [
        "rest_framework.permissions.AllowAny"
    ]
    client = APIClient()
    assert_401(client.get(LIST))
    assert_401(post_skip(client, ticket))
    assert Skip.objects.count() == 1


@pytest.mark.django_db
def test_hosts_exception_handler_is_not_used(agent: Any) -> None:
    # DRF's own handler answers {"detail": ...}; the skips views answer in their family.
    client = api(token_basic(agent.email, key_of(agent)))
    response = client.get("/api/v2/tickets/999999/skips.json")
    assert response.status_code == 404
    assert response.json() == {"error": "RecordNotFound", "description": "Not found"}
    response = client.get(LIST, {"sort_order": "sideways"})
    assert response.status_code == 400
    assert response.json()["error"] == "InvalidParameter"
    assert "detail" not in response.json()
    response = client.post(LIST, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "InvalidJSON"
    assert "detail" not in response.json()
    unauthorized = api(token_basic("x@example.com", WRONG_KEY)).get(LIST)
    assert unauthorized.json() == UNAUTHORIZED


@pytest.mark.django_db
def test_hosts_forbidden_is_the_skips_family(end_user: Any) -> None:
    response = api(token_basic(end_user.email, key_of(end_user))).get(LIST)
    assert_403(response)


@pytest.mark.django_db
def test_hosts_pagination_is_not_used(agent: Any) -> None:
    assert settings.REST_FRAMEWORK["PAGE_SIZE"] == 7
    factories.SkipFactory.create_batch(8, user=agent)
    response = api(token_basic(agent.email, key_of(agent))).get(LIST)
    assert_ok_get(response, agent)
    body = response.json()
    assert len(body["skips"]) == 8
    assert body["count"] == 8
    assert body["next_page"] is None
    assert "results" not in body


# SKIPS_AUTHENTICATION_CLASSES


@pytest.mark.django_db
@override_settings(SKIPS_AUTHENTICATION_CLASSES=["skips.authentication.BearerTokenAuthentication"])
def test_authentication_classes_replace_the_defaults(agent: Any, ticket: Any) -> None:
    key = key_of(agent)
    basic_client = api(token_basic(agent.email, key))
    for response in (basic_client.get(LIST), post_skip(basic_client, ticket)):
        assert response.status_code == 401, response.content
        assert response.json() == UNAUTHORIZED
    session_client = APIClient()
    session_client.force_login(agent)
    response = session_client.get(LIST)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    bearer_client = api(bearer(key))
    assert_ok_get(bearer_client.get(LIST), agent)
    assert_created(post_skip(bearer_client, ticket), agent, ticket)


@pytest.mark.django_db
def test_authentication_classes_are_read_live(agent: Any) -> None:
    client = api(token_basic(agent.email, key_of(agent)))
    assert_ok_get(client.get(LIST), agent)
    with override_settings(
        SKIPS_AUTHENTICATION_CLASSES=["skips.authentication.BearerTokenAuthentication"]
    ):
        assert client.get(LIST).status_code == 401
    assert_ok_get(client.get(LIST), agent)


@pytest.mark.django_db
@override_settings(
    SKIPS_AUTHENTICATION_CLASSES=["rest_framework.authentication.BasicAuthentication"]
)
def test_authentication_classes_can_be_the_hosts_own(agent: Any) -> None:
    # "The host project's own REST_FRAMEWORK authentication keeps working" when named.
    assert_ok_get(api(b64_basic(f"{agent.email}:{PASSWORD}")).get(LIST), agent)
    assert_401(api(token_basic(agent.email, key_of(agent))).get(LIST))


# SKIPS_TOKEN_USER


@pytest.fixture
def key_owner(db: Any) -> Any:
    return factories.AgentFactory(email=HOST_KEY_EMAIL)


@pytest.mark.django_db
@override_settings(SKIPS_TOKEN_USER="tests.test_authentication.hosts_token_user")
def test_token_user_hook_is_used(key_owner: Any, agent: Any, ticket: Any) -> None:
    for client in (api(bearer(HOST_KEY)), api(token_basic(HOST_KEY_EMAIL.upper(), HOST_KEY))):
        assert_ok_get(client.get(LIST), key_owner)
    assert_created(post_skip(api(bearer(HOST_KEY)), ticket), key_owner, ticket)
    # DRF tokens, the key owner's included, no longer authenticate.
    for user in (agent, key_owner):
        assert_401(api(bearer(key_of(user))).get(LIST))
        assert_401(api(token_basic(user.email, key_of(user))).get(LIST))
    # The hook's key is still tied to its user's email over Basic.
    assert_401(api(token_basic(agent.email, HOST_KEY)).get(LIST))
    assert_401(api(bearer(HOST_KEY + "x")).get(LIST))


@pytest.mark.django_db
def test_token_user_hook_key_is_nothing_without_the_hook(key_owner: Any) -> None:
    assert_401(api(bearer(HOST_KEY)).get(LIST))
    assert_401(api(token_basic(HOST_KEY_EMAIL, HOST_KEY)).get(LIST))


@pytest.mark.django_db
@override_settings(SKIPS_TOKEN_USER="tests.test_authentication.hosts_token_user")
def test_token_user_hook_inactive_user_is_refused(key_owner: Any) -> None:
    Agent.objects.filter(pk=key_owner.pk).update(is_active=False)
    assert_401(api(bearer(HOST_KEY)).get(LIST))
    assert_401(api(token_basic(HOST_KEY_EMAIL, HOST_KEY)).get(LIST))


@pytest.mark.django_db
def test_token_user_hook_may_be_a_callable(key_owner: Any) -> None:
    with override_settings(SKIPS_TOKEN_USER=hosts_token_user):
        assert_ok_get(api(bearer(HOST_KEY)).get(LIST), key_owner)


# manage.py drf_create_token


@pytest.mark.django_db
def test_drf_create_token_makes_a_working_token(ticket: Any) -> None:
    user = Agent.objects.create_user("fresh@example.com", PASSWORD)
    factories.grant(user, "add_skip")
    assert not Token.objects.filter(user=user).exists()
    assert_401(api(b64_basic(f"{user.email}:{PASSWORD}")).get(LIST))

    out = StringIO()
    call_command("drf_create_token", user.email, stdout=out)
    key = Token.objects.get(user=user).key
    assert key in out.getvalue()

    assert_ok_get(api(token_basic(user.email, key)).get(LIST), user)
    assert_ok_get(api(bearer(key)).get(LIST), user)
    assert_created(post_skip(api(bearer(key)), ticket), user, ticket)


@pytest.mark.django_db
def test_drf_create_token_reset_revokes_the_old_token(agent: Any) -> None:
    old = key_of(agent)
    call_command("drf_create_token", agent.email, reset_token=True, stdout=StringIO())
    new = key_of(agent)
    assert new != old
    assert_401(api(bearer(old)).get(LIST))
    assert_401(api(token_basic(agent.email, old)).get(LIST))
    assert_ok_get(api(bearer(new)).get(LIST), agent)


# The same work whatever was wrong


def count_queries(client: APIClient) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST)
    assert_401(response)
    return len(queries)


@pytest.mark.django_db
def test_failures_do_the_same_database_work(agent: Any, other_agent: Any) -> None:
    inactive = factories.AgentFactory(is_active=False)
    basic_counts = {
        "wrong token": count_queries(api(token_basic(agent.email, WRONG_KEY))),
        "unknown email": count_queries(api(token_basic("nobody@example.com", key_of(agent)))),
        "other email": count_queries(api(token_basic(other_agent.email, key_of(agent)))),
        "inactive user": count_queries(api(token_basic(inactive.email, key_of(inactive)))),
    }
    bearer_counts = {
        "wrong token": count_queries(api(bearer(WRONG_KEY))),
        "inactive user": count_queries(api(bearer(key_of(inactive)))),
    }
    assert len(set(basic_counts.values())) == 1, basic_counts
    assert len(set(bearer_counts.values())) == 1, bearer_counts
    assert basic_counts["wrong token"] >= 1  # the token was looked up


@pytest.mark.django_db
@override_settings(SKIPS_ALLOW_PASSWORD_AUTH=True)
def test_password_failures_do_the_same_database_work(agent: Any) -> None:
    inactive = factories.AgentFactory(is_active=False)
    counts = {
        "wrong password": count_queries(api(b64_basic(f"{agent.email}:wrong"))),
        "unknown email": count_queries(api(b64_basic(f"nobody@example.com:{PASSWORD}"))),
        "inactive user": count_queries(api(b64_basic(f"{inactive.email}:{PASSWORD}"))),
    }
    assert len(set(counts.values())) == 1, counts


# Failed logins are limited (SKIPS_FAILED_AUTH_RATE, SKIPS_FAILED_TOKEN_RATE)


def password_client(email: str, password: str = "wrong-pass") -> APIClient:
    return api(b64_basic(f"{email}:{password}"))


def get_from(client: APIClient, address: str = "127.0.0.1", **extra: Any) -> Any:
    return client.get(LIST, REMOTE_ADDR=address, **extra)


def assert_429(response: Any) -> None:
    assert response.status_code == 429, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "description"}
    assert body["error"] == "TooManyRequests"
    assert "Too many failed attempts" in body["description"]
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "WWW-Authenticate" not in response


class Clock:
    """The failed-attempt windows' clock, moved by hand."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 60.0 * 16_666_667 + 20  # 20 s into a minute
        monkeypatch.setattr(FailedAuthThrottle, "timer", staticmethod(lambda: self.now))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@pytest.mark.django_db
@override_settings(SKIPS_ALLOW_PASSWORD_AUTH=True)
def test_failed_passwords_are_limited_by_default(agent: Any, clock: Clock) -> None:
    # Ten guesses a minute from one address, over any accounts; the eleventh is a 429.
    for i in range(10):
        assert_401(get_from(password_client(f"guess{i}@example.com")))
    assert_429(get_from(password_client("guess-more@example.com")))
    assert_429(get_from(password_client(agent.email)))
    # Elsewhere, nothing changed.
    assert_ok_get(get_from(password_client(agent.email, PASSWORD), "10.0.0.2"), agent)


@pytest.mark.django_db
@override_settings(SKIPS_ALLOW_PASSWORD_AUTH=True, SKIPS_FAILED_AUTH_RATE="3/min")
def test_past_the_limit_the_right_password_is_refused_too(
    agent: Any, ticket: Any, clock: Clock
) -> None:
    for _ in range(3):
        assert_401(get_from(password_client(agent.email)))
    right = password_client(agent.email, PASSWORD)
    assert_429(get_from(right))
    assert_429(post_skip(right, ticket))
    assert not Skip.objects.exists()
    # Until the window passes: then the right password works, and wrong ones count again.
    clock.now += 40
    assert_ok_get(get_from(right), agent)
    assert_401(get_from(password_client(agent.email)))


@pytest.mark.django_db
@override_settings(SKIPS_ALLOW_PASSWORD_AUTH=True, SKIPS_FAILED_AUTH_RATE="3/min")
def test_failed_passwords_are_limited_per_account_from_any_address(
    agent: Any, other_agent: Any, clock: Clock
) -> None:
    # One guess from each of many addresses, on one account: the account is closed...
    for i in range(3):
        assert_401(get_from(password_client(agent.email), f"10.0.1.{i}"))
    assert_429(get_from(password_client(agent.email, PASSWORD), "10.0.2.1"))
    # ...however its email is spelt...
    assert_429(get_from(password_client(agent.email.upper(), PASSWORD), "10.0.2.2"))
    # ...to passwords only: its API token still works, and other accounts' passwords.
    assert_ok_get(get_from(api(token_basic(agent.email, key_of(agent))), "10.0.2.3"), agent)
    assert_ok_get(get_from(api(bearer(key_of(agent))), "10.0.2.3"), agent)
    assert_ok_get(get_from(password_client(other_agent.email, PASSWORD), "10.0.2.4"), other_agent)


@pytest.mark.django_db
@override_settings(SKIPS_ALLOW_PASSWORD_AUTH=True, SKIPS_FAILED_AUTH_RATE="3/min")
def test_an_unknown_email_is_limited_as_an_account(clock: Clock) -> None:
    for i in range(3):
        assert_401(get_from(password_client("nobody@example.com"), f"10.0.1.{i}"))
    assert_429(get_from(password_client("NOBODY@example.com"), "10.0.2.1"))


@pytest.mark.django_db
@override_settings(SKIPS_ALLOW_PASSWORD_AUTH=True, SKIPS_FAILED_AUTH_RATE="3/min")
def test_right_passwords_do_not_count(agent: Any, clock: Clock) -> None:
    for _ in range(2):
        assert_401(get_from(password_client(agent.email)))
    for _ in range(10):
        assert_ok_get(get_from(password_client(agent.email, PASSWORD)), agent)
    assert_401(get_from(password_client(agent.email)))
    assert_429(get_from(password_client(agent.email)))


@pytest.mark.django_db
@override_settings(SKIPS_ALLOW_PASSWORD_AUTH=True, SKIPS_FAILED_AUTH_RATE="3/min")
def test_malformed_credentials_and_tokens_do_not_count_as_password_guesses(
    agent: Any, clock: Clock
) -> None:
    for _ in range(5):
        assert_401(api("Basic !!!").get(LIST))
        assert_401(api(b64_basic(f"{agent.email}:")).get(LIST))
        assert_401(api(token_basic(agent.email, WRONG_KEY)).get(LIST))
        assert_401(api(bearer(WRONG_KEY)).get(LIST))
    assert_ok_get(get_from(password_client(agent.email, PASSWORD)), agent)


@pytest.mark.django_db
@override_settings(SKIPS_ALLOW_PASSWORD_AUTH=True, SKIPS_FAILED_AUTH_RATE=None)
def test_the_password_limit_can_be_turned_off(agent: Any) -> None:
    for _ in range(30):
        assert_401(get_from(password_client(agent.email)))
    assert_ok_get(get_from(password_client(agent.email, PASSWORD)), agent)


@pytest.mark.django_db
@override_settings(SKIPS_FAILED_AUTH_RATE="1/min")
def test_the_password_limit_counts_nothing_while_passwords_are_off(agent: Any) -> None:
    for _ in range(5):
        assert_401(get_from(password_client(agent.email)))
    with override_settings(SKIPS_ALLOW_PASSWORD_AUTH=True):
        assert_ok_get(get_from(password_client(agent.email, PASSWORD)), agent)


@pytest.mark.django_db
@override_settings(SKIPS_ALLOW_PASSWORD_AUTH=True, SKIPS_FAILED_AUTH_RATE="2/min")
def test_the_client_address_follows_num_proxies(agent: Any, clock: Clock) -> None:
    # NUM_PROXIES = 0: X-Forwarded-For is the client's to write, and is not read.
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "NUM_PROXIES": 0}):
        for i in range(2):
            forwarded = {"HTTP_X_FORWARDED_FOR": f"192.0.2.{i}"}
            assert_401(get_from(password_client(f"a{i}@example.com"), **forwarded))
        assert_429(get_from(password_client("a9@example.com"), HTTP_X_FORWARDED_FOR="192.0.2.9"))
    # NUM_PROXIES = 1: the address the proxy saw, the last one of the header;
    # what the client wrote before it changes nothing.
    cache.clear()
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}):
        for i in range(2):
            forwarded = {"HTTP_X_FORWARDED_FOR": f"203.0.113.{i}, 198.51.100.7"}
            assert_401(get_from(password_client(f"b{i}@example.com"), **forwarded))
        assert_429(
            get_from(password_client("b8@example.com"), HTTP_X_FORWARDED_FOR="x, 198.51.100.7")
        )
        assert_401(get_from(password_client("b9@example.com"), HTTP_X_FORWARDED_FOR="198.51.100.9"))


class GuessMeanwhile(ModelBackend):
    """While one check is running, another guess comes in, as a parallel request would."""

    answers: list[int] = []

    def authenticate(self, request: Any, *args: Any, **credentials: Any) -> Any:
        if not self.answers:
            self.answers.append(0)  # this check is running
            nested = password_client("someone-else@example.com").get(LIST)
            self.answers.append(nested.status_code)
        return super().authenticate(request, *args, **credentials)


@pytest.mark.django_db
@override_settings(
    SKIPS_ALLOW_PASSWORD_AUTH=True,
    SKIPS_FAILED_AUTH_RATE="1/min",
    AUTHENTICATION_BACKENDS=["tests.test_authentication.GuessMeanwhile"],
)
def test_an_attempt_holds_its_place_while_it_is_checked(agent: Any, clock: Clock) -> None:
    GuessMeanwhile.answers = []
    assert_401(get_from(password_client(agent.email)))
    # The parallel guess found the only place of the window taken.
    assert GuessMeanwhile.answers == [0, 429]


# API tokens: off by default, per address when on


@pytest.mark.django_db
def test_failed_tokens_are_not_limited_by_default(agent: Any) -> None:
    for _ in range(30):
        assert_401(api(token_basic(agent.email, WRONG_KEY)).get(LIST))
        assert_401(api(bearer(WRONG_KEY)).get(LIST))
    assert_ok_get(api(bearer(key_of(agent))).get(LIST), agent)


@pytest.mark.django_db
@override_settings(SKIPS_FAILED_TOKEN_RATE="4/min")
def test_failed_tokens_are_limited_per_address_when_asked(
    agent: Any, other_agent: Any, clock: Clock
) -> None:
    assert_401(get_from(api(token_basic(agent.email, WRONG_KEY))))
    assert_401(get_from(api(token_basic("nobody@example.com", key_of(agent)))))
    assert_401(get_from(api(bearer(WRONG_KEY))))
    for _ in range(5):  # right tokens do not count
        assert_ok_get(get_from(api(bearer(key_of(agent)))), agent)
    assert_401(get_from(api(bearer(WRONG_KEY + "1"))))
    # Full: every token from this address, the right ones too.
    assert_429(get_from(api(bearer(key_of(agent)))))
    assert_429(get_from(api(token_basic(agent.email, key_of(agent)))))
    # Another address is another count.
    assert_ok_get(get_from(api(bearer(key_of(other_agent))), "10.0.0.2"), other_agent)
    clock.now += 40
    assert_ok_get(get_from(api(bearer(key_of(agent)))), agent)


@pytest.mark.django_db
@override_settings(
    SKIPS_FAILED_TOKEN_RATE="1/min", SKIPS_ALLOW_PASSWORD_AUTH=True, SKIPS_FAILED_AUTH_RATE=None
)
def test_token_and_password_limits_count_apart(agent: Any, clock: Clock) -> None:
    assert_401(get_from(api(bearer(WRONG_KEY))))
    assert_429(get_from(api(bearer(key_of(agent)))))
    assert_ok_get(get_from(password_client(agent.email, PASSWORD)), agent)


# The same hasher work whatever was wrong


# Django's ModelBackend runs the hasher for an unknown username, and check_password
# for an unusable, empty or unknown-algorithm password: an unknown email, passed on
# as the username, costs the same.


class CountingHasher(MD5PasswordHasher):
    """MD5 (fast, for tests) that counts how often it hashes."""

    algorithm = "counting_md5"
    hashed = 0

    def encode(self, password: str, salt: str) -> str:
        type(self).hashed += 1
        return super().encode(password, salt)


def hashes_of(client: APIClient, expect: Callable[[Any], None] = assert_401) -> int:
    CountingHasher.hashed = 0
    expect(client.get(LIST))
    return CountingHasher.hashed


@pytest.mark.django_db
@override_settings(
    SKIPS_ALLOW_PASSWORD_AUTH=True,
    SKIPS_FAILED_AUTH_RATE="10/min",
    PASSWORD_HASHERS=["tests.test_authentication.CountingHasher"],
)
def test_every_failed_password_costs_one_hash(clock: Clock) -> None:
    active = factories.AgentFactory()
    inactive = factories.AgentFactory(is_active=False)
    unusable = factories.AgentFactory()
    unusable.set_unusable_password()
    unusable.save()
    empty = factories.AgentFactory()
    Agent.objects.filter(pk=empty.pk).update(password="")
    foreign = factories.AgentFactory()  # a hash of a hasher not installed
    Agent.objects.filter(pk=foreign.pk).update(password="bcrypt_sha256$$2b$12$" + "a" * 53)
    counts = {
        "wrong password": hashes_of(password_client(active.email)),
        "unknown email": hashes_of(password_client("nobody@example.com", PASSWORD)),
        "inactive account": hashes_of(password_client(inactive.email, PASSWORD)),
        "unusable password": hashes_of(password_client(unusable.email, PASSWORD)),
        "empty password": hashes_of(password_client(empty.email, PASSWORD)),
        "password of another hasher": hashes_of(password_client(foreign.email, PASSWORD)),
    }
    assert counts == dict.fromkeys(counts, 1)
    right = hashes_of(password_client(active.email, PASSWORD), lambda r: assert_ok_get(r, active))
    assert right == 1
    # Past the limit, no hash at all.
    cache.clear()
    for _ in range(10):
        assert_401(password_client(active.email).get(LIST))
    assert hashes_of(password_client(active.email, PASSWORD), assert_429) == 0


class FullNameBackend(ModelBackend):
    """A host's backend that knows users by their full name."""

    def authenticate(self, request: Any, email: str | None = None, **kwargs: Any) -> Any:
        user = Agent.objects.filter(full_name=email).first()
        if user is not None and user.check_password(kwargs.get("password")):
            return user
        return None


@pytest.mark.django_db
@override_settings(
    SKIPS_ALLOW_PASSWORD_AUTH=True,
    AUTHENTICATION_BACKENDS=["tests.test_authentication.FullNameBackend"],
)
def test_a_password_login_is_by_email_whatever_the_backend_matches(agent: Any) -> None:
    Agent.objects.filter(pk=agent.pk).update(full_name="Ada Lovelace")
    assert_401(password_client("Ada Lovelace", PASSWORD).get(LIST))
