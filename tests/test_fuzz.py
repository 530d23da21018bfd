"""Schemathesis against the live example project: every operation, as two roles.

The OpenAPI description served at ``/api/schema/`` drives the fuzzing. Every
operation is run as an agent with reports access (``supervisor``) and as a plain
agent (``agent1``), with valid (positive) and invalid (negative) requests; every
answer must pass schemathesis's checks for server errors, response schema, status
code and content type conformance.

``SKIPS_FUZZ_EXAMPLES`` examples per operation, role and mode (default 25).
Generation is derandomized: a run is repeatable, and a longer one explores more.

Random ids rarely name a record, so now and then a generated request gets a real
ticket id, user id (or ``me``) or cursor instead: that is what reaches 200s with
skips in them, 201s and the cursor code.
"""

from __future__ import annotations

import base64
import copy
import os
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.live import Live

pytestmark = pytest.mark.live

EXAMPLES = int(os.environ.get("SKIPS_FUZZ_EXAMPLES", "25"))

CHECKS: list[CheckFunction] = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]

#: Every operation of the schema (``test_every_operation_is_fuzzed`` keeps the
#: list complete).
OPERATIONS = [
    ("GET", "/api/v2/skips"),
    ("POST", "/api/v2/skips"),
    ("GET", "/api/v2/skips.json"),
    ("POST", "/api/v2/skips.json"),
    ("GET", "/api/v2/tickets/{ticket_id}/skips"),
    ("POST", "/api/v2/tickets/{ticket_id}/skips"),
    ("GET", "/api/v2/tickets/{ticket_id}/skips.json"),
    ("POST", "/api/v2/tickets/{ticket_id}/skips.json"),
    ("GET", "/api/v2/users/{user_id}/skips"),
    ("GET", "/api/v2/users/{user_id}/skips.json"),
    ("GET", "/api/v2/incremental/skips/cursor"),
    ("GET", "/api/v2/incremental/skips/cursor.json"),
]

#: An agent with reports access, and a plain agent.
ROLES = ["supervisor", "agent1"]
#: The incremental export's: a superuser (who may export), and a plain agent (403).
EXPORT_ROLES = ["admin", "agent1"]
EXPORT = "/api/v2/incremental/skips/cursor"

# Called, not its members: for mypy's Python 3.10 target StrEnum members are str.
MODES = [GenerationMode("positive"), GenerationMode("negative")]

#: Known failures of the API, (method, path, role, mode) -> "BUG: ...", marked
#: ``xfail(strict=True)``: the fix makes the test fail until its entry goes.
KNOWN_FAILURES: dict[tuple[str, str, str, GenerationMode], str] = {}


def fuzz_params() -> list[Any]:
    params = []
    for method, path in OPERATIONS:
        for role in EXPORT_ROLES if path.startswith(EXPORT) else ROLES:
            for mode in MODES:
                reason = KNOWN_FAILURES.get((method, path, role, mode))
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                test_id = f"{method} {path}-{role}-{mode.value}"
                params.append(pytest.param(method, path, role, mode, marks=marks, id=test_id))
    return params


def load(raw: dict[str, Any]) -> BaseSchema:
    # An explicit configuration: nobody's schemathesis.toml changes the run.
    return schemathesis.openapi.from_dict(copy.deepcopy(raw), config=schemathesis.Config())


def authorization(live: Live, username: str) -> dict[str, str]:
    """The API token of a demo user, over HTTP Basic as the reference clients send it."""
    _, email, token = live.user(username)
    raw = f"{email}/token:{token}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@dataclass(frozen=True)
class Known:
    """Real values of the demo data, for requests that reach records."""

    ticket_ids: list[int]
    user_ids: list[int | str]
    #: sort order -> cursors of the role's first page of GET skips
    cursors: dict[str, list[str]]
    #: cursors of the role's incremental export (none if it may not export)
    export_cursors: list[str]


@pytest.fixture(scope="module")
def raw_schema(live: Live) -> dict[str, Any]:
    """The OpenAPI description, as the example project serves it."""
    response = requests.get(f"{live.base}/api/schema/", params={"format": "json"}, timeout=30)
    response.raise_for_status()
    schema: dict[str, Any] = response.json()
    return schema


@pytest.fixture(scope="module")
def api_schema(raw_schema: dict[str, Any]) -> BaseSchema:
    return load(raw_schema)


