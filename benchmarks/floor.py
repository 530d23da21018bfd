"""The floor: the skips API by hand, as fast as Django lets it answer.

Plain Django views, no serializer: one ``values_list()`` query for the page of
skips joined with their tickets' columns, one per ticket collection
(collaborators, followers, tags, sharing agreements, custom fields, incidents)
on the link tables keyed by ticket id, and the JSON written by ``orjson``.
Authentication goes through the skips authentication classes and the
permissions through ``has_perm``, so both cost what they cost the shipped app.

It is written for the example project's ticket, and for the requests the
benchmark makes; it answers the other requests with errors of the API's family
but checks no more than the benchmark needs. It sends no ``skip_recorded``
signal (the example project has no receiver of it).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.utils.urls import remove_query_param, replace_query_param

from example_project.helpdesk.models import CustomFieldValue, Ticket
from skips.conf import conf
from skips.models import Skip

UTC = datetime.timezone.utc
TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"
API_PREFIX = "/api/v2/"
MAX_PAGE_SIZE = 100
MAX_OFFSET_DEPTH = 10_000
CURSOR_PARAMS = ("page[size]", "page[after]", "page[before]")

#: Ticket columns of the embedded ticket, in the order ``render_ticket`` unpacks them.
TICKET_COLUMNS = (
    "id",
    "assignee_id",
    "created_at",
    "description",
    "due_at",
    "external_id",
    "from_messaging_channel",
    "group_id",
    "organization_id",
    "priority",
    "problem_id",
    "raw_subject",
    "recipient",
    "requester_id",
    "satisfaction_comment",
    "satisfaction_id",
    "satisfaction_score",
    "status",
    "subject",
    "submitter_id",
    "type",
    "updated_at",
    "via_channel",
    "is_archived",
)
#: Skip columns, before the ticket's in a page row.
SKIP_COLUMNS = ("id", "created_at", "reason", "updated_at", "user_id")
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = datetime.timedelta(microseconds=1)


def error(status: int, name: str, description: str | None = None) -> HttpResponse:
    body: dict[str, str] = {"error": name}
    if description is not None:
        body["description"] = description
    response = HttpResponse(orjson.dumps(body), status=status, content_type="application/json")
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="Skips API"'
    return response


class Refused(Exception):
    """Stops a request with an error answer."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


def authenticate(request: HttpRequest) -> Any:
    """The user of the request's credentials, through the skips authentication classes."""
    wrapped = Request(request)
    for authentication in conf.AUTHENTICATION_CLASSES:
        try:
            result = authentication().authenticate(wrapped)
        except AuthenticationFailed as e:
            raise Refused(error(401, "Couldn't authenticate you")) from e
        if result is not None:
            return result[0]
    raise Refused(error(401, "Couldn't authenticate you"))


def forbidden() -> Refused:
    return Refused(
        error(
            403,
            "Forbidden",
            "You do not have access to this page. Please contact the account owner of this "
            "help desk for further help.",
        )
    )


def timestamp(value: datetime.datetime | None) -> str | None:
    if value is None:
        return None
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.strftime(TIMESTAMP)


