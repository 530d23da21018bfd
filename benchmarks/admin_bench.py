"""Time the skips admin on PostgreSQL with 1,000 and with 1,000,000 skips.

    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE skips_bench_admin'
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/skips_bench_admin \\
        .venv/bin/python benchmarks/admin_bench.py --rows 1000000
    psql -h 127.0.0.1 -U postgres -c 'DROP DATABASE skips_bench_admin'

Both data sets live in the one scratch database, each in its own schema
(``bench_small`` and ``bench_large``, made with the example project's
migrations), so that every page can be timed on both in turn: each round
times each page once per size, in alternating order, and the table shows
medians. The data sets differ only in the number of skips (same agents, same
tickets, same spread over a year, ids in time order); they are filled with
one ``INSERT ... SELECT`` over ``generate_series`` each, then vacuumed and
analysed. A second run reuses them (``--rebuild`` makes them again).

Requests go through Django's test client, logged in as a superuser, with the
example project's settings (DEBUG off): the whole admin stack, templates
included, and no network.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = {"small": "bench_small", "large": "bench_large"}
AGENTS = 200
TICKETS = 20_000
DAYS = 365
SEARCH = "printer"
SUBJECTS = (
    "Printer on fire",
    "Invoice charged twice",
    "Cannot log in with SSO",
    "Export to CSV times out",
    "Refund for order",
    "Shipping label missing",
    "Dark mode request",
    "API returns 429",
    "Password reset email never arrives",
    "Calendar sync shows wrong time zone",
    "Mobile app crashes on start",
    "Upgrade to the business plan",
    "Customs documents for shipment",
    "Two-factor codes rejected",
    "Webhook retries flood our server",
    "Report totals do not match",
    "Need a copy of last year's invoices",
    "User roles and permissions",
    "Data deletion request",
    "Slow dashboard since Monday",
)
REASONS = (
    "I have no idea.",
    "I am lost.",
    "Not my language",
    "Out of my product area",
    "Needs a manager's approval",
    "Shipping team should take this",
    "Duplicate of another ticket I'm on",
    "Going on break",
    "Waiting on engineering",
    "Customer asked for a specific agent",
    "Requires admin rights on the account",
    "The printer thing again, someone else please",
)
#: Goal: the 1M/1k ratio of these pages is at most this.
RATIO_GOAL = 2.0


def setup_django() -> None:
    """The example project's settings, without debugging, on one lasting connection."""
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "example_project.settings"
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmarks-only-not-secret")
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("DATABASE_URL must name a scratch PostgreSQL database (see the docstring).")
    database["CONN_MAX_AGE"] = None  # a reconnect inside a timed request would be noise

    import django

    django.setup()


class Schemas:
    """Points the connection at one data set's schema, now and after any reconnect."""

    def __init__(self) -> None:
        from django.db.backends.signals import connection_created

        self.current = "public"
        connection_created.connect(self._on_connect, weak=False)

    def _on_connect(self, sender: Any, connection: Any, **kwargs: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f'SET search_path TO "{self.current}"')

    def use(self, size: str) -> None:
        from django.db import connection

        self.current = SCHEMAS[size]
        with connection.cursor() as cursor:
            cursor.execute(f'SET search_path TO "{self.current}"')

    @staticmethod
    def exists(size: str) -> bool:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = %s AND tablename = 'skips_skip'",
                [SCHEMAS[size]],
            )
            return bool(cursor.fetchone()[0])


