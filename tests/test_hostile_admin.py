"""A catalogue of hostile requests to the admin of skips, one row per case.

Each row is one request to the changelist, the page of one skip, the CSV
export or the report: what it sends, who sends it, and the answer the admin
gives: 200 (the page, maybe an empty list or the form's errors), 302 (the
admin's error page "?e=1", or "not found" for a skip hidden from the viewer)
or 400 (a lookup the changelist's filters do not use). Every case checks the
same things: the status, never 500; that the database is unchanged; that no
name the viewer may not learn is on the page; that no exported cell starts a
formula, whatever the spreadsheet's separator (``,``, ``;`` or tab); and
where the row says so, which skips are listed or exported.

By default the test host's access rule is on ("the cases of my groups",
tests.testapp.access) and the viewer is a staff member with ``view_skip`` in
the first group, who may see Ana's skips but not Ben's; Ida never skipped.
The API's catalogue is test_hostile_input.py.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import pytest
from django.contrib.auth.models import Group
from django.test import override_settings

from skips.admin.export import FORMULA_STARTS
from skips.models import Skip
from tests.admin_support import CHANGELIST, EXPORT, REPORT, bulk_skips, logged_in, staff
from tests.factories import CaseFactory, UserFactory
from tests.testapp.models import Agent, Case

pytestmark = pytest.mark.django_db

RULE = "tests.testapp.access.my_groups_cases"
SKIP = "<skip>"
HIDDEN_SKIP = "<hidden_skip>"
#: Reasons of the visible skips: formulas after every kind of cell break.
REASONS = [
    "see;=1+1;x",
    "a,=2+2",
    "tab\t@SUM(3)",
    "line\n-4+4",
    "crlf\r\n+5",
    'quoted ";=6+6"',
    'quote;"=7+7',
    "twice;;=8+8;=9+9",
    "=HYPERLINK(10)",
    "",
]
#: What a page may never show the viewer: Ben's name and email (he skipped
#: only hidden cases), Ida's (she never skipped), the hidden case and its reason.
SECRETS = ("Ben Hidden", "ben.hidden@example.com", "Idle Ida", "ida@example.com")
HIDDEN_TEXT = ("Secret merger", "merger talks")


@dataclass(frozen=True)
class Hostile:
    """One hostile request to the admin and its answer."""

    id: str
    status: int
    path: str = CHANGELIST
    #: The query string, as sent (placeholders aside).
    query: str = ""
    method: str = "GET"
    data: Mapping[str, Any] | None = None
    #: "viewer" (view_skip), "deleter" (view_skip and delete_skip) or "superuser".
    who: str = "viewer"
    #: The access rule on (the default) or off.
    rule: bool = True
    #: For a 302: how the Location ends.
    location: str | None = None
    #: The skips listed or exported: "visible", "all", "none", or None (not checked).
    shows: str | None = None
    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclass
class World:
    viewer: Any
    deleter: Any
    superuser: Any
    ana: Any
    ben: Any
    idle: Any
    visible: Any
    hidden: Any
    visible_skips: list[int]
    hidden_skips: list[int]

    def fill(self, text: str) -> str:
        for name, value in (
            ("<visible>", self.visible.pk),
            ("<hidden>", self.hidden.pk),
            ("<ana>", self.ana.pk),
            ("<ben>", self.ben.pk),
            ("<idle>", self.idle.pk),
            (SKIP, self.visible_skips[0]),
            (HIDDEN_SKIP, self.hidden_skips[0]),
        ):
            text = text.replace(name, str(value))
        return text

    def fill_data(self, data: Mapping[str, Any]) -> dict[str, Any]:
        filled: dict[str, Any] = {}
        for key, value in data.items():
            if value == "<visible skips>":
                filled[key] = self.visible_skips
            elif value == "<hidden skips>":
                filled[key] = self.hidden_skips
            elif value == "<every skip>":
                filled[key] = self.visible_skips + self.hidden_skips
            else:
                filled[key] = self.fill(str(value))
        return filled


def q(text: str) -> str:
    """A search for ``text``, quoted for the query string."""
    return f"q={quote(text)}"


def error_page(id: str, query: str, path: str = CHANGELIST) -> Hostile:
    """The admin's error page: a redirect to the changelist with ``?e=1``."""
    return Hostile(id, 302, path=path, query=query, location="?e=1")


