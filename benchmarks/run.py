"""Time the same requests through the three implementations, interleaved.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/skips_bench python -m benchmarks.run
    python -m benchmarks.run --rounds 50 --only offset ticket
    python -m benchmarks.run --profile offset          # cProfile of the shipped app

The implementations are ``skips`` as shipped (``/api/v2/``), the REST framework
baseline (``/drf/api/v2/``) and the hand-written floor (``/floor/api/v2/``).
Requests go through Django's test client with the full middleware stack and
``DEBUG=False``, authenticated as the data set's supervisor with an API token.

First it checks that the three answer with the same bytes (the mount prefix in
pagination links aside); a difference stops the run. Cursor pages are compared
by their ``skips`` arrays, byte for byte, and by the shape of ``meta`` and
``links`` (cursors are opaque). A new skip is compared with its ``id`` and
timestamps left out. Until the shipped app pages by cursor (an answer to
``page[size]`` with ``meta``), its cursor rows say "n/a".

Then each round sends every (request, implementation) pair once, in a new
random order, so that the machine's drift falls on all of them alike. It prints
a markdown table: median and p95 per request, queries per request, and the
ratios shipped/floor and DRF/shipped of the medians. Skips created by the timed
``POST`` requests are deleted at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.common import (
    IMPLEMENTATIONS,
    MOUNTS,
    PREFIX,
    SUPERVISOR,
    basic_auth,
    median,
    percentile,
    setup_django,
)

HOST = "http://testserver"
POST_REASON = "Benchmark: outside my product area"
#: Goals of the issue: shipped within this factor of the floor on list pages...
GOAL_SHIPPED_FLOOR = 1.2
#: ...and the DRF baseline at least this many times slower than shipped on first and cursor pages.
GOAL_DRF_SHIPPED = 3.0


class Mismatch(Exception):
    """The implementations do not answer with the same bytes."""


@dataclass
class Endpoint:
    """One request of the benchmark."""

    key: str
    label: str
    method: str
    #: Path under the API prefix, with the query string; per implementation when it differs.
    paths: dict[str, str]
    body: bytes | None = None
    cursor: bool = False
    #: Implementations that can answer it (the shipped app may not page by cursor yet).
    impls: list[str] = field(default_factory=lambda: list(IMPLEMENTATIONS))


@dataclass
class Target:
    """The rows the requests name."""

    ticket_id: int
    ticket_skips: int
    user_id: int
    user_skips: int
    post_ticket_id: int
    skips: int
    tickets: int


def find_targets() -> Target:
    """The ticket and the agent with the most listed skips, and a ticket to skip."""
    from django.db.models import Count

    from example_project.helpdesk.models import Ticket
    from skips.models import Skip

    listed = Skip.objects.filter(ticket__is_archived=False)
    if not listed.exists():
        raise SystemExit("No skips: build the data set first (python -m benchmarks.build_dataset)")
    ticket_id, ticket_skips = (
        listed.values("ticket_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("ticket_id", "n")[0]
    )
    user_id, user_skips = (
        listed.values("user_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("user_id", "n")[0]
    )
    post_ticket = (
        Ticket.objects.filter(is_archived=False, external_id__startswith=PREFIX)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    return Target(
        ticket_id=ticket_id,
        ticket_skips=ticket_skips,
        user_id=user_id,
        user_skips=user_skips,
        post_ticket_id=post_ticket or ticket_id,
        skips=Skip.objects.count(),
        tickets=Ticket.objects.count(),
    )


def endpoints(target: Target) -> list[Endpoint]:
    """The requests of the issue, each the same under every mount."""

    def same(path: str) -> dict[str, str]:
        return dict.fromkeys(IMPLEMENTATIONS, path)

    body = json.dumps({"skip": {"ticket_id": target.post_ticket_id, "reason": POST_REASON}})
    return [
        Endpoint("offset", "GET skips.json?per_page=100", "GET", same("skips.json?per_page=100")),
        Endpoint(
            "cursor",
            "GET skips.json?page[size]=100",
            "GET",
            same("skips.json?page[size]=100"),
            cursor=True,
        ),
        # Filled in by follow_cursors(): each implementation's own links.next.
        Endpoint("cursor-next", "GET links.next of the cursor page", "GET", {}, cursor=True),
        Endpoint(
            "ticket",
            f"GET tickets/{{id}}/skips ({target.ticket_skips:,} skips)",
            "GET",
            same(f"tickets/{target.ticket_id}/skips"),
        ),
        Endpoint(
            "user",
            f"GET users/{{id}}/skips ({target.user_skips:,} skips)",
            "GET",
            same(f"users/{target.user_id}/skips"),
        ),
        Endpoint("create", "POST skips", "POST", same("skips"), body=body.encode()),
    ]


class Bench:
    """Sends the requests through the test client and keeps what they cost."""

    def __init__(self) -> None:
        from django.test import Client

        self.client = Client(HTTP_AUTHORIZATION=basic_auth(SUPERVISOR))
        self.created: list[int] = []

    def url(self, endpoint: Endpoint, impl: str) -> str:
        return MOUNTS[impl] + endpoint.paths[impl]

    def send(self, endpoint: Endpoint, impl: str) -> Any:
        url = self.url(endpoint, impl)
        if endpoint.method == "POST":
            response = self.client.post(url, endpoint.body, content_type="application/json")
            if response.status_code == 201:
                self.created.append(json.loads(response.content)["skip"]["id"])
        else:
            response = self.client.get(url)
        expected = 201 if endpoint.method == "POST" else 200
        if response.status_code != expected:
            raise SystemExit(
                f"{impl} {endpoint.method} {url}: {response.status_code} {response.content[:300]!r}"
            )
        return response

    def body(self, endpoint: Endpoint, impl: str) -> bytes:
        """The answer's bytes, with this implementation's mount written as the shipped one."""
        content: bytes = self.send(endpoint, impl).content
        return content.replace(
            f"{HOST}{MOUNTS[impl]}".encode(), f"{HOST}{MOUNTS['shipped']}".encode()
        )

    def queries(self, endpoint: Endpoint, impl: str) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            self.send(endpoint, impl)
        return len(captured)

    def time(self, endpoint: Endpoint, impl: str) -> float:
        """Milliseconds of one request, from the client's call to the answer."""
        started = time.perf_counter_ns()
        self.send(endpoint, impl)
        return (time.perf_counter_ns() - started) / 1e6

    def delete_created(self) -> None:
        from skips.models import Skip

        if self.created:
            Skip.objects.filter(pk__in=self.created).delete()
            self.created.clear()


