"""What the benchmark scripts share: Django set-up, the data set's names, statistics."""

from __future__ import annotations

import hashlib
import math
import os
import statistics
from collections.abc import Sequence

#: Every row the data set builder makes is named with this prefix.
PREFIX = "bench-"
#: The benchmark's caller: an agent with reports access (reads every skip).
SUPERVISOR = f"{PREFIX}supervisor"
#: The API prefix of the shipped app; the other two copies sit under their own prefix.
API = "/api/v2/"
MOUNTS = {"shipped": API, "drf": f"/drf{API}", "floor": f"/floor{API}"}
IMPLEMENTATIONS = tuple(MOUNTS)


def setup_django() -> None:
    """Configure Django with the benchmark settings (unless told otherwise) and load it."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    import django

    django.setup()


def bench_token(username: str) -> str:
    """The fixed API token of a data set user: public, for a local benchmark database only."""
    return hashlib.sha1(f"skips-bench-{username}".encode()).hexdigest()


def bench_email(username: str) -> str:
    return f"{username}@bench.example.com"


def basic_auth(username: str) -> str:
    """The ``Authorization`` header value of ``username``'s API token, as clients send it."""
    import base64

    raw = f"{bench_email(username)}/token:{bench_token(username)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (``fraction`` in 0..1)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)
