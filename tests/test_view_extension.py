"""REST framework's extension contract of the skips views, through HTTP.

A host extends a skips view by subclassing it and setting class attributes, as
with any REST framework view (``tests/extension_urls.py`` routes each variant
under ``/ext/<variant>/``):

1. ``authentication_classes`` of a subclass win; the base views follow
   ``SKIPS_AUTHENTICATION_CLASSES``.
2. ``permission_classes`` of a subclass win; the users route keeps its own rule.
3. ``throttle_classes`` of a subclass win; the base views follow ``SKIPS_THROTTLE_RATE``.
4. ``serializer_class``: a subclass's fields show on every list page (the three
   lists, cursor and offset pages, walked to the end) and on POST, in a fixed
   number of queries; so do a subclass of the ticket serializer and
   ``get_ticket_serializer_class``.
5. The lean path (plain rows) serves ``SkipSerializer``'s own fields, and the
   generic path gives the same bytes.
6. ``filter_backends``, ``pagination_class``, ``get_queryset`` and
   ``get_base_queryset`` of a subclass take effect.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import resolve
from rest_framework.test import APIRequestFactory

from skips.models import Skip
from skips.renderers import SkipsJSONRenderer
from skips.serializers import ROW_FIELDS, SkipSerializer
from tests.conftest import Client, client_for, token_of
from tests.extension_urls import (
    SERIALIZER_VARIANTS,
    BriefTicketSkipSerializer,
    CheckedReasonSkipSerializer,
    ReorderedSkipSerializer,
)
from tests.factories import (
    AgentFactory,
    CaseFactory,
    LabelFactory,
    SkipFactory,
    SupervisorFactory,
    UserFactory,
)
from tests.testapp.models import Agent, Case

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.extension_urls")]

BASE = "/api/v2/"
LISTS = ("skips", "user", "ticket")
#: The first page of each paging style, two skips to a page.
STYLES = {"cursor": "?page[size]=2", "offset": "?per_page=2"}
M = TypeVar("M")
T0 = datetime.datetime(2024, 5, 1, 12, 0, 0, 250_000, tzinfo=datetime.timezone.utc)


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """Throttle counts (and failed-authentication counts) live in Django's cache."""
    cache.clear()
    yield
    cache.clear()


# The data: three agents, a shared ticket, a plain one and an archived one


@dataclass
class World:
    supervisor: Agent
    agent: Agent
    other: Agent
    shared: Case
    plain: Case
    archived: Case
    #: Skips by name: a1, o1 (a tie with a1), a2, a3, archived, s1, o2.
    skips: dict[str, Skip]

    def path(self, prefix: str, which: str) -> str:
        """The list ``which`` ("skips", "user": the agent's, "ticket": the shared one's)."""
        return {
            "skips": f"{prefix}skips",
            "user": f"{prefix}users/{self.agent.pk}/skips",
            "ticket": f"{prefix}tickets/{self.shared.pk}/skips",
        }[which]

    def ids(self, *names: str) -> list[int]:
        return [self.skips[name].pk for name in names]


def made(factory: Callable[..., Any], model: type[M], **kwargs: Any) -> M:
    """A factory's instance, typed as its model."""
    instance = factory(**kwargs)
    assert isinstance(instance, model)
    return instance


def skip_at(user: Agent, ticket: Case, reason: str, minutes: int) -> Skip:
    skip = made(SkipFactory, Skip, user=user, ticket=ticket, reason=reason)
    Skip.objects.filter(pk=skip.pk).update(created_at=T0 + datetime.timedelta(minutes=minutes))
    return skip


@pytest.fixture
def world(db: Any) -> World:
    supervisor = made(SupervisorFactory, Agent)
    agent, other = made(AgentFactory, Agent), made(AgentFactory, Agent)
    shared = made(CaseFactory, Case, labels=[LabelFactory(name="vip"), LabelFactory(name="bug")])
    plain = made(CaseFactory, Case, owner=None, labels=[])
    archived = made(CaseFactory, Case, is_archived=True)
    skips = {
        "a1": skip_at(agent, shared, "Alpha one", 0),
        "o1": skip_at(other, shared, "", 0),
        "a2": skip_at(agent, plain, "beta", 1),
        "a3": skip_at(agent, shared, "Alpha two", 2),
        "archived": skip_at(agent, archived, "archived", 3),
        "s1": skip_at(supervisor, plain, "gamma", 4),
        "o2": skip_at(other, shared, "Alpha three", 5),
    }
    return World(supervisor, agent, other, shared, plain, archived, skips)


