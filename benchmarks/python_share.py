"""Python's share of a list page: the server time against replaying its own SQL and JSON.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/skips_bench \\
        python -m benchmarks.python_share [--rounds 30] [--page offset cursor ticket user]
    python -m benchmarks.python_share --profile --page offset     # cProfile top lines
    python -m benchmarks.python_share --queries                   # the SQL of each page

For each list page of 100 skips (``skips.json?per_page=100``, the first cursor
page ``skips.json?page[size]=100``, the busiest ticket's list and the busiest
agent's list), as the data set's supervisor with its API token, it measures in
one interleaved run:

- server: the request through Django's test client (in process, the full
  middleware stack, authentication, permissions, pagination and rendering);
- floor: the very SQL statements that request ran (captured once beforehand,
  text and parameters) run again with a cursor of the same connection and
  ``fetchall()``, plus ``orjson.dumps`` of the very JSON it answered (parsed
  once beforehand).

The ratio server/floor of the medians is what Python costs on top of the
database and the encoding: the goals are 2.0 on PostgreSQL, 3.0 on SQLite.
Django's connection stays open for the whole run (``conn_max_age=None`` in
``benchmarks/settings.py``), so neither side pays a connection. Each round
sends every (page, side) pair once, in a newly shuffled order.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import platform
import pstats
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.common import API, SUPERVISOR, basic_auth, median, percentile, setup_django

#: The goal of server/floor per database vendor.
GOALS = {"postgresql": 2.0, "sqlite": 3.0}
PAGES = ("offset", "cursor", "ticket", "user")


@dataclass
class Page:
    """One list page: its request, and what its floor replays."""

    key: str
    label: str
    path: str
    #: (sql, params) of each statement the request ran, in order.
    statements: list[tuple[str, Any]] = field(default_factory=list)
    #: The answer, parsed: what the floor encodes.
    data: Any = None
    size: int = 0
    skips: int = 0
    server: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    sql: list[float] = field(default_factory=list)
    encode: list[float] = field(default_factory=list)


def pages(ticket_id: int, user_id: int, ticket_skips: int, user_skips: int) -> list[Page]:
    return [
        Page("offset", "GET skips.json?per_page=100", "skips.json?per_page=100"),
        Page("cursor", "GET skips.json?page[size]=100", "skips.json?page[size]=100"),
        Page(
            "ticket",
            f"GET tickets/{{id}}/skips ({ticket_skips:,} skips)",
            f"tickets/{ticket_id}/skips",
        ),
        Page("user", f"GET users/{{id}}/skips ({user_skips:,} skips)", f"users/{user_id}/skips"),
    ]


def busiest(ticket_id: int | None, user_id: int | None) -> tuple[int, int, int, int]:
    """The ticket and the agent with the most listed skips (or the ones given), and their counts."""
    from django.db.models import Count

    from skips.models import Skip

    listed = Skip.objects.filter(ticket__is_archived=False)
    if not listed.exists():
        raise SystemExit("No skips: build the data set first (python -m benchmarks.build_dataset)")
    found = []
    for column, given in (("ticket_id", ticket_id), ("user_id", user_id)):
        if given is not None:
            found.append((given, listed.filter(**{column: given}).count()))
            continue
        found.append(
            listed.values(column).annotate(n=Count("id")).order_by("-n").values_list(column, "n")[0]
        )
    (ticket, ticket_skips), (user, user_skips) = found
    return ticket, user, ticket_skips, user_skips


class Probe:
    """Sends the pages through the test client and replays what they ran."""

    def __init__(self) -> None:
        from django.db import connection
        from django.test import Client

        self.client = Client(HTTP_AUTHORIZATION=basic_auth(SUPERVISOR))
        self.connection = connection

    def get(self, page: Page) -> Any:
        response = self.client.get(API + page.path)
        if response.status_code != 200:
            raise SystemExit(f"GET {page.path}: {response.status_code} {response.content[:300]!r}")
        return response

    def capture(self, page: Page) -> None:
        """Record the statements of one request of ``page`` and its parsed answer."""
        statements: list[tuple[str, Any]] = []

        def record(
            execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
        ) -> Any:
            if many:
                raise SystemExit(f"GET {page.path} ran executemany(): not a list page")
            statements.append((sql, params))
            return execute(sql, params, many, context)

        self.get(page)  # warm: nothing first-time is captured
        with self.connection.execute_wrapper(record):
            response = self.get(page)
        page.statements = statements
        page.data = json.loads(response.content)
        page.size = len(response.content)
        page.skips = len(page.data.get("skips", ()))

    def time_server(self, page: Page) -> float:
        started = time.perf_counter_ns()
        self.get(page)
        elapsed = (time.perf_counter_ns() - started) / 1e6
        page.server.append(elapsed)
        return elapsed

    def time_floor(self, page: Page) -> float:
        import orjson

        started = time.perf_counter_ns()
        with self.connection.cursor() as cursor:
            for sql, params in page.statements:
                cursor.execute(sql, params)
                cursor.fetchall()
        replayed = time.perf_counter_ns()
        orjson.dumps(page.data)
        ended = time.perf_counter_ns()
        page.sql.append((replayed - started) / 1e6)
        page.encode.append((ended - replayed) / 1e6)
        page.floor.append((ended - started) / 1e6)
        return page.floor[-1]


def run_rounds(probe: Probe, chosen: Sequence[Page], rounds: int, warmup: int, seed: int) -> None:
    pairs = [(page, side) for page in chosen for side in ("server", "floor")]
    rng = random.Random(seed)
    for number in range(warmup + rounds):
        rng.shuffle(pairs)
        for page, side in pairs:
            (probe.time_server if side == "server" else probe.time_floor)(page)
        if number < warmup:
            for page in chosen:
                page.server.clear()
                page.floor.clear()
                page.sql.clear()
                page.encode.clear()


def table(chosen: Sequence[Page], goal: float | None) -> str:
    lines = [
        "| page | skips | queries | server ms (p95) | floor ms (p95) | SQL ms | JSON ms"
        " | server/floor | goal |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for page in chosen:
        ratio = median(page.server) / median(page.floor)
        verdict = "n/a" if goal is None else f"<= {goal}: {'met' if ratio <= goal else 'NOT met'}"
        lines.append(
            f"| {page.label} | {page.skips} | {len(page.statements)}"
            f" | {median(page.server):.2f} ({percentile(page.server, 0.95):.2f})"
            f" | {median(page.floor):.2f} ({percentile(page.floor, 0.95):.2f})"
            f" | {median(page.sql):.2f} | {median(page.encode):.3f} | {ratio:.2f} | {verdict} |"
        )
    return "\n".join(lines)


def describe(skips: int, rounds: int, warmup: int, ticket_id: int, user_id: int) -> str:
    import django
    import rest_framework
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            version = f"PostgreSQL {cursor.fetchone()[0]} ({connection.settings_dict['NAME']})"
        elif connection.vendor == "sqlite":
            cursor.execute("SELECT sqlite_version()")
            version = f"SQLite {cursor.fetchone()[0]} ({connection.settings_dict['NAME']})"
        else:
            version = connection.vendor
    return (
        f"{version}; {skips:,} skips; Python {platform.python_version()},"
        f" Django {django.get_version()}, DRF {rest_framework.VERSION};"
        f" {rounds} rounds after {warmup} warm-up rounds, order shuffled each round;"
        f" ticket {ticket_id}, user {user_id}"
    )


def profile(probe: Probe, chosen: Sequence[Page], requests: int, limit: int) -> None:
    """Where the server time of ``requests`` requests of each page goes."""
    for page in chosen:
        for _ in range(5):
            probe.get(page)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests):
            probe.get(page)
        profiler.disable()
        for order in ("tottime", "cumulative"):
            print(f"\n## {page.label}: {requests} requests, top {limit} by {order}\n")
            stats = pstats.Stats(profiler, stream=sys.stdout)
            stats.strip_dirs().sort_stats(order).print_stats(limit)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.python_share", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--rounds", type=int, default=30, help="timed rounds (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first (default 3)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the shuffled order")
    parser.add_argument(
        "--page", nargs="+", choices=PAGES, default=list(PAGES), help="pages to probe (all)"
    )
    parser.add_argument("--ticket-id", type=int, help="the ticket's list (default: the busiest)")
    parser.add_argument("--user-id", type=int, help="the agent's list (default: the busiest)")
    parser.add_argument("--queries", action="store_true", help="print each page's statements")
    parser.add_argument(
        "--profile", action="store_true", help="instead of timing, print a cProfile of each page"
    )
    parser.add_argument("--requests", type=int, default=200, help="requests to profile")
    parser.add_argument("--top", type=int, default=25, help="profile lines to print")
    args = parser.parse_args(argv)

    setup_django()
    from django.db import connection

    from skips.models import Skip

    ticket_id, user_id, ticket_skips, user_skips = busiest(args.ticket_id, args.user_id)
    chosen = [p for p in pages(ticket_id, user_id, ticket_skips, user_skips) if p.key in args.page]
    probe = Probe()
    for page in chosen:
        probe.capture(page)
    if args.profile:
        profile(probe, chosen, args.requests, args.top)
        return 0
    setup = describe(Skip.objects.count(), args.rounds, args.warmup, ticket_id, user_id)
    print(f"# Python's share of a list page\n\n{setup}\n")
    if args.queries:
        for page in chosen:
            print(f"## {page.label}: {len(page.statements)} statements\n")
            for sql, params in page.statements:
                print(f"- `{sql}` {list(params or ())!r}")
            print()
    run_rounds(probe, chosen, args.rounds, args.warmup, args.seed)
    print(table(chosen, GOALS.get(connection.vendor)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
