"""A catalogue of hostile input, one row per case.

Each row is one request: what it sends, the status the conventions document
for it, and the error it names (for a 422, the field of ``details``). Every
case checks the same things: the status; ``Content-Type: application/json``;
the error body's shape (``error`` and ``description``; for 401 the fixed body
and ``WWW-Authenticate``; for 404 the fixed body; for 422 ``details.<field>[0]
.error == "InvalidValue"``); and the number of skips in the database, unchanged
unless the row documents a 201. No row may give a 500.

Some of these are also in test_create.py, test_list.py, test_routes.py and
test_authentication.py, next to the feature they test; this module is the one
place that lists them all. It runs on every database (PostgreSQL refuses NUL in
text: that must be a 422 before it gets there, never a 500).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from skips.models import Skip
from tests.conftest import Client, basic
from tests.factories import CaseFactory, SkipFactory, SupervisorFactory

pytestmark = pytest.mark.django_db

JSON = "application/json"
SKIPS = "/api/v2/skips"
KB100 = 100 * 1024
#: A placeholder for the id of the live ticket, in bodies, paths and queries.
TICKET = "<ticket>"
ARCHIVED = "<archived>"
ME = "<me>"

UNAUTHORIZED = {"error": "Couldn't authenticate you"}
NOT_FOUND = {"error": "RecordNotFound", "description": "Not found"}


@dataclass
class World:
    agent: Any
    supervisor: Any
    ticket: Any
    archived: Any
    existing: Any

    def fill(self, text: str) -> str:
        return (
            text.replace(TICKET, str(self.ticket.pk))
            .replace(ARCHIVED, str(self.archived.pk))
            .replace(ME, str(self.agent.pk))
        )


Body = bytes | Callable[[World], bytes] | None


@dataclass(frozen=True)
class Hostile:
    """One hostile request and its documented answer."""

    id: str
    status: int
    #: The ``error`` of the answer (None where the body is fixed: 401, 404, 2xx).
    error: str | None = None
    method: str = "POST"
    path: str = SKIPS
    query: str = ""
    body: Body = None
    content_type: str = JSON
    #: The field named in ``details`` of a 422.
    field: str | None = None
    #: Who sends it with an API token: "agent", "supervisor", or None for the
    #: raw ``authorization`` header below (anonymous when that is None too).
    who: str | None = "agent"
    authorization: str | None = None
    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    #: Words the ``description`` must contain.
    mentions: str | None = None
    #: For a 201: the reason as stored.
    stored_reason: str | None = None
    #: Set when skips/ answers otherwise: the test is a strict xfail.
    bug: str | None = None


def raw(text: str) -> bytes:
    """A body written out as JSON text, placeholders and escapes as they stand."""
    return text.encode("utf-8", "surrogatepass")


def skip(**fields: Any) -> bytes:
    """``{"skip": {...}}``; TICKET and ARCHIVED stand for the ids (as JSON numbers)."""
    text = json.dumps({"skip": fields})
    return raw(text.replace(f'"{TICKET}"', TICKET).replace(f'"{ARCHIVED}"', ARCHIVED))


def sized(total: int) -> Callable[[World], bytes]:
    """A valid skip body of exactly ``total`` bytes (padded with JSON whitespace)."""

    def build(world: World) -> bytes:
        body = json.dumps({"skip": {"ticket_id": world.ticket.pk, "reason": "x"}}).encode()
        assert len(body) <= total
        return body[:-1] + b" " * (total - len(body)) + b"}"

    return build


def b64(credentials: bytes) -> str:
    return "Basic " + base64.b64encode(credentials).decode("ascii")


def multipart() -> bytes:
    return encode_multipart(BOUNDARY, {"skip": json.dumps({"ticket_id": 1}), "ticket_id": "1"})


def invalid_json(id: str, body: Body, **kw: Any) -> Hostile:
    return Hostile(id, 400, "InvalidJSON", body=body, **kw)


def no_skip_object(id: str, body: bytes, **kw: Any) -> Hostile:
    return Hostile(id, 400, "InvalidParameter", body=body, mentions='"skip"', **kw)


def bad(field_name: str, id: str, body: bytes, **kw: Any) -> Hostile:
    return Hostile(id, 422, "RecordInvalid", body=body, field=field_name, **kw)


def unsupported(id: str, content_type: str, body: bytes | None = None) -> Hostile:
    return Hostile(
        id,
        415,
        "UnsupportedMediaType",
        body=body or skip(ticket_id=TICKET),
        content_type=content_type,
    )


BODY_CASES: list[Hostile] = [
    # Malformed JSON: 400 InvalidJSON.
    invalid_json("json unterminated object", raw('{"skip": {"ticket_id": 1')),
    invalid_json("json trailing comma", raw('{"skip": {"ticket_id": <ticket>,}}')),
    invalid_json("json single quotes", raw("{'skip': {'ticket_id': <ticket>}}")),
    invalid_json("json bare word", raw("skip")),
    invalid_json("json whitespace only", raw("   \n")),
    invalid_json("json two documents", raw('{"skip": {}} {"skip": {}}')),
    invalid_json("json not utf-8", b'{"skip": {"reason": "\xff\xfe"}}'),
    invalid_json("json utf-8 bom", b"\xef\xbb\xbf" + skip(ticket_id=TICKET)),
    invalid_json("json NaN", raw('{"skip": {"ticket_id": NaN}}')),
    invalid_json("json Infinity", raw('{"skip": {"ticket_id": -Infinity}}')),
    invalid_json("json integer of 5000 digits", raw('{"skip": {"ticket_id": ' + "7" * 5000 + "}}")),
    invalid_json(
        "json declared utf-16 sent utf-8",
        skip(ticket_id=TICKET),
        content_type="application/json; charset=utf-16",
    ),
    invalid_json("json nested 30000 deep", b"[" * 30_000 + b"]" * 30_000),
    invalid_json(
        "json nested 30000 deep in reason",
        raw('{"skip": {"ticket_id": <ticket>, "reason": ' + "[" * 30_000 + "]" * 30_000 + "}}"),
    ),
    # JSON that is not an object, or has no "skip" object: 400 InvalidParameter.
    no_skip_object("body empty", b""),
    no_skip_object("body is an array", raw("[]")),
    no_skip_object("body is an array of skips", raw('[{"skip": {"ticket_id": <ticket>}}]')),
    no_skip_object("body is a string", raw('"skip"')),
    no_skip_object("body is a number", raw("1")),
    no_skip_object("body is null", raw("null")),
    no_skip_object("body is true", raw("true")),
    no_skip_object("skip missing", raw("{}")),
    no_skip_object("skip misspelt skips", raw('{"skips": {"ticket_id": <ticket>}}')),
    no_skip_object("skip capitalised", raw('{"Skip": {"ticket_id": <ticket>}}')),
    no_skip_object("skip null", raw('{"skip": null}')),
    no_skip_object("skip array", raw('{"skip": [{"ticket_id": <ticket>}]}')),
    no_skip_object("skip string", raw('{"skip": "<ticket>"}')),
    no_skip_object("skip number", raw('{"skip": <ticket>}')),
    no_skip_object("skip true", raw('{"skip": true}')),
    # ticket_id: a JSON integer naming an existing ticket that is not archived, else 422.
    bad("ticket_id", "ticket_id missing", skip(reason="x")),
    bad("ticket_id", "ticket_id string", raw('{"skip": {"ticket_id": "<ticket>"}}')),
    bad("ticket_id", "ticket_id float", raw('{"skip": {"ticket_id": <ticket>.0}}')),
    bad("ticket_id", "ticket_id fraction", skip(ticket_id=1.5)),
    bad("ticket_id", "ticket_id exponent", raw('{"skip": {"ticket_id": 1e2}}')),
    bad("ticket_id", "ticket_id float overflow 1e400", raw('{"skip": {"ticket_id": 1e400}}')),
    bad("ticket_id", "ticket_id true", skip(ticket_id=True)),
    bad("ticket_id", "ticket_id false", skip(ticket_id=False)),
    bad("ticket_id", "ticket_id null", skip(ticket_id=None)),
    bad("ticket_id", "ticket_id negative", raw('{"skip": {"ticket_id": -<ticket>}}')),
    bad("ticket_id", "ticket_id zero", skip(ticket_id=0)),
    bad("ticket_id", "ticket_id 2**63", skip(ticket_id=2**63)),
    bad("ticket_id", "ticket_id 2**64+1", skip(ticket_id=2**64 + 1)),
    bad("ticket_id", "ticket_id -2**63-1", skip(ticket_id=-(2**63) - 1)),
    bad("ticket_id", "ticket_id list", raw('{"skip": {"ticket_id": [<ticket>]}}')),
    bad("ticket_id", "ticket_id object", raw('{"skip": {"ticket_id": {"id": <ticket>}}}')),
    bad("ticket_id", "ticket_id unknown", skip(ticket_id=987_654_321), mentions="no such ticket"),
    bad("ticket_id", "ticket_id unknown 2**31 (past int32)", skip(ticket_id=2**31)),
    bad("ticket_id", "ticket_id unknown 2**63-1 (largest)", skip(ticket_id=2**63 - 1)),
    bad("ticket_id", "ticket_id archived", skip(ticket_id=ARCHIVED), mentions="archived"),
    bad(
        "ticket_id",
        "ticket route archived ticket",
        skip(reason="x"),
        path=f"/api/v2/tickets/{ARCHIVED}/skips.json",
        mentions="archived",
    ),
    # reason: a string of at most 1,024 characters without NUL, else 422.
    bad("reason", "reason 1025 characters", skip(ticket_id=TICKET, reason="x" * 1025)),
    bad("reason", "reason 1025 accented", skip(ticket_id=TICKET, reason="é" * 1025)),
    bad("reason", "reason 1025 astral", skip(ticket_id=TICKET, reason="\U0001f600" * 1025)),
    bad("reason", "reason NUL byte", skip(ticket_id=TICKET, reason="nul\x00byte")),
    bad("reason", "reason only NUL", skip(ticket_id=TICKET, reason="\x00")),
    bad(
        "reason",
        "reason NUL as raw escape",
        raw('{"skip": {"ticket_id": <ticket>, "reason": "a\\u0000"}}'),
    ),
    bad(
        "reason",
        "reason lone high surrogate",
        raw('{"skip": {"ticket_id": <ticket>, "reason": "\\ud800"}}'),
    ),
    bad(
        "reason",
        "reason lone low surrogate",
        raw('{"skip": {"ticket_id": <ticket>, "reason": "x\\udfff"}}'),
    ),
    bad(
        "reason",
        "reason reversed surrogates",
        raw('{"skip": {"ticket_id": <ticket>, "reason": "\\udc00\\ud800"}}'),
    ),
    bad("reason", "reason number", skip(ticket_id=TICKET, reason=5)),
    bad("reason", "reason float", skip(ticket_id=TICKET, reason=1.5)),
    bad("reason", "reason true", skip(ticket_id=TICKET, reason=True)),
    bad("reason", "reason object", skip(ticket_id=TICKET, reason={"text": "x"})),
    bad("reason", "reason list", skip(ticket_id=TICKET, reason=["x"])),
    bad(
        "reason",
        "ticket route reason NUL byte",
        skip(reason="nul\x00byte"),
        path=f"/api/v2/tickets/{TICKET}/skips",
    ),
    bad(
        "reason",
        "ticket route reason lone surrogate",
        raw('{"skip": {"reason": "\\ud800"}}'),
        path=f"/api/v2/tickets/{TICKET}/skips",
    ),
    # The accepted edges, for contrast: 201 and one more skip.
    Hostile(
        "accepted reason 1024 characters",
        201,
        body=skip(ticket_id=TICKET, reason="x" * 1024),
        stored_reason="x" * 1024,
    ),
    Hostile(
        "accepted reason 1024 astral characters",
        201,
        body=skip(ticket_id=TICKET, reason="\U0001f600" * 1024),
        stored_reason="\U0001f600" * 1024,
    ),
    Hostile(
        "accepted reason surrogate pair escape",
        201,
        body=raw('{"skip": {"ticket_id": <ticket>, "reason": "\\ud83d\\ude00"}}'),
        stored_reason="\U0001f600",
    ),
    Hostile(
        "accepted unknown fields ignored",
        201,
        body=skip(ticket_id=TICKET, reason="ok", user_id=1, id=1, sql="'; DROP TABLE x;--"),
        stored_reason="ok",
    ),
    # Size: SKIPS_MAX_BODY_SIZE, 413.
    Hostile(
        "size one byte over the limit",
        413,
        "RecordInvalid",
        body=sized(1025),
        settings={"SKIPS_MAX_BODY_SIZE": 1024},
        mentions="1024",
    ),
    Hostile(
        "size over the limit and not JSON",
        413,
        "RecordInvalid",
        body=b"{" * 2000,
        settings={"SKIPS_MAX_BODY_SIZE": 1024},
    ),
    Hostile(
        "size over the limit on the ticket route",
        413,
        "RecordInvalid",
        path=f"/api/v2/tickets/{TICKET}/skips",
        body=sized(1025),
        settings={"SKIPS_MAX_BODY_SIZE": 1024},
    ),
    Hostile("size 3 MB at the default limit", 413, "RecordInvalid", body=sized(3 * 1024 * 1024)),
    Hostile(
        "accepted size exactly at the limit",
        201,
        body=sized(1024),
        settings={"SKIPS_MAX_BODY_SIZE": 1024},
        stored_reason="x",
    ),
    # Content types other than JSON: 415.
    unsupported("content-type text/plain", "text/plain"),
    unsupported("content-type application/xml", "application/xml"),
    unsupported("content-type text/html", "text/html"),
    unsupported("content-type missing", ""),
    unsupported("content-type with NUL", "application/json\x00"),
    unsupported(
        "form-encoded body",
        "application/x-www-form-urlencoded",
        b"skip%5Bticket_id%5D=1&ticket_id=1",
    ),
    unsupported("multipart body", MULTIPART_CONTENT, multipart()),
]

#: Query parameters of the list endpoints: the 400s, then the ignored.
QUERY_CASES: list[tuple[str, str, int, str | None, str | None]] = [
    # (id, query, status, error, the parameter the description names)
    (
        "sort_order repeated same",
        "sort_order=asc&sort_order=asc",
        400,
        "InvalidParameter",
        "sort_order",
    ),
    (
        "sort_order repeated different",
        "sort_order=asc&sort_order=desc",
        400,
        "InvalidParameter",
        "sort_order",
    ),
    ("sort_order empty", "sort_order=", 400, "InvalidParameter", "sort_order"),
    ("sort_order huge", "sort_order=" + "a" * KB100, 400, "InvalidParameter", "sort_order"),
    ("sort_order NUL", "sort_order=%00", 400, "InvalidParameter", "sort_order"),
    ("sort_order NUL suffix", "sort_order=asc%00", 400, "InvalidParameter", "sort_order"),
    ("sort_order upper case", "sort_order=DESC", 400, "InvalidParameter", "sort_order"),
    ("sort_order bad percent", "sort_order=%ZZ", 400, "InvalidParameter", "sort_order"),
    ("page repeated", "page=1&page=1", 400, "InvalidPaginationParameter", "page"),
    ("page empty", "page=", 400, "InvalidPaginationParameter", "page"),
    ("page huge", "page=" + "9" * KB100, 400, "InvalidPaginationParameter", "page"),
    ("page NUL", "page=%00", 400, "InvalidPaginationParameter", "page"),
    ("page NUL suffix", "page=1%00", 400, "InvalidPaginationParameter", "page"),
    ("page zero", "page=0", 400, "InvalidPaginationParameter", "page"),
    ("page negative", "page=-1", 400, "InvalidPaginationParameter", "page"),
    ("page plus sign", "page=%2B1", 400, "InvalidPaginationParameter", "page"),
    ("page arabic-indic digit", "page=%D9%A1", 400, "InvalidPaginationParameter", "page"),
    ("page fullwidth digit", "page=%EF%BC%91", 400, "InvalidPaginationParameter", "page"),
    ("per_page repeated", "per_page=1&per_page=1", 400, "InvalidPaginationParameter", "per_page"),
    ("per_page empty", "per_page=", 400, "InvalidPaginationParameter", "per_page"),
    ("per_page huge", "per_page=" + "1" * KB100, 400, "InvalidPaginationParameter", "per_page"),
    ("per_page NUL", "per_page=%00", 400, "InvalidPaginationParameter", "per_page"),
    ("per_page zero", "per_page=0", 400, "InvalidPaginationParameter", "per_page"),
    ("per_page 101", "per_page=101", 400, "InvalidPaginationParameter", "per_page"),
    ("per_page float", "per_page=1.0", 400, "InvalidPaginationParameter", "per_page"),
    ("page[size] empty", "page[size]=", 400, "InvalidPaginationParameter", "page[size]"),
    ("page[size] zero", "page[size]=0", 400, "InvalidPaginationParameter", "page[size]"),
    ("page[size] 101", "page%5Bsize%5D=101", 400, "InvalidPaginationParameter", "page[size]"),
    (
        "page[size] huge",
        "page[size]=" + "9" * KB100,
        400,
        "InvalidPaginationParameter",
        "page[size]",
    ),
    ("page[size] NUL", "page[size]=%00", 400, "InvalidPaginationParameter", "page[size]"),
    (
        "page[size] repeated literal and encoded",
        "page%5Bsize%5D=1&page[size]=1",
        400,
        "InvalidPaginationParameter",
        "page[size]",
    ),
    ("page[after] empty", "page[after]=", 400, "InvalidPaginationParameter", "page[after]"),
    (
        "page[after] forged",
        "page[after]=WzEsMSwiYSJd:1a:bad",
        400,
        "InvalidPaginationParameter",
        "page[after]",
    ),
    ("page[after] NUL", "page[after]=%00", 400, "InvalidPaginationParameter", "page[after]"),
    (
        "page[after] huge",
        "page[after]=" + "a" * KB100,
        400,
        "InvalidPaginationParameter",
        "page[after]",
    ),
    ("page[before] forged", "page[before]=x", 400, "InvalidPaginationParameter", "page[before]"),
    (
        "page[after] with page[before]",
        "page[after]=x&page[before]=y",
        400,
        "InvalidPaginationParameter",
        "page[before]",
    ),
    ("filter user_id NUL", "user_id=%00", 400, "InvalidParameter", "user_id"),
    ("filter user_id 2**63", f"user_id={2**63}", 400, "InvalidParameter", "user_id"),
    ("filter user_id huge", "user_id=" + "9" * KB100, 400, "InvalidParameter", "user_id"),
    ("filter user_id repeated", "user_id=1&user_id=1", 400, "InvalidParameter", "user_id"),
    ("filter ticket_id negative", "ticket_id=-1", 400, "InvalidParameter", "ticket_id"),
    ("filter ticket_id fraction", "ticket_id=1.5", 400, "InvalidParameter", "ticket_id"),
    (
        "filter created_after word",
        "created_after=yesterday",
        400,
        "InvalidParameter",
        "created_after",
    ),
    (
        "filter created_after NUL",
        "created_after=2015-01-01%00",
        400,
        "InvalidParameter",
        "created_after",
    ),
    (
        "filter created_after zone overflow",
        "created_after=9999-12-31T23:59:59-23:59",
        400,
        "InvalidParameter",
        "created_after",
    ),
    (
        "filter created_before year 0",
        "created_before=0000-01-01",
        400,
        "InvalidParameter",
        "created_before",
    ),
    (
        "filter created_before huge",
        "created_before=2015-01-01" + "x" * KB100,
        400,
        "InvalidParameter",
        "created_before",
    ),
    ("filter reason NUL", "reason=%00", 400, "InvalidParameter", "reason"),
    ("filter reason 1025 characters", "reason=" + "x" * 1025, 400, "InvalidParameter", "reason"),
    ("filter reason repeated", "reason=a&reason=b", 400, "InvalidParameter", "reason"),
    ("filter has_reason maybe", "has_reason=maybe", 400, "InvalidParameter", "has_reason"),
    ("filter has_reason NUL", "has_reason=%00", 400, "InvalidParameter", "has_reason"),
    ("unknown parameter ignored", "zz=1", 200, None, None),
    ("unknown parameter NUL ignored", "zz=%00&%00=%00", 200, None, None),
    ("unknown parameter huge ignored", "zz=" + "a" * KB100, 200, None, None),
    ("unknown parameter name huge ignored", "b" * KB100 + "=1", 200, None, None),
    ("unknown parameter bad percent ignored", "%ZZ=%ZZ", 200, None, None),
    ("unknown parameter brackets ignored", "zz%5B%5D=1&zz[]=2", 200, None, None),
    ("unknown parameter empty name ignored", "=1&&=", 200, None, None),
]
QUERY_CASES += [
    ("over 1000 fields", "zz=1&" * 2000, 400, "InvalidParameter", None),
    ("over 1000 fields of sort_order", "sort_order=asc&" * 2000, 400, "InvalidParameter", None),
]
LIST_PATHS = {
    "skips.json": "/api/v2/skips.json",
    "ticket": f"/api/v2/tickets/{TICKET}/skips",
    "me": "/api/v2/users/me/skips.json",
}


def query_cases() -> Iterator[Hostile]:
    for name, path in LIST_PATHS.items():
        for id, query, status, error, mentions in QUERY_CASES:
            yield Hostile(f"GET {name} ?{id}", status, error, "GET", path, query, mentions=mentions)
    # ?format= is an ordinary parameter, ignored with or without the suffix.
    yield Hostile(
        "GET skips.json ?format=xml ignored",
        200,
        method="GET",
        path="/api/v2/skips.json",
        query="format=xml",
    )
    yield Hostile("GET skips ?format=xml ignored", 200, method="GET", query="format=xml")
    yield Hostile("GET skips ?format=api ignored", 200, method="GET", query="format=api")
    yield Hostile(
        "POST skips ?over 1000 fields",
        400,
        "InvalidParameter",
        query="zz=1&" * 2000,
        body=skip(ticket_id=TICKET),
    )
    yield Hostile("GET with a malformed JSON body ignored", 200, method="GET", body=raw("{"))
    yield Hostile(
        "GET with a body over the limit ignored",
        200,
        method="GET",
        body=b"x" * 2048,
        settings={"SKIPS_MAX_BODY_SIZE": 1024},
    )


# Path ids that are not a positive 64-bit integer, or name nothing: 404.
OVERFLOWING_IDS = {
    "2**64+1": str(2**64 + 1),
    "2**63": str(2**63),
    "2**63-1 unknown": str(2**63 - 1),
    "2**31 unknown": str(2**31),
    "100 digits": "9" * 100,
    "negative": "-1",
    "zero": "0",
    "NUL": "%00",
    "exponent": "1e3",
    "arabic-indic digit": "%D9%A1",
}


def path_cases() -> Iterator[Hostile]:
    for name, value in OVERFLOWING_IDS.items():
        yield Hostile(
            f"GET tickets/{name}/skips", 404, method="GET", path=f"/api/v2/tickets/{value}/skips"
        )
        yield Hostile(
            f"POST tickets/{name}/skips.json",
            404,
            path=f"/api/v2/tickets/{value}/skips.json",
            body=skip(reason="x"),
        )
        yield Hostile(
            f"GET users/{name}/skips as supervisor",
            404,
            method="GET",
            path=f"/api/v2/users/{value}/skips",
            who="supervisor",
        )
    yield Hostile(
        "GET users/me NUL/skips as supervisor",
        404,
        method="GET",
        path="/api/v2/users/me%00/skips",
        who="supervisor",
    )
    # An agent without reports access gets a 403 for another id, known or not (§ Who may do what).
    yield Hostile(
        "GET users/2**64+1/skips as agent",
        403,
        "Forbidden",
        method="GET",
        path=f"/api/v2/users/{2**64 + 1}/skips",
    )


AUTHORIZATION_CASES = {
    "garbage": "Basic !!!not base64!!!",
    "scheme only": "Basic",
    "raw NUL": "Basic \x00",
    "raw non-utf-8 bytes": "Basic \xff\xfe\xfd",
    "base64 of NUL": b64(b"\x00:\x00"),
    "base64 NUL in email": b64(b"agent\x00@example.com/token:" + b"0" * 40),
    "base64 non-utf-8": b64(b"\xff\xfe/token:\xc3\x28"),
    "base64 huge": b64(b"a" * KB100 + b"/token:" + b"b" * KB100),
    "bearer NUL": "Bearer \x00",
    "bearer non-utf-8": "Bearer \xff\xfe",
    "bearer huge": "Bearer " + "a" * KB100,
    "unknown scheme": "Digest username=x",
    "NUL alone": "\x00",
}


def authorization_cases() -> Iterator[Hostile]:
    for name, header in AUTHORIZATION_CASES.items():
        yield Hostile(f"auth {name} GET", 401, method="GET", who=None, authorization=header)
        yield Hostile(
            f"auth {name} POST", 401, who=None, authorization=header, body=skip(ticket_id=TICKET)
        )


CASES: list[Hostile] = [*BODY_CASES, *query_cases(), *path_cases(), *authorization_cases()]


def params() -> list[Any]:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return [
        pytest.param(
            case,
            id=case.id,
            marks=[pytest.mark.xfail(strict=True, reason=case.bug)] if case.bug else [],
        )
        for case in CASES
    ]


@pytest.fixture
def world(agent: Any) -> World:
    ticket = CaseFactory()
    return World(
        agent=agent,
        supervisor=SupervisorFactory(),
        ticket=ticket,
        archived=CaseFactory(is_archived=True),
        existing=SkipFactory(user=agent, ticket=ticket),
    )


def send(case: Hostile, world: World) -> Any:
    client = Client()
    if case.who is not None:
        client.credentials(HTTP_AUTHORIZATION=basic(getattr(world, case.who)))
    elif case.authorization is not None:
        client.credentials(HTTP_AUTHORIZATION=case.authorization)
    path = world.fill(case.path) + (f"?{world.fill(case.query)}" if case.query else "")
    body = case.body(world) if callable(case.body) else case.body
    if body is not None:
        body = body.replace(TICKET.encode(), str(world.ticket.pk).encode()).replace(
            ARCHIVED.encode(), str(world.archived.pk).encode()
        )
    data: Any = body or b""  # the test client sends bytes as they are
    return client.generic(case.method, path, data, content_type=case.content_type)


def check_error(case: Hostile, body: dict[str, Any]) -> None:
    assert body["error"] == case.error
    description = body["description"]
    assert isinstance(description, str)
    assert description
    assert len(description) < 1000, "the description does not echo the input back"
    if case.mentions and case.status != 422:
        assert case.mentions in description
    if case.status == 422:
        assert set(body) == {"error", "description", "details"}
        assert body["description"] == "Record validation errors"
        assert list(body["details"]) == [case.field]
        first = body["details"][case.field][0]
        assert first["error"] == "InvalidValue"
        assert isinstance(first["description"], str)
        assert first["description"]
        if case.mentions:
            assert case.mentions in first["description"]
    else:
        assert set(body) == {"error", "description"}


@pytest.mark.parametrize("case", params())
def test_hostile_input(case: Hostile, world: World, settings: Any) -> None:
    for name, value in case.settings.items():
        setattr(settings, name, value)
    before = Skip.objects.count()

    response = send(case, world)

    assert response.status_code == case.status, response.content[:500]
    assert response["Content-Type"] == JSON
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    if case.status == 201:
        created = Skip.objects.get(pk=body["skip"]["id"])
        assert created.user_id == world.agent.pk
        assert created.reason == case.stored_reason
        assert Skip.objects.count() == before + 1
        return
    assert Skip.objects.count() == before
    if case.status == 200:
        # Ignored parameters change nothing: the agent's one skip, as without them.
        assert [skip["id"] for skip in body["skips"]] == [world.existing.pk]
    elif case.status == 401:
        assert body == UNAUTHORIZED
        assert response["WWW-Authenticate"].startswith("Basic")
    elif case.status == 404:
        assert body == NOT_FOUND
    else:
        check_error(case, body)


def test_catalogue_size() -> None:
    """The catalogue's size, as reported; a row lost by accident shows here."""
    assert len(CASES) == len({case.id for case in CASES}) >= 200


