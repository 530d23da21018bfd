"""EXPLAIN every query on the skips table of the scale table's requests, and flag bad plans.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/skips_1m \\
        python -m benchmarks.explain_audit [--show-plans] [--analyze] [--only NAME ...]
        [--strict]

Sends each request of ``benchmarks.scale_common`` once (the API as the data
set's supervisor with its token, the admin as a superuser made for the run;
the CSV export only up to its first chunk), captures every statement Django
ran on the default connection (``CaptureQueriesContext``: the exact SQL with
its parameters), and runs ``EXPLAIN (FORMAT JSON)`` of each ``SELECT`` that
reads ``skips_skip`` (``--analyze``: ``EXPLAIN (ANALYZE, BUFFERS, FORMAT
JSON)``, which runs the statement: the export of everything reads the whole
table). A server-side cursor is explained as declared (PostgreSQL plans it
for its first rows); a ``COPY (SELECT ...) TO STDOUT`` by its ``SELECT``.
PostgreSQL only.

Flags:

- a ``Seq Scan`` of ``skips_skip`` (parallel or not);
- a ``Sort`` (or ``Incremental Sort``) above a scan of ``skips_skip``: the
  skips are sorted rather than read in index order;
- a ``Bitmap Heap Scan`` of ``skips_skip`` over most of the table (more than
  half its rows, estimated; actual with ``--analyze``);
- a ``SubPlan`` that is not hashed (a ``NOT IN (SELECT ...)`` whose rows do
  not fit in ``work_mem``) with a ``Seq Scan`` in it: run again for each row;
- with ``--analyze``, a scan that throws away more than 1,000 rows by filter
  (``benchmarks.depth_probe._pg_flags``).

A flag on a statement that reads every row by nature (the export of every
skip, and the ``COUNT`` of an unfiltered offset page) is shown as
``inherent``. The table gives, for each statement: the request, the
statement's number among the request's queries, its first 100 characters, the
plan's nodes outermost first (with the index each scan uses), the flags, the
plan's total cost and, with ``--analyze``, PostgreSQL's execution time.
``--show-plans`` prints every statement and its plan in text after the table.
``--only`` takes request names or shell patterns (``api-*``, ``admin-filter-*``;
the names are those of ``python -m benchmarks.scale_table``).

A request answered with an error, or whose statement ran longer than
``--statement-timeout`` seconds (120; then cancelled), is a flagged line of
its own (statement 0), and the statements it ran are explained as well. Exit status 1 if any
statement is flagged other than ``inherent`` ones (with ``--strict``, inherent
ones too); 0 otherwise. The skips that ``POST`` made
and the superuser are deleted at the end.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.depth_probe import _pg_flags, _pg_nodes, _pg_summary

TABLE = "skips_skip"
TOUCHES = re.compile(rf'\b(?:FROM|JOIN)\s+"?{TABLE}"?(?:\s|$|\))', re.IGNORECASE)
COUNT = re.compile(r"\s*SELECT\s+COUNT\(", re.IGNORECASE)
COPY = re.compile(r"\s*COPY\s*\((\s*SELECT\b.*)\)\s*TO\s+STDOUT\b", re.IGNORECASE | re.DOTALL)
#: A server-side cursor (``QuerySet.iterator()`` on PostgreSQL): explained as it is,
#: since PostgreSQL plans a cursor for its first rows (``cursor_tuple_fraction``).
DECLARE = re.compile(r"\s*DECLARE\s+(\S+)\s.*?\bFOR\s+(?=SELECT\b)", re.IGNORECASE | re.DOTALL)


@dataclass
class Statement:
    """One explained statement and what its plan says."""

    request: str
    number: int
    sql: str
    summary: str = ""
    flags: list[str] = field(default_factory=list)
    inherent: str = ""
    cost: float | None = None
    ms: float | None = None
    text: str = ""


def _scans_table(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for n in _pg_nodes(node) if n.get("Relation Name") == TABLE]


def _rows(node: dict[str, Any], analyze: bool) -> float:
    if analyze and "Actual Rows" in node:
        return float(node["Actual Rows"]) * float(node.get("Actual Loops", 1))
    return float(node.get("Plan Rows", 0))


def _under_limit(root: dict[str, Any]) -> dict[int, str]:
    """The nodes below a ``Limit`` (by ``id()``), each with its limit's estimated rows.

    A scan under a limit may stop early (the capped counts of the changelist).
    """
    found: dict[int, str] = {}

    def walk(node: dict[str, Any], limit: str | None) -> None:
        if node["Node Type"] == "Limit":
            limit = f"a Limit of {node.get('Plan Rows', 0):,.0f}"
        elif limit is not None:
            found[id(node)] = limit
        for child in node.get("Plans", ()):
            walk(child, limit)

    walk(root, None)
    return found


#: Sorts of fewer rows than this (estimated; actual with ``--analyze``) are not flagged.
SORT_MIN = 0


def plan_flags(root: dict[str, Any], table_rows: float, analyze: bool) -> list[str]:
    """What is wrong with the plan of ``root`` for the skips table."""
    flags = []
    limited = _under_limit(root)
    for node in _pg_nodes(root):
        kind = node["Node Type"]
        parallel = "Parallel " if node.get("Parallel Aware") else ""
        if node.get("Relation Name") == TABLE:
            rows = _rows(node, analyze)
            if kind == "Seq Scan":
                limit = f", under {limited[id(node)]}" if id(node) in limited else ""
                flags.append(f"{parallel}Seq Scan on {TABLE} ({rows:,.0f} rows{limit})")
            elif kind == "Bitmap Heap Scan" and rows > table_rows / 2:
                flags.append(
                    f"{parallel}Bitmap Heap Scan on {TABLE} over {rows:,.0f} of"
                    f" {table_rows:,.0f} rows"
                )
        if kind in ("Sort", "Incremental Sort"):
            scans = [n for child in node.get("Plans", ()) for n in _scans_table(child)]
            if scans and _rows(node, analyze) >= SORT_MIN:
                how = ", ".join(
                    sorted({f"{n['Node Type']} {n.get('Index Name') or ''}".strip() for n in scans})
                )
                keys = ", ".join(node.get("Sort Key", ()))
                flags.append(
                    f"{kind} of {_rows(node, analyze):,.0f} rows by {keys} over {how} on {TABLE}"
                )
        for child in node.get("Plans", ()):
            name = child.get("Subplan Name", "SubPlan")
            if child.get("Parent Relationship") != "SubPlan" or f"hashed {name}" in json.dumps(
                {k: v for k, v in node.items() if k != "Plans"}
            ):
                continue
            # A NOT IN (SELECT ...) whose rows do not fit in work_mem: run again for each row.
            for scan in _pg_nodes(child):
                if scan["Node Type"] == "Seq Scan":
                    flags.append(
                        f"{name} (not hashed) runs a Seq Scan on {scan.get('Relation Name')}"
                        " for each row"
                    )
    if analyze:
        # depth_probe's filter check, for the scans of the skips table only.
        names = {n.get("Index Name") or TABLE for n in _scans_table(root)}
        flags += [f for f in _pg_flags(root) if any(f" {name} discards " in f for name in names)]
    return flags


def explain(statement: Statement, table_rows: float, analyze: bool, text: bool) -> None:
    from django.db import connection

    options = "ANALYZE, BUFFERS, " if analyze else ""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN ({options}FORMAT JSON) {statement.sql}")
        document = cursor.fetchone()[0]
        document = json.loads(document) if isinstance(document, str) else document
        if text:
            cursor.execute(f"EXPLAIN ({options.rstrip(', ')}) {statement.sql}")
            statement.text = "\n".join(row[0] for row in cursor.fetchall())
    root = document[0]["Plan"]
    statement.summary = _pg_summary(root)
    statement.flags = plan_flags(root, table_rows, analyze)
    statement.cost = root.get("Total Cost")
    statement.ms = document[0].get("Execution Time")


def table_rows() -> float:
    """The skips table's rows: the planner's estimate, or a count when never analysed."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
        if row and row[0] is not None and row[0] >= 0:
            return float(row[0])
        cursor.execute(f'SELECT COUNT(*) FROM "{TABLE}"')
        return float(cursor.fetchone()[0])


