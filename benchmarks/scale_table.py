"""The same requests on data sets of different sizes, interleaved: medians and ratios.

    python -m benchmarks.scale_table --databases skips_10k skips_1m skips_10m --rounds 15 \\
        [--rounds-export 1] [--only NAME ...] [--quick] [--json out.json]

``--databases`` takes PostgreSQL database names on 127.0.0.1:5432 (user
postgres) or full URLs, smallest first: the ratio columns compare each with the
first. One worker process per database (``DATABASE_URL`` of that database,
``DJANGO_SETTINGS_MODULE=benchmarks.settings``, the example project's URLs)
finds the rows the requests name and makes its cursors; the parent then drives
the rounds over the workers' stdin and stdout (one JSON object a line): in
each round, for each request, it asks every worker in turn, in an order that
rotates from one request and one round to the next, to send that request
once. A worker sends each request once untimed before its first timed run
(the CSV export only up to its first chunk) and times each run in-process
around ``Client.get``/``Client.post`` (a streamed answer read to its end).

The requests are those of ``benchmarks.scale_common`` (``--only`` takes their
names or shell patterns such as ``admin-*``): the API's lists in both paging
styles, cursor pages at the start, the middle and the end of the global list
and of the busiest agent's list in both orders, ``POST skips``, the admin's
changelist, each of its filters, its search, the report and the CSV export of
everything. On a database of more than ``--export-full-below`` skips (2
million) the export runs in the first ``--rounds-export`` rounds only (1). A
statement of a timed request that runs longer than ``--statement-timeout``
seconds (120) is cancelled: the request is reported as failed on that
database and not sent there again.

Output: a Markdown table on stdout: the median in ms of each request on each
database, with ``[tickets/rows]`` for a list page (the distinct tickets on it
and its rows: pages compared across sizes should show a similar number of
tickets), and the ratio of the medians to the first database's; then the
export's rows and rows per second. ``--json`` writes every sample. The skips
that ``POST`` made and the admin user of each worker are deleted at the end.
The machine is noisy: quote ratios from one interleaved run.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgres://postgres@127.0.0.1:5432/"
EXPORT_FULL_BELOW = 2_000_000
#: Seconds after which a statement of a timed request is cancelled.
STATEMENT_TIMEOUT = 120


# The worker: one Django process on one database.


def worker(statement_timeout: float) -> int:
    """Answer the parent's commands, one JSON object a line, until ``quit`` or end of input."""
    # The protocol owns the real stdout; anything else printed goes to stderr.
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    from benchmarks.scale_common import (
        EXPORT,
        Caller,
        build_requests,
        find_targets,
        limit_statements,
        setup,
    )

    def say(message: dict[str, Any]) -> None:
        protocol.write(json.dumps(message) + "\n")

    setup()
    from django.db import connection

    targets = find_targets()
    caller = Caller()
    try:
        requests = {r.name: r for r in build_requests(targets, caller.supervisor)}
        limit_statements(statement_timeout)
        say(
            {
                "database": connection.settings_dict["NAME"],
                "targets": asdict(targets) | {"last_day": targets.last_day.isoformat()},
                "requests": [
                    {"name": r.name, "label": r.label, "kind": r.kind} for r in requests.values()
                ],
            }
        )
        warm: set[str] = set()
        for line in sys.stdin:
            command = json.loads(line)
            if command["cmd"] == "quit":
                break
            request = requests[command["name"]]
            try:
                if request.name not in warm:
                    caller.run(request, whole=request.kind != EXPORT)
                    warm.add(request.name)
                say(asdict(caller.run(request)))
            except (Exception, SystemExit) as e:  # reported, and the worker goes on
                say({"error": f"{type(e).__name__}: {e}"})
    finally:
        caller.close()
    say({"bye": True})
    return 0


# The parent