# With email/password logins on (SKIPS_ALLOW_PASSWORD_AUTH): hostile credentials
# are the same 401, checked as every row above. The failed-login limit is off for
# these rows (each is one request; the limit has its own rows below).

PASSWORDS: dict[str, Any] = {"SKIPS_ALLOW_PASSWORD_AUTH": True, "SKIPS_FAILED_AUTH_RATE": None}
PASSWORD_CREDENTIALS = {
    "huge email": b"a" * KB100 + b"@example.com:secret-pass",
    "huge password": b"user@example.com:" + b"p" * KB100,
    "email of SQL wildcards": b"%@%:secret-pass",
    "email of LIKE underscores": b"____@example.com:secret-pass",
    "email with accents": "ùsér@example.com:secret-pass".encode(),
    "email of a quote": b"'@example.com:secret-pass",
    "email only an at sign": b"@:secret-pass",
    "password with colons": b"user@example.com:a:b:c",
    "password NUL": b"user@example.com:secret\x00pass",
    "email NUL": b"user\x00@example.com:secret-pass",
    "not utf-8": b"\xff@example.com:\xfe",
}


def password_cases() -> Iterator[Hostile]:
    for name, credentials in PASSWORD_CREDENTIALS.items():
        for method, body in (("GET", None), ("POST", skip(ticket_id=TICKET))):
            yield Hostile(
                f"password auth {name} {method}",
                401,
                method=method,
                who=None,
                authorization=b64(credentials),
                body=body,
                settings=PASSWORDS,
            )


