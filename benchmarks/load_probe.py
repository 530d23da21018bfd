"""Requests per second and p99 under concurrent load: a real WSGI server on loopback.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/skips_bench \\
        python -m benchmarks.load_probe [--duration 10] [--connections 8]

It starts gunicorn on 127.0.0.1 (2 workers x 4 threads by default, the gthread
worker) serving the benchmark project, and drives it from another process:
``wrk`` when it is installed (``apt-get install wrk``), with a generated Lua
script that sends the supervisor's API token and the ``POST`` body, or else a
bounded Python client (a fixed number of requests from a few threads).

For ``GET skips.json?per_page=100``, ``GET skips.json?page[size]=100`` and
``POST skips`` it measures the shipped app and the REST framework baseline
(``--impls`` adds the floor), alternating their order from round to round.
Every run is bounded in time (``--duration``) or in requests (``--requests``),
with a fixed number of connections, and must end with no error: a socket error,
a timeout or any other status than the expected 200 or 201 fails the probe.
The ``POST`` requests skip the data set's latest unarchived tickets in turn; the
skips they created are deleted at the end, and the server is stopped.

``--pool`` serves through Django's PostgreSQL connection pool
(``BENCH_DB_POOL=1``, see :mod:`benchmarks.settings`; one connection per server
thread). ``--databases skips_10k skips_10m`` compares data sets: the database
name of ``DATABASE_URL`` is replaced by each in turn, one gunicorn at a time, in
alternating order from round to round, and the table gives each database's
requests per second against the first one's (medians of the rounds)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/skips_10k \\
        python -m benchmarks.load_probe --pool --databases skips_10k skips_10m --rounds 5
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import (
    IMPLEMENTATIONS,
    MOUNTS,
    PREFIX,
    SUPERVISOR,
    basic_auth,
    percentile,
    setup_django,
)

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
POST_REASON = "Load probe: not my queue"
#: The POST requests skip this many of the latest unarchived tickets, in turn.
POST_TICKETS = 50


@dataclass
class Scenario:
    key: str
    label: str
    method: str
    path: str
    bodies: list[bytes] | None
    status: int


@dataclass
class Outcome:
    scenario: Scenario
    impl: str
    database: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    detail: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """gunicorn serving ``benchmarks.wsgi`` on loopback, for the length of a ``with``."""

    def __init__(
        self,
        workers: int,
        threads: int,
        env: Mapping[str, str] | None = None,
        log: Any = None,
    ) -> None:
        self.port = free_port()
        self.workers = workers
        self.threads = threads
        self.env = dict(env or {})
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "benchmarks.settings", **self.env}
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "benchmarks.wsgi:application",
            f"--bind={HOST}:{self.port}",
            f"--workers={self.workers}",
            f"--threads={self.threads}",
            "--worker-class=gthread",
            "--log-level=warning",
            "--timeout=60",
        ]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=self.log)
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        request = urllib.request.Request(
            f"http://{HOST}:{self.port}{MOUNTS['shipped']}skips.json?per_page=1",
            headers={"Authorization": basic_auth(SUPERVISOR)},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    if response.status == 200:
                        return
            except urllib.error.HTTPError as e:
                # The server is up and answers an error: waiting will not mend it.
                raise SystemExit(f"gunicorn answered {e.code}: {e.read()[:500]!r}") from e
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
        raise SystemExit("gunicorn did not answer in time")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# wrk

WRK_SCRIPT = """
wrk.method = "{method}"
wrk.headers["Authorization"] = "{authorization}"
{body}
-- wrk counts only statuses over 399 as errors: count any but the expected one.
unexpected = 0
response = function(status, headers, body)
  if status ~= {status} then
    unexpected = unexpected + 1
  end
end

-- done() runs in wrk's main Lua state: read each thread's count.
local threads = {{}}
setup = function(thread)
  table.insert(threads, thread)
end