def refused(id: str, query: str, path: str = CHANGELIST) -> Hostile:
    """A lookup that no filter of the changelist uses: Django's 400."""
    return Hostile(id, 400, path=path, query=query)


def export(id: str, query: str = "", **kw: Any) -> Hostile:
    return Hostile(id, 200, path=EXPORT, query=query, **kw)


def report(id: str, query: str = "", **kw: Any) -> Hostile:
    return Hostile(id, 200, path=REPORT, query=query, **kw)


def action(id: str, status: int, name: str, selected: str, query: str = "", **kw: Any) -> Hostile:
    data = {"action": name, "_selected_action": selected, "post": "yes"}
    if selected == "<across>":
        data = {"action": name, "select_across": "1", "_selected_action": SKIP, "post": "yes"}
    return Hostile(id, status, query=query, method="POST", data=data, **kw)


def not_found(id: str, path: str, **kw: Any) -> Hostile:
    """A skip the viewer may not see: the admin's "doesn't exist", as for a missing one."""
    return Hostile(id, 302, path=path, location="/admin/", **kw)


EARLIEST, LATEST = "0001-01-01", "9999-12-31"

DATE_CASES: list[Hostile] = [
    # Dates at the ends of the calendar: a list (maybe empty), never a 500.
    *(
        Hostile(f"{where} {query}", 200, path=path, query=query, shows=shows)
        for where, path in (("changelist", CHANGELIST), ("export", EXPORT))
        for query, shows in (
            (f"created_from={EARLIEST}", "visible"),
            (f"created_to={LATEST}", "visible"),
            (f"created_from={EARLIEST}&created_to={LATEST}", "visible"),
            (f"created_from={LATEST}", "none"),
            (f"created_to={EARLIEST}", "none"),
            (f"created_from={LATEST}&created_to={LATEST}", "none"),
            ("created_at__year=9999", "none"),
            ("created_at__year=9999&created_at__month=12", "none"),
            ("created_at__year=9999&created_at__month=12&created_at__day=31", "none"),
            ("created_at__year=1", "none"),
            ("created_at__year=1&created_at__month=1&created_at__day=1", "none"),
        )
    ),
    # Date parts that make no date: the error page.
    *(
        error_page(f"{where} {query[:60]}", query, path)
        for where, path in (("changelist", CHANGELIST), ("export", EXPORT))
        for query in (
            "created_at__year=0",
            "created_at__year=10000",
            "created_at__year=-1",
            "created_at__year=abc",
            "created_at__year=" + "9" * 5000,
            "created_at__year=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%94",  # full-width digits
            "created_at__year=2024&created_at__month=13",
            "created_at__year=2024&created_at__month=0",
            "created_at__year=9999&created_at__month=12&created_at__day=32",
            "created_at__month=12",
            "created_at__day=31",
            "created_at__year=2024&created_at__day=3",
            "created_from=10000-01-01",
            "created_from=0000-12-31",
            "created_to=9999-13-01",
            "created_from=yesterday",
        )
    ),
    # The report's period: the figures, or the form's errors and the default period.
    report("report one day of 9999", f"first={LATEST}&last={LATEST}"),
    report("report the year 9999", f"first=9999-01-01&last={LATEST}"),
    report("report one day of year 1", f"first={EARLIEST}&last={EARLIEST}"),
    report("report the year 1", f"first={EARLIEST}&last=0001-12-31"),
    report("report to 9999 from the default", f"last={LATEST}"),
    report("report from year 1 to the default", f"first={EARLIEST}"),
    report("report backwards across the calendar", f"first={LATEST}&last={EARLIEST}"),
    report("report across the calendar", f"first={EARLIEST}&last={LATEST}"),
    report("report year 10000", "first=10000-01-01&last=10000-01-02"),
    report("report year 0", "first=0000-01-01"),
    report("report not a date", "first=someday&last=%00"),
]