# Checking that the answers are the same


def _split_cursor_page(body: bytes) -> tuple[bytes, dict[str, Any]]:
    """The raw ``skips`` array and the parsed rest of a cursor page."""
    # A string in compact JSON holds no bare '"', so this can only be the envelope's key.
    end = body.rfind(b'],"meta":{')
    if not body.startswith(b'{"skips":[') or end < 0:
        raise Mismatch(f"not a cursor page: {body[:120]!r}...")
    rest = json.loads(body)
    return body[len(b'{"skips":') : end + 1], {"meta": rest["meta"], "links": rest["links"]}


def _shape(envelope: dict[str, Any]) -> dict[str, Any]:
    """What must agree between cursor pages whose cursors differ."""
    meta, links = envelope["meta"], envelope["links"]
    return {
        "meta keys": sorted(meta),
        "links keys": sorted(links),
        "has_more": meta.get("has_more"),
        "next is null": links.get("next") is None,
        "prev is null": links.get("prev") is None,
    }


def _strip_new_skip(body: bytes) -> tuple[bytes, int]:
    """A new skip's answer without its id and timestamps; and its user id."""
    skip = json.loads(body)["skip"]
    head = b'{"skip":{"created_at":"%s","id":%d,' % (skip["created_at"].encode(), skip["id"])
    tail = b',"updated_at":"%s","user_id":%d}}' % (skip["updated_at"].encode(), skip["user_id"])
    if not (body.startswith(head) and body.endswith(tail)):
        raise Mismatch(f"unexpected layout of a new skip: {body[:120]!r}...")
    return body[len(head) : -len(tail)], skip["user_id"]


