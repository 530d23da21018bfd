"""Rate limits of the skips API.

- :class:`SkipsRateThrottle`: requests per user, off unless
  ``SKIPS_THROTTLE_RATE`` is set (a REST framework rate such as ``"700/min"``).
  While on, a throttled request gets 429 with ``Retry-After``, and every answer
  carries ``X-Rate-Limit`` and ``X-Rate-Limit-Remaining``.
- :class:`FailedAuthLimit`: failed authentications per client address and per
  account (``SKIPS_FAILED_AUTH_RATE`` for passwords, on by default;
  ``SKIPS_FAILED_TOKEN_RATE`` for API tokens, off by default), checked by the
  authentication classes before the credential is.

Counts live in Django's default cache: use a shared cache (Redis, Memcached)
when several processes serve the API.
"""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle, UserRateThrottle

from skips.conf import conf
from skips.exceptions import TooManyFailedAttempts

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"700/min"`` as (700, 60); a ValueError for anything that is not a rate."""
    count, _, period = rate.partition("/")
    if not (count.isascii() and count.isdigit()) or int(count) < 1 or period[:1] not in PERIODS:
        raise ValueError(f"not a rate: {rate!r}")
    return int(count), PERIODS[period[0]]


class SkipsRateThrottle(UserRateThrottle):
    """``SKIPS_THROTTLE_RATE`` requests per user (per address for anonymous ones)."""

    scope = "skips"

    def get_rate(self) -> str | None:
        return conf.THROTTLE_RATE

    def parse_rate(self, rate: str | None) -> tuple[int, int]:
        return parse_rate(rate) if rate else (0, 1)

    def rate_limit_headers(self) -> dict[str, str]:
        """``X-Rate-Limit`` and ``X-Rate-Limit-Remaining`` after this request."""
        limit, _ = self.parse_rate(self.rate)
        used = len(getattr(self, "history", ()))
        return {"X-Rate-Limit": str(limit), "X-Rate-Limit-Remaining": str(max(0, limit - used))}


class FailedAuthThrottle(SimpleRateThrottle):
    """Failed authentications of one client address or account, in fixed windows.

    Unlike :class:`SkipsRateThrottle`, it counts attempts, not requests, and it
    counts them *before* the credential is checked: :meth:`acquire` takes a
    place in the current window (atomically, with the cache's ``incr``), the
    check runs, and :meth:`release` gives the place back when the credential
    was right. So a burst of parallel guesses gets no more checks than the
    limit, and once the window is full every attempt, right or wrong, is
    refused until it ends: a right guess cannot be told from a wrong one by
    getting through. REST framework's own history list is not used for this:
    two parallel requests can read the same history and both go through.

    The window is fixed (``duration`` seconds from a multiple of it), so over
    two windows' boundary an attacker may get twice the limit at most. The
    cache key holds a hash of the ident, never the address or name itself.
    """

    scope = "skips_failed_auth"

    def __init__(self, rate: str, scope: str, ident: str) -> None:
        # No super().__init__(): the rate is given, not read from DEFAULT_THROTTLE_RATES.
        self.rate = rate
        self.num_requests, self.duration = parse_rate(rate)
        self.scope = scope
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_end = (window + 1) * self.duration
        digest = hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()
        self.key = self.cache_format % {"scope": scope, "ident": f"{digest[:32]}_{window}"}
        self.held = False

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.key

    def acquire(self) -> bool:
        """Take a place in the window; False when the limit was already reached."""
        timeout = int(self.window_end - self.now) + 1
        self.cache.add(self.key, 0, timeout)
        try:
            count = self.cache.incr(self.key)
        except ValueError:  # the key expired between add() and incr()
            self.cache.set(self.key, 1, timeout)
            count = 1
        self.held = True
        return count <= self.num_requests

    def release(self) -> None:
        """Give the place back: the attempt did not fail (or was not made)."""
        if self.held:
            self.held = False
            with contextlib.suppress(ValueError):  # the window has ended meanwhile
                self.cache.decr(self.key)

    def wait(self) -> float:
        """Seconds until the window ends."""
        return max(1.0, self.window_end - self.timer())


class FailedAuthLimit:
    """The failed-authentication limits one credential check is under.

    Call :meth:`check_address` (and :meth:`check_account`) before the
    credential is checked: they raise
    :class:`~skips.exceptions.TooManyFailedAttempts` when the limit is reached.
    Then call :meth:`release` if the credential was right (or could not be
    checked: the database failed). A ``rate`` of None, or no request, limits
    nothing.
    """

    def __init__(self, request: Request | None, rate: str | None, scope: str) -> None:
        self.request = request
        self.rate = rate if request is not None else None
        self.scope = scope
        self.throttles: list[FailedAuthThrottle] = []

    def check_address(self) -> None:
        """Count an attempt from the client's address, as REST framework's throttles
        see it (``REMOTE_ADDR``, or ``X-Forwarded-For`` by ``NUM_PROXIES``)."""
        if self.rate is not None and self.request is not None:
            self.check("address", str(BaseThrottle().get_ident(self.request)))

    def check_account(self, ident: str) -> None:
        """Count an attempt on the account ``ident`` names."""
        self.check("account", ident)

    def check(self, kind: str, ident: str) -> None:
        """Count an attempt of ``ident`` (``kind`` is "address" or "account")."""
        if self.rate is None:
            return
        throttle = FailedAuthThrottle(self.rate, f"{self.scope}_{kind}", ident)
        self.throttles.append(throttle)
        if not throttle.acquire():
            self.release()  # no credential is checked: this attempt counts nowhere
            raise TooManyFailedAttempts(wait=throttle.wait())

    def release(self) -> None:
        """The attempt did not fail: give back every place it took."""
        for throttle in self.throttles:
            throttle.release()
        self.throttles = []
