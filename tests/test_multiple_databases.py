"""Multiple databases: every read and write of skips goes where the router says.

The host (``tests/hosts/multidb``) has two databases, "default" and
"helpdesk", and a router that sends the help desk's apps (skips, the ticket
and user app, authtoken, and the auth tables the permissions join) to
"helpdesk", with their tables only there: a query sent to "default" would fail
("no such table") and is recorded besides. It runs in a process of its own
(the suite's settings have one database), on SQLite files, whatever
``DATABASE_URL`` says.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.hosts.process import command, run, write_settings

HELPDESK_APPS = ("skips_", "testapp_", "authtoken_", "auth_", "django_content_type")


def host_settings(tmp_path: Path, router: str = "HelpdeskRouter") -> str:
    helpdesk = str(tmp_path / "helpdesk.sqlite3")
    return write_settings(
        tmp_path,
        f"DATABASES['helpdesk'] = {{'ENGINE': 'django.db.backends.sqlite3', 'NAME': {helpdesk!r}}}",
        DATABASE_ROUTERS=[f"tests.hosts.multidb.routers.{router}"],
        # Both rules become subqueries of the skips queries: they must go along.
        SKIPS_TICKET_ACCESS="tests.hosts.rules.own_team_access",
        SKIPS_ARCHIVED_TICKETS="tests.testapp.archived.closed_or_frozen_cases",
    )


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What the host's scenario saw (``tests/hosts/multidb/scenario.py``)."""
    tmp_path = tmp_path_factory.mktemp("multidb")
    check, result = run(
        tmp_path,
        host_settings(tmp_path),
        command("check"),
        [sys.executable, "-m", "tests.hosts.multidb.scenario"],
    )
    assert check.returncode == 0, check
    assert "no issues" in check.output, check
    assert result.returncode == 0, result
    return json.loads(result.output.splitlines()[-1])


def test_the_tables_are_where_the_router_puts_them(scenario: dict[str, Any]) -> None:
    tables = scenario["tables"]
    assert "skips_skip" in tables["helpdesk"]
    assert not [t for t in tables["default"] if t.startswith(HELPDESK_APPS)], tables["default"]
    assert scenario["skips_in"] == {"helpdesk": [1, 2, 3]}


@pytest.mark.parametrize(
    "request_name",
    [
        "post",
        "post_ticket_path",
        "post_frozen",
        "post_hidden",
        "post_receiver_fails",
        "list",
        "list_cursor",
        "list_ticket",
        "list_user",
        "list_other_user",
    ],
)
def test_every_query_of_a_request_goes_to_the_routed_database(
    scenario: dict[str, Any], request_name: str
) -> None:
    sql = scenario[request_name]["sql"]
    assert sql["default"] == []
    assert sql["helpdesk"]


def test_post_inserts_in_an_atomic_block_on_the_routed_database(scenario: dict[str, Any]) -> None:
    post = scenario["post"]
    assert post["status"] == 201
    writes = [q for q in post["sql"]["helpdesk"] if not q.startswith("SELECT")]
    assert writes[0] == "BEGIN"
    assert writes[1].startswith('INSERT INTO "skips_skip"')
    assert writes[2:] == ["COMMIT"]
    assert scenario["post_ticket_path"]["status"] == 201


def test_skip_recorded_receivers_run_inside_that_atomic_block(scenario: dict[str, Any]) -> None:
    (seen,) = scenario["post"]["receiver_saw"]
    assert seen == {"in_atomic_block": {"default": False, "helpdesk": True}, "skip_db": "helpdesk"}


def test_a_failing_receiver_rolls_the_insert_back_on_the_routed_database(
    scenario: dict[str, Any],
) -> None:
    failed = scenario["post_receiver_fails"]
    assert failed["status"] == 500
    writes = [q for q in failed["sql"]["helpdesk"] if not q.startswith("SELECT")]
    assert writes[0] == "BEGIN"
    assert writes[1].startswith('INSERT INTO "skips_skip"')
    assert writes[2:] == ["ROLLBACK"]
    # Two skips recorded over HTTP (the third is the frozen ticket's, saved directly).
    assert scenario["skips_in"]["helpdesk"] == [1, 2, 3]


def test_archived_and_access_rules_read_the_routed_database(scenario: dict[str, Any]) -> None:
    assert scenario["post_frozen"]["status"] == 422  # archived by an Exists rule
    assert scenario["post_hidden"]["status"] == 422  # outside the user's tickets


@pytest.mark.parametrize("request_name", ["list", "list_ticket", "list_user", "list_other_user"])
def test_lists_read_the_routed_database(scenario: dict[str, Any], request_name: str) -> None:
    listed = scenario[request_name]
    assert listed["status"] == 200
    assert listed["ids"] == [1, 2]  # not 3: its ticket is archived


def test_cursor_pages_read_the_routed_database(scenario: dict[str, Any]) -> None:
    assert scenario["list_cursor"]["status"] == 200
    assert scenario["list_cursor"]["ids"] == [1]


def test_a_router_that_leaves_skips_behind_is_e011(tmp_path: Path) -> None:
    (check,) = run(tmp_path, host_settings(tmp_path, "SkipsLeftBehindRouter"), command("check"))
    assert check.returncode == 1, check
    assert "(skips.E011)" in check.output, check
    assert "testapp.Case" in check.output
    assert "testapp.Agent" in check.output
    assert "Traceback" not in check.output
