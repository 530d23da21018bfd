"""The admin report's queries: the shipped ``build_report`` against the earlier ones, interleaved.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/skips_10m \\
        python -m benchmarks.report_probe [--days 30] [--rounds 5] [--agent] [--hide-archived]
        [--work-mem 4MB]

Builds the report of the data set's last ``--days`` days (ending on its last
skip's day) with :func:`skips.reports.build_report`, and with the statements
it ran before (``earlier``: one aggregate each for the totals, the days, the
tickets with ``COUNT(DISTINCT user_id)``, the agents and the reasons folded
skip by skip, at the server's ``work_mem``), in alternating order, each
``--rounds`` times; checks that both give the same figures; prints the
medians, their ratio, the period's skips and the shipped report's
milliseconds per 100,000 skips. ``--agent`` reports on the busiest agent,
``--hide-archived`` leaves out archived tickets; ``--shipped-only`` times
the shipped report alone (long periods at ten million skips); ``--work-mem`` sets the
server's ``work_mem`` for the run (the shipped report raises it to
:data:`skips.reports.WORK_MEM` for its own statements when it is smaller).
Read-only: it writes nothing.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import time
from typing import Any

from benchmarks.common import setup_django


def earlier_report(queryset: Any, first: datetime.date, last: datetime.date, top: int = 10) -> Any:
    """The report as the statements before this version made it (the same figures)."""
    from django.db.models import Count, Min, Q
    from django.db.models.functions import Lower, Trim, TruncDate
    from django.utils import timezone

    from skips.dates import created_between
    from skips.reports import ReasonRow, SkipReport

    skips = created_between(queryset.order_by(), first, last).select_related(None)
    report = SkipReport(first=first, last=last)
    totals = skips.aggregate(
        total=Count("pk"),
        with_reason=Count("pk", filter=~Q(reason="")),
        tickets=Count("ticket_id", distinct=True),
        agents=Count("user_id", distinct=True),
    )
    report.total, report.with_reason = totals["total"], totals["with_reason"]
    report.tickets, report.agents = totals["tickets"], totals["agents"]
    per_day = dict(
        skips.annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    days = (last - first).days + 1
    report.days = [
        (day, per_day.get(day, 0))
        for day in (first + datetime.timedelta(days=i) for i in range(days))
    ]
    tickets = (
        skips.values("ticket_id")
        .annotate(n=Count("pk"), agents=Count("user_id", distinct=True))
        .order_by("-n", "ticket_id")[:top]
    )
    agents = (
        skips.values("user_id")
        .annotate(n=Count("pk"), with_reason=Count("pk", filter=~Q(reason="")))
        .order_by("-n", "user_id")[:top]
    )
    reasons = (
        skips.exclude(reason="")
        .annotate(key=Lower(Trim("reason")))
        .exclude(key="")
        .values("key")
        .annotate(n=Count("pk"), example=Min("reason"))
        .order_by("-n", "key")[:top]
    )
    share = report.with_reason or 1
    return {
        "totals": (report.total, report.with_reason, report.tickets, report.agents),
        "days": report.days,
        "tickets": [(r["ticket_id"], r["n"], r["agents"]) for r in tickets],
        "agents": [(r["user_id"], r["n"], r["with_reason"]) for r in agents],
        "reasons": [ReasonRow(r["example"].strip(), r["n"], r["n"] / share) for r in reasons],
    }


def shipped_report(queryset: Any, first: datetime.date, last: datetime.date) -> Any:
    from skips.reports import build_report

    report = build_report(queryset, first, last)
    return {
        "totals": (report.total, report.with_reason, report.tickets, report.agents),
        "days": report.days,
        "tickets": [(r.ticket_id, r.skips, r.agents) for r in report.top_tickets],
        "agents": [(r.user_id, r.skips, r.with_reason) for r in report.top_agents],
        "reasons": report.top_reasons,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--agent", action="store_true", help="the busiest agent's report")
    parser.add_argument("--hide-archived", action="store_true")
    parser.add_argument("--work-mem", help="the server's work_mem for the run (PostgreSQL)")
    parser.add_argument("--shipped-only", action="store_true", help="no earlier statements")
    args = parser.parse_args()

    setup_django()
    from django.db import connection
    from django.db.models import Count, Max

    from skips.models import Skip

    if args.work_mem and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('work_mem', %s, false)", [args.work_mem])
    last_stamp = Skip.objects.aggregate(last=Max("created_at"))["last"]
    last = last_stamp.date()
    first = last - datetime.timedelta(days=args.days - 1)
    queryset: Any = Skip.objects.all()
    label = f"{first} to {last}"
    if args.agent:
        user_id = (
            Skip.objects.values("user_id").annotate(n=Count("pk")).order_by("-n")[0]["user_id"]
        )
        queryset = queryset.for_user(user_id)
        label += f", agent {user_id}"
    if args.hide_archived:
        queryset = queryset.not_archived()
        label += ", archived hidden"

    ways: dict[str, Any] = {"earlier": earlier_report, "shipped": shipped_report}
    if args.shipped_only:
        del ways["earlier"]
    samples: dict[str, list[float]] = {name: [] for name in ways}
    answers: dict[str, Any] = {}
    for round_ in range(args.rounds + 1):  # the first round warms up, untimed
        order = list(ways) if round_ % 2 else list(reversed(ways))
        for name in order:
            started = time.perf_counter()
            answers[name] = ways[name](queryset, first, last)
            if round_:
                samples[name].append((time.perf_counter() - started) * 1000)
    if len(answers) == 2 and answers["earlier"] != answers["shipped"]:
        raise SystemExit(f"different figures:\n{answers['earlier']}\n{answers['shipped']}")
    total = answers["shipped"]["totals"][0]
    medians = {name: statistics.median(values) for name, values in samples.items()}
    same = "; same figures both ways" if len(answers) == 2 else ""
    print(f"{connection.settings_dict['NAME']}: {label}: {total:,} skips{same}")
    for name, ms in medians.items():
        print(f"  {name:8s} median {ms:9.1f} ms  ({', '.join(f'{v:.0f}' for v in samples[name])})")
    if len(medians) == 2:
        print(f"  shipped/earlier {medians['shipped'] / medians['earlier']:.2f}")
    if total:
        print(f"  shipped: {medians['shipped'] / total * 100_000:.1f} ms per 100,000 skips")


if __name__ == "__main__":
    main()
