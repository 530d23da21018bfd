"""Requests per second and p99 under concurrent load: a real WSGI server on loopback.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/skips_bench \\
        python -m benchmarks.load_probe [--duration 10] [--connections 8]

It starts gunicorn on 127.0.0.1 (2 workers x 4 threads by default, the gthread
worker) serving the benchmark project, and drives it from another process:
``wrk`` when it is installed (``apt-get install wrk``), with a generated Lua
script that sends the supervisor's API token and the ``POST`` body, or else a
bounded Python client (a fixed number of requests from a few threads).

For ``GET skips.json?per_page=100`` and ``POST skips`` it measures the shipped
app and the REST framework baseline (``--impls`` adds the floor), alternating
their order from round to round. Every run is bounded in time (``--duration``)
or in requests (``--requests``), and must end with no error: a socket error, a
timeout or an unexpected status fails the probe. The skips that the ``POST``
runs created are deleted at the end, and the server is stopped.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

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


@dataclass
class Scenario:
    key: str
    label: str
    method: str
    path: str
    body: bytes | None
    status: int


@dataclass
class Outcome:
    scenario: Scenario
    impl: str
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

    def __init__(self, workers: int, threads: int) -> None:
        self.port = free_port()
        self.workers = workers
        self.threads = threads
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "benchmarks.settings"}
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
        self.process = subprocess.Popen(command, cwd=ROOT, env=env)
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
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {{"requests":%.0f,"duration_us":%.0f,"connect":%.0f,"read":%.0f,' ..
    '"write":%.0f,"status":%.0f,"timeout":%.0f,"p50_us":%.0f,"p99_us":%.0f}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def lua_string(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def run_wrk(
    url: str, scenario: Scenario, seconds: float, connections: int, threads: int
) -> tuple[int, float, float, float, int, str]:
    body = ""
    if scenario.body is not None:
        body = (
            f'wrk.body = "{lua_string(scenario.body.decode())}"\n'
            'wrk.headers["Content-Type"] = "application/json"'
        )
    script = WRK_SCRIPT.format(
        method=scenario.method, authorization=basic_auth(SUPERVISOR), body=body
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
    if scenario.body is not None:
        headers["Content-Type"] = "application/json"
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    per_thread = [
        requests // connections + (i < requests % connections) for i in range(connections)
    ]

    def work(count: int) -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=10)
        mine: list[float] = []
        try:
            for _ in range(count):
                started = time.perf_counter()
                try:
                    connection.request(scenario.method, path, body=scenario.body, headers=headers)
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

    threads = [threading.Thread(target=work, args=(n,)) for n in per_thread if n]
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


# The probe


def scenarios() -> list[Scenario]:
    from example_project.helpdesk.models import Ticket

    ticket_id = (
        Ticket.objects.filter(is_archived=False, external_id__startswith=PREFIX)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    if ticket_id is None:
        raise SystemExit("No data set: run python -m benchmarks.build_dataset first")
    body = json.dumps({"skip": {"ticket_id": ticket_id, "reason": POST_REASON}}).encode()
    return [
        Scenario(
            "list", "GET skips.json?per_page=100", "GET", "skips.json?per_page=100", None, 200
        ),
        Scenario("create", "POST skips", "POST", "skips.json", body, 201),
    ]


def table(outcomes: Sequence[Outcome]) -> str:
    lines = [
        "| request | impl | requests | req/s | p50 ms* | p99 ms* | errors | shipped/DRF req/s |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    keys = sorted(
        {(o.scenario.key, o.impl) for o in outcomes},
        key=lambda k: (k[0] != "list", IMPLEMENTATIONS.index(k[1])),
    )
    for key, impl in keys:
        runs = [o for o in outcomes if (o.scenario.key, o.impl) == (key, impl)]
        total = sum(o.requests for o in runs)
        seconds = sum(o.seconds for o in runs)
        rps = total / seconds if seconds else 0.0
        ratio = ""
        if impl == "shipped":
            drf = [o for o in outcomes if (o.scenario.key, o.impl) == (key, "drf")]
            drf_rps = sum(o.requests for o in drf) / (sum(o.seconds for o in drf) or 1)
            ratio = f"{rps / drf_rps:.2f}" if drf_rps else "n/a"
        lines.append(
            f"| {runs[0].scenario.label} | {impl} | {total:,} | {rps:.1f}"
            f" | {max(o.p50_ms for o in runs):.1f} | {max(o.p99_ms for o in runs):.1f}"
            f" | {sum(o.errors for o in runs)} | {ratio} |"
        )
    lines.append("\n\\* the worst of the rounds; requests and req/s are over all rounds.")
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
    parser.add_argument("--impls", nargs="+", choices=IMPLEMENTATIONS, default=["shipped", "drf"])
    args = parser.parse_args(argv)
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"
    if client == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk), or use --client python")

    setup_django()
    from skips.models import Skip

    before = Skip.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    outcomes: list[Outcome] = []
    try:
        with Server(args.workers, args.threads) as server:
            print(
                f"# Load probe\n\ngunicorn {args.workers} workers x {args.threads} threads"
                f" (gthread) on {HOST}:{server.port}; {client},"
                f" {args.connections} connections;"
                + (
                    f" {args.duration:.0f}s per run after {args.warmup:.0f}s of warm-up"
                    if client == "wrk"
                    else f" {args.requests:,} requests per run after"
                    f" {max(args.connections, args.requests // 10):,} of warm-up"
                )
                + f"; {args.rounds} rounds\n",
                flush=True,
            )
            for number in range(args.rounds):
                impls = args.impls if number % 2 == 0 else args.impls[::-1]
                for scenario in scenarios():
                    for impl in impls:
                        path = MOUNTS[impl] + scenario.path
                        url = f"http://{HOST}:{server.port}{path}"
                        if client == "wrk":
                            run_wrk(url, scenario, args.warmup, args.connections, 1)
                            result = run_wrk(url, scenario, args.duration, args.connections, 1)
                        else:
                            warm = max(args.connections, args.requests // 10)
                            run_python_client(server.port, path, scenario, warm, args.connections)
                            result = run_python_client(
                                server.port, path, scenario, args.requests, args.connections
                            )
                        outcomes.append(Outcome(scenario, impl, *result))
    finally:
        created = Skip.objects.filter(pk__gt=before, reason=POST_REASON).delete()[0]
    print(table(outcomes))
    print(f"\n{created:,} skips created by the POST runs were deleted.")
    failed = [o for o in outcomes if o.errors]
    for outcome in failed:
        print(f"ERRORS: {outcome.impl} {outcome.scenario.label}: {outcome.detail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