def _first_difference(a: bytes, b: bytes) -> str:
    at = next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )
    return f"at byte {at}: {a[max(0, at - 80) : at + 80]!r} vs {b[max(0, at - 80) : at + 80]!r}"


def check_same(bench: Bench, endpoint: Endpoint) -> str:
    """Raise Mismatch unless the implementations answer alike; say what was compared."""
    bodies = {impl: bench.body(endpoint, impl) for impl in endpoint.impls}
    reference = endpoint.impls[0]
    if endpoint.method == "POST":
        stripped = {impl: _strip_new_skip(body) for impl, body in bodies.items()}
        for impl, value in stripped.items():
            if value != stripped[reference]:
                raise Mismatch(
                    f"{endpoint.label}: {impl} differs from {reference} "
                    + _first_difference(value[0], stripped[reference][0])
                )
        return "bytes equal but for the new skip's id and timestamps"
    if endpoint.cursor:
        split = {impl: _split_cursor_page(body) for impl, body in bodies.items()}
        for impl, (skips, envelope) in split.items():
            ref_skips, ref_envelope = split[reference]
            if skips != ref_skips:
                raise Mismatch(
                    f"{endpoint.label}: {impl} skips differ from {reference} "
                    + _first_difference(skips, ref_skips)
                )
            if _shape(envelope) != _shape(ref_envelope):
                raise Mismatch(
                    f"{endpoint.label}: {impl} meta/links {_shape(envelope)}"
                    f" vs {reference} {_shape(ref_envelope)}"
                )
        return "skips arrays byte-equal, meta and links of the same shape"
    for impl, body in bodies.items():
        if body != bodies[reference]:
            raise Mismatch(
                f"{endpoint.label}: {impl} differs from {reference} "
                + _first_difference(body, bodies[reference])
            )
    return f"bytes equal ({len(bodies[reference]):,} bytes)"


def follow_cursors(bench: Bench, endpoints: list[Endpoint]) -> None:
    """Find whether the shipped app pages by cursor; set each implementation's next link."""
    first = next(e for e in endpoints if e.key == "cursor")
    following = next(e for e in endpoints if e.key == "cursor-next")
    shipped = json.loads(bench.send(first, "shipped").content)
    if "meta" not in shipped:
        first.impls = following.impls = ["drf", "floor"]
    for impl in following.impls:
        page = json.loads(bench.send(first, impl).content)
        link = page["links"]["next"]
        if not link:
            raise SystemExit(f"{impl}: the first cursor page has no links.next")
        prefix = HOST + MOUNTS[impl]
        if not link.startswith(prefix):
            raise SystemExit(f"{impl}: links.next {link!r} is not under {prefix}")
        following.paths[impl] = link[len(prefix) :]


# Timing


@dataclass
class Result:
    endpoint: Endpoint
    impl: str
    times: list[float]
    queries: int

    @property
    def median(self) -> float:
        return median(self.times)

    @property
    def p95(self) -> float:
        return percentile(self.times, 0.95)


def run_rounds(
    bench: Bench, endpoints: Sequence[Endpoint], rounds: int, warmup: int, seed: int
) -> dict[tuple[str, str], list[float]]:
    pairs = [(e, impl) for e in endpoints for impl in e.impls]
    times: dict[tuple[str, str], list[float]] = {(e.key, impl): [] for e, impl in pairs}
    rng = random.Random(seed)
    for number in range(warmup + rounds):
        rng.shuffle(pairs)
        for endpoint, impl in pairs:
            elapsed = bench.time(endpoint, impl)
            if number >= warmup:
                times[endpoint.key, impl].append(elapsed)
    return times


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a is not None and b else "n/a"


