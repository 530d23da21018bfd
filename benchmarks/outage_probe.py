"""The API through a PostgreSQL outage: gunicorn with Django's connection pool, under
load, while the primary restarts.

    createdb -h 127.0.0.1 -U postgres skips_outage
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/skips_outage
    python -m benchmarks.build_dataset --skips 20000 --tickets 2000 --archived 0.5
    python -m benchmarks.outage_probe --cluster 15/main --mode restart
    python -m benchmarks.outage_probe --cluster 15/main --mode stop --down 5

It starts gunicorn (2 workers x 4 threads, gthread) serving the benchmark project
through Django's connection pool (``BENCH_DB_POOL=1``: the pool options of
:mod:`benchmarks.settings`, which the ``BENCH_DB_POOL_*`` variables change), and
runs a bounded load from ``--clients`` threads, each on its own kept-alive
connection: ``GET skips.json?per_page=20`` and ``GET skips.json?page[size]=20``,
and one request in ``--post-every`` a ``POST skips`` on an unarchived ticket
with a reason of its own, so that each can be found again. After ``--before``
seconds it restarts the PostgreSQL cluster that serves ``DATABASE_URL`` with
``pg_ctlcluster`` (it must run as root or postgres): ``--mode restart``, or
``--mode stop``: a fast shutdown, ``--down`` seconds with no server, then a
start. The load goes on for ``--after`` seconds once the server accepts
connections again; gunicorn is never restarted.

Every response is recorded (status, the body's ``error``, ``Retry-After``, the
time it was sent and answered), and the probe fails unless:

- before the outage, every request succeeds;
- during it, a request that fails is a 503 with a JSON body
  ``{"error": "ServiceUnavailable", ...}`` and a ``Retry-After`` header: no other
  status, no HTML, no connection reset by the server, no request longer than
  ``--hang`` seconds;
- from ``--recover`` seconds after the server is back, every request succeeds;
- every ``POST`` answered 201 is in the database (by the id its body gave), and
  no ``POST`` answered 503 is (a 503 says the request changed nothing);
- gunicorn's workers neither timed out nor were replaced.

The skips that the probe created are deleted at the end. Other clients of the
cluster lose their connections during the restart: use a server of your own, or
warn those who share it, and keep the outage short.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.common import MOUNTS, PREFIX, SUPERVISOR, basic_auth, percentile, setup_django
from benchmarks.load_probe import HOST, Server

REASON = "Outage probe"
LISTS = ("skips.json?per_page=20", "skips.json?page%5Bsize%5D=20")


@dataclass
class Record:
    """One request and what came back."""

    client: int
    method: str
    path: str
    sent: float
    answered: float
    status: int | None = None
    error: str | None = None  # the body's "error", or what else came back
    retry_after: str | None = None
    failure: str | None = None  # a socket error or a timeout: no answer
    reason: str | None = None  # a POST's reason
    skip_id: int | None = None  # a 201's skip id

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def service_unavailable(self) -> bool:
        """A 503 as the API promises it: the JSON error and a Retry-After in whole seconds."""
        return (
            self.status == 503
            and self.error == "ServiceUnavailable"
            and self.retry_after is not None
            and self.retry_after.isdigit()
            and int(self.retry_after) >= 1
        )

    def describe(self) -> str:
        if self.failure is not None:
            return self.failure
        if self.ok:
            return str(self.status)
        retry = f" Retry-After {self.retry_after}" if self.retry_after else " no Retry-After"
        return f"{self.status} {self.error}{retry}"


@dataclass
class Timeline:
    """When the cluster was told what, and when it answered again (seconds from the start)."""

    events: list[tuple[float, str]] = field(default_factory=list)
    down_at: float = 0.0
    ready_at: float = 0.0


# The cluster


def cluster_port(cluster: str) -> int:
    version, name = cluster.split("/")
    listing = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True
    ).stdout
    for line in listing.splitlines():
        fields = line.split()
        if fields[:2] == [version, name]:
            return int(fields[2])
    raise SystemExit(f"No PostgreSQL cluster {cluster} (pg_lsclusters)")


def pg_ctlcluster(cluster: str, *action: str) -> None:
    """``pg_ctlcluster VERSION NAME ACTION...``; without systemd's redirect if that fails."""
    version, name = cluster.split("/")
    command = ["pg_ctlcluster", version, name, *action]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        command.insert(1, "--skip-systemctl-redirect")
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stdout}{done.stderr}")