EXPORT_CASES: list[Hostile] = [
    # Formulas after a separator, a tab or a line break: no cell starts one.
    export("export every skip", shows="visible"),
    export("export every skip as a superuser", who="superuser", shows="all"),
    export("export without the rule", rule=False, shows="all"),
    export("export searched", q(";=1+1")),
    action("export action on every id", 200, "export_csv", "<every skip>", shows="visible"),
    action("export action across the list", 200, "export_csv", "<across>", shows="visible"),
    action("export action on hidden ids", 200, "export_csv", "<hidden skips>", shows="none"),
]

NAME_CASES: list[Hostile] = [
    # A name by id: only of agents with a skip the viewer may see.
    Hostile(
        "changelist agent who never skipped", 200, query="user__id__exact=<idle>", shows="none"
    ),
    Hostile("changelist agent of hidden skips", 200, query="user__id__exact=<ben>", shows="none"),
    Hostile(
        "changelist agent who never skipped without the rule",
        200,
        query="user__id__exact=<idle>",
        rule=False,
        shows="none",
    ),
    report("report agent who never skipped", "agent=<idle>"),
    report("report agent of hidden skips", "agent=<ben>"),
    report("report agent who never skipped without the rule", "agent=<idle>", rule=False),
    report("report agent 0", "agent=0"),
    report("report agent -1", "agent=-1"),
    report("report agent past the integers", "agent=" + "9" * 25),
    report("report agent not a number", "agent=ana"),
    report("report agent twice", "agent=<ana>&agent=<idle>"),
]

SEARCH_AND_LOOKUP_CASES: list[Hostile] = [
    # Search: the first words only; nothing of hidden tickets.
    Hostile("search 600 words", 200, query=q(" ".join(["printer"] * 600)), shows="visible"),
    Hostile("search 600 distinct words", 200, query=q(" ".join(f"w{i}" for i in range(600)))),
    Hostile("search 10,000 characters", 200, query=q("x" * 10_000), shows="none"),
    Hostile("search NUL", 200, query=q("a\x00b")),
    Hostile("search unbalanced quote", 200, query=q('"printer')),
    Hostile("search ticket number past the integers", 200, query=q("#" + "9" * 30), shows="none"),
    Hostile("search hidden ticket title", 200, query=q("Secret merger"), shows="none"),
    Hostile("search hidden ticket number", 200, query=q("#<hidden>"), shows="none"),
    Hostile("search hidden reason", 200, query=q("merger talks"), shows="none"),
    Hostile("search hidden agent", 200, query=q("ben.hidden"), shows="none"),
    Hostile("search regex metacharacters", 200, query=q("^(a+)+$ % _ \\"), shows="none"),
    export("export search 600 words", q(" ".join(["printer"] * 600)), shows="visible"),
    # Lookups no filter uses: refused, never applied.
    *(
        refused(f"{where} {query.split('=')[0]}", query, path)
        for where, path in (("changelist", CHANGELIST), ("export", EXPORT))
        for query in (
            "reason__regex=%5E(a%2B)%2B%24",
            "reason__iregex=x",
            "reason__contains=x",
            "reason=x",
            "id__gt=0",
            "pk=1",
            "created_at__gte=2000-01-01",
            "created_at__date=2024-01-01",
            "user_id=1",
            "ticket_id=1",
            "ticket=1",
            "user__password__startswith=md5",
            "user__email__icontains=a",
            "user__is_superuser=1",
            "ticket__title__icontains=secret",
            "ticket__team__name=theirs",
            "ticket__secret_key__startswith=a",
            "reason__in=a,b",
            "reason__isnull=1",
            "whatever=1",
        )
    ),
    action("action with a refused lookup", 400, "export_csv", "<across>", "reason__regex=x"),
    # The filters' own parameters, with odd values.
    Hostile("ticket filter hidden ticket", 200, query="ticket__id__exact=<hidden>", shows="none"),
    Hostile("ticket filter past the integers", 200, query="ticket__id__exact=" + "9" * 25),
    error_page("ticket filter not a number", "ticket__id__exact=abc"),
    error_page("agent filter not a number", "user__id__exact=abc"),
    error_page("agent filter past the integers", "user__id__exact=" + "9" * 25),
    Hostile("agent filter 0", 200, query="user__id__exact=0", shows="none"),
    Hostile("reason filter odd value", 200, query="has_reason=maybe"),
    Hostile("archived filter odd value", 200, query="archived=maybe"),
    # Django's own parameters.
    Hostile("page -1", 200, query="p=-1"),
    Hostile("page not a number", 200, query="p=abc"),
    Hostile("page past the integers", 200, query="p=" + "9" * 25),
    Hostile("order past the columns", 200, query="o=99"),
    Hostile("order not a number", 200, query="o=x.-.1"),
    Hostile("show all", 200, query="all="),
    Hostile("popup", 200, query="_popup=1"),
    Hostile("error flag", 200, query="e=1"),
    refused("to_field password", "_to_field=password"),
]