PASSWORD_CASES = list(password_cases())


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in PASSWORD_CASES])
def test_hostile_input_with_passwords(case: Hostile, world: World, settings: Any) -> None:
    test_hostile_input(case, world, settings)


# Past the failed-login limit (SKIPS_FAILED_AUTH_RATE, SKIPS_FAILED_TOKEN_RATE):
# 429 TooManyRequests with Retry-After, whatever the request carries, the right
# credential included; checked as every row above, after the failed attempts
# that fill the window (each of them a 401).


@dataclass(frozen=True)
class OverTheLimit:
    """A request sent once the failed attempts of ``fill`` have filled the window."""

    id: str
    settings: Mapping[str, Any]
    #: The failed attempts: (Authorization header, client address).
    fill: Callable[[World], list[tuple[str, str]]]
    #: The Authorization header of the request then sent.
    authorization: Callable[[World], str]
    method: str = "GET"
    path: str = SKIPS
    body: Body = None
    content_type: str = JSON


LIMITED_PASSWORDS: dict[str, Any] = {
    "SKIPS_ALLOW_PASSWORD_AUTH": True,
    "SKIPS_FAILED_AUTH_RATE": "2/min",
}
LIMITED_TOKENS: dict[str, Any] = {"SKIPS_FAILED_TOKEN_RATE": "2/min"}
HERE = "127.0.0.1"


