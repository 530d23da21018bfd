"""How the shipped list pages cost at the start, the middle and the end of a long list.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/skips_bench \\
        python -m benchmarks.depth_probe [--repeat 5] [--plans]

For each list (``skips``, ``tickets/{id}/skips`` of the ticket with the most
skips, ``users/{id}/skips`` of the agent with the most) and each sort order it
times the cursor page (``page[size]=100``) at the start of the list, at its
middle and at its end, the first offset page (``per_page=100``, which counts
the whole list) and the deepest offset page the API allows
(``per_page=100&page=100``). Times are medians of ``--repeat`` requests through
the test client, as the data set's supervisor.

The cursors of the middle and the end are made with the shipped cursor encoder
(``skips.pagination.encode_cursor`` bound to the request by
``skips.pagination.cursor_scope``): walking a million rows page by page would
take hours. Each such page is checked to start right after the row the cursor
names.

Each query of a probed request that reads the skips table is run again under
``EXPLAIN (ANALYZE, BUFFERS)`` on PostgreSQL (``EXPLAIN QUERY PLAN`` on SQLite)
and its plan is checked: a sequential scan of a table, or a sort of more rows
than ``--sort-limit``, or a scan whose filter throws away more rows than that
(an index read in the right order but not narrowed by the list's ticket or
agent), is flagged. The ``count`` of an offset page reads every
listed row by nature; it is reported on a line of its own.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

from benchmarks.common import API, SUPERVISOR, basic_auth, setup_django

PAGE = 100
DEEPEST_OFFSET_PAGE = 10_000 // PAGE


@dataclass
class Plan:
    """What EXPLAIN says of one query."""

    kind: str
    sql: str
    summary: str
    flags: list[str]
    db_ms: float | None
    text: str


@dataclass
class Probe:
    """One probed request and what it cost."""

    list_name: str
    order: str
    position: str
    path: str
    ms: float | None = None
    rows: int = 0
    note: str = ""
    plans: list[Plan] = field(default_factory=list)


# Finding positions


def listed_queryset(list_name: str, ticket_id: int, user_id: int) -> Any:
    from skips.models import Skip

    queryset = Skip.objects.filter(ticket__is_archived=False)
    if list_name == "ticket":
        queryset = queryset.filter(ticket_id=ticket_id)
    elif list_name == "user":
        queryset = queryset.filter(user_id=user_id)
    return queryset


def row_at(queryset: Any, order: str, index: int) -> tuple[Any, int]:
    """(created_at, id) of the row at ``index`` in the list's order."""
    ordering = ("-created_at", "-id") if order == "desc" else ("created_at", "id")
    row: tuple[Any, int] = queryset.order_by(*ordering).values_list("created_at", "id")[index]
    return row


def row_after(queryset: Any, order: str, index: int) -> int | None:
    ordering = ("-created_at", "-id") if order == "desc" else ("created_at", "id")
    rows = list(queryset.order_by(*ordering).values_list("id", flat=True)[index + 1 : index + 2])
    return rows[0] if rows else None


def shipped_cursor(path: str, user: Any, order: str, created_at: Any, pk: int) -> str:
    """The cursor the shipped app gives for (created_at, pk) on the list at ``path``."""
    from django.urls import resolve

    from skips import pagination

    encode = getattr(pagination, "encode_cursor", None)
    scope_of = getattr(pagination, "cursor_scope", None)
    if encode is None or scope_of is None:
        raise LookupError("skips.pagination has no encode_cursor and cursor_scope")
    match = resolve(path)
    request = SimpleNamespace(resolver_match=match, user=user)
    view = SimpleNamespace(kwargs=match.kwargs)
    return str(encode(created_at, pk, scope_of(request, view, order)))


# Plans


def explain(sql: str) -> Plan:
    from django.db import connection

    kind = "count" if re.match(r"SELECT COUNT\(", sql, re.IGNORECASE) else "page"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
            document = cursor.fetchone()[0]
            document = json.loads(document) if isinstance(document, str) else document
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            text = "\n".join(row[0] for row in cursor.fetchall())
            root = document[0]["Plan"]
            return Plan(
                kind,
                sql,
                _pg_summary(root),
                _pg_flags(root),
                document[0].get("Execution Time"),
                text,
            )
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            details = [row[3] for row in cursor.fetchall()]
            # "SCAN t USING INDEX i" reads the index in order (and stops at the LIMIT);
            # a bare "SCAN t" reads the table, a temporary B-tree sorts.
            flags = [
                d
                for d in details
                if (d.startswith("SCAN ") and "INDEX" not in d) or "TEMP B-TREE" in d
            ]
            return Plan(kind, sql, "; ".join(details), flags, None, "\n".join(details))
    return Plan(kind, sql, f"(no EXPLAIN on {connection.vendor})", [], None, "")