ONE_SKIP_CASES: list[Hostile] = [
    # A skip of a hidden ticket is answered as a missing one.
    not_found("hidden skip page", f"{CHANGELIST}{HIDDEN_SKIP}/change/"),
    not_found("hidden skip history", f"{CHANGELIST}{HIDDEN_SKIP}/history/"),
    not_found("hidden skip delete page", f"{CHANGELIST}{HIDDEN_SKIP}/delete/", who="deleter"),
    not_found("missing skip page", f"{CHANGELIST}987654321/change/"),
    not_found("skip id not a number", f"{CHANGELIST}abc/change/"),
    not_found("skip id past the integers", f"{CHANGELIST}{'9' * 25}/change/"),
    Hostile(
        "hidden skip deleted",
        302,
        path=f"{CHANGELIST}{HIDDEN_SKIP}/delete/",
        method="POST",
        data={"post": "yes"},
        who="deleter",
        location="/admin/",
    ),
    action("delete action on hidden ids", 302, "delete_selected", "<hidden skips>", who="deleter"),
    action(
        "delete action on ids past the integers", 302, "delete_selected", "9" * 25, who="deleter"
    ),
    action("delete action on ids not numbers", 302, "delete_selected", "abc", who="deleter"),
    action("export action on ids past the integers", 302, "export_csv", "-" + "9" * 25),
    action("export action on ids not numbers", 302, "export_csv", "1.5"),
    Hostile("skip page as a viewer", 200, path=f"{CHANGELIST}{SKIP}/change/"),
    Hostile(
        "skip changed",
        403,
        path=f"{CHANGELIST}{SKIP}/change/",
        method="POST",
        data={"reason": "edited"},
    ),
    Hostile("skip added", 403, path=f"{CHANGELIST}add/", method="POST", data={"reason": "x"}),
    Hostile("report as a viewer", 200, path=REPORT),
    report("report hide archived odd value", "hide_archived=maybe"),
]

CASES = DATE_CASES + EXPORT_CASES + NAME_CASES + SEARCH_AND_LOOKUP_CASES + ONE_SKIP_CASES