# Helpers


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()


def page_items(body: Any) -> list[dict[str, Any]]:
    """The skips of a list answer: an envelope's, or a bare list."""
    return body["skips"] if isinstance(body, dict) else body


def walk(client: Client, url: str, **extra: Any) -> list[list[dict[str, Any]]]:
    """Every page of a list, following ``links.next`` or ``next_page`` to the end."""
    pages: list[list[dict[str, Any]]] = []
    next_url: str | None = url
    while next_url is not None:
        body = ok(client.get(next_url, **extra))
        pages.append(body["skips"])
        next_url = body["links"]["next"] if "links" in body else body["next_page"]
        assert len(pages) <= 10, "the walk does not end"
    return pages


def page_ids(pages: list[list[dict[str, Any]]]) -> list[list[int]]:
    return [[skip["id"] for skip in page] for page in pages]


def flat_ids(pages: list[list[dict[str, Any]]]) -> list[int]:
    return [skip["id"] for page in pages for skip in page]


def ticket_url(prefix: str, ticket_id: int) -> str:
    return f"http://testserver{prefix}tickets/{ticket_id}.json"


def header_of(user: Any) -> dict[str, Any]:
    """The test host's own authentication (``HeaderUserAuthentication``)."""
    return {"HTTP_X_TEST_USER": str(user.pk)}


def bearer(user: Any) -> dict[str, Any]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token_of(user)}"}


def assert_unauthenticated(response: Any) -> None:
    assert ok(response, 401) == {"error": "Couldn't authenticate you"}


def assert_forbidden(response: Any) -> None:
    assert ok(response, 403)["error"] == "Forbidden"


# 1. authentication_classes


@pytest.mark.parametrize("namespace", ["header-auth", "initkwargs"])
def test_authentication_classes_of_a_subclass_win(world: World, namespace: str) -> None:
    """Set on a subclass (or given to ``as_view``), they replace the app's classes."""
    prefix = f"/ext/{namespace}/"
    anonymous = client_for(None)
    expected = {
        "skips": world.ids("a1", "a2", "a3"),
        "user": world.ids("a1", "a2", "a3"),
        "ticket": world.ids("a1", "a3"),
    }
    session = client_for(None)
    session.force_login(world.agent)
    for which in LISTS:
        path = world.path(prefix, which)
        assert flat_ids(walk(anonymous, path, **header_of(world.agent))) == expected[which]
        # The app's classes no longer authenticate: token over Basic, Bearer, session.
        for response in (
            client_for(world.agent).get(path),
            anonymous.get(path, **bearer(world.agent)),
            session.get(path),
        ):
            assert_unauthenticated(response)
            assert response["WWW-Authenticate"] == "X-Test-User"
        # The app's view still takes its own classes only.
        assert_unauthenticated(anonymous.get(world.path(BASE, which), **header_of(world.agent)))
        assert ok(client_for(world.agent).get(world.path(BASE, which)))["skips"]

    inactive: Any = AgentFactory(is_active=False)
    assert_unauthenticated(anonymous.get(f"{prefix}skips", **header_of(inactive)))
    created = anonymous.post(
        f"{prefix}skips",
        {"skip": {"ticket_id": world.plain.pk}},
        format="json",
        **header_of(world.agent),
    )
    assert ok(created, 201)["skip"]["user_id"] == world.agent.pk