def _pg_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", ()):
        yield from _pg_nodes(child)


def _pg_rows(node: dict[str, Any]) -> int:
    return int(node.get("Actual Rows", 0) * node.get("Actual Loops", 1))


SORT_LIMIT = 1_000


def _pg_flags(root: dict[str, Any]) -> list[str]:
    flags = []
    for node in _pg_nodes(root):
        kind = node["Node Type"]
        if kind == "Seq Scan":
            flags.append(f"Seq Scan on {node.get('Relation Name')} ({_pg_rows(node):,} rows)")
        removed = int(node.get("Rows Removed by Filter", 0) * node.get("Actual Loops", 1))
        if removed > SORT_LIMIT:
            # An index read in order but filtered: the rows it skips grow with the table.
            name = node.get("Index Name") or node.get("Relation Name")
            flags.append(f"{kind} {name} discards {removed:,} rows by filter")
        if kind in ("Sort", "Incremental Sort"):
            sorted_rows = sum(_pg_rows(child) for child in node.get("Plans", ()))
            if sorted_rows > SORT_LIMIT:
                flags.append(f"{kind} of {sorted_rows:,} rows")
    return flags


def _pg_summary(root: dict[str, Any]) -> str:
    """The plan's nodes, outermost first, with the index each scan uses."""
    parts = []
    for node in _pg_nodes(root):
        kind = node["Node Type"]
        if kind in ("Limit", "Gather", "Gather Merge", "Aggregate", "Result", "Materialize"):
            if kind == "Aggregate":
                parts.append("Aggregate")
            continue
        index = node.get("Index Name")
        relation = node.get("Relation Name")
        label = kind
        if index:
            label += f" {index}"
        elif relation:
            label += f" {relation}"
        parts.append(label)
    return " > ".join(parts)


# Probing


class Prober:
    """Sends the probed requests and explains their queries."""

    def __init__(self, repeat: int, explain_queries: bool) -> None:
        from django.contrib.auth import get_user_model
        from django.test import Client

        self.client = Client(HTTP_AUTHORIZATION=basic_auth(SUPERVISOR))
        self.user = get_user_model()._default_manager.get(username=SUPERVISOR)
        self.repeat = repeat
        self.explain_queries = explain_queries

    def get(self, path: str) -> Any:
        response = self.client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"GET {path}: {response.status_code} {response.content[:300]!r}")
        return response

    def run(self, probe: Probe) -> Any:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        self.get(probe.path)  # warm-up
        times = []
        for _ in range(self.repeat):
            started = time.perf_counter_ns()
            response = self.get(probe.path)
            times.append((time.perf_counter_ns() - started) / 1e6)
        probe.ms = statistics.median(times)
        body = json.loads(response.content)
        probe.rows = len(body["skips"])
        if self.explain_queries:
            with CaptureQueriesContext(connection) as captured:
                self.get(probe.path)
            for query in captured.captured_queries:
                if re.search(r'FROM "?skips_skip"?', query["sql"]):
                    probe.plans.append(explain(query["sql"]))
        return body