def explainable(sql: str) -> str | None:
    """The statement to EXPLAIN for ``sql``, or None when it is not a query.

    A ``SELECT``; a server-side cursor's ``DECLARE ... FOR SELECT`` as it is;
    the ``SELECT`` inside a ``COPY (SELECT ...) TO STDOUT`` (the CSV export),
    which EXPLAIN does not take.
    """
    copy = COPY.match(sql)
    if copy:
        return copy.group(1)
    declare = DECLARE.match(sql)
    select = sql[declare.end() :] if declare else sql
    return sql if select.lstrip().upper().startswith("SELECT") else None


def audit(request: Any, caller: Any, rows: float, analyze: bool, text: bool) -> list[Statement]:
    """Send ``request`` once and explain its statements on the skips table."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    failure = ""
    with CaptureQueriesContext(connection) as captured:
        try:
            caller.send(request, whole=False)
        except (Exception, SystemExit) as e:  # its statements still count
            failure = f"{type(e).__name__}: {e}"[:300]
    statements = []
    if failure:
        statements.append(Statement(request.name, 0, "", "(request failed)", [failure]))
    for number, query in enumerate(captured.captured_queries, 1):
        sql = query["sql"] or ""
        explained = explainable(sql)
        if explained is None or not TOUCHES.search(explained):
            continue
        statement = Statement(request.name, number, explained)
        explain(statement, rows, analyze, text)
        if statement.flags:
            if request.inherent:
                statement.inherent = request.inherent
            elif COUNT.match(explained) and request.name == "api-skips-offset":
                statement.inherent = "counts every listed skip"
        statements.append(statement)
    return statements


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def short_sql(sql: str) -> str:
    """The statement's first 100 characters, a cursor's name left out."""
    match = DECLARE.match(sql)
    if match:
        sql = "DECLARE CURSOR FOR " + sql[match.end() :]
    return sql[:100]


def report(statements: Sequence[Statement], analyze: bool) -> str:
    lines = [
        "| request | # | SQL | plan | flags | cost |" + (" ms |" if analyze else ""),
        "|---|---:|---|---|---|---:|" + ("---:|" if analyze else ""),
    ]
    for s in statements:
        flags = "; ".join(s.flags) or "ok"
        if s.flags and s.inherent:
            flags = f"inherent ({s.inherent}): {flags}"
        cost = f"{s.cost:,.0f}" if s.cost is not None else ""
        line = (
            f"| {s.request} | {s.number} | `{_cell(short_sql(s.sql))}` | {_cell(s.summary)}"
            f" | {_cell(flags)} | {cost} |"
        )
        if analyze:
            line += f" {s.ms:,.1f} |" if s.ms is not None else " |"
        lines.append(line)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.explain_audit", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--show-plans", action="store_true", help="print each statement's plan")
    parser.add_argument(
        "--analyze", action="store_true", help="EXPLAIN ANALYZE (runs each statement)"
    )
    parser.add_argument("--only", nargs="+", metavar="NAME", help="request names or patterns")
    parser.add_argument("--strict", action="store_true", help="inherent flags fail too")
    parser.add_argument(
        "--statement-timeout",
        type=float,
        default=120,
        help="seconds after which a request's statement is cancelled (a failed request); 0: none",
    )
    parser.add_argument(
        "--sort-min", type=int, default=SORT_MIN, help="flag only sorts of at least this many rows"
    )
    args = parser.parse_args(argv)
    globals()["SORT_MIN"] = args.sort_min
    from benchmarks.scale_common import (
        Caller,
        build_requests,
        find_targets,
        limit_statements,
        setup,
    )

    setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        parser.error(f"PostgreSQL only (DATABASE_URL is {connection.vendor})")
    targets = find_targets()
    rows = table_rows()
    caller = Caller()
    statements: list[Statement] = []
    try:
        requests = build_requests(targets, caller.supervisor)
        limit_statements(args.statement_timeout)
        if args.only:
            names = [r.name for r in requests]
            unknown = [p for p in args.only if not fnmatch.filter(names, p)]
            if unknown:
                parser.error(f"no request named {', '.join(unknown)}; names: {', '.join(names)}")
            requests = [r for r in requests if any(fnmatch.fnmatch(r.name, p) for p in args.only)]
        print(
            f"# EXPLAIN audit\n\n{connection.settings_dict['NAME']}: {targets.skips:,} skips"
            f" ({targets.listed:,} listed, planner's estimate {rows:,.0f});"
            f" ticket {targets.ticket_id} ({targets.ticket_skips:,} skips),"
            f" agent {targets.user_id} ({targets.user_skips:,} skips)\n",
            flush=True,
        )
        for request in requests:
            statements += audit(request, caller, rows, args.analyze, args.show_plans)
    finally:
        caller.close()
    print(report(statements, args.analyze))
    if args.show_plans:
        for s in statements:
            print(f"\n### {s.request} #{s.number}\n\n```\n{s.sql}\n\n{s.text}\n```")
    flagged = [s for s in statements if s.flags and (args.strict or not s.inherent)]
    inherent = [s for s in statements if s.flags and s.inherent]
    print(
        f"\n{len(statements)} statements on {TABLE} explained; {len(flagged)} flagged"
        f", {len(inherent)} with inherent flags"
        f" ({'counted: --strict' if args.strict else 'not counted; --strict counts them'})."
    )
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main())
