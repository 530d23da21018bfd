"""The statements of the admin's search requests, each with its time: where a search spends.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/skips_10m \\
        python -m benchmarks.search_probe [--rounds 5] [--q "some words" ...]

Sends the scale table's two search requests (``admin-search-agent``: the
busiest agent's name; ``admin-search-ticket``: the busiest ticket's id) and
any ``--q`` term, each once untimed and then ``--rounds`` times, as a superuser
through the test client (``benchmarks.scale_common``). For each, prints the
request's median time and, for its last run, every statement Django ran with
its time (``CaptureQueriesContext``), its first 140 characters and the share
of the request. ``explain_audit`` gives the plans; this gives the times of
the statements as the request ran them (the search's own lookups included,
with the planner settings they run under).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from urllib.parse import urlencode


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.search_probe")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--q", nargs="+", default=[], metavar="TERM", help="more search terms")
    args = parser.parse_args(argv)

    from benchmarks.scale_common import Caller, Request, build_requests, find_targets, setup

    setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    targets = find_targets()
    caller = Caller()
    try:
        requests = [
            r
            for r in build_requests(targets, caller.supervisor)
            if r.name.startswith("admin-search")
        ]
        changelist = reverse("admin:skips_skip_changelist")
        requests += [
            Request(f"q={term!r}", "search", f"{changelist}?{urlencode({'q': term})}")
            for term in args.q
        ]
        print(f"# Search probe: {connection.settings_dict['NAME']}, {targets.skips:,} skips\n")
        for request in requests:
            caller.run(request)
            times = []
            with CaptureQueriesContext(connection) as queries:
                for _ in range(args.rounds):
                    start = len(queries.captured_queries)
                    started = time.perf_counter()
                    outcome = caller.run(request)
                    times.append((time.perf_counter() - started) * 1000)
            total = times[-1]
            print(
                f"## {request.name} ({request.label}): median {statistics.median(times):.1f} ms"
                f" of {args.rounds}; {outcome.rows} rows\n"
            )
            print("| # | ms | share | statement |\n|---:|---:|---:|---|")
            for number, query in enumerate(queries.captured_queries[start:], 1):
                ms = float(query["time"]) * 1000
                sql = " ".join(query["sql"].split())[:140].replace("|", "\\|")
                print(f"| {number} | {ms:.1f} | {ms / total:.0%} | `{sql}` |")
            print()
    finally:
        caller.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