def known_values(live: Live, headers: dict[str, str]) -> Known:
    cursors = {}
    for order in ("asc", "desc"):
        answer = requests.get(
            f"{live.base}/api/v2/skips",
            params={"page[size]": "5", "sort_order": order},
            headers=headers,
            timeout=30,
        ).json()
        meta = answer["meta"]
        cursors[order] = [c for c in (meta["after_cursor"], meta["before_cursor"]) if c]
    export_cursors = []
    for start_time in (0, 1_700_000_000):
        answer = requests.get(
            f"{live.base}{EXPORT}",
            params={"start_time": start_time, "per_page": 5},
            headers=headers,
            timeout=30,
        )
        if answer.status_code == 200:
            export_cursors.append(answer.json()["after_cursor"])
    return Known(
        # Archived ones included: their lists are empty, their new skips a 422.
        ticket_ids=[row[0] for row in live.sql("SELECT id FROM helpdesk_ticket ORDER BY id")],
        user_ids=["me", *(row[0] for row in live.sql("SELECT id FROM auth_user ORDER BY id"))],
        cursors=cursors,
        export_cursors=export_cursors,
    )


def steer(case: Case, data: st.DataObject, known: Known) -> None:
    """Now and then, a real id or cursor where schemathesis generated a random one."""
    path_parameters = case.path_parameters
    if "ticket_id" in path_parameters and data.draw(st.booleans(), label="real ticket"):
        path_parameters["ticket_id"] = data.draw(st.sampled_from(known.ticket_ids))
    if "user_id" in path_parameters and data.draw(st.booleans(), label="real user"):
        path_parameters["user_id"] = data.draw(st.sampled_from(known.user_ids))
    skip = case.body.get("skip") if isinstance(case.body, dict) else None
    if isinstance(skip, dict) and data.draw(st.booleans(), label="real ticket in body"):
        skip["ticket_id"] = data.draw(st.sampled_from(known.ticket_ids))
    # Cursors are bound to the route, its path ids, the user and the order.
    if (
        case.method == "GET"
        and case.path.startswith("/api/v2/skips")
        and data.draw(st.booleans(), label="real cursor")
    ):
        order = case.query.get("sort_order", "asc")
        cursors = known.cursors.get(order) if isinstance(order, str) else None
        if cursors:
            name = data.draw(st.sampled_from(["page[after]", "page[before]"]))
            case.query.pop("page[after]", None)
            case.query.pop("page[before]", None)
            case.query[name] = data.draw(st.sampled_from(cursors))
    if (
        case.path.startswith(EXPORT)
        and known.export_cursors
        and data.draw(st.booleans(), label="real export cursor")
    ):
        case.query = dict(case.query or {})
        case.query.pop("start_time", None)
        case.query["cursor"] = data.draw(st.sampled_from(known.export_cursors))


def test_every_operation_is_fuzzed(raw_schema: dict[str, Any]) -> None:
    methods = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}
    served = {
        (method.upper(), path)
        for path, item in raw_schema["paths"].items()
        for method in item
        if method in methods
    }
    assert served == set(OPERATIONS)


@pytest.mark.parametrize(("method", "path", "role", "mode"), fuzz_params())
def test_fuzz(
    live: Live,
    api_schema: BaseSchema,
    method: str,
    path: str,
    role: str,
    mode: GenerationMode,
) -> None:
    operation = api_schema[path][method]
    headers = authorization(live, role)
    known = known_values(live, headers)

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run(case: Case, data: st.DataObject) -> None:
        steer(case, data, known)
        # No shared session: on a kept-alive connection the development server
        # answers some 40 ms later (Nagle), four times slower than a new one.
        case.call_and_validate(base_url=live.base, headers=headers, checks=CHECKS, timeout=30)

    run()


@pytest.mark.parametrize("role", ROLES)
def test_ticket_schema_allows_its_null_columns(
    live: Live, raw_schema: dict[str, Any], role: str
) -> None:
    """A new skip and a ticket's list, with null columns, against the schema as served.

    Found by the fuzzing: the Ticket schema had these columns as never null.
    """
    # group_id and organization_id are never null in the demo data.
    properties = raw_schema["components"]["schemas"]["Ticket"]["properties"]
    for name in ("assignee_id", "due_at", "group_id", "organization_id", "problem_id"):
        assert "null" in properties[name]["type"], name
    ((ticket_id,),) = live.sql(
        "SELECT id FROM helpdesk_ticket WHERE NOT is_archived AND assignee_id IS NULL"
        " AND due_at IS NULL AND problem_id IS NULL ORDER BY id LIMIT 1"
    )
    schema = load(raw_schema)
    headers = authorization(live, role)
    create = schema["/api/v2/skips"]["POST"].Case(
        body={"skip": {"ticket_id": ticket_id, "reason": "fuzz: null columns"}},
        media_type="application/json",
    )
    listing = schema["/api/v2/tickets/{ticket_id}/skips"]["GET"].Case(
        path_parameters={"ticket_id": ticket_id}
    )
    for case in (create, listing):
        case.call_and_validate(base_url=live.base, headers=headers, checks=CHECKS, timeout=30)
