"""How API clients prove who they are, as the reference service's clients do.

- :class:`TokenBasicAuthentication`: HTTP Basic with ``{email}/token`` and an
  API token as the password (``curl -u you@example.com/token:TOKEN``); with
  ``SKIPS_ALLOW_PASSWORD_AUTH``, also ``{email}`` and the account password.
- :class:`BearerTokenAuthentication`: ``Authorization: Bearer TOKEN``.
- :class:`SessionAuthentication`: the logged-in session (browsable API, admin).

Tokens are DRF's ``authtoken`` tokens (``manage.py drf_create_token``), read
through ``SKIPS_TOKEN_USER``, a callable a host can replace.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

from django.contrib.auth import authenticate, get_user_model
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from skips.conf import conf

TOKEN_SUFFIX = "/token"


def authtoken_user(key: str) -> Any:
    """The active user whose DRF ``authtoken`` token is ``key``, or None."""
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    return token.user if token is not None else None


def _failed() -> exceptions.AuthenticationFailed:
    # One answer for every failure, so that none tells which part was wrong.
    return exceptions.AuthenticationFailed("Couldn't authenticate you")


def _usable(user: Any) -> bool:
    return user is not None and getattr(user, "is_active", False)


class TokenBasicAuthentication(authentication.BaseAuthentication):
    """HTTP Basic with ``{email}/token:{api_token}`` (and email/password if allowed)."""

    www_authenticate_realm = "Skips API"

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != b"basic":
            return None
        if len(header) != 2:
            raise _failed()
        try:
            decoded = base64.b64decode(header[1], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as e:
            raise _failed() from e
        name, sep, secret = decoded.partition(":")
        if not sep or not name or not secret or "\x00" in decoded:
            raise _failed()
        if name.endswith(TOKEN_SUFFIX):
            user = self.authenticate_token(name[: -len(TOKEN_SUFFIX)], secret)
        elif conf.ALLOW_PASSWORD_AUTH:
            user = self.authenticate_password(request, name, secret)
        else:
            user = None
        if not _usable(user):
            raise _failed()
        return user, None

    def authenticate_token(self, email: str, key: str) -> Any:
        """The user of token ``key`` if their email is ``email``."""
        user = conf.TOKEN_USER(key)
        user_email = getattr(user, get_user_model().get_email_field_name(), None) or ""
        # Constant time whatever matched.
        if hmac.compare_digest(user_email.lower().encode(), email.lower().encode()):
            return user
        return None

    def authenticate_password(self, request: Request, email: str, password: str) -> Any:
        """The user with this email and password, through the host's auth backends."""
        user_model = get_user_model()
        email_field = user_model.get_email_field_name()
        user = user_model._default_manager.filter(**{f"{email_field}__iexact": email}).first()
        # authenticate() runs the password hasher for an unknown user too.
        username = getattr(user, user_model.USERNAME_FIELD) if user else email
        return authenticate(
            request._request, **{user_model.USERNAME_FIELD: username, "password": password}
        )

    def authenticate_header(self, request: Request) -> str:
        return f'Basic realm="{self.www_authenticate_realm}"'


class BearerTokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Bearer {token}``, the token read through ``SKIPS_TOKEN_USER``."""

    keyword = "Bearer"

    def authenticate_credentials(self, key: str) -> tuple[Any, None]:
        user = conf.TOKEN_USER(key) if "\x00" not in key else None
        if not _usable(user):
            raise _failed()
        return user, None


class SessionAuthentication(authentication.SessionAuthentication):
    """The Django session of a logged-in user; unsafe methods need the CSRF token."""
