"""Optional rate limits of the skips API, per user.

Off unless ``SKIPS_THROTTLE_RATE`` is set (a REST framework rate such as
``"700/min"``). While on, a throttled request gets 429 with ``Retry-After``,
and every answer carries ``X-Rate-Limit`` and ``X-Rate-Limit-Remaining``.
Counts live in Django's default cache: use a shared cache (Redis, Memcached)
when several processes serve the API.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from skips.conf import conf

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"700/min"`` as (700, 60); a ValueError for anything that is not a rate."""
    count, _, period = rate.partition("/")
    if not (count.isascii() and count.isdigit()) or int(count) < 1 or period[:1] not in PERIODS:
        raise ValueError(f"not a rate: {rate!r}")
    return int(count), PERIODS[period[0]]


class SkipsRateThrottle(SimpleRateThrottle):
    """``SKIPS_THROTTLE_RATE`` requests per user (per address for anonymous ones)."""

    scope = "skips"

    def get_rate(self) -> str | None:
        return conf.THROTTLE_RATE

    def parse_rate(self, rate: str | None) -> tuple[int, int]:
        return parse_rate(rate) if rate else (0, 1)

    def get_cache_key(self, request: Request, view: Any) -> str:
        user = request.user
        ident = user.pk if user and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def rate_limit_headers(self) -> dict[str, str]:
        """``X-Rate-Limit`` and ``X-Rate-Limit-Remaining`` after this request."""
        limit, _ = self.parse_rate(self.rate)
        used = len(getattr(self, "history", ()))
        return {"X-Rate-Limit": str(limit), "X-Rate-Limit-Remaining": str(max(0, limit - used))}
