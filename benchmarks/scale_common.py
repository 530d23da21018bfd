"""The requests that ``scale_table`` times and ``explain_audit`` explains, and how to send them.

Both scripts send the same requests to a data set built by ``build_dataset``
(``DATABASE_URL``, settings ``benchmarks.settings``), through Django's test
client, in-process:

- the API as the data set's supervisor, with its API token: the first page of
  each list in both paging styles, cursor pages at the start, the middle and
  the end of the global list and of the busiest agent's list in both orders
  (cursors made as ``benchmarks.depth_probe`` makes them), and ``POST skips``;
- the admin as a superuser made for the run (``bench-scale-admin-{pid}``,
  logged in with ``Client.force_login``; those of runs whose process is gone
  are deleted first): the changelist, each of its list
  filters, the date drill-down, its search by an agent's name and by a ticket
  number, the report, and the CSV export of every skip.

:meth:`Caller.close` deletes what the run wrote: the skips that ``POST``
made, the superuser and its session.
"""

from __future__ import annotations

import datetime
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from benchmarks.common import API, PREFIX, SUPERVISOR, basic_auth, setup_django

PAGE = 100
#: The superuser of a run is this and the process id (deleted at the end of the run).
ADMIN_USER = f"{PREFIX}scale-admin-"
#: The reason of the skips that POST makes, followed by the process id.
POST_REASON = "Benchmark: scale table, run "
#: The kinds of request: an API list page, another API call, an admin page, the export.
LIST, CALL, ADMIN, EXPORT = "list", "call", "admin", "export"


def setup() -> None:
    """Load Django with the benchmark settings and the example project's URLs.

    ``benchmarks.urls`` mounts the API only; ``example_project.urls`` mounts the
    same API at the same place and the admin.
    """
    setup_django()
    from django.test.utils import override_settings

    override_settings(ROOT_URLCONF="example_project.urls").enable()