def execute(sql: str, params: Any = None) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def build(schemas: Schemas, size: str, skips: int) -> float:
    """Make the data set's schema, migrate it, fill it; return the seconds it took."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    started = time.perf_counter()
    schema = SCHEMAS[size]
    schemas.current = "public"
    execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    execute(f'CREATE SCHEMA "{schema}"')
    schemas.use(size)
    call_command("migrate", verbosity=0)
    get_user_model()._default_manager.create_superuser("bench-admin", "admin@bench.example", "x")
    execute(
        """
        INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
                               is_staff, is_active, date_joined)
        SELECT '!', false, 'bench-agent-' || g, 'Agent', 'Number ' || g,
               'agent' || g || '@bench.example', false, true, now()
        FROM generate_series(1, %s) g
        """,
        [AGENTS],
    )
    execute(
        """
        WITH a AS (SELECT array_agg(id ORDER BY id) AS ids FROM auth_user
                   WHERE username LIKE 'bench-agent-%%')
        INSERT INTO helpdesk_ticket (
            subject, raw_subject, description, status, requester_id, submitter_id,
            via_channel, from_messaging_channel, satisfaction_score, satisfaction_comment,
            is_archived, created_at, updated_at)
        SELECT s.subjects[1 + g %% array_length(s.subjects, 1)] || ' (' || g || ')', '',
               'Ticket ' || g, 'open', a.ids[1 + g %% %s], a.ids[1 + g %% %s],
               'web', false, '', '', g %% 33 = 0, now(), now()
        FROM generate_series(1, %s) g, a, (SELECT %s::text[] AS subjects) s
        """,
        [AGENTS, AGENTS, TICKETS, list(SUBJECTS)],
    )
    execute(
        """
        WITH a AS (SELECT array_agg(id ORDER BY id) AS ids FROM auth_user
                   WHERE username LIKE 'bench-agent-%%'),
             t AS (SELECT min(id) AS lo, max(id) AS hi FROM helpdesk_ticket),
             r AS (SELECT %s::text[] AS reasons),
             s AS (SELECT now() - random() * interval '1 day' * %s AS at,
                          random() AS pick_ticket, random() AS pick_agent,
                          random() AS pick_reason
                   FROM generate_series(1, %s))
        INSERT INTO skips_skip (ticket_id, user_id, reason, created_at, updated_at)
        SELECT t.lo + floor(power(s.pick_ticket, 2) * (t.hi - t.lo + 1))::bigint,
               a.ids[1 + floor(power(s.pick_agent, 1.5) * array_length(a.ids, 1))::int],
               CASE WHEN s.pick_reason < 0.45 THEN ''
                    ELSE r.reasons[1 + floor((s.pick_reason - 0.45) / 0.55
                                             * array_length(r.reasons, 1))::int] END,
               s.at, s.at
        FROM s, a, t, r
        ORDER BY s.at
        """,
        [list(REASONS), DAYS, skips],
    )
    for table in ("auth_user", "helpdesk_ticket", "skips_skip"):
        execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started


@dataclass
class Page:
    """A page to time: a name, its URL (worked out per data set) and whether it streams."""

    name: str
    url: Callable[[], str]
    goal: bool = False
    streams: bool = False


def pages() -> list[Page]:
    from django.utils import timezone

    today = timezone.localdate()
    week = f"created_from={today - datetime.timedelta(days=6)}&created_to={today}"
    admin = "/admin/skips/skip/"
    return [
        Page("changelist", lambda: admin, goal=True),
        Page("filtered: past 7 days", lambda: f"{admin}?{week}", goal=True),
        Page("filtered: one agent", lambda: f"{admin}?user__id__exact={top_agent()}", goal=True),
        Page("filtered: has a reason", lambda: f"{admin}?has_reason=yes", goal=True),
        Page("filtered: archived hidden", lambda: f"{admin}?archived=hide", goal=True),
        Page("date drill-down: this month", lambda: f"{admin}?{this_month()}", goal=True),
        Page(f"search {SEARCH!r}", lambda: f"{admin}?q={SEARCH}"),
        Page("report (30 days)", lambda: f"{admin}report/"),
        Page("CSV export, past 7 days", lambda: f"{admin}export/?{week}", streams=True),
        Page("CSV export, everything", lambda: f"{admin}export/", streams=True),
    ]


def top_agent() -> int:
    from skips.models import Skip

    skip = Skip.objects.order_by("user_id").first()  # the skew makes the first agent busiest
    return skip.user_id if skip else 0


def this_month() -> str:
    from django.utils import timezone

    today = timezone.localdate()
    return f"created_at__year={today.year}&created_at__month={today.month}"


@dataclass
class Timing:
    """One request: seconds in all, seconds in database statements, rows shown."""

    seconds: float
    database: float
    rows: int | None


class DatabaseClock:
    """Adds up the time spent executing SQL statements (``connection.execute_wrapper``)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


def fetch(client: Any, url: str, streams: bool) -> Timing:
    """Time ``url``, its whole body read; count the skips it shows (rows or CSV lines)."""
    from django.db import connection

    clock = DatabaseClock()
    with connection.execute_wrapper(clock):
        started = time.perf_counter()
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code}")
        if streams:  # read chunk by chunk, as a client would: never the whole file at once
            lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
        else:
            body = response.content
        seconds = time.perf_counter() - started
    if streams:
        rows: int | None = lines - 1  # the header; the data set's reasons have no newline
    elif b'id="result_list"' in body:
        rows = body.count(b'class="action-select"')
    else:
        rows = None
    return Timing(seconds, clock.seconds, rows)


def clients(schemas: Schemas) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    made = {}
    for size in SCHEMAS:
        schemas.use(size)
        client = Client()
        client.force_login(get_user_model()._default_manager.get(username="bench-admin"))
        made[size] = client
    return made