def password_of(user: Any, password: str = "secret-pass") -> str:
    return b64(f"{user.email}:{password}".encode())


def wrong_passwords(world: World) -> list[tuple[str, str]]:
    """Two wrong passwords of other accounts, from this address."""
    return [(b64(f"guess{i}@example.com:wrong".encode()), HERE) for i in range(2)]


def wrong_passwords_elsewhere(world: World) -> list[tuple[str, str]]:
    """Two wrong passwords of the agent's account, from other addresses."""
    return [(password_of(world.agent, "wrong"), f"192.0.2.{i}") for i in range(2)]


def wrong_tokens(world: World) -> list[tuple[str, str]]:
    return [
        ("Bearer " + "0" * 40, HERE),
        (b64(f"{world.agent.email}/token:{'1' * 40}".encode()), HERE),
    ]


def over_the_limit_cases() -> Iterator[OverTheLimit]:
    for fill_name, fill in (("address", wrong_passwords), ("account", wrong_passwords_elsewhere)):
        limited = f"passwords past the {fill_name} limit"
        yield OverTheLimit(
            f"{limited} wrong password GET",
            LIMITED_PASSWORDS,
            fill,
            lambda w: password_of(w.agent, "x"),
        )
        yield OverTheLimit(
            f"{limited} right password GET",
            LIMITED_PASSWORDS,
            fill,
            lambda w: password_of(w.agent),
        )
        yield OverTheLimit(
            f"{limited} right password POST",
            LIMITED_PASSWORDS,
            fill,
            lambda w: password_of(w.agent),
            method="POST",
            body=skip(ticket_id=TICKET, reason="x"),
        )
        yield OverTheLimit(
            f"{limited} right password POST ticket route",
            LIMITED_PASSWORDS,
            fill,
            lambda w: password_of(w.agent),
            method="POST",
            path=f"/api/v2/tickets/{TICKET}/skips.json",
            body=skip(reason="x"),
        )
        yield OverTheLimit(
            f"{limited} right password GET users/me",
            LIMITED_PASSWORDS,
            fill,
            lambda w: password_of(w.agent),
            path="/api/v2/users/me/skips",
        )
        yield OverTheLimit(
            f"{limited} right password POST malformed JSON",
            LIMITED_PASSWORDS,
            fill,
            lambda w: password_of(w.agent),
            method="POST",
            body=raw('{"skip": {"ticket_id": 1'),
        )
        yield OverTheLimit(
            f"{limited} right password POST text/plain",
            LIMITED_PASSWORDS,
            fill,
            lambda w: password_of(w.agent),
            method="POST",
            body=skip(ticket_id=TICKET),
            content_type="text/plain",
        )
        yield OverTheLimit(
            f"{limited} upper-case email GET",
            LIMITED_PASSWORDS,
            fill,
            lambda w: b64(f"{w.agent.email.upper()}:secret-pass".encode()),
        )
    yield OverTheLimit(
        "passwords past the address limit huge email",
        LIMITED_PASSWORDS,
        wrong_passwords,
        lambda w: b64(b"a" * KB100 + b"@example.com:secret-pass"),
    )
    yield OverTheLimit(
        "tokens past the limit wrong Bearer GET",
        LIMITED_TOKENS,
        wrong_tokens,
        lambda w: "Bearer " + "2" * 40,
    )
    yield OverTheLimit(
        "tokens past the limit right Bearer POST",
        LIMITED_TOKENS,
        wrong_tokens,
        lambda w: "Bearer " + w.agent.auth_token.key,
        method="POST",
        body=skip(ticket_id=TICKET, reason="x"),
    )
    yield OverTheLimit(
        "tokens past the limit right Basic token GET",
        LIMITED_TOKENS,
        wrong_tokens,
        lambda w: basic(w.agent),
    )
    yield OverTheLimit(
        "tokens past the limit Bearer huge",
        LIMITED_TOKENS,
        wrong_tokens,
        lambda w: "Bearer " + "a" * KB100,
    )


