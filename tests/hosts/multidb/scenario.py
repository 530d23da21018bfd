"""Record and list skips in the multiple-databases host, and print what happened as JSON.

Run by ``tests/test_multiple_databases.py`` in a process of its own::

    DJANGO_SETTINGS_MODULE=... python -m tests.hosts.multidb.scenario

It migrates both databases, then records skips and lists them over HTTP,
noting the SQL each database received and, from a ``skip_recorded``
receiver, which connections were inside an atomic block.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import django


@contextmanager
def sql_by_alias() -> Iterator[dict[str, list[str]]]:
    """The SQL each database alias ran inside the block."""
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    seen: dict[str, list[str]] = {}
    with ExitStack() as stack:
        captures = {
            alias: stack.enter_context(CaptureQueriesContext(connections[alias]))
            for alias in connections
        }
        yield seen
    seen.update(
        {
            alias: [query["sql"] for query in capture.captured_queries]
            for alias, capture in captures.items()
        }
    )


def main() -> dict[str, Any]:
    django.setup()

    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connections
    from rest_framework.test import APIClient

    from skips.models import Skip
    from skips.signals import skip_recorded
    from tests.factories import AgentFactory, CaseFactory, LabelFactory, SupervisorFactory

    for alias in connections:
        call_command("migrate", database=alias, verbosity=0)

    team = Group.objects.create(name="first line")
    agent, supervisor = AgentFactory(), SupervisorFactory()
    for user in (agent, supervisor):
        user.groups.add(team)
    case = CaseFactory(team=team, labels=[LabelFactory(name="billing")])
    frozen = CaseFactory(team=team, labels=[LabelFactory(name="frozen")])
    hidden = CaseFactory(team=None)  # no team: outside the access rule

    receiver_saw: list[dict[str, Any]] = []
    receiver_fails = False

    def receiver(sender: Any, skip: Skip, **kwargs: Any) -> None:
        receiver_saw.append(
            {
                "in_atomic_block": {
                    alias: connections[alias].in_atomic_block for alias in connections
                },
                "skip_db": skip._state.db,
            }
        )
        if receiver_fails:
            raise RuntimeError("a receiver failed")

    skip_recorded.connect(receiver, weak=False)

    def client(user: Any) -> APIClient:
        c = APIClient(raise_request_exception=False)
        raw = f"{user.email}/token:{user.auth_token.key}".encode()
        c.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(raw).decode())
        return c

    report: dict[str, Any] = {}

    def post(name: str, path: str, ticket: Any) -> None:
        with sql_by_alias() as sql:
            response = client(agent).post(path, {"skip": {"ticket_id": ticket.pk}}, format="json")
        report[name] = {"status": response.status_code, "sql": sql}

    def get(name: str, user: Any, path: str) -> None:
        with sql_by_alias() as sql:
            response = client(user).get(path)
        body = response.json()
        report[name] = {
            "status": response.status_code,
            "ids": [skip["id"] for skip in body.get("skips", [])],
            "sql": sql,
        }

    post("post", "/api/v2/skips.json", case)
    report["post"]["receiver_saw"] = receiver_saw[:]
    post("post_ticket_path", f"/api/v2/tickets/{case.pk}/skips.json", case)
    post("post_frozen", "/api/v2/skips.json", frozen)
    post("post_hidden", "/api/v2/skips.json", hidden)

    receiver_fails = True
    logging.disable(logging.CRITICAL)  # the 500 below is expected; its log is not needed
    post("post_receiver_fails", "/api/v2/skips.json", case)
    logging.disable(logging.NOTSET)
    receiver_fails = False

    Skip.objects.create(user=agent, ticket=frozen)  # listed by no route: frozen is archived
    get("list", supervisor, "/api/v2/skips.json")
    get("list_cursor", supervisor, "/api/v2/skips.json?page[size]=1")
    get("list_ticket", supervisor, f"/api/v2/tickets/{case.pk}/skips.json")
    get("list_user", agent, "/api/v2/users/me/skips.json")
    get("list_other_user", supervisor, f"/api/v2/users/{agent.pk}/skips.json")

    report["skips_in"] = {
        alias: sorted(Skip.objects.using(alias).values_list("pk", flat=True))
        for alias in connections
        if "skips_skip" in connections[alias].introspection.table_names()
    }
    report["tables"] = {
        alias: sorted(connections[alias].introspection.table_names()) for alias in connections
    }
    return report


if __name__ == "__main__":
    print(json.dumps(main()))