def test_base_views_and_default_following_subclasses_follow_the_setting(world: World) -> None:
    anonymous = client_for(None)
    basic = client_for(world.agent)
    header_only = ["tests.extension_urls.HeaderUserAuthentication"]
    with override_settings(SKIPS_AUTHENTICATION_CLASSES=header_only):
        # The base views, and a subclass that sets only its serializer.
        for prefix in (BASE, "/ext/reason-length/"):
            for which in LISTS:
                path = world.path(prefix, which)
                assert ok(anonymous.get(path, **header_of(world.agent)))["skips"]
                assert_unauthenticated(basic.get(path))
    bearer_only = ["skips.authentication.BearerTokenAuthentication"]
    with override_settings(SKIPS_AUTHENTICATION_CLASSES=bearer_only):
        assert ok(anonymous.get(f"{BASE}skips", **bearer(world.agent)))["skips"]
        assert_unauthenticated(basic.get(f"{BASE}skips"))
        # The subclass's own classes win over the setting.
        assert ok(anonymous.get("/ext/header-auth/skips", **header_of(world.agent)))["skips"]
        assert_unauthenticated(anonymous.get("/ext/header-auth/skips", **bearer(world.agent)))
    # Back to the defaults.
    assert ok(basic.get(f"{BASE}skips"))["skips"]
    assert_unauthenticated(anonymous.get(f"{BASE}skips", **header_of(world.agent)))


# 2. permission_classes


def test_permission_classes_of_a_subclass_let_any_active_user_in(world: World) -> None:
    end_user: Any = UserFactory()
    c = client_for(end_user)
    for which in LISTS:
        # The subclass lets an end user in; the queryset still shows nothing not theirs.
        assert ok(c.get(world.path("/ext/active-users/", which)))["skips"] == []
        assert_forbidden(c.get(world.path(BASE, which)))
        assert_unauthenticated(client_for(None).get(world.path("/ext/active-users/", which)))
    created = c.post_json("/ext/active-users/skips", {"skip": {"ticket_id": world.plain.pk}})
    assert ok(created, 201)["skip"]["user_id"] == end_user.pk
    assert_forbidden(c.post_json(f"{BASE}skips", {"skip": {"ticket_id": world.plain.pk}}))


def test_stricter_permission_classes_of_a_subclass_refuse_an_agent(world: World) -> None:
    agent, supervisor = client_for(world.agent), client_for(world.supervisor)
    prefix = "/ext/reports-only/"
    for which in LISTS:
        assert_forbidden(agent.get(world.path(prefix, which)))
        assert ok(agent.get(world.path(BASE, which)))["skips"]
        assert ok(supervisor.get(world.path(prefix, which)))["skips"]
    path = f"tickets/{world.plain.pk}/skips"
    assert_forbidden(agent.post_json(f"{prefix}{path}", {"skip": {}}))
    assert ok(agent.post_json(f"{BASE}{path}", {"skip": {}}), 201)
    assert ok(supervisor.post_json(f"{prefix}{path}", {"skip": {}}), 201)


def test_the_users_route_keeps_its_own_rule(world: World) -> None:
    agent, supervisor = client_for(world.agent), client_for(world.supervisor)
    others = f"users/{world.other.pk}/skips"
    # On the app's view, and on subclasses that do not set permission_classes.
    for prefix in (BASE, "/ext/reason-length/", "/ext/pairs/"):
        assert_forbidden(agent.get(f"{prefix}{others}"))
        assert_forbidden(agent.get(f"{prefix}users/424242/skips"))
        assert ok(agent.get(f"{prefix}users/me/skips"))["skips"]
        assert ok(supervisor.get(f"{prefix}{others}"))["skips"]
    # A subclass's own permission_classes replace the rule; the list stays narrowed.
    assert ok(agent.get(f"/ext/active-users/{others}"))["skips"] == []


# 3. throttle_classes


def test_throttle_classes_of_a_subclass_win(world: World) -> None:
    c, prefix = client_for(world.agent), "/ext/one-per-minute/"
    first = c.get(f"{prefix}skips")
    assert ok(first)["skips"]
    assert "X-Rate-Limit" not in first
    # Its scope spans the subclass's routes, for this user.
    for response in (
        c.get(world.path(prefix, "ticket")),
        c.get(world.path(prefix, "user")),
        c.post_json(f"{prefix}skips", {"skip": {"ticket_id": world.plain.pk}}),
    ):
        body = ok(response, 429)
        assert body["error"] == "TooManyRequests"
        assert body["description"]
        assert 1 <= int(response["Retry-After"]) <= 60
    assert Skip.objects.count() == len(world.skips)
    assert ok(client_for(world.other).get(f"{prefix}skips"))["skips"]
    # The app's views are unthrottled with SKIPS_THROTTLE_RATE = None.
    with override_settings(SKIPS_THROTTLE_RATE=None):
        for which in LISTS * 4:
            response = c.get(world.path(BASE, which))
            assert ok(response)["skips"]
            assert "X-Rate-Limit" not in response