def accepts(url: str) -> bool:
    """Whether the database of ``url`` answers a query now."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=2) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


class Monitor:
    """Polls the database every 0.1 s from its own thread: when it stopped and
    when it answered again, as a new client sees it."""

    def __init__(self, url: str, load: Load) -> None:
        self.url = url
        self.load = load
        self.down_at: float | None = None
        self.ready_at: float | None = None
        self.back = threading.Event()
        self.thread = threading.Thread(target=self.poll, daemon=True)
        self.thread.start()

    def poll(self) -> None:
        while True:
            up = accepts(self.url)
            if not up and self.down_at is None:
                self.down_at = self.load.now()
            if up and self.down_at is not None:
                self.ready_at = self.load.now()
                self.back.set()
                return
            time.sleep(0.1)

    def wait(self, cluster: str, bound: float = 60.0) -> None:
        if not self.back.wait(bound):
            raise SystemExit(f"PostgreSQL {cluster} is not back after {bound:.0f}s: start it!")


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (gunicorn's workers), from ``/proc``."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return sorted(int(x) for x in handle.read().split())
    except OSError:
        return []


# The load


class Load:
    """``clients`` threads sending requests until told to stop, every answer recorded."""

    def __init__(
        self, port: int, clients: int, post_every: int, tickets: Sequence[int], hang: float
    ) -> None:
        self.port = port
        self.clients = clients
        self.post_every = post_every
        self.tickets = tickets
        self.hang = hang
        self.tag = f"{REASON} {time.strftime('%Y%m%d-%H%M%S')}"
        self.records: list[Record] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.start = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self.start

    def run(self) -> None:
        self.threads = [
            threading.Thread(target=self.client, args=(number,), daemon=True)
            for number in range(self.clients)
        ]
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(self.hang + 5)

    def client(self, number: int) -> None:
        headers = {"Authorization": basic_auth(SUPERVISOR)}
        connection = http.client.HTTPConnection(HOST, self.port, timeout=self.hang)
        mine: list[Record] = []
        for n in itertools.count():
            if self.stop.is_set():
                break
            body: bytes | None = None
            reason = None
            if n % self.post_every == self.post_every - 1:
                method, path = "POST", "skips.json"
                reason = f"{self.tag}: client {number} request {n}"
                ticket = self.tickets[(number + n * self.clients) % len(self.tickets)]
                body = json.dumps({"skip": {"ticket_id": ticket, "reason": reason}}).encode()
            else:
                method, path = "GET", LISTS[n % len(LISTS)]
            record = Record(number, method, path, self.now(), 0.0, reason=reason)
            try:
                connection.request(
                    method,
                    MOUNTS["shipped"] + path,
                    body=body,
                    headers={**headers, "Content-Type": "application/json"} if body else headers,
                )
                response = connection.getresponse()
                raw = response.read()
                record.status = response.status
                record.retry_after = response.getheader("Retry-After")
                record.error, record.skip_id = self.read_body(
                    response.status, response.getheader("Content-Type") or "", raw
                )
            except (OSError, http.client.HTTPException) as e:
                record.failure = f"{type(e).__name__}: {e}"[:120]
                connection.close()
                connection = http.client.HTTPConnection(HOST, self.port, timeout=self.hang)
            record.answered = self.now()
            mine.append(record)
        connection.close()
        with self.lock:
            self.records.extend(mine)

    @staticmethod
    def read_body(status: int, content_type: str, raw: bytes) -> tuple[str | None, int | None]:
        if not content_type.startswith("application/json"):
            return f"not JSON ({content_type or 'no Content-Type'})", None
        try:
            body = json.loads(raw)
        except ValueError:
            return "not JSON (unparsable)", None
        if status == 201:
            skip_id = body.get("skip", {}).get("id")
            return None, skip_id if isinstance(skip_id, int) else None
        if 200 <= status < 300:
            return None, None
        return str(body.get("error")), None


# The verdict


def phase(record: Record, timeline: Timeline) -> str:
    if record.answered < timeline.down_at:
        return "before"
    if record.sent > timeline.ready_at:
        return "after"
    return "during"


def verify_posts(records: Sequence[Record]) -> tuple[list[str], dict[str, int]]:
    """Every 201 in the database by its id and reason; no 503 there."""
    from skips.models import Skip

    created = [r for r in records if r.method == "POST" and r.status == 201]
    refused = [r for r in records if r.method == "POST" and r.status == 503]
    unknown = [r for r in records if r.method == "POST" and r.failure is not None]
    problems: list[str] = []
    no_id = [r for r in created if r.skip_id is None]
    if no_id:
        problems.append(f"{len(no_id)} POSTs answered 201 without a skip id")
    stored = dict(
        Skip.objects.filter(pk__in=[r.skip_id for r in created if r.skip_id]).values_list(
            "pk", "reason"
        )
    )
    missing = [r for r in created if r.skip_id and stored.get(r.skip_id) != r.reason]
    if missing:
        problems.append(
            f"{len(missing)} POSTs answered 201 are not in the database"
            f" (e.g. skip {missing[0].skip_id})"
        )
    kept = set(
        Skip.objects.filter(reason__in=[r.reason for r in refused]).values_list("reason", flat=True)
    )
    if kept:
        problems.append(f"{len(kept)} POSTs answered 503 are in the database nonetheless")
    in_doubt = Skip.objects.filter(reason__in=[r.reason for r in unknown]).count()
    counts = {
        "201": len(created),
        "201 found": len(created) - len(missing) - len(no_id),
        "503": len(refused),
        "503 found": len(kept),
        "unanswered": len(unknown),
        "unanswered found": in_doubt,
    }
    return problems, counts


def report(
    args: argparse.Namespace,
    pool: dict[str, Any],
    checks: bool,
    load: Load,
    timeline: Timeline,
    workers: tuple[list[int], list[int]],
    gunicorn_log: str,
) -> int:
    records = sorted(load.records, key=lambda r: r.sent)
    problems: list[str] = []
    print("\n## Timeline (seconds from the start of the load)\n")
    for at, what in timeline.events:
        print(f"- {at:6.2f}  {what}")
    outage = timeline.ready_at - timeline.down_at
    print(f"\nOutage: {outage:.2f} s (from the command to the first query answered again).")

    print("\n## Answers\n")
    print(
        "| phase | requests | 2xx | 503 ServiceUnavailable + Retry-After | other | max latency s |"
    )
    print("|---|---:|---:|---:|---|---:|")
    for name in ("before", "during", "after"):
        mine = [r for r in records if phase(r, timeline) == name]
        other = Counter(r.describe() for r in mine if not r.ok and not r.service_unavailable)
        worst = max((r.answered - r.sent for r in mine), default=0.0)
        print(
            f"| {name} | {len(mine)} | {sum(r.ok for r in mine)}"
            f" | {sum(r.service_unavailable for r in mine)}"
            f" | {', '.join(f'{k} x{v}' for k, v in other.most_common()) or 0}"
            f" | {worst:.2f} |"
        )
        if name == "before" and not all(r.ok for r in mine):
            problems.append(f"{sum(not r.ok for r in mine)} requests failed before the outage")
        elif other:
            problems.append(f"{name} the outage, answers other than 2xx or 503: {dict(other)}")

    failed = [r for r in records if not r.ok]
    if failed:
        print(
            f"\nClients saw failures from {failed[0].sent:.2f} s to {failed[-1].answered:.2f} s"
            f" ({len(failed)} requests):\n"
        )
        shown = failed if len(failed) <= 24 else [*failed[:12], None, *failed[-12:]]
        for r in shown:
            if r is None:
                print("  ...")
                continue
            print(
                f"  sent {r.sent:6.2f} s, {r.answered - r.sent:5.2f} s, client {r.client}:"
                f" {r.method} {r.path}: {r.describe()}"
            )
        print()
    late = [r for r in failed if r.sent > timeline.ready_at]
    recovered = max((r.answered for r in failed), default=timeline.ready_at) - timeline.ready_at
    print(
        f"Time to recover: {max(0.0, recovered):.2f} s after the server was back (the last"
        f" failed request answered then); {len(late)} requests sent after it failed."
    )
    if recovered > args.recover:
        problems.append(f"requests still failed {recovered:.2f} s after the server was back")
    stale = [r for r in late if r.sent > timeline.ready_at + args.recover]
    if stale:
        problems.append(f"{len(stale)} requests sent {args.recover:.0f} s after recovery failed")
    after = [r for r in records if r.sent > timeline.ready_at]
    if not any(r.ok for r in after):
        problems.append("no request succeeded after the outage")
    slow = [r for r in records if r.answered - r.sent > args.hang or "timeout" in str(r.failure)]
    if slow:
        problems.append(f"{len(slow)} requests hung for more than {args.hang:.0f} s")
    latencies = [(r.answered - r.sent) * 1e3 for r in records]
    print(
        f"Latency over the run: p50 {percentile(latencies, 0.5):.0f} ms,"
        f" p99 {percentile(latencies, 0.99):.0f} ms, max {max(latencies):.0f} ms."
    )

    post_problems, counts = verify_posts(records)
    problems.extend(post_problems)
    print(
        f"\nPOSTs: {counts['201']} answered 201, {counts['201 found']} of them found in the"
        f" database by id and reason; {counts['503']} answered 503, {counts['503 found']} of"
        f" them in the database; {counts['unanswered']} without an answer,"
        f" {counts['unanswered found']} of them in the database."
    )

    timeouts = gunicorn_log.count("WORKER TIMEOUT")
    warnings = gunicorn_log.count("Database unavailable")
    tracebacks = gunicorn_log.count("Traceback")
    print(
        f"gunicorn: workers {' '.join(map(str, workers[0]))} at the start,"
        f" {' '.join(map(str, workers[1])) or 'none'} at the end; {timeouts} worker timeouts,"
        f" {warnings} 'Database unavailable' warnings, {tracebacks} tracebacks in its log."
    )
    if timeouts or workers[0] != workers[1]:
        problems.append("gunicorn replaced workers (a timeout or a crash)")

    print("\n## Verdict\n")
    for problem in problems:
        print(f"- FAIL: {problem}")
    if not problems:
        print("- PASS: every check above")
    print(f"\n(pool {pool}, CONN_HEALTH_CHECKS {checks})")
    return 1 if problems else 0


def outage(args: argparse.Namespace, url: str, load: Load, timeline: Timeline) -> None:
    """Restart the cluster, or stop it for ``--down`` seconds, and wait until it answers."""
    monitor = Monitor(url, load)
    timeline.down_at = load.now()
    if args.mode == "restart":
        timeline.events.append((load.now(), "pg_ctlcluster restart"))
        pg_ctlcluster(args.cluster, "restart")
        timeline.events.append((load.now(), "restart returned"))
    else:
        timeline.events.append((load.now(), "pg_ctlcluster stop -m fast"))
        try:
            pg_ctlcluster(args.cluster, "stop", "-m", "fast")
            timeline.events.append((load.now(), "stopped"))
            time.sleep(args.down)
        finally:
            timeline.events.append((load.now(), "pg_ctlcluster start"))
            pg_ctlcluster(args.cluster, "start")
    monitor.wait(args.cluster)
    assert monitor.down_at is not None
    assert monitor.ready_at is not None
    timeline.events.append((monitor.down_at, "a new connection fails (first poll)"))
    timeline.ready_at = monitor.ready_at
    timeline.events.append((timeline.ready_at, "a new connection answers a query again"))
    timeline.events.sort()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.outage_probe", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--cluster", default="15/main", help="VERSION/NAME for pg_ctlcluster")
    parser.add_argument("--mode", choices=("restart", "stop"), default="restart")
    parser.add_argument("--down", type=float, default=4, help="seconds stopped (--mode stop)")
    parser.add_argument("--before", type=float, default=5, help="seconds of load before")
    parser.add_argument("--after", type=float, default=15, help="seconds of load after")
    parser.add_argument("--clients", type=int, default=6, help="client threads")
    parser.add_argument("--post-every", type=int, default=3, help="one request in N a POST")
    parser.add_argument("--hang", type=float, default=10, help="longest acceptable request (s)")
    parser.add_argument(
        "--recover", type=float, default=5, help="seconds after the outage to be all 2xx again"
    )
    parser.add_argument("--gunicorn-log", metavar="PATH", help="keep gunicorn's log there")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)
    if args.mode == "stop" and not 0 < args.down <= 10:
        parser.error("--down: keep the outage short (at most 10 seconds)")

    url = os.environ.get("DATABASE_URL", "")
    parts = urllib.parse.urlsplit(url)
    if not parts.scheme.startswith("postgres") or parts.hostname not in ("127.0.0.1", "localhost"):
        raise SystemExit("DATABASE_URL must name a scratch database on a local PostgreSQL")
    port = cluster_port(args.cluster)
    if (parts.port or 5432) != port:
        raise SystemExit(f"{args.cluster} listens on {port}, DATABASE_URL on {parts.port}")
    os.environ["BENCH_DB_POOL"] = "1"
    os.environ.setdefault("BENCH_DB_POOL_MAX_SIZE", str(args.threads))
    setup_django()
    from django.conf import settings
    from django.db import connection

    from example_project.helpdesk.models import Ticket
    from skips.models import Skip

    pool = settings.DATABASES["default"]["OPTIONS"]["pool"]
    checks = settings.DATABASES["default"]["CONN_HEALTH_CHECKS"]
    tickets = list(
        Ticket.objects.filter(is_archived=False, external_id__startswith=PREFIX)
        .order_by("-pk")
        .values_list("pk", flat=True)[:200]
    )
    if not tickets:
        raise SystemExit("No data set: run python -m benchmarks.build_dataset first")
    # This process reads the database again only after the outage, afresh.
    connection.close()
    connection.close_pool()

    print(
        f"# Outage probe\n\ngunicorn {args.workers} workers x {args.threads} threads (gthread),"
        f" Django's pool {pool}, CONN_HEALTH_CHECKS {checks}; {args.clients} clients,"
        f" one request in {args.post_every} a POST; {args.cluster}: "
        + ("restart" if args.mode == "restart" else f"fast stop, {args.down:.0f} s down, start")
        + f" after {args.before:.0f} s of load, {args.after:.0f} s of load after it",
        flush=True,
    )
    timeline = Timeline()
    with (
        open(args.gunicorn_log, "w+") if args.gunicorn_log else tempfile.TemporaryFile("w+") as log,
        Server(args.workers, args.threads, log=log) as server,
    ):
        booted = log.tell()
        assert server.process is not None
        started_with = children(server.process.pid)
        load = Load(server.port, args.clients, args.post_every, tickets, args.hang)
        load.run()
        try:
            time.sleep(args.before)
            outage(args, url, load, timeline)
            time.sleep(args.after)
        finally:
            load.join()
            timeline.events.append((load.now(), "load stopped"))
        workers = (started_with, children(server.process.pid))
        log.seek(booted)
        gunicorn_log = log.read()
    try:
        return report(args, pool, checks, load, timeline, workers, gunicorn_log)
    finally:
        deleted = Skip.objects.filter(reason__startswith=load.tag).delete()[0]
        print(f"{deleted} skips created by the probe were deleted.")


if __name__ == "__main__":
    sys.exit(main())
