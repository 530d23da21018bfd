"""Misconfiguration gives system-check errors, not tracebacks.

Each bad host runs in processes of its own (``tests/hosts/process.py``): the
ticket model is bound when the models load, so it cannot change within the
suite's process. For each, ``manage.py check``, ``migrate`` and ``runserver``
print the check's id and stop, and a request is answered (the URLconf imports):
none prints a traceback. Hosts whose ticket model has its own ``skips`` (a
field, a property, a relation) migrate and serve. These run on SQLite files,
whatever ``DATABASE_URL`` says.

Also here: an archived rule holding an expression (``Q(Exists(...))``) works on
every route, in the suite's own host.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Exists, OuterRef, Q

from skips.models import Skip
from tests.conftest import client_for
from tests.factories import CaseFactory, LabelFactory, SkipFactory
from tests.hosts.process import DELETE, Result, command, run, script, write_settings
from tests.testapp.models import Label

HOST_TICKETS = 'INSTALLED_APPS = [*INSTALLED_APPS, "tests.hosts.host_tickets"]'
SECOND_DATABASE = (
    "DATABASES['helpdesk'] = {**DATABASES['default'], "
    "'NAME': DATABASES['default']['NAME'] + '.helpdesk'}"
)

#: An anonymous request: the URLconf imports, and the API answers in its family.
ANONYMOUS_REQUEST = """
from django.test import Client
response = Client().get("/api/v2/skips.json")
print("status", response.status_code, response.content.decode())
"""


def misconfiguration(
    error_id: str, code: str = "", *, id: str, **settings: Any
) -> Any:  # a pytest.param
    return pytest.param(code, settings, error_id, id=id)


MISCONFIGURATIONS = [
    misconfiguration("skips.E001", SKIPS_TICKET_MODEL=DELETE, id="ticket-model-missing"),
    misconfiguration("skips.E002", SKIPS_TICKET_MODEL="testapp.Cse", id="ticket-model-misspelled"),
    misconfiguration("skips.E002", SKIPS_TICKET_MODEL="Case", id="ticket-model-not-a-label"),
    misconfiguration(
        "skips.E003",
        SKIPS_TICKET_SERIALIZER="tests.hosts.broken_module.Serializer",
        id="serializer-module-raises",
    ),
    misconfiguration("skips.E004", SKIPS_ARCHIVED_TICKETS="title", id="archived-not-boolean"),
    misconfiguration(
        "skips.E004",
        SKIPS_ARCHIVED_TICKETS="tests.hosts.rules.uncompilable_archived_rule",
        id="archived-rule-uncompilable",
    ),
    misconfiguration(
        "skips.E009",
        SKIPS_TICKET_ACCESS="tests.hosts.broken_module.rule",
        id="access-rule-module-raises",
    ),
    misconfiguration(
        "skips.E009",
        SKIPS_TICKET_ACCESS="tests.hosts.rules.access_without_a_user",
        id="access-rule-takes-no-user",
    ),
    misconfiguration(
        "skips.E010",
        HOST_TICKETS,
        SKIPS_TICKET_MODEL="host_tickets.UUIDTicket",
        SKIPS_TICKET_SERIALIZER="skips.serializers.TicketSerializer",
        SKIPS_ARCHIVED_TICKETS=None,
        id="uuid-primary-key",
    ),
    misconfiguration(
        "skips.E010",
        HOST_TICKETS,
        SKIPS_TICKET_MODEL="host_tickets.CodeTicket",
        SKIPS_TICKET_SERIALIZER="skips.serializers.TicketSerializer",
        SKIPS_ARCHIVED_TICKETS=None,
        id="char-primary-key",
    ),
    misconfiguration(
        "skips.E013",
        'INSTALLED_APPS = [a for a in INSTALLED_APPS if a != "rest_framework.authtoken"]',
        id="authtoken-app-missing",
    ),
    misconfiguration(
        "skips.E011",
        SECOND_DATABASE,
        DATABASE_ROUTERS=["tests.hosts.multidb.routers.SkipsLeftBehindRouter"],
        id="router-leaves-skips-behind",
    ),
]


def assert_clean(result: Result) -> None:
    assert "Traceback" not in result.output, result


@pytest.mark.parametrize(("code", "settings", "error_id"), MISCONFIGURATIONS)
def test_a_misconfiguration_is_a_check_error_not_a_traceback(
    tmp_path: Path, code: str, settings: dict[str, Any], error_id: str
) -> None:
    host = write_settings(tmp_path, code, **settings)
    *commands, request = run(
        tmp_path,
        host,
        command("check"),
        command("migrate", "--noinput"),
        command("runserver", "--noreload", "127.0.0.1:0"),
        script(ANONYMOUS_REQUEST),
    )
    for result in commands:
        assert result.returncode == 1, result
        assert f"({error_id})" in result.output, result
        assert_clean(result)
    assert request.returncode == 0, request
    assert "status 401" in request.output, request
    assert_clean(request)


# Hosts whose ticket model has a "skips" of its own

SKIP_AND_LIST = """
import base64, json
from rest_framework.test import APIClient
from skips.models import Skip, get_ticket_model
from tests.factories import SupervisorFactory
from tests.hosts.host_tickets.models import HostSkip