def test_the_throttle_setting_throttles_the_base_views_not_a_subclass_with_its_own(
    world: World,
) -> None:
    c = client_for(world.agent)
    with override_settings(SKIPS_THROTTLE_RATE="2/min"):
        for which in ("skips", "ticket"):
            response = c.get(world.path(BASE, which))
            assert ok(response)["skips"]
            assert response["X-Rate-Limit"] == "2"
        throttled = c.get(world.path(BASE, "user"))
        assert ok(throttled, 429)["error"] == "TooManyRequests"
        assert 1 <= int(throttled["Retry-After"]) <= 60
        # A subclass that keeps the default throttle shares the app's count.
        assert ok(c.get("/ext/reason-length/skips"), 429)["error"] == "TooManyRequests"
        # Subclasses with their own throttle_classes count apart, or not at all.
        assert ok(c.get("/ext/one-per-minute/skips"))["skips"]
        assert ok(c.get("/ext/one-per-minute/skips"), 429)["error"] == "TooManyRequests"
        for _ in range(5):
            response = c.get("/ext/unthrottled/skips")
            assert ok(response)["skips"]
            assert "X-Rate-Limit" not in response


# 4. serializer_class: the subclass's fields on every page and on POST


def no_extra(skip: Skip) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Expect:
    """How a variant's skip differs from the app's rendering of it."""

    #: Keys added after SkipSerializer's, from the skip.
    extra: Callable[[Skip], dict[str, Any]] = no_extra
    #: SkipSerializer's keys the variant leaves out.
    dropped: tuple[str, ...] = ()
    #: The ticket's keys, when the variant renders another ticket.
    ticket_keys: tuple[str, ...] | None = None
    #: Whether list pages may take the lean path.
    lean: bool = False
    #: Whether POST stores the body's reason.
    stores_reason: bool = True


BRIEF_TICKET = ("id", "url", "title")

EXPECTED: dict[str, Expect] = {
    "reason-length": Expect(extra=lambda skip: {"reason_length": len(skip.reason)}),
    "ticket-title": Expect(extra=lambda skip: {"ticket_title": skip.ticket.title}),
    "no-reason": Expect(dropped=("reason",), stores_reason=False),
    "write-only-reason": Expect(dropped=("reason",)),
    "kind": Expect(extra=lambda skip: {"kind": "skip"}),
    "agent-email": Expect(extra=lambda skip: {"agent_email": skip.user.email}),
    "brief-ticket": Expect(ticket_keys=BRIEF_TICKET, lean=True),
    "brief-ticket-reason-length": Expect(
        extra=lambda skip: {"reason_length": len(skip.reason)}, ticket_keys=BRIEF_TICKET
    ),
    "checked-reason": Expect(lean=True),
}


def expected_skip(namespace: str, base: dict[str, Any], skip: Skip) -> dict[str, Any]:
    """The variant's rendering of ``skip``, from the app's rendering ``base``."""
    expect = EXPECTED[namespace]
    want = {key: value for key, value in base.items() if key not in expect.dropped}
    ticket = {**base["ticket"], "url": ticket_url(f"/ext/{namespace}/", skip.ticket_id)}
    if expect.ticket_keys is not None:
        ticket = {key: ticket[key] for key in expect.ticket_keys}
    want["ticket"] = ticket
    return {**want, **expect.extra(skip)}