class Worker:
    """A worker process and the requests it offers."""

    def __init__(self, database: str, statement_timeout: float) -> None:
        self.name = database.rsplit("/", 1)[-1]
        url = database if "://" in database else SERVER + database
        env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "benchmarks.settings"}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.scale_table",
                "--worker",
                "--statement-timeout",
                str(statement_timeout),
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.info: dict[str, Any] = {}

    def read(self) -> dict[str, Any]:
        stdout: IO[str] = self.process.stdout  # type: ignore[assignment]
        line = stdout.readline()
        if not line:
            raise SystemExit(f"worker {self.name} stopped (exit code {self.process.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def ask(self, command: dict[str, Any]) -> dict[str, Any]:
        stdin: IO[str] = self.process.stdin  # type: ignore[assignment]
        stdin.write(json.dumps(command) + "\n")
        stdin.flush()
        return self.read()

    def quit(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(BrokenPipeError, SystemExit):
                self.ask({"cmd": "quit"})
        self.process.wait()


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _ms(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.1f}" if value < 10_000 else f"{value:,.0f}"


def _ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:.2f}" if value is not None and base else "n/a"


def _page(samples: list[dict[str, Any]]) -> str:
    """``[tickets/rows]`` of a list page (the first sample's; a page is the same every time)."""
    first = samples[0] if samples else {}
    if first.get("tickets") is None:
        return ""
    return f" [{first['tickets']}/{first['rows']}]"


def report(
    workers: Sequence[Worker],
    requests: Sequence[dict[str, Any]],
    samples: dict[str, dict[str, list[dict[str, Any]]]],
) -> str:
    names = [w.name for w in workers]
    base = names[0]
    head = ["request", *names, *(f"{n}/{base}" for n in names[1:])]
    lines = [
        "| " + " | ".join(head) + " |",
        "|---|" + "---:|" * (len(head) - 1),
    ]
    exports = []
    for request in requests:
        row = samples[request["name"]]
        medians = {n: median([s["ms"] for s in row[n] if "ms" in s]) for n in names}
        cells = [f"{request['name']} ({request['label']})"]
        for n in names:
            runs = [s for s in row[n] if "ms" in s]
            errors = [s["error"] for s in row[n] if "error" in s]
            cell = _ms(medians[n]) + _page(runs)
            if request["kind"] == "export" and runs:
                cell += f" ({len(runs)} run{'s' if len(runs) > 1 else ''})"
                exports.append((request["name"], n, runs))
            if errors:
                cell += f" ({len(errors)} errors)"
            cells.append(cell)
        cells += [_ratio(medians[n], medians[base]) for n in names[1:]]
        lines.append("| " + " | ".join(cells) + " |")
    if exports:
        lines += [
            "",
            "| export | database | runs | rows | median ms | rows/s |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for name, n, runs in exports:
            ms = median([s["ms"] for s in runs]) or 0.0
            rows = runs[0]["rows"]
            lines.append(
                f"| {name} | {n} | {len(runs)} | {rows:,} | {_ms(ms)} | {rows / (ms / 1000):,.0f} |"
            )
    return "\n".join(lines)


def _commit() -> str:
    try:
        result = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return os.environ.get("SCALE_TABLE_COMMIT", "unknown")
    return result.stdout.strip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.scale_table", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--databases",
        nargs="+",
        default=["skips_10k", "skips_1m"],
        metavar="DB",
        help="database names on 127.0.0.1:5432 or URLs, smallest first",
    )
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="3 rounds, a smoke run")
    parser.add_argument(
        "--rounds-export",
        type=int,
        default=1,
        help="rounds of the export on a database of more than --export-full-below skips",
    )
    parser.add_argument("--export-full-below", type=int, default=EXPORT_FULL_BELOW)
    parser.add_argument("--only", nargs="+", metavar="NAME", help="request names or patterns")
    parser.add_argument("--json", type=Path, help="write every sample here")
    parser.add_argument(
        "--statement-timeout",
        type=float,
        default=STATEMENT_TIMEOUT,
        help="seconds after which a request's statement is cancelled (the request then"
        " counts as failed and is not sent again to that database); 0: no limit",
    )
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.statement_timeout)
    rounds = 3 if args.quick else args.rounds

    started = time.perf_counter()
    workers = [Worker(database, args.statement_timeout) for database in args.databases]
    try:
        for w in workers:
            w.info = w.read()
            print(f"{w.name}: ready after {time.perf_counter() - started:.0f} s", file=sys.stderr)
        requests = workers[0].info["requests"]
        offered = [{r["name"] for r in w.info["requests"]} for w in workers]
        requests = [r for r in requests if all(r["name"] in names for names in offered)]
        if args.only:
            names = [r["name"] for r in requests]
            unknown = [p for p in args.only if not fnmatch.filter(names, p)]
            if unknown:
                parser.error(f"no request named {', '.join(unknown)}; names: {', '.join(names)}")
            requests = [
                r for r in requests if any(fnmatch.fnmatch(r["name"], p) for p in args.only)
            ]
        samples: dict[str, dict[str, list[dict[str, Any]]]] = {
            r["name"]: {w.name: [] for w in workers} for r in requests
        }
        failed: set[tuple[str, str]] = set()
        for number in range(rounds):
            for index, request in enumerate(requests):
                shift = (number + index) % len(workers)
                for w in workers[shift:] + workers[:shift]:
                    name = request["name"]
                    if (name, w.name) in failed:
                        continue
                    if (
                        request["kind"] == "export"
                        and w.info["targets"]["skips"] > args.export_full_below
                        and number >= args.rounds_export
                    ):
                        continue
                    answer = w.ask({"cmd": "run", "name": name})
                    answer["round"] = number
                    samples[name][w.name].append(answer)
                    if "error" in answer:
                        failed.add((name, w.name))
                        print(f"{w.name} {name}: {answer['error']}", file=sys.stderr)
            print(
                f"round {number + 1}/{rounds} done after {time.perf_counter() - started:.0f} s",
                file=sys.stderr,
            )
    finally:
        for w in workers:
            w.quit()

    commit = _commit()
    lines = [f"# Scale table\n\nPostgreSQL; commit {commit}; medians of {rounds} rounds.\n"]
    for w in workers:
        t = w.info["targets"]
        lines.append(
            f"- {w.name}: {t['skips']:,} skips ({t['listed']:,} listed); busiest ticket"
            f" {t['ticket_id']} ({t['ticket_skips']:,} listed skips), busiest agent"
            f" {t['user_id']} {t['user_name']!r} ({t['user_skips']:,});"
            f" POST to ticket {t['post_ticket_id']};"
            f" last day {t['last_day']}"
        )
    notes = {
        f"{w}: {s['note']}"
        for by_db in samples.values()
        for w, runs in by_db.items()
        for s in runs
        if s.get("note")
    }
    lines += [f"- note: {n}" for n in sorted(notes)]
    errors = {
        f"{w} {name}: {s['error'][:300]}"
        for name, by_db in samples.items()
        for w, runs in by_db.items()
        for s in runs
        if s.get("error")
    }
    lines += [f"- failed (not sent again): {e}" for e in sorted(errors)]
    lines += [
        "",
        "ms: median time of the request through the test client, in-process;"
        " [t/r]: distinct tickets / rows on the page. Each database's requests name its own"
        " busiest ticket and agent, and its own last day.",
        "",
        report(workers, requests, samples),
    ]
    print("\n".join(lines))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "commit": commit,
                    "rounds": rounds,
                    "databases": {w.name: w.info for w in workers},
                    "samples": samples,
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