Ticket = get_ticket_model()
ticket = Ticket.objects.create(subject="The printer is on fire")
if hasattr(ticket, "skips") and hasattr(ticket.skips, "create"):
    ticket.skips.create(note="the host's own")
agent = SupervisorFactory()
client = APIClient()
raw = f"{agent.email}/token:{agent.auth_token.key}".encode()
client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(raw).decode())
post = client.post("/api/v2/skips.json", {"skip": {"ticket_id": ticket.pk}}, format="json")
lists = [
    client.get(path)
    for path in ("/api/v2/skips.json", f"/api/v2/tickets/{ticket.pk}/skips.json")
]
ticket = Ticket.objects.get(pk=ticket.pk)
skips = ticket.skips
host_skips = [s.note for s in skips.all()] if hasattr(skips, "all") else skips
ticket.delete()
print(json.dumps({
    "post": post.status_code,
    "ticket": post.json()["skip"]["ticket"],
    "lists": [(r.status_code, [s["ticket"]["id"] for s in r.json()["skips"]]) for r in lists],
    "host_skips": host_skips,
    "left_after_delete": [Skip.objects.count(), HostSkip.objects.count()],
}))
"""


@pytest.mark.parametrize(
    ("model", "host_skips"),
    [
        ("FieldTicket", 0),  # the column, untouched
        ("PropertyTicket", "the host's property"),
        ("RelatedTicket", ["the host's own"]),
        ("SubTicket", ["the host's own"]),  # inherited from its parent, with its primary key
    ],
)
def test_a_ticket_model_with_its_own_skips_works(
    tmp_path: Path, model: str, host_skips: Any
) -> None:
    host = write_settings(
        tmp_path,
        HOST_TICKETS,
        SKIPS_TICKET_MODEL=f"host_tickets.{model}",
        SKIPS_TICKET_SERIALIZER="skips.serializers.TicketSerializer",
        SKIPS_ARCHIVED_TICKETS=None,
    )
    # migrate runs every system check first, and prints any message they give.
    (migrate,) = run(tmp_path, host, command("migrate", "--noinput"))
    assert migrate.returncode == 0, migrate
    assert "System check identified" not in migrate.output, migrate
    assert "skips.0002_skip_ticket_no_reverse_accessor... OK" in migrate.output, migrate
    (request,) = run(tmp_path, host, script(SKIP_AND_LIST))
    assert request.returncode == 0, request
    assert_clean(request)
    seen = json.loads(request.output.splitlines()[-1])
    assert seen["post"] == 201
    assert seen["ticket"]["subject"] == "The printer is on fire"
    ticket_id = seen["ticket"]["id"]
    assert seen["lists"] == [[200, [ticket_id]], [200, [ticket_id]]]
    assert seen["host_skips"] == host_skips
    assert seen["left_after_delete"] == [0, 0]  # deleting the ticket deleted its skips


def test_the_host_migrations_leave_nothing_to_make(tmp_path: Path) -> None:
    host = write_settings(
        tmp_path,
        HOST_TICKETS,
        SKIPS_TICKET_MODEL="host_tickets.FieldTicket",
        SKIPS_TICKET_SERIALIZER="skips.serializers.TicketSerializer",
        SKIPS_ARCHIVED_TICKETS=None,
    )
    (result,) = run(tmp_path, host, command("makemigrations", "--check", "--dry-run"))
    assert result.returncode == 0, result
    assert "No changes detected" in result.output, result


# An archived rule holding an expression, on every route (in the suite's host)

FROZEN = "frozen"


def frozen_cases() -> Q:
    """Only an expression: the cases labelled "frozen"."""
    return Q(Exists(Label.objects.filter(case=OuterRef("pk"), name=FROZEN)))


def not_thawed_cases() -> Q:
    """A negated expression: the cases with no label but "frozen"."""
    return ~Q(Exists(Label.objects.filter(case=OuterRef("pk")).exclude(name=FROZEN)))


ARCHIVED_RULES = [
    pytest.param("tests.testapp.archived.closed_or_frozen_cases", id="lookup-or-exists"),
    pytest.param(frozen_cases, id="exists"),
    pytest.param(not_thawed_cases, id="negated-exists"),
    pytest.param("tests.testapp.archived.vip_cases", id="many-valued-lookup"),
]


@pytest.fixture(params=ARCHIVED_RULES)
def archived_world(request: Any, settings: Any, agent: Any, supervisor: Any) -> dict[str, Any]:
    """A live case and an archived one, each skipped twice by the agent.

    The cases carry two labels each (the archived one a single one under the
    negated rule), so that a rule over a many-valued relation that joined the
    labels would repeat rows.
    """
    rule = request.param
    settings.SKIPS_ARCHIVED_TICKETS = rule
    billing, refund = LabelFactory(name="billing"), LabelFactory(name="refund")
    marker = LabelFactory(name="vip" if rule == "tests.testapp.archived.vip_cases" else FROZEN)
    live = CaseFactory(labels=[billing, refund])
    archived = CaseFactory(labels=[marker, refund] if rule is not not_thawed_cases else [marker])
    skips = {
        name: [SkipFactory(user=agent, ticket=case).pk for _ in range(2)]
        for name, case in (("live", live), ("archived", archived))
    }
    return {"rule": rule, "live": live, "archived": archived, "skips": skips}


def listed(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [skip["id"] for skip in response.json()["skips"]]


def test_the_rule_sorts_the_cases(archived_world: dict[str, Any]) -> None:
    from skips.querysets import archived_q

    archived = type(archived_world["live"])._default_manager.filter(archived_q())
    assert list(archived) == [archived_world["archived"]]


@pytest.mark.parametrize("who", ["agent", "supervisor"])
def test_lists_leave_out_the_archived_tickets(
    archived_world: dict[str, Any], request: Any, who: str
) -> None:
    user = request.getfixturevalue(who)
    client = client_for(user)
    live, archived = archived_world["live"], archived_world["archived"]
    expected = archived_world["skips"]["live"]
    assert listed(client.get("/api/v2/skips")) == expected
    assert listed(client.get("/api/v2/skips?sort_order=desc")) == expected[::-1]
    assert listed(client.get(f"/api/v2/tickets/{live.pk}/skips")) == expected
    assert listed(client.get(f"/api/v2/tickets/{archived.pk}/skips")) == []
    agent = request.getfixturevalue("agent")
    assert listed(client.get(f"/api/v2/users/{agent.pk}/skips")) == expected


def test_offset_and_cursor_pages_count_each_skip_once(
    archived_world: dict[str, Any], supervisor: Any
) -> None:
    client = client_for(supervisor)
    expected = archived_world["skips"]["live"]
    page = client.get("/api/v2/skips?per_page=1")
    assert page.json()["count"] == len(expected)
    walked, url = [], "/api/v2/skips?page[size]=1"
    while url:
        body = client.get(url).json()
        walked += [skip["id"] for skip in body["skips"]]
        url = body["links"]["next"]
    assert walked == expected


@pytest.mark.parametrize("route", ["/api/v2/skips", "/api/v2/tickets/{id}/skips"])
def test_posting_to_an_archived_ticket_is_422(
    archived_world: dict[str, Any], agent: Any, route: str
) -> None:
    before = Skip.objects.count()
    archived = archived_world["archived"]
    response = client_for(agent).post_json(
        route.format(id=archived.pk), {"skip": {"ticket_id": archived.pk}}
    )
    assert response.status_code == 422, response.content
    assert "archived" in json.dumps(response.json()["details"]["ticket_id"])
    assert Skip.objects.count() == before


@pytest.mark.parametrize("route", ["/api/v2/skips", "/api/v2/tickets/{id}/skips"])
def test_posting_to_a_live_ticket_is_201(
    archived_world: dict[str, Any], agent: Any, route: str
) -> None:
    live = archived_world["live"]
    response = client_for(agent).post_json(
        route.format(id=live.pk), {"skip": {"ticket_id": live.pk}}
    )
    assert response.status_code == 201, response.content


def test_the_next_candidates_leave_out_the_archived_tickets(
    archived_world: dict[str, Any], other_agent: Any
) -> None:
    candidates = Skip.objects.tickets_not_skipped_by(other_agent)
    assert list(candidates) == [archived_world["live"]]