def path_id(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 18 or int(value) < 1:
        raise Refused(error(404, "RecordNotFound", "Not found"))
    return int(value)


def int_param(request: HttpRequest, name: str, default: int, high: int | None) -> int:
    raw = request.GET.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise Refused(error(400, "InvalidPaginationParameter", f"{name} must be a whole number"))
    value = int(raw)
    if value < 1 or (high is not None and value > high):
        raise Refused(error(400, "InvalidPaginationParameter", f"{name} is out of range"))
    return value


# Tickets


def ticket_collections(ticket_ids: Iterable[int]) -> dict[str, dict[int, Any]]:
    """The to-many values of these tickets, one query per collection."""
    ids = list(ticket_ids)
    collaborators: dict[int, list[int]] = defaultdict(list)
    for ticket_id, user_id in (
        Ticket.collaborators.through.objects.filter(ticket_id__in=ids)
        .order_by("ticket_id", "user_id")
        .values_list("ticket_id", "user_id")
    ):
        collaborators[ticket_id].append(user_id)
    followers: dict[int, list[int]] = defaultdict(list)
    for ticket_id, user_id in (
        Ticket.followers.through.objects.filter(ticket_id__in=ids)
        .order_by("ticket_id", "user_id")
        .values_list("ticket_id", "user_id")
    ):
        followers[ticket_id].append(user_id)
    tags: dict[int, list[str]] = defaultdict(list)
    for ticket_id, name in (
        Ticket.tags.through.objects.filter(ticket_id__in=ids)
        .order_by("ticket_id", "tag__name")
        .values_list("ticket_id", "tag__name")
    ):
        tags[ticket_id].append(name)
    agreements: dict[int, list[int]] = defaultdict(list)
    for ticket_id, agreement_id in (
        Ticket.sharing_agreements.through.objects.filter(ticket_id__in=ids)
        .order_by("ticket_id", "sharingagreement_id")
        .values_list("ticket_id", "sharingagreement_id")
    ):
        agreements[ticket_id].append(agreement_id)
    custom_fields: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for ticket_id, field_id, value in (
        CustomFieldValue.objects.filter(ticket_id__in=ids)
        .order_by("ticket_id", "field_id")
        .values_list("ticket_id", "field_id", "value")
    ):
        custom_fields[ticket_id].append({"id": field_id, "value": value})
    problems = set(
        Ticket.objects.filter(problem_id__in=ids)
        .order_by()
        .values_list("problem_id", flat=True)
        .distinct()
    )
    return {
        "collaborators": collaborators,
        "followers": followers,
        "tags": tags,
        "agreements": agreements,
        "custom_fields": custom_fields,
        "problems": dict.fromkeys(problems, True),
    }


def render_ticket(row: Sequence[Any], at: int, more: dict[str, dict[int, Any]], url: str) -> Any:
    """The ticket object from the columns of ``row`` starting at index ``at``."""
    (
        ticket_id,
        assignee_id,
        created_at,
        description,
        due_at,
        external_id,
        from_messaging_channel,
        group_id,
        organization_id,
        priority,
        problem_id,
        raw_subject,
        recipient,
        requester_id,
        satisfaction_comment,
        satisfaction_id,
        satisfaction_score,
        status,
        subject,
        submitter_id,
        ticket_type,
        updated_at,
        via_channel,
        _is_archived,
    ) = row[at : at + len(TICKET_COLUMNS)]
    return {
        "assignee_id": assignee_id,
        "collaborator_ids": more["collaborators"].get(ticket_id, []),
        "created_at": timestamp(created_at),
        "custom_fields": more["custom_fields"].get(ticket_id, []),
        "description": description,
        "due_at": timestamp(due_at),
        "external_id": external_id,
        "follower_ids": more["followers"].get(ticket_id, []),
        "from_messaging_channel": from_messaging_channel,
        "generated_timestamp": int(updated_at.timestamp()),
        "group_id": group_id,
        "has_incidents": ticket_id in more["problems"],
        "id": ticket_id,
        "organization_id": organization_id,
        "priority": priority,
        "problem_id": problem_id,
        "raw_subject": raw_subject,
        "recipient": recipient,
        "requester_id": requester_id,
        "satisfaction_rating": {
            "comment": satisfaction_comment,
            "id": satisfaction_id,
            "score": satisfaction_score,
        }
        if satisfaction_score
        else None,
        "sharing_agreement_ids": more["agreements"].get(ticket_id, []),
        "status": status,
        "subject": subject,
        "submitter_id": submitter_id,
        "tags": more["tags"].get(ticket_id, []),
        "type": ticket_type,
        "updated_at": timestamp(updated_at),
        "url": f"{url}{ticket_id}.json",
        "via": {"channel": via_channel},
    }


def render_skips(rows: list[tuple[Any, ...]], request: HttpRequest) -> list[dict[str, Any]]:
    """Skips from page rows: the skip's columns, then the ticket's; each ticket rendered once."""
    more = ticket_collections({row[len(SKIP_COLUMNS)] for row in rows})
    url = request.build_absolute_uri(f"{API_PREFIX}tickets/")
    tickets: dict[int, Any] = {}
    skips = []
    at = len(SKIP_COLUMNS)
    for row in rows:
        skip_id, created_at, reason, updated_at, user_id = row[:at]
        ticket_id = row[at]
        ticket = tickets.get(ticket_id)
        if ticket is None:
            ticket = tickets[ticket_id] = render_ticket(row, at, more, url)
        skips.append(
            {
                "created_at": timestamp(created_at),
                "id": skip_id,
                "reason": reason,
                "ticket": ticket,
                "ticket_id": ticket_id,
                "updated_at": timestamp(updated_at),
                "user_id": user_id,
            }
        )
    return skips


# Pages


def page_columns() -> tuple[str, ...]:
    return (*SKIP_COLUMNS, *(f"ticket__{name}" for name in TICKET_COLUMNS))


def offset_page(queryset: QuerySet, request: HttpRequest, order: Sequence[str]) -> dict[str, Any]:
    page = int_param(request, "page", 1, None)
    size = int_param(request, "per_page", MAX_PAGE_SIZE, MAX_PAGE_SIZE)
    if page * size > MAX_OFFSET_DEPTH:
        raise Refused(
            error(400, "InvalidPaginationParameter", "Use cursor pagination to go further.")
        )
    count = queryset.count()
    start = (page - 1) * size
    rows = list(queryset.order_by(*order).values_list(*page_columns())[start : start + size])
    url = request.build_absolute_uri()
    previous = None
    if page == 2:
        previous = remove_query_param(url, "page")
    elif page > 2:
        previous = replace_query_param(url, "page", page - 1)
    return {
        "skips": render_skips(rows, request),
        "next_page": replace_query_param(url, "page", page + 1) if page * size < count else None,
        "previous_page": previous,
        "count": count,
    }


def _sign(payload: bytes) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), payload, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(payload + digest).decode().rstrip("=")


