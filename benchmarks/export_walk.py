"""The incremental export and the retention purge, in rows per second.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/skips_bench \\
        python -m benchmarks.export_walk --skips 100000 [--per-page 1000] [--batch-size 1000]

Run by hand, on a scratch database: the purge deletes the data set's skips.

1. Builds (or tops up) the data set with :mod:`benchmarks.build_dataset`
   (``--skips`` skips), empties the tombstones, and makes ``bench-exporter``,
   a data team's account holding ``skips.export_skip`` with an API token.
2. Walks the whole export from ``start_time=0`` through the test client, as a
   connector does (``after_url`` until ``end_of_stream``; no horizon, no rate
   limit): rows per second, and the median and slowest page.
3. Purges every skip (``purge_skips --older-than 1 --batch-size N``, skips of
   the last day aside): rows per second, tombstones included.
4. Walks the export again: now mostly tombstones.

Every page of a walk is checked to follow the previous one in ``updated_at``
order (whole seconds on the wire; items are ordered by the microsecond, then
``id``), and every walk to hold each row once.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from io import StringIO

from benchmarks.common import PREFIX, basic_auth, bench_email, bench_token, setup_django

EXPORTER = f"{PREFIX}exporter"
EXPORT = "/api/v2/incremental/skips/cursor.json"


@dataclass
class Walk:
    rows: int
    tombstones: int
    pages: int
    seconds: float
    page_ms: list[float]

    def report(self, name: str) -> str:
        ordered = sorted(self.page_ms)
        return (
            f"{name}: {self.rows:,} rows ({self.tombstones:,} tombstones) in {self.pages:,} pages,"
            f" {self.seconds:.2f}s: {self.rows / self.seconds:,.0f} rows/s;"
            f" page median {statistics.median(ordered):.1f} ms, slowest {ordered[-1]:.1f} ms"
        )


def make_exporter() -> None:
    """``bench-exporter``: ``skips.export_skip`` and an API token, nothing else."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from rest_framework.authtoken.models import Token

    user, _ = get_user_model()._default_manager.get_or_create(
        username=EXPORTER, defaults={"email": bench_email(EXPORTER), "password": "!"}
    )
    user.user_permissions.set([Permission.objects.get(codename="export_skip")])
    Token.objects.filter(user=user).exclude(key=bench_token(EXPORTER)).delete()
    Token.objects.get_or_create(user=user, key=bench_token(EXPORTER))


def walk(per_page: int) -> Walk:
    """The whole export, from the start, as a connector walks it."""
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=basic_auth(EXPORTER))
    url = f"{EXPORT}?start_time=0&per_page={per_page}"
    rows = tombstones = pages = 0
    seen: set[tuple[int, bool]] = set()
    last: str | None = None  # the wire's whole seconds: within one, ids may go down
    page_ms: list[float] = []
    started = time.perf_counter()
    while True:
        before = time.perf_counter()
        response = client.get(url)
        page_ms.append((time.perf_counter() - before) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code} {response.content[:300]!r}")
        body = response.json()
        pages += 1
        for item in body["skips"]:
            deleted = item["deleted_at"] is not None
            key = (item["updated_at"], item["id"], deleted)
            if last is not None and item["updated_at"] < last:
                raise SystemExit(f"out of order: {key} after {last}")
            if (item["id"], deleted) in seen:
                raise SystemExit(f"twice: {key}")
            seen.add((item["id"], deleted))
            last = item["updated_at"]
            rows += 1
            tombstones += deleted
        if body["end_of_stream"]:
            break
        url = body["after_url"]
    return Walk(rows, tombstones, pages, time.perf_counter() - started, page_ms)


def purge(batch_size: int) -> tuple[int, float]:
    """``purge_skips`` of every skip older than a day: (skips deleted, seconds)."""
    from django.core.management import call_command

    from skips.models import Skip, SkipTombstone

    before = Skip.objects.count()
    started = time.perf_counter()
    call_command(
        "purge_skips", "--older-than", "1", "--batch-size", str(batch_size), stdout=StringIO()
    )
    seconds = time.perf_counter() - started
    deleted = before - Skip.objects.count()
    assert SkipTombstone.objects.count() >= deleted
    return deleted, seconds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.export_walk", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--skips", type=int, default=100_000, help="skips (default 100,000)")
    parser.add_argument("--per-page", type=int, default=1000, help="export page (default 1000)")
    parser.add_argument("--batch-size", type=int, default=1000, help="purge batch (default 1000)")
    parser.add_argument("--tickets", type=int, default=10_000, help="tickets (default 10,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fresh", action="store_true", help="rebuild the data set first")
    args = parser.parse_args(argv)
    setup_django()

    from django.conf import settings
    from django.db import connection

    from benchmarks.build_dataset import Counts, DatasetBuilder
    from skips.models import SkipTombstone

    # The walks read everything at once: no horizon, no rate limit.
    settings.SKIPS_EXPORT_HORIZON_SECONDS = 0
    settings.SKIPS_EXPORT_THROTTLE_RATE = None
    settings.SKIPS_THROTTLE_RATE = None
    counts = Counts(skips=args.skips, tickets=args.tickets, agents=200, end_users=2_000)
    DatasetBuilder(counts, args.seed).build(args.fresh)
    SkipTombstone.objects.all().delete()
    make_exporter()
    if connection.vendor in ("postgresql", "sqlite"):
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"database: {connection.vendor}; per_page={args.per_page}")
    print(walk(args.per_page).report("walk of the skips"), flush=True)
    deleted, seconds = purge(args.batch_size)
    print(
        f"purge_skips --batch-size {args.batch_size}: {deleted:,} skips (and their tombstones)"
        f" in {seconds:.2f}s: {deleted / seconds:,.0f} rows/s",
        flush=True,
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(walk(args.per_page).report("walk after the purge"), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