def limit_statements(seconds: float) -> None:
    """Cancel any statement that runs longer than ``seconds`` (0: no limit), on PostgreSQL.

    Set on the open connection and on any later one: a request whose query
    takes longer fails (and is reported) instead of holding up the run.
    """
    from django.db import connection
    from django.db.backends.signals import connection_created

    if connection.vendor != "postgresql":
        return

    def apply(sender: Any = None, connection: Any = connection, **kwargs: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('statement_timeout', %s, false)", [f"{seconds}s"])

    connection_created.connect(apply, weak=False)
    apply()


@dataclass
class Request:
    """One request of the table: its row name, what it is, and how to send it."""

    name: str
    label: str
    path: str
    method: str = "GET"
    kind: str = LIST
    body: bytes = b""
    #: Rows whose full read is the request's nature (the export of everything).
    inherent: str = ""
    #: The skip the page must start with (a cursor page), checked once.
    expect_first: int | None = None


@dataclass
class Targets:
    """The rows the requests name, found in the data set."""

    skips: int
    listed: int
    ticket_id: int
    ticket_skips: int
    user_id: int
    user_skips: int
    user_name: str
    post_ticket_id: int
    last_day: datetime.date
    notes: list[str] = field(default_factory=list)


def find_targets() -> Targets:
    """The busiest non-archived ticket, the busiest agent, a ticket to skip, the last day."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count, Max

    from example_project.helpdesk.models import Ticket
    from skips.models import Skip

    listed = Skip.objects.filter(ticket__is_archived=False)
    by_ticket = listed.values("ticket_id").annotate(n=Count("id")).order_by("-n")
    ticket_id, ticket_skips = by_ticket.values_list("ticket_id", "n")[0]
    by_user = listed.values("user_id").annotate(n=Count("id")).order_by("-n")
    user_id, user_skips = by_user.values_list("user_id", "n")[0]
    user: Any = get_user_model()._default_manager.get(pk=user_id)
    name = " ".join(part for part in (user.first_name, user.last_name) if part)
    post_ticket = (
        Ticket._default_manager.filter(is_archived=False, external_id__startswith=PREFIX)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    last = Skip.objects.aggregate(last=Max("created_at"))["last"]
    return Targets(
        skips=Skip.objects.count(),
        listed=listed.count(),
        ticket_id=ticket_id,
        ticket_skips=ticket_skips,
        user_id=user_id,
        user_skips=user_skips,
        user_name=name or user.get_username(),
        post_ticket_id=post_ticket or ticket_id,
        last_day=last.date(),
    )


def _cursor_requests(targets: Targets, supervisor: Any) -> list[Request]:
    from benchmarks.depth_probe import listed_queryset, row_at, shipped_cursor

    requests = []
    lists = {
        "skips": (f"{API}skips.json", targets.listed),
        "user": (f"{API}users/{targets.user_id}/skips.json", targets.user_skips),
    }
    for list_name, (path, count) in lists.items():
        queryset = listed_queryset(list_name, targets.ticket_id, targets.user_id)
        for order in ("asc", "desc"):
            other = "desc" if order == "asc" else "asc"
            # The cursor names the row before the page: at the middle, the row at
            # count // 2 - 1; at the end, the row PAGE + 1 from the end, found from
            # the other end of the list (no deep OFFSET, and it holds while other
            # writers add or delete skips).
            positions = {
                "start": None,
                "middle": (order, count // 2 - 1),
                "end": (other, PAGE),
            }
            for position, place in positions.items():
                query: dict[str, Any] = {"page[size]": PAGE, "sort_order": order}
                expected = None
                if place is not None:
                    walk, index = place
                    if index < 1 or count < PAGE + 2:
                        continue
                    created_at, pk = row_at(queryset, walk, index)
                    query["page[after]"] = shipped_cursor(path, supervisor, order, created_at, pk)
                    expected = row_at(queryset, walk, index + (1 if walk == order else -1))[1]
                requests.append(
                    Request(
                        f"cursor-{list_name}-{order}-{position}",
                        f"{list_name} cursor, {order}, {position}",
                        f"{path}?{urlencode(query)}",
                        expect_first=expected,
                    )
                )
    return requests


def build_requests(targets: Targets, supervisor: Any) -> list[Request]:
    """Every request of the table, in the table's order."""
    from django.urls import reverse

    lists = {
        "skips": f"{API}skips.json",
        "ticket": f"{API}tickets/{targets.ticket_id}/skips.json",
        "user": f"{API}users/{targets.user_id}/skips.json",
    }
    requests = []
    for list_name, path in lists.items():
        requests.append(
            Request(f"api-{list_name}-offset", f"{list_name}, per_page=100", f"{path}?per_page=100")
        )
        requests.append(
            Request(
                f"api-{list_name}-cursor",
                f"{list_name}, page[size]=100",
                f"{path}?{urlencode({'page[size]': PAGE})}",
            )
        )
    requests += _cursor_requests(targets, supervisor)
    reason = f"{POST_REASON}{os.getpid()}"
    body = json.dumps({"skip": {"ticket_id": targets.post_ticket_id, "reason": reason}})
    requests.append(
        Request("api-post", "POST skips", f"{API}skips.json", "POST", CALL, body.encode())
    )

    changelist = reverse("admin:skips_skip_changelist")
    week = targets.last_day - datetime.timedelta(days=6)
    admin_pages: dict[str, tuple[str, dict[str, Any]]] = {
        "changelist": ("changelist", {}),
        "filter-date": (
            "date: the data's last 7 days",
            {"created_from": week.isoformat(), "created_to": targets.last_day.isoformat()},
        ),
        "filter-agent": ("agent (busiest)", {"user__id__exact": targets.user_id}),
        "filter-reason-yes": ("has a reason", {"has_reason": "yes"}),
        "filter-reason-no": ("no reason", {"has_reason": "no"}),
        "filter-archived-hide": ("archived hidden", {"archived": "hide"}),
        "filter-archived-only": ("archived only", {"archived": "only"}),
        "filter-ticket": ("ticket (busiest)", {"ticket__id__exact": targets.ticket_id}),
        "drilldown-month": (
            "date drill-down: the data's last month",
            {
                "created_at__year": targets.last_day.year,
                "created_at__month": targets.last_day.month,
            },
        ),
        "search-agent": ("search: the busiest agent's name", {"q": targets.user_name}),
        "search-ticket": ("search: the busiest ticket's id", {"q": str(targets.ticket_id)}),
    }
    for name, (label, query) in admin_pages.items():
        path = f"{changelist}?{urlencode(query)}" if query else changelist
        requests.append(Request(f"admin-{name}", f"admin {label}", path))
    requests.append(
        Request(
            "admin-report", "admin report (30 days)", reverse("admin:skips_skip_report"), kind=ADMIN
        )
    )
    requests.append(
        Request(
            "admin-export",
            "admin CSV export, everything",
            reverse("admin:skips_skip_export"),
            kind=EXPORT,
            inherent="reads every skip",
        )
    )
    return requests


@dataclass
class Outcome:
    """What one request answered: its time and what its page held."""

    ms: float
    status: int
    rows: int | None = None
    tickets: int | None = None
    note: str = ""


def _pid(text: str, prefix: str) -> int:
    """The process id after ``prefix`` in ``text``; 0 (no process) if there is none."""
    pid = text.removeprefix(prefix)
    return int(pid) if pid.isdigit() else 0


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Caller:
    """Sends the requests: the API with the supervisor's token, the admin as a superuser."""

    def __init__(self) -> None:
        from django.contrib.auth import get_user_model
        from django.test import Client

        from skips.models import Skip

        users: Any = get_user_model()._default_manager
        self.supervisor = users.get(username=SUPERVISOR)
        # What runs that were stopped before their end left behind.
        for name in users.filter(username__startswith=ADMIN_USER).values_list(
            "username", flat=True
        ):
            if not _alive(_pid(name, ADMIN_USER)):
                users.filter(username=name).delete()
        left = Skip.objects.filter(reason__startswith=POST_REASON).values_list("pk", "reason")
        stale = [pk for pk, reason in left if not _alive(_pid(reason, POST_REASON))]
        if stale:
            Skip.objects.filter(pk__in=stale).delete()
        self.api = Client(HTTP_AUTHORIZATION=basic_auth(SUPERVISOR))
        self.admin = Client()
        self.admin_user = users.create_superuser(
            f"{ADMIN_USER}{os.getpid()}", f"scale-admin-{os.getpid()}@bench.example.com"
        )
        self.admin.force_login(self.admin_user)
        self.created: list[int] = []

    def send(self, request: Request, whole: bool = True) -> Any:
        """The response; a streamed one is read whole, or only its first chunk."""
        client = self.admin if request.path.startswith("/admin/") else self.api
        response: Any
        if request.method == "POST":
            response = client.post(request.path, request.body, content_type="application/json")
            if response.status_code == 201:
                self.created.append(json.loads(response.content)["skip"]["id"])
        else:
            response = client.get(request.path)
        expected = 201 if request.method == "POST" else 200
        if response.status_code != expected:
            raise SystemExit(
                f"{request.method} {request.path}: {response.status_code}"
                f" {bytes(getattr(response, 'content', b''))[:300]!r}"
            )
        if response.streaming:
            rows = -1  # the header line
            for chunk in response.streaming_content:
                rows += chunk.count(b"\n")
                if not whole:
                    break
            response.close()
            response.rows = rows
        return response

    def run(self, request: Request, whole: bool = True) -> Outcome:
        """Send ``request`` once, timed from the client's call to the end of the answer."""
        started = time.perf_counter_ns()
        response = self.send(request, whole)
        ms = (time.perf_counter_ns() - started) / 1e6
        outcome = Outcome(ms, response.status_code)
        if response.streaming:
            outcome.rows = response.rows
        elif request.path.startswith("/admin/"):
            context = getattr(response, "context_data", None) or {}
            changelist = context.get("cl")
            if changelist is not None:
                skips = list(changelist.result_list)
                outcome.rows = len(skips)
                outcome.tickets = len({skip.ticket_id for skip in skips})
        elif request.kind == LIST:
            skips = json.loads(response.content)["skips"]
            outcome.rows = len(skips)
            outcome.tickets = len({skip["ticket_id"] for skip in skips})
            if request.expect_first is not None and (
                not skips or skips[0]["id"] != request.expect_first
            ):
                outcome.note = f"page does not start at skip {request.expect_first}"
        return outcome

    def close(self) -> None:
        """Delete the skips made by POST, the superuser's session and the superuser."""
        from django.db import connection

        from skips.models import Skip

        if connection.connection is not None and not connection.is_usable():
            connection.close()  # lost (a server restart): the next query reconnects

        if self.created:
            Skip.objects.filter(pk__in=self.created).delete()
            self.created.clear()
        self.admin.logout()
        self.admin_user.delete()
