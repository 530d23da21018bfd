"""How API clients prove who they are, as the reference service's clients do.

- :class:`TokenBasicAuthentication`: HTTP Basic with ``{email}/token`` and an
  API token as the password (``curl -u you@example.com/token:TOKEN``); with
  ``SKIPS_ALLOW_PASSWORD_AUTH``, also ``{email}`` and the account password.
- :class:`BearerTokenAuthentication`: ``Authorization: Bearer TOKEN``.
- :class:`SessionAuthentication`: the logged-in session (browsable API, admin).

Tokens are DRF's ``authtoken`` tokens (``manage.py drf_create_token``), read
through ``SKIPS_TOKEN_USER``, a callable a host can replace.

Failed attempts are limited (:class:`skips.throttling.FailedAuthLimit`): email
and password logins per client address and per account
(``SKIPS_FAILED_AUTH_RATE``), API tokens per client address if
``SKIPS_FAILED_TOKEN_RATE`` is set. The limit is checked before the credential
is, so past it every attempt gets 429, right or wrong.
"""

from __future__ import annotations

import hmac
from typing import Any

from django.contrib.auth import authenticate, get_user_model
from django.db import router
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from skips.conf import conf
from skips.serializers.compiled import CompiledQuery
from skips.throttling import FailedAuthLimit

TOKEN_SUFFIX = "/token"


def authtoken_user(key: str) -> Any:
    """The user whose DRF ``authtoken`` token is ``key``, or None.

    One query, compiled to SQL once: it runs at every request.
    """
    from rest_framework.authtoken.models import Token

    users = _TOKEN_OWNER.rows([key], router.db_for_read(Token))
    return users[0] if users else None


def _token_owner(keys: list[str]) -> Any:
    """The user of the token ``keys[0]``, as ``select_related("user")`` of the token reads it."""
    from rest_framework.authtoken.models import Token

    token = Token._meta.get_field("user").related_query_name()
    return get_user_model()._base_manager.filter(**{f"{token}__pk": keys[0]})


_TOKEN_OWNER = CompiledQuery(_token_owner)


def _failed() -> exceptions.AuthenticationFailed:
    # One answer for every failure, so that none tells which part was wrong.
    return exceptions.AuthenticationFailed("Couldn't authenticate you")


def _usable(user: Any) -> bool:
    return user is not None and getattr(user, "is_active", False)


def token_user(request: Request | None, key: str, email: str | None = None) -> Any:
    """The active user of API token ``key`` (read by ``SKIPS_TOKEN_USER``), or None.

    With ``email``, only if the user's email is that one (in any case). Under the
    failed-token limit (``SKIPS_FAILED_TOKEN_RATE``) of the request's address.
    """
    limit = FailedAuthLimit(request, conf.FAILED_TOKEN_RATE, "skips_failed_token")
    limit.check_address()
    try:
        user = conf.TOKEN_USER(key)
    except Exception:
        limit.release()
        raise
    if email is not None:
        user_email = getattr(user, get_user_model().get_email_field_name(), None) or ""
        # Constant time whatever matched.
        if not hmac.compare_digest(user_email.lower().encode(), email.lower().encode()):
            user = None
    if not _usable(user):
        return None
    limit.release()
    return user


class TokenBasicAuthentication(authentication.BasicAuthentication):
    """HTTP Basic with ``{email}/token:{api_token}`` (and email/password if allowed).

    REST framework's ``BasicAuthentication`` reads the header; this class
    decides what the name and the secret prove.
    """

    www_authenticate_realm = "Skips API"

    def authenticate_credentials(
        self, userid: str, password: str, request: Request | None = None
    ) -> tuple[Any, None]:
        if not userid or not password or "\x00" in userid or "\x00" in password:
            raise _failed()
        if userid.endswith(TOKEN_SUFFIX):
            user = self.authenticate_token(userid[: -len(TOKEN_SUFFIX)], password, request)
        elif conf.ALLOW_PASSWORD_AUTH and request is not None:
            user = self.authenticate_password(request, userid, password)
        else:
            user = None
        if not _usable(user):
            raise _failed()
        return user, None

    def authenticate_token(self, email: str, key: str, request: Request | None = None) -> Any:
        """The active user of token ``key`` if their email is ``email``, or None."""
        return token_user(request, key, email)

    def authenticate_password(self, request: Request, email: str, password: str) -> Any:
        """The user with this email and password, through the host's auth backends.

        Under ``SKIPS_FAILED_AUTH_RATE`` per client address and per account. One
        run of the password hasher whatever is wrong: Django's ``ModelBackend``
        runs it for an unknown username, and ``check_password`` for an unusable
        password, so an unknown email (passed on as the username) costs what a
        wrong password costs.
        """
        limit = FailedAuthLimit(request, conf.FAILED_AUTH_RATE, "skips_failed_auth")
        limit.check_address()
        user_model = get_user_model()
        email_field = user_model.get_email_field_name()
        user = None
        # Longer than any email (SQLite would refuse so long a LIKE pattern): nobody's.
        longest = getattr(user_model._meta.get_field(email_field), "max_length", None) or 254
        if len(email) <= longest:
            user = user_model._default_manager.filter(**{f"{email_field}__iexact": email}).first()
        # The account by its primary key where there is one, so that no spelling
        # of its email (case, or accents on a MariaDB collation) counts apart.
        limit.check_account(f"pk:{user.pk}" if user is not None else email.lower())
        # authenticate() runs the password hasher for an unknown user too.
        username = getattr(user, user_model.USERNAME_FIELD) if user else email
        try:
            authenticated = authenticate(
                request._request, **{user_model.USERNAME_FIELD: username, "password": password}
            )
        except Exception:
            limit.release()
            raise
        if authenticated is not None and not self.is_named(authenticated, user, email):
            authenticated = None
        if not _usable(authenticated):
            return None
        limit.release()
        return authenticated

    @staticmethod
    def is_named(authenticated: Any, user: Any, email: str) -> bool:
        """Whether the user a backend answered is the one ``email`` names.

        Not so when a backend found someone else by a username that reads like
        the email: here the email names the account.
        """
        if user is not None:
            return bool(authenticated == user)
        email_field = get_user_model().get_email_field_name()
        return str(getattr(authenticated, email_field, "") or "").lower() == email.lower()


class BearerTokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Bearer {token}``, the token read through ``SKIPS_TOKEN_USER``."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        self.request: Request | None = request
        return super().authenticate(request)

    def authenticate_credentials(self, key: str) -> tuple[Any, None]:
        user = None if "\x00" in key else token_user(getattr(self, "request", None), key)
        if user is None:
            raise _failed()
        return user, None


class SessionAuthentication(authentication.SessionAuthentication):
    """The Django session of a logged-in user; unsafe methods need the CSRF token."""