def query_counts(schemas: Schemas, clients: dict[str, Any], page: Page) -> dict[str, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for size, client in clients.items():
        schemas.use(size)
        url = page.url()
        with CaptureQueriesContext(connection) as queries:
            fetch(client, url, page.streams)
        counts[size] = len(queries)
    return counts


def explain(schemas: Schemas, clients: dict[str, Any], page: Page, plans: bool) -> None:
    """Each query of ``page`` on the large set, with PostgreSQL's own timing of it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    schemas.use("large")
    with CaptureQueriesContext(connection) as queries:
        fetch(clients["large"], page.url(), page.streams)
    print(f"\n== {page.name}: {page.url()}")
    for query in queries.captured_queries:
        sql = query["sql"]
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            lines = [row[0] for row in cursor.fetchall()]
        timing = next((line for line in reversed(lines) if "Execution Time" in line), "")
        print(f"  {timing.strip():<32} {sql[:150]}")
        if plans:
            print("\n".join("      " + line for line in lines))


def export_memory(schemas: Schemas, clients: dict[str, Any]) -> dict[str, float]:
    """Peak Python memory (MiB) of streaming the whole CSV export, per data set."""
    peaks = {}
    for size, client in clients.items():
        schemas.use(size)
        tracemalloc.start()
        fetch(client, "/admin/skips/skip/export/", True)
        peaks[size] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return peaks


def interleaved(
    schemas: Schemas, clients: dict[str, Any], page: Page, repeats: int
) -> Iterator[tuple[str, Timing]]:
    """Each round times the page on both sets, in alternating order."""
    sizes = list(SCHEMAS)
    for i in range(repeats):
        for size in sizes if i % 2 == 0 else reversed(sizes):
            schemas.use(size)
            yield size, fetch(clients[size], page.url(), page.streams)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="skips of the large set")
    parser.add_argument("--small", type=int, default=1_000, help="skips of the small set")
    parser.add_argument("--repeats", type=int, default=15, help="timed rounds per page")
    parser.add_argument("--export-repeats", type=int, default=3, help="rounds of a full export")
    parser.add_argument("--rebuild", action="store_true", help="make both data sets again")
    parser.add_argument("--drop", action="store_true", help="drop both schemas at the end")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print each page's queries on the large set with their time, and stop",
    )
    parser.add_argument("--plans", action="store_true", help="with --explain: the plans too")
    args = parser.parse_args(argv)

    setup_django()
    from django.db import connection

    from skips.models import Skip

    schemas = Schemas()
    for size, rows in (("small", args.small), ("large", args.rows)):
        if args.rebuild or not Schemas.exists(size):
            print(f"building {size}: {rows:,} skips ...", flush=True)
            print(f"  built in {build(schemas, size, rows):.1f} s", flush=True)
        schemas.use(size)
        print(f"{size}: {Skip.objects.count():,} skips in schema {SCHEMAS[size]}", flush=True)

    web = clients(schemas)
    if args.explain:
        for page in pages():
            if not page.name.startswith("CSV export, everything"):
                explain(schemas, web, page, args.plans)
        return 0
    for page in pages():  # warm up: templates, caches, the database's buffers
        for size in SCHEMAS:
            schemas.use(size)
            fetch(web[size], page.url(), page.streams)

    header = (
        f"{'page':<29} {'rows 1k/1M':>14} {'1k ms':>8} {'1M ms':>9} {'ratio':>7}"
        f" {'db ms 1k/1M':>14} {'queries':>8}  goal"
    )
    print(f"\n{header}\n{'-' * len(header)}", flush=True)
    for page in pages():
        repeats = args.export_repeats if page.name == "CSV export, everything" else args.repeats
        runs: dict[str, list[Timing]] = {size: [] for size in SCHEMAS}
        for size, timing in interleaved(schemas, web, page, repeats):
            runs[size].append(timing)
        total = {size: statistics.median(t.seconds for t in runs[size]) * 1000 for size in runs}
        database = {size: statistics.median(t.database for t in runs[size]) * 1000 for size in runs}
        rows = {size: runs[size][0].rows for size in runs}
        counts = query_counts(schemas, web, page)
        ratio = total["large"] / total["small"]
        verdict = "ok" if ratio <= RATIO_GOAL else "MISSED"
        goal = f"{verdict} (<= {RATIO_GOAL:g})" if page.goal else ""
        shown = f"{rows['small']:,}/{rows['large']:,}" if rows["small"] is not None else "-"
        print(
            f"{page.name:<29} {shown:>14} {total['small']:>8.1f} {total['large']:>9.1f}"
            f" {ratio:>7.2f} {database['small']:>6.1f}/{database['large']:<7.1f}"
            f" {counts['small']:>4}/{counts['large']:<3}  {goal}",
            flush=True,
        )

    peaks = export_memory(schemas, web)
    print(
        f"\npeak Python memory of the full CSV export: {peaks['small']:.1f} MiB at 1k, "
        f"{peaks['large']:.1f} MiB at 1M"
    )
    print(f"PostgreSQL {connection.pg_version // 10000}, {args.repeats} rounds, medians")

    if args.drop:
        schemas.current = "public"
        for schema in SCHEMAS.values():
            execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