def encode_cursor(created_at: datetime.datetime, skip_id: int) -> str:
    """An opaque, tamper-evident cursor for the position (created_at, id)."""
    return _sign(f"{(created_at - EPOCH) // MICROSECOND}:{skip_id}".encode())


def decode_cursor(token: str) -> tuple[datetime.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload, digest = raw[:-12], raw[-12:]
        expected = hmac.new(settings.SECRET_KEY.encode(), payload, hashlib.sha256).digest()[:12]
        if not hmac.compare_digest(digest, expected):
            raise ValueError("bad signature")
        micros, skip_id = payload.decode().split(":")
        return EPOCH + int(micros) * MICROSECOND, int(skip_id)
    except (ValueError, UnicodeDecodeError) as e:
        raise Refused(error(400, "InvalidPaginationParameter", "The cursor is not valid.")) from e


def cursor_page(queryset: QuerySet, request: HttpRequest, descending: bool) -> dict[str, Any]:
    size = int_param(request, "page[size]", MAX_PAGE_SIZE, MAX_PAGE_SIZE)
    after, before = request.GET.get("page[after]"), request.GET.get("page[before]")
    if after and before:
        raise Refused(error(400, "InvalidPaginationParameter", "page[after] or page[before]."))
    backwards = bool(before)
    position = decode_cursor(after or before or "") if (after or before) else None
    # Walking backwards is walking the other order.
    reverse = descending != backwards
    if position is not None:
        at, skip_id = position
        if reverse:
            queryset = queryset.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=skip_id))
            queryset = queryset.filter(created_at__lte=at)
        else:
            queryset = queryset.filter(Q(created_at__gt=at) | Q(created_at=at, id__gt=skip_id))
            queryset = queryset.filter(created_at__gte=at)
    order = ("-created_at", "-id") if reverse else ("created_at", "id")
    rows = list(queryset.order_by(*order).values_list(*page_columns())[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    has_more = True if backwards else more
    has_prev = more if backwards else position is not None
    first = encode_cursor(rows[0][1], rows[0][0]) if rows else None
    last = encode_cursor(rows[-1][1], rows[-1][0]) if rows else None
    url = remove_query_param(
        remove_query_param(request.build_absolute_uri(), "page[after]"), "page[before]"
    )
    return {
        "skips": render_skips(rows, request),
        "meta": {"has_more": has_more, "after_cursor": last, "before_cursor": first},
        "links": {
            "next": replace_query_param(url, "page[after]", last) if has_more and last else None,
            "prev": replace_query_param(url, "page[before]", first) if has_prev and first else None,
        },
    }


# Views


def json_response(body: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(orjson.dumps(body), status=status, content_type="application/json")


def list_skips(request: HttpRequest, user: Any, ticket_id: str | None, user_id: str | None) -> Any:
    reader = user.has_perm("skips.view_skip")
    if not (reader or user.has_perm("skips.add_skip")):
        raise forbidden()
    queryset = Skip.objects.filter(ticket__is_archived=False)
    if not reader:
        queryset = queryset.filter(user_id=user.pk)
    if ticket_id is not None:
        pk = path_id(ticket_id)
        if not Ticket.objects.filter(pk=pk).exists():
            raise Refused(error(404, "RecordNotFound", "Not found"))
        queryset = queryset.filter(ticket_id=pk)
    if user_id is not None:
        if user_id in ("me", str(user.pk)):
            pk = user.pk
        elif not reader:
            raise forbidden()
        else:
            pk = path_id(user_id)
            if not get_user_model()._default_manager.filter(pk=pk).exists():
                raise Refused(error(404, "RecordNotFound", "Not found"))
        queryset = queryset.filter(user_id=pk)
    sort_order = request.GET.get("sort_order", "asc")
    if sort_order not in ("asc", "desc"):
        raise Refused(error(400, "InvalidParameter", "sort_order must be 'asc' or 'desc'"))
    if any(name in request.GET for name in CURSOR_PARAMS):
        return json_response(cursor_page(queryset, request, sort_order == "desc"))
    order = ("-created_at", "-id") if sort_order == "desc" else ("created_at", "id")
    return json_response(offset_page(queryset, request, order))


def create_skip(request: HttpRequest, user: Any, ticket_id: str | None) -> Any:
    if not user.has_perm("skips.add_skip"):
        raise forbidden()
    if len(request.body) > conf.MAX_BODY_SIZE:
        raise Refused(error(413, "RecordInvalid", "The request body is too large."))
    try:
        body = orjson.loads(request.body)
    except orjson.JSONDecodeError as e:
        raise Refused(error(400, "InvalidJSON", "The request body is not valid JSON.")) from e
    data = body.get("skip") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise Refused(error(400, "InvalidParameter", 'The body must hold a "skip" object.'))
    pk: Any = path_id(ticket_id) if ticket_id is not None else data.get("ticket_id")
    reason = data.get("reason") or ""
    details: dict[str, list[dict[str, str]]] = {}
    if isinstance(pk, bool) or not isinstance(pk, int) or not 1 <= pk < 2**63:
        details["ticket_id"] = [{"description": "must be an integer", "error": "InvalidValue"}]
    if not isinstance(reason, str) or len(reason) > 1024 or "\x00" in reason:
        details["reason"] = [{"description": "is not a valid reason", "error": "InvalidValue"}]
    rows = [] if details else list(Ticket.objects.filter(pk=pk).values_list(*TICKET_COLUMNS))
    if not details and (not rows or rows[0][-1]):
        details["ticket_id"] = [{"description": "no such ticket", "error": "InvalidValue"}]
    if details:
        body = {"error": "RecordInvalid", "description": "Record validation errors"}
        return json_response({**body, "details": details}, status=422)
    skip = Skip(ticket_id=pk, user_id=user.pk, reason=reason)
    skip.save()
    more = ticket_collections([pk])
    url = request.build_absolute_uri(f"{API_PREFIX}tickets/")
    ticket = render_ticket(rows[0], 0, more, url)
    return json_response(
        {
            "skip": {
                "created_at": timestamp(skip.created_at),
                "id": skip.pk,
                "reason": reason,
                "ticket": ticket,
                "ticket_id": pk,
                "updated_at": timestamp(skip.updated_at),
                "user_id": user.pk,
            }
        },
        status=201,
    )


@csrf_exempt
def skips_view(
    request: HttpRequest, ticket_id: str | None = None, user_id: str | None = None
) -> HttpResponse:
    """``GET`` (and ``POST`` but under ``users/``) of the three skips routes."""
    allowed = ("GET", "HEAD") if user_id is not None else ("GET", "HEAD", "POST")
    if request.method not in allowed:
        return error(405, "MethodNotAllowed", f"{request.method} is not allowed here.")
    try:
        user = authenticate(request)
        if not user.is_active:
            raise forbidden()
        if request.method == "POST":
            return create_skip(request, user, ticket_id)
        return list_skips(request, user, ticket_id, user_id)
    except Refused as refused:
        return refused.response


_SUFFIX = r"(?:\.json)?$"

urlpatterns = [
    re_path(r"^skips" + _SUFFIX, skips_view),
    re_path(r"^tickets/(?P<ticket_id>[^/.]+)/skips" + _SUFFIX, skips_view),
    re_path(r"^users/(?P<user_id>[^/.]+)/skips" + _SUFFIX, skips_view),
]
