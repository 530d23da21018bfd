"""Fills the example help desk with demo people, tickets and skips.

Every step is idempotent: people and reference rows are found by their fixed
names, tickets by their ``external_id`` (``demo-001``...), and skips are only
topped up to the total asked for. Content is drawn from ``random.Random(42)``,
so every run describes the same help desk.

It never changes an account it did not create. A demo login it created holds
its documented, public API token (:func:`demo_accounts.demo_token`): an
existing account with a demo username and any other token, or none, is
someone's own, and seeding stops before changing anything
(:class:`ForeignAccounts`).
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rest_framework.authtoken.models import Token

from example_project.helpdesk import demo_data
from example_project.helpdesk.demo_accounts import (
    ACCOUNTS,
    DEMO_PASSWORD,
    EMAIL_DOMAIN,
    GROUP_PERMISSIONS,
    demo_token,
)
from example_project.helpdesk.models import (
    AgentGroup,
    CustomFieldValue,
    Organization,
    SharingAgreement,
    Tag,
    Ticket,
)
from skips.models import Skip

SEED = 42
SKIP_WINDOW = datetime.timedelta(weeks=6)
SKIP_CHUNK = 5_000
#: How often each demo login skips, relative to the others.
SKIPPERS = {"agent1": 5, "agent2": 4, "agent3": 4, "supervisor": 1, "admin": 0.3}
STATUSES = {"new": 10, "open": 30, "pending": 15, "hold": 5, "solved": 20, "closed": 12}
PRIORITIES = (None, "low", "normal", "normal", "normal", "high", "urgent")
RATINGS = {None: 3, "offered": 2, "good": 5, "bad": 1}


@dataclass
class SeedReport:
    """What a seeding run created."""

    users: int = 0
    tickets: int = 0
    skips: int = 0
    totals: dict[str, int] = field(default_factory=dict)


def seed_permission_groups() -> dict[str, Group]:
    """The Agents and Supervisors groups, with exactly their skips permissions."""
    groups = {}
    for name, perms in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        codenames = [perm.split(".", 1)[1] for perm in perms]
        group.permissions.set(
            Permission.objects.filter(content_type__app_label="skips", codename__in=codenames)
        )
        groups[name] = group
    return groups


class ForeignAccounts(Exception):
    """Accounts with a demo login's username that seeding did not create."""

    def __init__(self, usernames: list[str]) -> None:
        self.usernames = usernames
        super().__init__(
            "Not seeding: these demo usernames belong to accounts seed_demo did not "
            f"create: {', '.join(usernames)}. seed_demo never changes an account it did "
            "not create (one it created holds its documented demo API token), so nothing "
            "was changed. Use another database (DATABASE_URL), or rename or delete those "
            "accounts first."
        )


def foreign_accounts() -> list[str]:
    """Usernames of the accounts a demo login would take that hold no demo token.

    As the database matches usernames (MariaDB's collation ignores case and
    accents, so "Admin" is "admin" there), for that is how seeding finds them.
    """
    usernames = [account.username for account in ACCOUNTS]
    existing = list(
        get_user_model()
        ._default_manager.filter(username__in=usernames)
        .order_by("pk")
        .values_list("pk", "username")
    )
    seeded = set(
        Token.objects.filter(
            user_id__in=[pk for pk, _ in existing],
            key__in=[demo_token(name) for name in usernames],
        ).values_list("user_id", flat=True)
    )
    return [username for pk, username in existing if pk not in seeded]