@pytest.fixture
def world() -> World:
    mine, theirs = Group.objects.create(name="mine"), Group.objects.create(name="theirs")
    viewer = staff("view_skip")
    deleter = staff("view_skip", "delete_skip")
    for user in (viewer, deleter):
        user.groups.add(mine)
    ana = UserFactory(full_name="Ana Visible", email="ana@example.com")
    ben = UserFactory(full_name=SECRETS[0], email=SECRETS[1])
    idle = UserFactory(full_name=SECRETS[2], email=SECRETS[3])
    visible = CaseFactory(title="Printer on fire", team=mine)
    hidden = CaseFactory(title=HIDDEN_TEXT[0], team=theirs)
    archived = CaseFactory(title="Old printer", team=mine, is_archived=True)
    shown = bulk_skips(len(REASONS), users=[ana], tickets=[visible, archived], reasons=REASONS)
    kept_back = bulk_skips(3, users=[ben], tickets=[hidden], reasons=[HIDDEN_TEXT[1]])
    return World(
        viewer=viewer,
        deleter=deleter,
        superuser=UserFactory(is_staff=True, is_superuser=True),
        ana=ana,
        ben=ben,
        idle=idle,
        visible=visible,
        hidden=hidden,
        visible_skips=[s.pk for s in shown],
        hidden_skips=[s.pk for s in kept_back],
    )


def database() -> tuple[Any, ...]:
    """Everything a request could change: the skips as stored, the cases and the users."""
    return (
        list(Skip.objects.order_by("pk").values_list()),
        list(Case.objects.order_by("pk").values_list("pk", "title", "team_id")),
        list(Agent.objects.order_by("pk").values_list("pk", "email", "full_name")),
    )


def unsafe_cells(text: str) -> list[str]:
    """Cells that start a formula when ``text`` is split at ``,``, ``;`` or tab."""
    cells: list[str] = []
    for delimiter in (",", ";", "\t"):
        cells += [c for row in csv.reader(io.StringIO(text), delimiter=delimiter) for c in row]
        cells += [c for line in text.splitlines() for c in line.split(delimiter)]
    return [cell for cell in cells if cell.lstrip(' "').startswith(FORMULA_STARTS)]


def listed(case: Hostile, world: World, response: Any, text: str | None) -> set[int] | None:
    """The skip ids a changelist or export response lists; None for other pages."""
    if text is not None:
        return {int(row["id"]) for row in csv.DictReader(io.StringIO(text))}
    context = getattr(response, "context", None)
    if context is None or "cl" not in context:
        return None
    return {skip.pk for skip in context["cl"].result_list}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_admin_request(case: Hostile, world: World) -> None:
    rule = RULE if case.rule else None
    before = database()
    client = logged_in(getattr(world, case.who))
    client.raise_request_exception = False
    path = world.fill(case.path) + (f"?{world.fill(case.query)}" if case.query else "")

    with override_settings(SKIPS_TICKET_ACCESS=rule, **case.settings):
        if case.method == "POST":
            response = client.post(path, world.fill_data(case.data or {}))
        else:
            response = client.get(path)
        text = (
            b"".join(response.streaming_content).decode()
            if getattr(response, "streaming", False)
            else None
        )
        assert response.status_code != 500
        assert response.status_code == case.status, (response.status_code, response.get("Location"))

    assert database() == before
    if case.location is not None:
        assert response["Location"].endswith(case.location), response["Location"]
    page = text if text is not None else response.content.decode(errors="replace")
    sent = unquote(path).lower()  # a search shows its own words back
    secrets = (
        [] if case.who == "superuser" else [*SECRETS, *HIDDEN_TEXT] if case.rule else SECRETS[2:]
    )
    for secret in secrets:  # without the rule, only Ida, who never skipped, stays unnamed
        assert secret.lower() in sent or secret not in page, secret
    if text is not None:
        assert unsafe_cells(text) == []
    if case.shows is not None:
        expected = {
            "visible": set(world.visible_skips),
            "all": set(world.visible_skips + world.hidden_skips),
            "none": set(),
        }[case.shows]
        assert listed(case, world, response, text) == expected


def test_catalogue_size() -> None:
    """The catalogue's size, as reported; a row lost by accident shows here."""
    assert len(CASES) == len({case.id for case in CASES}) >= 150