def assert_renders(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got == want
    assert list(got) == list(want)
    assert list(got["ticket"]) == list(want["ticket"])


def test_every_serializer_variant_is_routed_and_expected() -> None:
    routed = set(SERIALIZER_VARIANTS) - {"reordered", "reason-for-reports"}
    assert routed == set(EXPECTED)


@pytest.mark.parametrize("style", sorted(STYLES))
@pytest.mark.parametrize("which", LISTS)
@pytest.mark.parametrize("namespace", sorted(EXPECTED))
def test_list_pages_render_the_subclass_fields(
    world: World, namespace: str, which: str, style: str
) -> None:
    """Every page, walked to the end: the app's skips, in its order, as the subclass renders."""
    c = client_for(world.supervisor)
    base_pages = walk(c, world.path(BASE, which) + STYLES[style])
    pages = walk(c, world.path(f"/ext/{namespace}/", which) + STYLES[style])
    assert len(base_pages) >= 2
    assert page_ids(pages) == page_ids(base_pages)
    skips = Skip.objects.select_related("ticket", "user").in_bulk(flat_ids(base_pages))
    for page, base_page in zip(pages, base_pages, strict=True):
        for got, base in zip(page, base_page, strict=True):
            assert_renders(got, expected_skip(namespace, base, skips[base["id"]]))


@pytest.mark.parametrize("namespace", sorted(EXPECTED))
def test_post_renders_the_subclass_fields(world: World, namespace: str) -> None:
    """Both POST routes answer as the subclass renders, as its list pages then show."""
    c, prefix = client_for(world.supervisor), f"/ext/{namespace}/"
    answers = [
        ok(
            c.post_json(
                f"{prefix}skips", {"skip": {"ticket_id": world.plain.pk, "reason": "Here"}}
            ),
            201,
        ),
        ok(
            c.post_json(
                f"{prefix}tickets/{world.shared.pk}/skips.json", {"skip": {"reason": "There"}}
            ),
            201,
        ),
    ]
    created = [answer["skip"] for answer in answers]
    stored = Skip.objects.select_related("ticket", "user").in_bulk([s["id"] for s in created])
    assert [stored[s["id"]].ticket for s in created] == [world.plain, world.shared]
    reasons = ["Here", "There"] if EXPECTED[namespace].stores_reason else ["", ""]
    assert [stored[s["id"]].reason for s in created] == reasons
    newest = "skips?sort_order=desc&per_page=2"
    base = {skip["id"]: skip for skip in ok(c.get(f"{BASE}{newest}"))["skips"]}
    for skip in created:
        assert_renders(skip, expected_skip(namespace, base[skip["id"]], stored[skip["id"]]))
    listed = ok(c.get(f"{prefix}{newest}"))["skips"]
    assert listed == created[::-1]
    assert [list(skip) for skip in listed] == [list(skip) for skip in created[::-1]]


def test_a_subclass_that_only_validates_more_validates_on_post(world: World) -> None:
    c = client_for(world.agent)
    body = {"skip": {"ticket_id": world.plain.pk, "reason": "Forbidden words"}}
    refused = ok(c.post_json("/ext/checked-reason/skips", body), 422)
    assert refused["details"]["reason"] == [
        {"description": "must not say forbidden", "error": "InvalidValue"}
    ]
    assert ok(c.post_json(f"{BASE}skips", body), 201)["skip"]["reason"] == "Forbidden words"


def test_a_subclass_that_reorders_its_fields_renders_them_in_its_order(world: World) -> None:
    """A list page is what ``.data`` gives, key order included (as POST answers)."""
    order = list(ReorderedSkipSerializer.Meta.fields)
    c, prefix = client_for(world.supervisor), "/ext/reordered/"
    posted = ok(c.post_json(f"{prefix}skips", {"skip": {"ticket_id": world.plain.pk}}), 201)
    assert list(posted["skip"]) == order
    for which in LISTS:
        for style in sorted(STYLES):
            for page in walk(c, world.path(prefix, which) + STYLES[style]):
                assert [list(skip) for skip in page] == [order] * len(page), (which, style)


def test_fields_chosen_per_request_are_chosen_on_list_pages_too(world: World) -> None:
    """A subclass that hides ``reason`` from agents without reports access (in
    ``get_fields``, from the request) hides it on list pages as on POST."""
    agent, supervisor = client_for(world.agent), client_for(world.supervisor)
    prefix = "/ext/reason-for-reports/"
    posted = ok(agent.post_json(f"{prefix}skips", {"skip": {"ticket_id": world.plain.pk}}), 201)
    assert "reason" not in posted["skip"]
    for which in LISTS:
        for style in sorted(STYLES):
            url = world.path(prefix, which) + STYLES[style]
            for page in walk(supervisor, url):
                assert all("reason" in skip for skip in page)
            for page in walk(agent, url):
                assert [sorted(skip) for skip in page] == [
                    ["created_at", "id", "ticket", "ticket_id", "updated_at", "user_id"]
                ] * len(page), (which, style)


def queries_of(client: Client, path: str) -> tuple[int, int]:
    """How many queries a list page costs, and how many skips it holds."""
    with CaptureQueriesContext(connection) as queries:
        body = ok(client.get(path))
    return len(queries), len(body["skips"])


@pytest.mark.parametrize("style", ["cursor", "offset"])
@pytest.mark.parametrize("which", LISTS)
@pytest.mark.parametrize("namespace", ["base", *sorted(EXPECTED)])
def test_a_page_costs_the_same_queries_whatever_its_size(
    supervisor: Agent, namespace: str, which: str, style: str
) -> None:
    """1 skip or 5 (of other tickets, owners, labels and agents): the same queries."""
    agent: Any = AgentFactory()
    ticket: Any = CaseFactory(labels=[LabelFactory(name="vip"), LabelFactory(name="bug")])
    SkipFactory(user=agent, ticket=ticket)
    prefix = BASE if namespace == "base" else f"/ext/{namespace}/"
    path = {
        "skips": f"{prefix}skips",
        "user": f"{prefix}users/{agent.pk}/skips",
        "ticket": f"{prefix}tickets/{ticket.pk}/skips",
    }[which] + {"cursor": "?page[size]=10", "offset": "?per_page=10"}[style]
    c = client_for(supervisor)
    one, size = queries_of(c, path)
    assert size == 1
    for name in ("billing", "refund", "bug", "vip"):
        SkipFactory(user=agent, ticket=CaseFactory(labels=[LabelFactory(name=name)]))
        SkipFactory(user=AgentFactory(), ticket=ticket)
    five, size = queries_of(c, path)
    assert size >= 5
    assert five == one


# 4. The ticket serializer: SKIPS_TICKET_SERIALIZER subclasses


@dataclass(frozen=True)
class TicketExpect:
    keys: frozenset[str]
    values: Callable[[Case], dict[str, Any]]


CASE_KEYS = frozenset({"id", "url", "title", "owner_id", "owner_email", "labels", "opened_at"})

TICKET_SERIALIZERS: dict[str, TicketExpect] = {
    "LabelCountCaseSerializer": TicketExpect(
        CASE_KEYS | {"label_count"}, lambda case: {"label_count": case.labels.count()}
    ),
    "TitledTicketSerializer": TicketExpect(
        frozenset({"id", "title", "url"}), lambda case: {"title": case.title}
    ),
    "StampedTicketSerializer": TicketExpect(
        frozenset({"host", "id", "title", "url"}),
        lambda case: {"title": case.title, "host": "stamped"},
    ),
    "ShoutingTicketSerializer": TicketExpect(
        frozenset({"id", "title", "title_upper", "url"}),
        lambda case: {"title": case.title, "title_upper": case.title.upper()},
    ),
}


@pytest.mark.parametrize("namespace", ["base", "reason-length"])  # the lean and generic paths
@pytest.mark.parametrize("ticket_serializer", sorted(TICKET_SERIALIZERS))
def test_a_ticket_serializer_subclass_renders_every_ticket(
    world: World, settings: Any, ticket_serializer: str, namespace: str
) -> None:
    settings.SKIPS_TICKET_SERIALIZER = f"tests.extension_urls.{ticket_serializer}"
    expect = TICKET_SERIALIZERS[ticket_serializer]
    prefix = BASE if namespace == "base" else f"/ext/{namespace}/"
    cases = {case.pk: case for case in Case.objects.all()}

    def check(ticket: dict[str, Any]) -> None:
        case = cases[ticket["id"]]
        assert set(ticket) == expect.keys
        assert ticket["url"] == ticket_url(prefix, case.pk)
        assert {key: ticket[key] for key in expect.values(case)} == expect.values(case)

    c = client_for(world.supervisor)
    listed: dict[int, dict[str, Any]] = {}
    for which in LISTS:
        for style in sorted(STYLES):
            for page in walk(c, world.path(prefix, which) + STYLES[style]):
                for skip in page:
                    check(skip["ticket"])
                    assert listed.setdefault(skip["id"], skip["ticket"]) == skip["ticket"]
    for response in (
        c.post_json(f"{prefix}skips", {"skip": {"ticket_id": world.plain.pk}}),
        c.post_json(f"{prefix}tickets/{world.shared.pk}/skips", {"skip": {}}),
    ):
        ticket = ok(response, 201)["skip"]["ticket"]
        check(ticket)
        assert ticket == listed[world.skips["a1" if ticket["id"] == world.shared.pk else "a2"].pk]


@pytest.mark.parametrize(
    ("prefix", "tickets_at"),
    [
        (BASE, BASE),
        ("/plain/", BASE),  # a subclass routed outside any namespace: the app's tickets
        ("/ext/reason-length/", "/ext/reason-length/"),  # generic path
        ("/ext/brief-ticket/", "/ext/brief-ticket/"),  # lean path, its own ticket serializer
    ],
)
def test_the_ticket_url_points_at_the_ticket_api(
    world: World, prefix: str, tickets_at: str
) -> None:
    c = client_for(world.supervisor)
    skips = ok(c.get(f"{prefix}skips"))["skips"]
    posted = ok(c.post_json(f"{prefix}skips", {"skip": {"ticket_id": world.shared.pk}}), 201)
    assert skips
    for skip in [*skips, posted["skip"]]:
        url = skip["ticket"]["url"]
        assert url == ticket_url(tickets_at, skip["ticket_id"])
        match = resolve(urlsplit(url).path)
        assert (match.url_name, match.kwargs) == ("ticket-detail", {"ticket_id": skip["ticket_id"]})
        case = Case.objects.get(pk=skip["ticket_id"])
        assert c.get(url).json() == {"ticket": {"id": case.pk, "title": case.title}}


# 5. The lean path


def test_the_lean_path_is_for_skip_serializer_s_own_fields() -> None:
    assert SkipSerializer.renders_from_rows()
    assert CheckedReasonSkipSerializer.renders_from_rows()  # overrides validate_reason only
    assert BriefTicketSkipSerializer.renders_from_rows()  # another ticket, the same skip fields
    for namespace, expect in EXPECTED.items():
        assert SERIALIZER_VARIANTS[namespace].renders_from_rows() is expect.lean, namespace


def test_page_queryset_reads_rows_on_the_lean_path_and_skips_on_the_generic(world: World) -> None:
    queryset = Skip.objects.in_order("asc")
    rows = list(SkipSerializer.page_queryset(queryset))
    assert [sorted(row) for row in rows] == [sorted(ROW_FIELDS)] * len(world.skips)
    with CaptureQueriesContext(connection) as queries:
        skips = list(SERIALIZER_VARIANTS["reason-length"].page_queryset(queryset))
        # What the ticket serializer reads comes with the page.
        read = [(s.ticket.title, s.ticket.owner, list(s.ticket.labels.all())) for s in skips]
    assert len(read) == len(rows)
    assert [skip.pk for skip in skips] == [row["id"] for row in rows]
    assert len(queries) == 2  # the skips, their tickets and owners; the labels


@pytest.mark.parametrize("prefix", [BASE, "/ext/checked-reason/", "/ext/brief-ticket/"])
def test_lean_list_pages_serialize_no_skip_instance(
    world: World, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: Any, instance: Any) -> Any:
        raise AssertionError("a list page serialized a skip instance")

    monkeypatch.setattr(SkipSerializer, "to_representation", refuse)
    c = client_for(world.supervisor)
    for which in LISTS:
        for style in sorted(STYLES):
            assert flat_ids(walk(c, world.path(prefix, which) + STYLES[style]))


@pytest.mark.parametrize(
    "ticket_serializer",
    [
        "tests.testapp.serializers.CaseSerializer",  # no render_many
        "skips.serializers.TicketSerializer",  # render_many
        "tests.extension_urls.TitledTicketSerializer",  # render_many, one more column
        "tests.extension_urls.LabelCountCaseSerializer",  # a subclass of the host's
    ],
)
@pytest.mark.parametrize("sort_order", ["asc", "desc"])
def test_the_generic_path_gives_the_lean_path_s_bytes(
    world: World,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    ticket_serializer: str,
    sort_order: str,
) -> None:
    """``render_page`` both ways on the same page of the app's serializer: the same JSON."""
    settings.SKIPS_TICKET_SERIALIZER = ticket_serializer
    request = APIRequestFactory().get("/api/v2/skips", secure=True, HTTP_HOST="help.example.org")
    queryset = Skip.objects.not_archived().in_order(sort_order)
    rows = list(SkipSerializer.page_queryset(queryset))
    lean = SkipSerializer.render_page(rows, {"request": request})

    monkeypatch.setattr(SkipSerializer, "renders_from_rows", classmethod(lambda cls: False))
    instances = list(SkipSerializer.page_queryset(queryset))
    assert all(isinstance(skip, Skip) for skip in instances)
    generic = SkipSerializer.render_page(instances, {"request": request})

    render = SkipsJSONRenderer().render
    assert len(lean) == len(world.skips) - 1
    assert render({"skips": lean}) == render({"skips": generic})
    assert b"https://help.example.org/api/v2/tickets/" in render({"skips": lean})


# 6. filter_backends, pagination_class, get_queryset, get_base_queryset


def test_filter_backends_of_a_subclass_replace_the_app_s(world: World) -> None:
    c, prefix = client_for(world.supervisor), "/ext/own-filter/"
    expected = {
        "skips": (["a1", "a3", "o2"], ["a1", "o1", "a2", "a3", "s1", "o2"]),
        "user": (["a1", "a3"], ["a1", "a2", "a3"]),
        "ticket": (["a1", "a3", "o2"], ["a1", "o1", "a3", "o2"]),
    }
    for which, (alpha, every) in expected.items():
        variant, base = world.path(prefix, which), world.path(BASE, which)
        # The subclass's own filter works; the app's view ignores it.
        assert flat_ids(walk(c, f"{variant}?starts_with=Alpha&per_page=2")) == world.ids(*alpha)
        assert flat_ids(walk(c, f"{base}?starts_with=Alpha&page[size]=2")) == world.ids(*every)
        # The app's filters are gone from the subclass.
        assert flat_ids(walk(c, f"{variant}?reason=beta")) == world.ids(*every)
        assert flat_ids(walk(c, f"{variant}?created_after=garbage")) == world.ids(*every)
        assert ok(c.get(f"{base}?created_after=garbage"), 400)["error"] == "InvalidParameter"


def test_pagination_class_of_a_subclass_pages_its_way(world: World) -> None:
    c, prefix = client_for(world.supervisor), "/ext/pairs/"
    for which in LISTS:
        every = flat_ids(walk(c, world.path(BASE, which)))
        pages = walk(c, world.path(prefix, which))  # offset pages, two by default
        assert [len(page) for page in pages][:-1] == [2] * (len(pages) - 1)
        assert flat_ids(pages) == every
        first = ok(c.get(world.path(prefix, which) + "?page[size]=1"))
        after = ok(c.get(world.path(prefix, which), {"page[after]": first["meta"]["after_cursor"]}))
        assert [skip["id"] for skip in after["skips"]] == every[1:3]  # two by default


def test_pagination_class_none_lists_every_skip_unpaged(world: World) -> None:
    """``pagination_class = None`` turns paging off, as on any REST framework list view."""
    c = client_for(world.supervisor)
    for which in LISTS:
        every = flat_ids(walk(c, world.path(BASE, which)))
        response = c.get(world.path("/ext/unpaginated/", which))
        assert [skip["id"] for skip in page_items(ok(response))] == every


def test_get_queryset_of_a_subclass_narrows_every_list_and_page(world: World) -> None:
    c, prefix = client_for(world.supervisor), "/ext/reasoned-only/"
    empty = world.skips["o1"].pk
    for which in LISTS:
        for style in sorted(STYLES):
            every = flat_ids(walk(c, world.path(BASE, which) + STYLES[style]))
            assert empty in every or which == "user"
            reasoned = flat_ids(walk(c, world.path(prefix, which) + STYLES[style]))
            assert reasoned == [pk for pk in every if pk != empty]


def test_get_base_queryset_of_a_subclass_is_what_it_lists(world: World) -> None:
    c = client_for(world.supervisor)
    every = world.ids("a1", "o1", "a2", "a3", "s1", "o2")
    for style in sorted(STYLES):
        assert flat_ids(walk(c, f"{BASE}skips{STYLES[style]}")) == every
        with_archived = flat_ids(walk(c, f"/ext/with-archived/skips{STYLES[style]}"))
        assert with_archived == world.ids("a1", "o1", "a2", "a3", "archived", "s1", "o2")
    # It still lists only what the user may see.
    assert flat_ids(walk(client_for(world.other), "/ext/with-archived/skips")) == world.ids(
        "o1", "o2"
    )