def seed_accounts(report: SeedReport) -> dict[str, Any]:
    """The demo logins, their groups and tokens, and the requesters; by username.

    Raises :class:`ForeignAccounts` before any change if a demo login's username
    is taken by an account seeding did not create.
    """
    foreign = foreign_accounts()
    if foreign:
        raise ForeignAccounts(foreign)
    user_model = get_user_model()
    groups = seed_permission_groups()
    users: dict[str, Any] = {}
    for account in ACCOUNTS:
        user, created = user_model._default_manager.get_or_create(
            username=account.username,
            defaults={
                "email": account.email,
                "first_name": account.first_name,
                "last_name": account.last_name,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            report.users += 1
        # Back to the documented state: seeding made this account.
        user.email = account.email
        user.is_active = True
        user.is_staff = account.is_staff
        user.is_superuser = account.is_superuser
        user.save()
        user.groups.set([groups[account.group]] if account.group else [])
        Token.objects.get_or_create(user=user, key=account.token)
        users[account.username] = user
    for username, first_name, last_name, _org in demo_data.REQUESTERS:
        user, created = user_model._default_manager.get_or_create(
            username=username,
            defaults={
                "email": f"{username}@{EMAIL_DOMAIN}",
                "first_name": first_name,
                "last_name": last_name,
            },
        )
        if created:
            user.set_unusable_password()
            user.save()
            report.users += 1
        users[username] = user
    return users


def seed_reference() -> dict[str, list[Any]]:
    """Organizations, agent groups, tags and sharing agreements, in demo_data order."""
    return {
        "organizations": [
            Organization.objects.get_or_create(name=name)[0] for name in demo_data.ORGANIZATIONS
        ],
        "groups": [
            AgentGroup.objects.get_or_create(name=name)[0] for name in demo_data.AGENT_GROUPS
        ],
        "tags": [Tag.objects.get_or_create(name=name)[0] for name in demo_data.TAGS],
        "agreements": [
            SharingAgreement.objects.get_or_create(name=name, defaults={"partner_url": url})[0]
            for name, url in demo_data.SHARING_AGREEMENTS
        ],
    }


@dataclass
class TicketPlan:
    """Everything about one demo ticket, drawn before touching the database."""

    external_id: str
    scenario: demo_data.Scenario
    problem_external_id: str | None
    fields: dict[str, Any]
    collaborators: list[str]
    followers: list[str]
    tags: list[str]
    custom_fields: dict[int, str]
    agreements: list[int]
    created_at: datetime.datetime
    updated_at: datetime.datetime


def _ordered_scenarios(
    rng: random.Random,
) -> list[tuple[demo_data.Scenario, demo_data.Scenario | None]]:
    """Problems first (incidents point at them), then the rest shuffled."""
    rest: list[tuple[demo_data.Scenario, demo_data.Scenario | None]] = [
        (incident, problem.problem)
        for problem in demo_data.PROBLEMS
        for incident in problem.incidents
    ]
    rest += [(scenario, None) for scenario in demo_data.SCENARIOS]
    rng.shuffle(rest)
    return [(problem.problem, None) for problem in demo_data.PROBLEMS] + rest


def plan_tickets(now: datetime.datetime) -> list[TicketPlan]:
    """The demo tickets, the same on every run (times are relative to ``now``)."""
    rng = random.Random(SEED)
    staff = [account.username for account in ACCOUNTS if account.username != "customer"]
    agents = [name for name in staff if name.startswith("agent")]
    requesters = {name: org for name, _first, _last, org in demo_data.REQUESTERS}
    requesters["customer"] = 0
    ordered = _ordered_scenarios(rng)
    ids = {scenario: f"demo-{i:03d}" for i, (scenario, _p) in enumerate(ordered, start=1)}
    plans = []
    for i, (scenario, problem) in enumerate(ordered, start=1):
        requester = rng.choice(sorted(requesters))
        status = "open" if scenario.type == "problem" else _weighted(rng, STATUSES)
        channel = rng.choice(demo_data.CHANNELS)
        created_at = now - datetime.timedelta(days=rng.uniform(3, 90))
        age = (now - created_at).days
        rating = _weighted(rng, RATINGS) if status in ("solved", "closed") else None
        fields = {
            "subject": scenario.subject,
            "raw_subject": scenario.subject,
            "description": scenario.description,
            "status": status,
            "priority": rng.choice(PRIORITIES),
            "type": scenario.type,
            "requester": requester,
            "submitter": rng.choice(agents) if rng.random() < 0.2 else requester,
            "assignee": None if status == "new" else rng.choice(agents),
            "organization": requesters[requester],
            "group": rng.randrange(len(demo_data.AGENT_GROUPS)),
            "via_channel": channel,
            "from_messaging_channel": channel == "native_messaging",
            "recipient": f"support@{EMAIL_DOMAIN}" if channel == "email" else None,
            "due_at": created_at + datetime.timedelta(days=7) if scenario.type == "task" else None,
            "satisfaction_id": 7000 + i if rating else None,
            "satisfaction_score": rating or "",
            "satisfaction_comment": (
                rng.choice(demo_data.SATISFACTION_COMMENTS[rating]) if rating else ""
            ),
            "is_archived": status == "closed" and rng.random() < 0.6,
        }
        others = [name for name in sorted(requesters) if name != requester]
        extra_tags = [tag for tag in demo_data.TAGS if tag not in scenario.tags]
        tag_count = rng.randint(max(3, len(scenario.tags)), 8)
        plans.append(
            TicketPlan(
                external_id=ids[scenario],
                scenario=scenario,
                problem_external_id=ids[problem] if problem else None,
                fields=fields,
                collaborators=rng.sample(others, rng.randint(2, 5)),
                followers=rng.sample(staff, rng.randint(2, 5)),
                tags=[*scenario.tags, *rng.sample(extra_tags, tag_count - len(scenario.tags))],
                custom_fields={
                    field_id: rng.choice(demo_data.CUSTOM_FIELDS[field_id])
                    for field_id in sorted(
                        rng.sample(sorted(demo_data.CUSTOM_FIELDS), rng.randint(2, 6))
                    )
                },
                agreements=[rng.randrange(len(demo_data.SHARING_AGREEMENTS))]
                if rng.random() < 0.15
                else [],
                created_at=created_at,
                updated_at=created_at + datetime.timedelta(days=rng.uniform(0, min(age, 20))),
            )
        )
    return plans


def _custom_fields(rng: random.Random) -> dict[int, str]:
    """Two to six of the help desk's custom fields, with a value each."""
    field_ids = rng.sample(sorted(demo_data.CUSTOM_FIELDS), rng.randint(2, 6))
    return {
        field_id: rng.choice(demo_data.CUSTOM_FIELDS[field_id]) for field_id in sorted(field_ids)
    }


def _weighted(rng: random.Random, weights: Mapping[Any, float]) -> Any:
    """One key of ``weights``, drawn in proportion to its value."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def seed_tickets(
    report: SeedReport, users: dict[str, Any], reference: dict[str, list[Any]]
) -> None:
    """Create the planned tickets that do not exist yet, with their relations."""
    by_external_id: dict[str, Ticket] = {
        ticket.external_id: ticket
        for ticket in Ticket.objects.filter(external_id__startswith="demo-")
    }
    tags = {tag.name: tag for tag in reference["tags"]}
    for plan in plan_tickets(timezone.now()):
        if plan.external_id in by_external_id:
            continue
        values = dict(plan.fields)
        for key in ("requester", "submitter", "assignee"):
            values[key] = users[values[key]] if values[key] else None
        values["organization"] = reference["organizations"][values["organization"]]
        values["group"] = reference["groups"][values["group"]]
        if plan.problem_external_id:
            values["problem"] = by_external_id[plan.problem_external_id]
        ticket = Ticket.objects.create(external_id=plan.external_id, **values)
        ticket.collaborators.set([users[name] for name in plan.collaborators])
        ticket.followers.set([users[name] for name in plan.followers])
        ticket.tags.set([tags[name] for name in plan.tags])
        ticket.sharing_agreements.set([reference["agreements"][i] for i in plan.agreements])
        CustomFieldValue.objects.bulk_create(
            CustomFieldValue(ticket=ticket, field_id=field_id, value=value)
            for field_id, value in plan.custom_fields.items()
        )
        # auto_now_add and auto_now would say "today": backdate with update().
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=plan.created_at, updated_at=plan.updated_at
        )
        by_external_id[plan.external_id] = ticket
        report.tickets += 1


def seed_skips(report: SeedReport, users: dict[str, Any], total: int) -> None:
    """Top the skips up to ``total``, spread over the past six weeks."""
    existing = Skip.objects.count()
    missing = total - existing
    if missing <= 0:
        return
    rng = random.Random(SEED + existing)
    started = timezone.now()
    window_start = started - SKIP_WINDOW
    tickets = list(Ticket.objects.order_by("pk").values_list("pk", "created_at"))
    if not tickets:
        return
    skippers = [users[name].pk for name in SKIPPERS]
    weights = list(SKIPPERS.values())
    for chunk_start in range(0, missing, SKIP_CHUNK):
        chunk = []
        for _ in range(min(SKIP_CHUNK, missing - chunk_start)):
            ticket_id, ticket_created = rng.choice(tickets)
            earliest = max(ticket_created, window_start)
            chunk.append(
                Skip(
                    ticket_id=ticket_id,
                    user_id=rng.choices(skippers, weights)[0],
                    reason=rng.choice(demo_data.SKIP_REASONS),
                    created_at=earliest + (started - earliest) * rng.random(),
                )
            )
        Skip.objects.bulk_create(chunk, batch_size=1000)
        report.skips += len(chunk)
    # updated_at is auto_now, so bulk_create stamped it "now": a skip is never
    # edited, so it was last updated when it was created.
    Skip.objects.filter(updated_at__gte=started).update(updated_at=F("created_at"))


def seed(skips: int) -> SeedReport:
    """Seed everything; return what was created and the totals."""
    report = SeedReport()
    with transaction.atomic():
        users = seed_accounts(report)
        reference = seed_reference()
        seed_tickets(report, users, reference)
    with transaction.atomic():
        seed_skips(report, users, skips)
    report.totals = {
        "users": get_user_model()._default_manager.count(),
        "tickets": Ticket.objects.count(),
        "archived tickets": Ticket.objects.filter(is_archived=True).count(),
        "skips": Skip.objects.count(),
    }
    return report