def table(results: dict[tuple[str, str], Result], endpoints: Sequence[Endpoint]) -> str:
    lines = [
        "| request | impl | median ms | p95 ms | queries | shipped/floor | DRF/shipped |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for endpoint in endpoints:
        medians = {
            impl: results[endpoint.key, impl].median
            for impl in IMPLEMENTATIONS
            if (endpoint.key, impl) in results
        }
        for impl in IMPLEMENTATIONS:
            ratios = ("", "")
            if impl == "shipped":
                ratios = (
                    _ratio(medians.get("shipped"), medians.get("floor")),
                    _ratio(medians.get("drf"), medians.get("shipped")),
                )
            result = results.get((endpoint.key, impl))
            if result is None:
                lines.append(
                    f"| {endpoint.label} | {impl} | n/a | n/a | n/a | {' | '.join(ratios)} |"
                )
                continue
            lines.append(
                f"| {endpoint.label} | {impl} | {result.median:.2f} | {result.p95:.2f}"
                f" | {result.queries} | {ratios[0]} | {ratios[1]} |"
            )
    return "\n".join(lines)


def goals(results: dict[tuple[str, str], Result], endpoints: Sequence[Endpoint]) -> list[str]:
    """The issue's goals, met or not, on the figures of this run."""
    lines = []
    for endpoint in endpoints:
        shipped = results.get((endpoint.key, "shipped"))
        floor = results.get((endpoint.key, "floor"))
        drf = results.get((endpoint.key, "drf"))
        if endpoint.method != "GET" or shipped is None or floor is None or drf is None:
            continue
        ratio = shipped.median / floor.median
        mark = "met" if ratio <= GOAL_SHIPPED_FLOOR else "NOT met"
        lines.append(
            f"- {endpoint.label}: shipped/floor {ratio:.2f} (<= {GOAL_SHIPPED_FLOOR}: {mark})"
        )
        if endpoint.key in ("offset", "cursor", "cursor-next"):
            ratio = drf.median / shipped.median
            mark = "met" if ratio >= GOAL_DRF_SHIPPED else "NOT met"
            lines.append(
                f"- {endpoint.label}: DRF/shipped {ratio:.2f} (>= {GOAL_DRF_SHIPPED}: {mark})"
            )
    return lines


def fixed_queries(bench: Bench, endpoints: Sequence[Endpoint]) -> list[str]:
    """Whether the shipped list pages cost as many queries for 5 skips as for 100."""
    lines = []
    for endpoint in endpoints:
        if endpoint.method != "GET" or "shipped" not in endpoint.impls:
            continue
        path = endpoint.paths["shipped"]
        small_path = (
            path.replace("page[size]=100", "page[size]=5")
            if endpoint.cursor
            else path.replace("per_page=100", "per_page=5")
            if "per_page=" in path
            else path + ("&" if "?" in path else "?") + "per_page=5"
        )
        small = Endpoint(endpoint.key, endpoint.label, "GET", {"shipped": small_path})
        big, few = bench.queries(endpoint, "shipped"), bench.queries(small, "shipped")
        verdict = "fixed" if big == few else "NOT fixed"
        lines.append(f"- {endpoint.label}: {few} queries for 5 skips, {big} for 100: {verdict}")
    return lines


def describe(target: Target, rounds: int, warmup: int) -> str:
    import django
    import rest_framework
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            version = f"PostgreSQL {cursor.fetchone()[0]}"
        elif connection.vendor == "sqlite":
            cursor.execute("SELECT sqlite_version()")
            version = f"SQLite {cursor.fetchone()[0]}"
        else:
            version = connection.vendor
    return (
        f"{version}; {target.skips:,} skips, {target.tickets:,} tickets;"
        f" Python {platform.python_version()}, Django {django.get_version()},"
        f" DRF {rest_framework.VERSION}; {os.cpu_count()} CPUs;"
        f" {rounds} rounds after {warmup} warm-up rounds, order shuffled each round;"
        f" ticket {target.ticket_id}, user {target.user_id}, POST on ticket {target.post_ticket_id}"
    )


# Profiling


def profile(bench: Bench, endpoint: Endpoint, impl: str, requests: int, limit: int) -> None:
    """Print where the time of ``requests`` requests goes, by own time and by cumulative time."""
    for _ in range(5):
        bench.send(endpoint, impl)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        bench.send(endpoint, impl)
    profiler.disable()
    for order in ("tottime", "cumulative"):
        print(f"\n## {impl} {endpoint.label}: {requests} requests, top {limit} by {order}\n")
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.strip_dirs().sort_stats(order).print_stats(limit)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--rounds", type=int, default=30, help="timed rounds (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first (default 3)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the shuffled order")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="REQUEST",
        choices=("offset", "cursor", "cursor-next", "ticket", "user", "create"),
        help="time only these requests",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the samples to this file")
    parser.add_argument(
        "--profile",
        metavar="REQUEST",
        choices=("offset", "cursor", "cursor-next", "ticket", "user", "create"),
        help="instead of timing, print a cProfile of this request",
    )
    parser.add_argument("--impl", default="shipped", choices=IMPLEMENTATIONS, help="to profile")
    parser.add_argument("--requests", type=int, default=100, help="requests to profile")
    parser.add_argument("--top", type=int, default=25, help="profile lines to print")
    args = parser.parse_args(argv)

    setup_django()
    target = find_targets()
    bench = Bench()
    all_endpoints = endpoints(target)
    try:
        follow_cursors(bench, all_endpoints)
        chosen = [e for e in all_endpoints if not args.only or e.key in args.only]
        if args.profile:
            endpoint = next(e for e in all_endpoints if e.key == args.profile)
            if args.impl not in endpoint.impls:
                raise SystemExit(f"{args.impl} does not answer {endpoint.label} yet")
            profile(bench, endpoint, args.impl, args.requests, args.top)
            return 0
        print(f"# skips benchmark\n\n{describe(target, args.rounds, args.warmup)}\n")
        print("## Same answers\n")
        for endpoint in chosen:
            print(f"- {endpoint.label}: {check_same(bench, endpoint)}")
            if len(endpoint.impls) < len(IMPLEMENTATIONS):
                print("  (shipped: n/a, it does not page by cursor yet)")
        queries = {(e.key, impl): bench.queries(e, impl) for e in chosen for impl in e.impls}
        times = run_rounds(bench, chosen, args.rounds, args.warmup, args.seed)
        results = {
            key: Result(next(e for e in chosen if e.key == key[0]), key[1], samples, queries[key])
            for key, samples in times.items()
        }
        print("\n## Times\n")
        print(table(results, chosen))
        print("\n## Goals\n")
        print("\n".join(goals(results, chosen) or ["- (no list request with all three)"]))
        print("\n## Queries per list page\n")
        print("\n".join(fixed_queries(bench, chosen)))
        if args.json:
            with open(args.json, "w") as out:
                json.dump(
                    {
                        "setup": describe(target, args.rounds, args.warmup),
                        "samples_ms": {f"{k[0]} {k[1]}": v for k, v in times.items()},
                        "queries": {f"{k[0]} {k[1]}": v for k, v in queries.items()},
                    },
                    out,
                    indent=1,
                )
    except Mismatch as e:
        print(f"\nMISMATCH: {e}", file=sys.stderr)
        return 1
    finally:
        bench.delete_created()
    return 0


if __name__ == "__main__":
    sys.exit(main())