done = function(summary, latency, requests)
  local e = summary.errors
  local other = 0
  for _, thread in ipairs(threads) do
    other = other + thread:get("unexpected")
  end
  io.write(string.format(
    'RESULT {{"requests":%.0f,"duration_us":%.0f,"connect":%.0f,"read":%.0f,' ..
    '"write":%.0f,"status":%.0f,"timeout":%.0f,"p50_us":%.0f,"p99_us":%.0f}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, other, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""

#: The bodies sent in turn, one a request (wrk's ``request`` hook).
WRK_BODIES = """
wrk.headers["Content-Type"] = "application/json"
local bodies = {{{bodies}}}
local turn = 0
request = function()
  turn = turn % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[turn])
end
"""


def lua_string(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def run_wrk(
    url: str, scenario: Scenario, seconds: float, connections: int, threads: int
) -> tuple[int, float, float, float, int, str]:
    body = ""
    if scenario.bodies is not None:
        body = WRK_BODIES.format(
            bodies=", ".join(f'"{lua_string(b.decode())}"' for b in scenario.bodies)
        )
    script = WRK_SCRIPT.format(
        method=scenario.method,
        authorization=basic_auth(SUPERVISOR),
        body=body,
        status=scenario.status,
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        command = [
            "wrk",
            f"--threads={threads}",
            f"--connections={connections}",
            f"--duration={max(1, round(seconds))}s",
            "--timeout=10s",
            f"--script={handle.name}",
            url,
        ]
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
    finally:
        os.unlink(handle.name)
    line = next((x for x in completed.stdout.splitlines() if x.startswith("RESULT ")), None)
    if completed.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed: {completed.stdout}\n{completed.stderr}")
    result = json.loads(line[len("RESULT ") :])
    errors = sum(result[k] for k in ("connect", "read", "write", "status", "timeout"))
    detail = ", ".join(
        f"{k} {result[k]}" for k in ("connect", "read", "write", "status", "timeout") if result[k]
    )
    return (
        int(result["requests"]),
        result["duration_us"] / 1e6,
        result["p50_us"] / 1e3,
        result["p99_us"] / 1e3,
        int(errors),
        detail,
    )


# The bounded Python client


def run_python_client(
    port: int, path: str, scenario: Scenario, requests: int, connections: int
) -> tuple[int, float, float, float, int, str]:
    """``requests`` requests from ``connections`` threads, each on a kept-alive connection."""
    headers = {"Authorization": basic_auth(SUPERVISOR)}
    if scenario.bodies is not None:
        headers["Content-Type"] = "application/json"
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    per_thread = [
        requests // connections + (i < requests % connections) for i in range(connections)
    ]

    def work(number: int, count: int) -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=10)
        mine: list[float] = []
        try:
            for i in range(count):
                body = None
                if scenario.bodies is not None:
                    body = scenario.bodies[(number + i * connections) % len(scenario.bodies)]
                started = time.perf_counter()
                try:
                    connection.request(scenario.method, path, body=body, headers=headers)
                    response = connection.getresponse()
                    response.read()
                    if response.status != scenario.status:
                        with lock:
                            errors.append(f"status {response.status}")
                except (OSError, http.client.HTTPException) as e:
                    with lock:
                        errors.append(type(e).__name__)
                    connection.close()
                    connection = http.client.HTTPConnection(HOST, port, timeout=10)
                mine.append((time.perf_counter() - started) * 1e3)
        finally:
            connection.close()
            with lock:
                latencies.extend(mine)

    threads = [
        threading.Thread(target=work, args=(number, n)) for number, n in enumerate(per_thread) if n
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    detail = ", ".join(sorted({e for e in errors}))
    return (
        len(latencies),
        elapsed,
        percentile(latencies, 0.50),
        percentile(latencies, 0.99),
        len(errors),
        detail,
    )


# The databases


def database_url(name: str | None) -> str:
    """``DATABASE_URL`` with its database name replaced by ``name`` (None: as it is)."""
    url = os.environ.get("DATABASE_URL", "")
    if name is None:
        return url
    parts = urllib.parse.urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        raise SystemExit("--databases needs DATABASE_URL=postgres://... (a PostgreSQL server)")
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def database_alias(name: str | None) -> str:
    """The alias through which this process reads database ``name`` (None: the default)."""
    from django.db import connections

    if name is None:
        return "default"
    alias = f"bench_{name}"
    if alias not in connections.settings:
        connections.settings[alias] = {**connections.settings["default"], "NAME": name}
    return alias


# The probe


def scenarios(alias: str = "default") -> list[Scenario]:
    from example_project.helpdesk.models import Ticket

    ticket_ids = list(
        Ticket.objects.using(alias)
        .filter(is_archived=False, external_id__startswith=PREFIX)
        .order_by("-pk")
        .values_list("pk", flat=True)[:POST_TICKETS]
    )
    if not ticket_ids:
        raise SystemExit("No data set: run python -m benchmarks.build_dataset first")
    bodies = [
        json.dumps({"skip": {"ticket_id": ticket_id, "reason": POST_REASON}}).encode()
        for ticket_id in ticket_ids
    ]
    return [
        Scenario(
            "list", "GET skips.json?per_page=100", "GET", "skips.json?per_page=100", None, 200
        ),
        Scenario(
            "cursor",
            "GET skips.json?page[size]=100",
            "GET",
            "skips.json?page%5Bsize%5D=100",
            None,
            200,
        ),
        Scenario("create", "POST skips", "POST", "skips.json", bodies, 201),
    ]


SCENARIO_ORDER = ("list", "cursor", "create")


def table(outcomes: Sequence[Outcome]) -> str:
    databases = list(dict.fromkeys(o.database for o in outcomes))
    by_database = len(databases) > 1
    lines = [
        "| request | impl | database | requests | req/s | p50 ms | p99 ms | errors | ratio |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    keys = sorted(
        {(o.scenario.key, o.impl, o.database) for o in outcomes},
        key=lambda k: (
            SCENARIO_ORDER.index(k[0]),
            IMPLEMENTATIONS.index(k[1]),
            databases.index(k[2]),
        ),
    )

    def median_rps(key: tuple[str, str, str]) -> float:
        runs = [o for o in outcomes if (o.scenario.key, o.impl, o.database) == key]
        return statistics.median(o.rps for o in runs) if runs else 0.0

    for key in keys:
        scenario, impl, database = key
        runs = [o for o in outcomes if (o.scenario.key, o.impl, o.database) == key]
        rps = median_rps(key)
        ratio = ""
        if by_database and database != databases[0]:
            base = median_rps((scenario, impl, databases[0]))
            ratio = f"{rps / base:.2f} of {databases[0]}" if base else "n/a"
        elif not by_database and impl == "shipped" and any(o.impl == "drf" for o in outcomes):
            drf = median_rps((scenario, "drf", database))
            ratio = f"{rps / drf:.2f} of drf" if drf else "n/a"
        lines.append(
            f"| {runs[0].scenario.label} | {impl} | {database}"
            f" | {sum(o.requests for o in runs):,} | {rps:.1f}"
            f" | {statistics.median(o.p50_ms for o in runs):.1f}"
            f" | {max(o.p99_ms for o in runs):.1f}"
            f" | {sum(o.errors for o in runs)} | {ratio} |"
        )
    lines.append(
        "\nreq/s and p50: medians of the rounds; p99: the worst round's; requests and"
        " errors: all rounds; ratio: of the medians' req/s."
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.load_probe", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections")
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per run")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each, alternating order")
    parser.add_argument(
        "--client", choices=("auto", "wrk", "python"), default="auto", help="load generator"
    )
    parser.add_argument(
        "--requests", type=int, default=2_000, help="requests per run of the Python client"
    )
    parser.add_argument("--impls", nargs="+", choices=IMPLEMENTATIONS, default=None)
    parser.add_argument(
        "--only",
        nargs="+",
        choices=SCENARIO_ORDER,
        default=list(SCENARIO_ORDER),
        help="requests to run (default: all three)",
    )
    parser.add_argument(
        "--pool", action="store_true", help="serve through Django's PostgreSQL connection pool"
    )
    parser.add_argument(
        "--databases",
        nargs="+",
        metavar="NAME",
        help="PostgreSQL databases to compare (names on the server of DATABASE_URL)",
    )
    args = parser.parse_args(argv)
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"
    if client == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk), or use --client python")
    impls = args.impls or (["shipped"] if args.databases else ["shipped", "drf"])
    databases: list[str | None] = list(args.databases or [None])
    if args.pool and not database_url(databases[0]).startswith("postgres"):
        raise SystemExit("--pool needs DATABASE_URL=postgres://... (Django pools psycopg only)")

    setup_django()
    from skips.models import Skip

    aliases = {name: database_alias(name) for name in databases}
    plans = {
        name: [s for s in scenarios(aliases[name]) if s.key in args.only] for name in databases
    }
    before = {
        name: Skip.objects.using(alias).order_by("-pk").values_list("pk", flat=True).first() or 0
        for name, alias in aliases.items()
    }
    env = {"BENCH_DB_POOL": "1", "BENCH_DB_POOL_MAX_SIZE": str(args.threads)} if args.pool else {}
    outcomes: list[Outcome] = []
    print(
        f"# Load probe\n\ngunicorn {args.workers} workers x {args.threads} threads"
        f" (gthread) on {HOST}, "
        + ("Django's connection pool" if args.pool else "a persistent connection a thread")
        + f"; {client}, {args.connections} connections;"
        + (
            f" {args.duration:.0f}s per run after {args.warmup:.0f}s of warm-up"
            if client == "wrk"
            else f" {args.requests:,} requests per run after"
            f" {max(args.connections, args.requests // 10):,} of warm-up"
        )
        + f"; {args.rounds} rounds"
        + (f"; databases {', '.join(args.databases)}, in turn" if args.databases else "")
        + "\n",
        flush=True,
    )
    try:
        for number in range(args.rounds):
            order = databases if number % 2 == 0 else databases[::-1]
            for name in order:
                label = name or "default"
                with Server(
                    args.workers, args.threads, {**env, "DATABASE_URL": database_url(name)}
                ) as server:
                    for scenario in plans[name]:
                        for impl in impls if number % 2 == 0 else impls[::-1]:
                            path = MOUNTS[impl] + scenario.path
                            url = f"http://{HOST}:{server.port}{path}"
                            if client == "wrk":
                                run_wrk(url, scenario, args.warmup, args.connections, 1)
                                result = run_wrk(url, scenario, args.duration, args.connections, 1)
                            else:
                                warm = max(args.connections, args.requests // 10)
                                run_python_client(
                                    server.port, path, scenario, warm, args.connections
                                )
                                result = run_python_client(
                                    server.port, path, scenario, args.requests, args.connections
                                )
                            outcome = Outcome(scenario, impl, label, *result)
                            outcomes.append(outcome)
                            print(
                                f"round {number + 1} {label} {impl} {scenario.label}:"
                                f" {outcome.rps:.1f} req/s, p99 {outcome.p99_ms:.1f} ms,"
                                f" {outcome.errors} errors",
                                flush=True,
                            )
    finally:
        created = sum(
            Skip.objects.using(alias).filter(pk__gt=before[name], reason=POST_REASON).delete()[0]
            for name, alias in aliases.items()
        )
    print()
    print(table(outcomes))
    print(f"\n{created:,} skips created by the POST runs were deleted.")
    failed = [o for o in outcomes if o.errors]
    for outcome in failed:
        print(
            f"ERRORS: {outcome.database} {outcome.impl} {outcome.scenario.label}: {outcome.detail}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