def probes(prober: Prober, ticket_id: int, user_id: int) -> Iterator[Probe]:
    lists = {
        "skips": (f"{API}skips.json", None, None),
        "ticket": (f"{API}tickets/{ticket_id}/skips.json", ticket_id, None),
        "user": (f"{API}users/{user_id}/skips.json", None, user_id),
    }
    for list_name, (path, _ticket, _user) in lists.items():
        queryset = listed_queryset(list_name, ticket_id, user_id)
        count = queryset.count()
        for order in ("asc", "desc"):
            # Cursor pages: the first, one that starts in the middle, and the last.
            positions = {"start": None, "middle": count // 2 - 1, "end": count - PAGE - 1}
            for position, index in positions.items():
                query = {"page[size]": PAGE, "sort_order": order}
                probe = Probe(list_name, order, f"cursor, {position}", "")
                expected = None
                if index is not None:
                    if index < 0:
                        continue
                    created_at, pk = row_at(queryset, order, index)
                    try:
                        query["page[after]"] = shipped_cursor(
                            path, prober.user, order, created_at, pk
                        )
                    except (LookupError, TypeError) as e:
                        # TODO: with no encoder in skips.pagination, walk links.next instead.
                        probe.note = f"n/a: {e}"
                        yield probe
                        continue
                    expected = row_after(queryset, order, index)
                probe.path = f"{path}?{urlencode(query)}"
                body = prober.run(probe)
                if expected is not None and (
                    not body["skips"] or body["skips"][0]["id"] != expected
                ):
                    probe.note = f"page does not start at skip {expected}: cursor mismatch"
                yield probe
            # The first offset page (it counts the whole list), and the deepest allowed.
            for number in (1, DEEPEST_OFFSET_PAGE):
                probe = Probe(list_name, order, f"offset, page {number}", "")
                if count > (number - 1) * PAGE:
                    query = {"per_page": PAGE, "page": number, "sort_order": order}
                    probe.path = f"{path}?{urlencode(query)}"
                    prober.run(probe)
                else:
                    probe.note = f"n/a: only {count:,} skips"
                yield probe


def report(results: Sequence[Probe], show_plans: bool) -> str:
    lines = [
        "| list | order | page | ms | rows | query | plan | DB ms | flags |",
        "|---|---|---|---:|---:|---|---|---:|---|",
    ]
    for probe in results:
        ms = f"{probe.ms:.1f}" if probe.ms is not None else "n/a"
        plans = probe.plans or [Plan("", "", probe.note, [], None, "")]
        for i, plan in enumerate(plans):
            head = (
                f"| {probe.list_name} | {probe.order} | {probe.position} | {ms} | {probe.rows}"
                if i == 0
                else "| | | | |"
            )
            db_ms = f"{plan.db_ms:.1f}" if plan.db_ms is not None else ""
            flags = "; ".join(plan.flags) or ("ok" if plan.kind else "")
            if i == 0 and probe.note and probe.plans:
                flags = f"{flags}; {probe.note}"
            lines.append(f"{head} | {plan.kind} | {plan.summary} | {db_ms} | {flags} |")
    if show_plans:
        for probe in results:
            for plan in probe.plans:
                lines += [
                    "",
                    f"### {probe.list_name} {probe.order} {probe.position}: {plan.kind}",
                    "",
                    "```",
                    plan.sql,
                    "",
                    plan.text,
                    "```",
                ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    global SORT_LIMIT
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.depth_probe", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed requests per page")
    parser.add_argument("--plans", action="store_true", help="print every query and its plan")
    parser.add_argument("--no-explain", action="store_true", help="time only")
    parser.add_argument(
        "--sort-limit", type=int, default=SORT_LIMIT, help="flag sorts of more rows than this"
    )
    args = parser.parse_args(argv)
    SORT_LIMIT = args.sort_limit
    setup_django()
    from django.db import connection
    from django.db.models import Count

    from skips.models import Skip

    listed = Skip.objects.filter(ticket__is_archived=False)
    top = listed.values("ticket_id").annotate(n=Count("id")).order_by("-n")
    ticket_id, ticket_skips = top.values_list("ticket_id", "n")[0]
    top = listed.values("user_id").annotate(n=Count("id")).order_by("-n")
    user_id, user_skips = top.values_list("user_id", "n")[0]
    prober = Prober(args.repeat, not args.no_explain)
    print(
        f"# Depth probe\n\n{connection.vendor}, {Skip.objects.count():,} skips"
        f" ({listed.count():,} listed); ticket {ticket_id} has {ticket_skips:,},"
        f" user {user_id} has {user_skips:,}; medians of {args.repeat} requests\n",
        flush=True,
    )
    results = list(probes(prober, ticket_id, user_id))
    print(report(results, args.plans))
    flagged = [
        (probe, plan)
        for probe in results
        for plan in probe.plans
        if plan.flags and plan.kind == "page"
    ]
    mismatches = [probe for probe in results if "mismatch" in probe.note]
    print(
        f"\n{len(flagged)} page queries flagged, {len(mismatches)} cursor mismatches;"
        " count queries are listed but not counted as flagged."
    )
    return 1 if flagged or mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