OVER_THE_LIMIT = list(over_the_limit_cases())


@pytest.fixture
def empty_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An empty cache, and a clock stopped mid-window: the attempts that fill
    the failed-login window and the one refused fall in the same window, however
    slow the machine (the window is fixed, and its end would empty it)."""
    from django.core.cache import cache

    from skips.throttling import FailedAuthThrottle

    stopped = (time.time() // 3600) * 3600 + 30.0  # 30 s into any minute's window
    monkeypatch.setattr(FailedAuthThrottle, "timer", staticmethod(lambda: stopped))
    cache.clear()
    yield
    cache.clear()


@pytest.mark.usefixtures("empty_cache")
@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in OVER_THE_LIMIT])
def test_hostile_input_over_the_failed_login_limit(
    case: OverTheLimit, world: World, settings: Any
) -> None:
    for name, value in case.settings.items():
        setattr(settings, name, value)
    for authorization, address in case.fill(world):
        filling = Client().get(SKIPS, HTTP_AUTHORIZATION=authorization, REMOTE_ADDR=address)
        assert filling.status_code == 401, filling.content[:500]
    before = Skip.objects.count()

    client = Client()
    client.credentials(HTTP_AUTHORIZATION=case.authorization(world))
    body = case.body(world) if callable(case.body) else case.body
    if body is not None:
        body = body.replace(TICKET.encode(), str(world.ticket.pk).encode())
    response = client.generic(
        case.method, world.fill(case.path), body or b"", content_type=case.content_type
    )

    assert response.status_code == 429, response.content[:500]
    assert response["Content-Type"] == JSON
    check_error(Hostile(case.id, 429, "TooManyRequests"), response.json())
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "WWW-Authenticate" not in response
    assert Skip.objects.count() == before


def test_limit_catalogue_size() -> None:
    ids = [case.id for case in [*PASSWORD_CASES, *OVER_THE_LIMIT]]
    assert len(ids) == len(set(ids)) == 22 + 21
