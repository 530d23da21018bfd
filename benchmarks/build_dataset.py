"""Build the benchmark data set on the database of ``DATABASE_URL``.

    python -m benchmarks.build_dataset --skips 50000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/skips_bench \\
        python -m benchmarks.build_dataset --skips 1000000

What it makes (every name starts with ``bench-``):

- 200 agents (``--agents``) in the Agents group, 2,000 end users
  (``--end-users``) who file tickets, and ``bench-supervisor``, an agent with
  reports access whose API token the benchmarks use;
- 10,000 tickets (``--tickets``) filled like a real help desk's: 2-5
  collaborators and 2-5 followers, 3-8 tags, 2-6 custom fields, one ticket in
  seven shared, problems with incidents linked to them, satisfaction ratings on
  solved tickets, about 3% archived;
- ``--skips`` skips (up to 1,000,000 and more), recorded over two years in time
  order, each after its ticket was created; a few tickets and a few agents
  collect many skips (so a ticket's or an agent's list fills 100-skip pages),
  and one skip in 200 shares its timestamp with the one before it, so the id
  tie-breaker is exercised.

It is idempotent: users are created when missing, tickets once, and skips are
topped up to ``--skips``. ``--fresh`` first empties the skips and help desk
tables and deletes the data set's users: use a scratch database. On PostgreSQL
the big tables are written with ``COPY`` (psycopg 3); elsewhere with
``bulk_create``. Content is drawn from a seeded generator, so every build with
the same arguments describes the same help desk.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import datetime
import itertools
import random
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.common import PREFIX, SUPERVISOR, bench_email, bench_token, setup_django

UTC = datetime.timezone.utc
TICKET_WINDOW = datetime.timedelta(days=730)
COPY_CHUNK = 20_000
#: Skips are drawn per ticket with weight 1/rank**TICKET_SKEW: a few hot tickets.
TICKET_SKEW = 0.7
#: And per agent with weight 1/rank**AGENT_SKEW: some agents skip much more.
AGENT_SKEW = 0.8
#: One skip in this many has the same timestamp as the skip before it.
TIE_EVERY = 200

STATUSES = {"new": 8, "open": 30, "pending": 14, "hold": 4, "solved": 26, "closed": 18}
PRIORITIES = (None, "low", "normal", "normal", "normal", "high", "urgent")
TYPES = {None: 2, "question": 10, "incident": 6, "task": 3, "problem": 1}
RATINGS = {None: 4, "offered": 3, "good": 6, "bad": 1}
EXTRA_TAGS = (
    "android",
    "api_limits",
    "chargeback",
    "data_export",
    "duplicate",
    "escalated",
    "first_reply",
    "gdpr",
    "ios",
    "languages",
    "migration",
    "partner",
    "renewal",
    "reporting",
    "security",
    "tier2",
    "upgrade",
    "webhook",
    "windows",
    "workaround",
)
FOLLOW_UPS = (
    "This started after the update on Monday.",
    "We have about 40 people blocked by this right now.",
    "I attached two screenshots of the error.",
    "Our account manager said to open a ticket here.",
    "It works in a private window but not in the normal one.",
    "Please call me back on the number in my profile.",
    "Same thing happened last month and it fixed itself after a day.",
    "Sent from my phone, sorry for the typos.",
    "We are on the business plan, order reference in the custom fields.",
    "Could you also check whether our invoices are affected?",
)
FIRST_NAMES = (
    *("Ana", "Ben", "Chloe", "Dev", "Elif", "Farid", "Gwen", "Hiro", "Ines", "Jonas"),
    *("Kemi", "Luca", "Mei", "Nils", "Olga", "Priya", "Quinn", "Rosa", "Sven", "Tara"),
)
LAST_NAMES = (
    *("Adams", "Brandt", "Costa", "Dubois", "Eze", "Fournier", "Garcia", "Hansen", "Ito"),
    *("Jensen", "Kowalski", "Lopez", "Moreau", "Novak", "Okafor", "Petrov", "Rossi"),
    *("Silva", "Tanaka", "Ueda", "Varga", "Weber", "Xu", "Yilmaz", "Zeller"),
)
ORG_WORDS = (
    ("Blue", "Northern", "Bright", "Silver", "Urban", "Coastal", "Prime", "Green"),
    ("Harbor", "Peak", "Field", "Bridge", "Stone", "River", "Cloud", "Forge"),
    ("Logistics", "Foods", "Health", "Labs", "Retail", "Energy", "Media", "Systems"),
)


@dataclass
class Counts:
    """How much the data set should hold."""

    skips: int
    tickets: int
    agents: int
    end_users: int
    #: Share of tickets archived, the older ones first; None: 18% of closed ones (~3%).
    archived: float | None = None


class RowWriter:
    """Writes many rows of one model: ``COPY`` on PostgreSQL, ``bulk_create`` elsewhere."""

    def __init__(self) -> None:
        from django.db import connection

        self.connection = connection
        self.use_copy = connection.vendor == "postgresql" and _has_psycopg3_copy(connection)

    def write(self, model: Any, attnames: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """Insert ``rows`` (values in ``attnames`` order); return how many were written."""
        if self.use_copy:
            return self._copy(model, attnames, rows)
        written = 0
        with _explicit_timestamps(model):
            for chunk in _chunks(rows, COPY_CHUNK):
                model.objects.bulk_create(
                    [model(**dict(zip(attnames, row, strict=True))) for row in chunk],
                    batch_size=500,
                )
                written += len(chunk)
        return written

    def _copy(self, model: Any, attnames: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        quote = self.connection.ops.quote_name
        columns = ", ".join(quote(model._meta.get_field(name).column) for name in attnames)
        sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
        written = 0
        with self.connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for chunk in _chunks(rows, COPY_CHUNK):
                copy.write("".join("\t".join(map(_copy_value, row)) + "\n" for row in chunk))
                written += len(chunk)
        return written


def _has_psycopg3_copy(connection: Any) -> bool:
    try:
        import psycopg
    except ImportError:
        return False
    connection.ensure_connection()
    return isinstance(connection.connection, psycopg.Connection)


@contextlib.contextmanager
def _explicit_timestamps(model: Any) -> Iterator[None]:
    """Let ``bulk_create`` keep the given timestamps of ``auto_now`` fields."""
    fields = [
        f
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    saved = [(f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, (auto_now, auto_now_add) in zip(fields, saved, strict=True):
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value: Any) -> str:
    """One value in ``COPY``'s text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    return str(value)


def _chunks(rows: Iterable[Sequence[Any]], size: int) -> Iterator[list[Sequence[Any]]]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _weighted(rng: random.Random, weights: Mapping[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _zipf_cumulative(count: int, skew: float, rng: random.Random) -> list[float]:
    """Cumulative weights 1/rank**skew, the ranks shuffled over ``count`` slots."""
    ranks = list(range(1, count + 1))
    rng.shuffle(ranks)
    return list(itertools.accumulate(1 / rank**skew for rank in ranks))


class DatasetBuilder:
    """Builds (or tops up) the data set; see the module docstring."""

    def __init__(self, counts: Counts, seed: int, out: Any = sys.stdout) -> None:
        self.counts = counts
        self.seed = seed
        self.out = out
        self.writer = RowWriter()
        self.now = datetime.datetime.now(UTC).replace(microsecond=0)

    def say(self, message: str) -> None:
        print(message, file=self.out, flush=True)

    # Emptying

    def empty(self) -> None:
        """Empty the skips and help desk tables; delete the data set's users."""
        from django.contrib.auth import get_user_model
        from django.db import connection, transaction

        from example_project.helpdesk.models import CustomFieldValue, Ticket
        from skips.models import Skip

        models: list[Any] = [
            Skip,
            CustomFieldValue,
            Ticket.collaborators.through,
            Ticket.followers.through,
            Ticket.tags.through,
            Ticket.sharing_agreements.through,
            Ticket,
        ]
        quote = connection.ops.quote_name
        tables = [quote(model._meta.db_table) for model in models]
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"TRUNCATE {', '.join(tables)}")
            else:
                for table in tables:
                    cursor.execute(f"DELETE FROM {table}")
            get_user_model()._default_manager.filter(username__startswith=PREFIX).delete()
        self.say("emptied the skips and help desk tables, deleted the data set's users")

    # People

    def build_users(self) -> None:
        """The supervisor, the agents and the end users that are missing; their groups."""
        from django.contrib.auth import get_user_model
        from rest_framework.authtoken.models import Token

        from example_project.helpdesk.demo_accounts import AGENTS_GROUP, SUPERVISORS_GROUP
        from example_project.helpdesk.seeding import seed_permission_groups

        user_model = get_user_model()
        groups = seed_permission_groups()
        rng = random.Random(self.seed)
        wanted = {
            SUPERVISOR: SUPERVISORS_GROUP,
            **{self.agent_name(i): AGENTS_GROUP for i in range(self.counts.agents)},
            **{self.end_user_name(i): None for i in range(self.counts.end_users)},
        }
        existing = set(
            user_model._default_manager.filter(username__startswith=PREFIX).values_list(
                "username", flat=True
            )
        )
        missing = [name for name in wanted if name not in existing]
        user_model._default_manager.bulk_create(
            [
                user_model(
                    username=name,
                    email=bench_email(name),
                    first_name=rng.choice(FIRST_NAMES),
                    last_name=rng.choice(LAST_NAMES),
                    password="!",  # unusable: the data set logs in by token only
                    is_staff=name == SUPERVISOR,
                )
                for name in missing
            ],
            batch_size=2_000,
        )
        ids = dict(
            user_model._default_manager.filter(username__in=missing).values_list("username", "pk")
        )
        membership = user_model.groups.through
        membership.objects.bulk_create(
            [
                membership(user_id=ids[name], group_id=groups[wanted[name]].pk)  # type: ignore[index]
                for name in missing
                if wanted[name]
            ],
            batch_size=2_000,
        )
        supervisor = user_model._default_manager.get(username=SUPERVISOR)
        Token.objects.filter(user=supervisor).exclude(key=bench_token(SUPERVISOR)).delete()
        Token.objects.get_or_create(user=supervisor, key=bench_token(SUPERVISOR))
        self.say(f"users: {len(missing)} created, {len(wanted) - len(missing)} already there")

    def agent_name(self, i: int) -> str:
        return f"{PREFIX}agent-{i + 1:03d}"

    def end_user_name(self, i: int) -> str:
        return f"{PREFIX}user-{i + 1:04d}"

    def user_ids(self) -> tuple[list[int], list[int], int]:
        """Primary keys of the agents, of the end users, and of the supervisor."""
        from django.contrib.auth import get_user_model

        rows = dict(
            get_user_model()
            ._default_manager.filter(username__startswith=PREFIX)
            .values_list("username", "pk")
        )
        agents = [rows[self.agent_name(i)] for i in range(self.counts.agents)]
        end_users = [rows[self.end_user_name(i)] for i in range(self.counts.end_users)]
        return agents, end_users, rows[SUPERVISOR]

    # Tickets

    def reference_rows(self) -> dict[str, list[int]]:
        """Organizations, agent groups, tags and sharing agreements: their ids."""
        from example_project.helpdesk import demo_data
        from example_project.helpdesk.models import (
            AgentGroup,
            Organization,
            SharingAgreement,
            Tag,
        )

        org_names = [" ".join(words) for words in itertools.product(*ORG_WORDS)]
        random.Random(self.seed).shuffle(org_names)
        return {
            "organizations": [
                Organization.objects.get_or_create(name=f"{name} ({PREFIX[:-1]})")[0].pk
                for name in org_names[:120]
            ],
            "groups": [
                AgentGroup.objects.get_or_create(name=name)[0].pk for name in demo_data.AGENT_GROUPS
            ],
            "tags": [
                Tag.objects.get_or_create(name=name)[0].pk
                for name in (*demo_data.TAGS, *EXTRA_TAGS)
            ],
            "agreements": [
                SharingAgreement.objects.get_or_create(name=name, defaults={"partner_url": url})[
                    0
                ].pk
                for name, url in demo_data.SHARING_AGREEMENTS
            ],
        }

    def build_tickets(self) -> None:
        """The tickets and their relations, unless the data set has them already."""
        from django.core.management.color import no_style
        from django.db import connection, transaction

        from example_project.helpdesk import demo_data
        from example_project.helpdesk.models import CustomFieldValue, Ticket

        existing = Ticket.objects.filter(external_id__startswith=PREFIX).count()
        if existing == self.counts.tickets:
            self.say(f"tickets: the {existing:,} tickets are there")
            return
        if existing:
            raise SystemExit(
                f"The data set has {existing:,} tickets, not {self.counts.tickets:,}:"
                " rebuild it with --fresh."
            )
        started = time.perf_counter()
        rng = random.Random(self.seed + 1)
        agents, end_users, _supervisor = self.user_ids()
        ref = self.reference_rows()
        scenarios = [
            *demo_data.SCENARIOS,
            *(incident for problem in demo_data.PROBLEMS for incident in problem.incidents),
        ]
        problem_scenarios = [problem.problem for problem in demo_data.PROBLEMS]
        first_id = (Ticket.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
        ids = range(first_id, first_id + self.counts.tickets)
        # Older tickets first: ids grow with created_at, as on a live desk.
        offsets = sorted(rng.uniform(1, TICKET_WINDOW.days) for _ in ids)[::-1]
        tickets, collaborators, followers, tags, agreements, fields = [], [], [], [], [], []
        problems: list[int] = []
        for ticket_id, days_ago in zip(ids, offsets, strict=True):
            created_at = self.now - datetime.timedelta(days=days_ago, seconds=rng.randrange(86400))
            ticket_type = _weighted(rng, TYPES)
            scenario = rng.choice(problem_scenarios if ticket_type == "problem" else scenarios)
            status = _weighted(rng, STATUSES)
            rating = _weighted(rng, RATINGS) if status in ("solved", "closed") else None
            channel = rng.choice(demo_data.CHANNELS)
            requester = rng.choice(end_users)
            description = " ".join(
                [scenario.description, *rng.sample(FOLLOW_UPS, rng.randint(0, 4))]
            )
            problem_id = (
                rng.choice(problems)
                if ticket_type == "incident" and problems and rng.random() < 0.3
                else None
            )
            tickets.append(
                (
                    ticket_id,
                    scenario.subject,
                    scenario.subject,
                    description,
                    status,
                    rng.choice(PRIORITIES),
                    ticket_type,
                    requester,
                    rng.choice(agents) if rng.random() < 0.2 else requester,
                    None if status == "new" else rng.choice(agents),
                    rng.choice(ref["organizations"]) if rng.random() < 0.85 else None,
                    rng.choice(ref["groups"]),
                    problem_id,
                    channel,
                    channel == "native_messaging",
                    f"support@{PREFIX}desk.example.com" if channel == "email" else None,
                    f"{PREFIX}{ticket_id:07d}",
                    created_at + datetime.timedelta(days=7) if ticket_type == "task" else None,
                    90_000_000 + ticket_id if rating else None,
                    rating or "",
                    rng.choice(demo_data.SATISFACTION_COMMENTS[rating]) if rating else "",
                    self.archived(rng, status, days_ago),
                    created_at,
                    min(self.now, created_at + datetime.timedelta(hours=rng.uniform(0, 500))),
                )
            )
            if ticket_type == "problem":
                problems.append(ticket_id)
            # Collaborators are CC'd people: colleagues of the requester and agents.
            people = [*rng.sample(end_users, 3), *rng.sample(agents, 3)]
            collaborators += [(ticket_id, user) for user in rng.sample(people, rng.randint(2, 5))]
            followers += [(ticket_id, user) for user in rng.sample(agents, rng.randint(2, 5))]
            tags += [(ticket_id, tag) for tag in rng.sample(ref["tags"], rng.randint(3, 8))]
            if rng.random() < 1 / 7:
                agreements.append((ticket_id, rng.choice(ref["agreements"])))
            field_ids = sorted(rng.sample(sorted(demo_data.CUSTOM_FIELDS), rng.randint(2, 6)))
            fields += [
                (ticket_id, field_id, rng.choice(demo_data.CUSTOM_FIELDS[field_id]))
                for field_id in field_ids
            ]
        m2m = {field.name: field for field in Ticket._meta.many_to_many}
        with transaction.atomic():
            self.writer.write(Ticket, TICKET_COLUMNS, tickets)
            for name, rows in (
                ("collaborators", collaborators),
                ("followers", followers),
                ("tags", tags),
                ("sharing_agreements", agreements),
            ):
                field = m2m[name]
                through: Any = field.remote_field.through
                columns = (f"{field.m2m_field_name()}_id", f"{field.m2m_reverse_field_name()}_id")
                self.writer.write(through, columns, rows)
            self.writer.write(CustomFieldValue, ("ticket_id", "field_id", "value"), fields)
            with connection.cursor() as cursor:
                for sql in connection.ops.sequence_reset_sql(no_style(), [Ticket]):
                    cursor.execute(sql)
        self.say(
            f"tickets: {len(tickets):,} created ({sum(row[-3] for row in tickets):,} archived,"
            f" {len(collaborators):,} collaborators, {len(followers):,} followers,"
            f" {len(tags):,} tags, {len(fields):,} custom fields)"
            f" in {time.perf_counter() - started:.1f}s"
        )

    def archived(self, rng: random.Random, status: str, days_ago: float) -> bool:
        """Whether a ticket is archived: by default 18% of closed tickets (about 3%);
        with ``--archived F``, a share F of all tickets, the older ones more likely
        (a help desk archives what was closed long ago)."""
        share = self.counts.archived
        if share is None:
            return status == "closed" and rng.random() < 0.18
        age = days_ago / TICKET_WINDOW.days  # 0 (new) .. 1 (two years old)
        return rng.random() < min(1.0, 2 * share * age)

    # Skips

    def build_skips(self) -> None:
        """Top the skips up to ``--skips``."""
        from django.db import transaction
        from django.db.models import Max

        from example_project.helpdesk import demo_data
        from example_project.helpdesk.models import Ticket
        from skips.models import Skip

        existing = Skip.objects.count()
        missing = self.counts.skips - existing
        if missing < 0:
            raise SystemExit(
                f"The data set has {existing:,} skips, more than {self.counts.skips:,}:"
                " rebuild it with --fresh."
            )
        if missing == 0:
            self.say(f"skips: the {existing:,} skips are there")
            return
        started = time.perf_counter()
        rng = random.Random(self.seed + 2 + existing)
        agents, _end_users, supervisor = self.user_ids()
        tickets = list(
            Ticket.objects.filter(external_id__startswith=PREFIX)
            .order_by("created_at", "pk")
            .values_list("pk", "created_at", "is_archived")
        )
        ticket_ids = [pk for pk, _created, _archived in tickets]
        ticket_times = [created.timestamp() for _pk, created, _archived in tickets]
        # Written as the triggers of skips.rollups keep it (they are off while
        # loading), so that installing them has no flag to put right.
        ticket_listed = [not archived for _pk, _created, archived in tickets]
        ticket_weights = _zipf_cumulative(len(tickets), TICKET_SKEW, rng)
        skippers = [supervisor, *agents]
        skipper_weights = _zipf_cumulative(len(skippers), AGENT_SKEW, rng)
        latest = Skip.objects.aggregate(latest=Max("created_at"))["latest"]
        start = max(ticket_times[0] + 3600, latest.timestamp() if latest else 0.0)
        end = self.now.timestamp()
        times = sorted(rng.uniform(start, end) for _ in range(missing))

        def rows() -> Iterator[tuple[Any, ...]]:
            previous: datetime.datetime | None = None
            for at in times:
                # A ticket that existed at that time, drawn by its weight.
                eligible = bisect.bisect_right(ticket_times, at)
                index = bisect.bisect_left(
                    ticket_weights, rng.random() * ticket_weights[eligible - 1]
                )
                if previous is not None and rng.randrange(TIE_EVERY) == 0:
                    created_at = previous
                else:
                    created_at = datetime.datetime.fromtimestamp(round(at, 6), UTC)
                previous = created_at
                skipper = skippers[
                    bisect.bisect_left(skipper_weights, rng.random() * skipper_weights[-1])
                ]
                yield (
                    ticket_ids[index],
                    skipper,
                    rng.choice(demo_data.SKIP_REASONS),
                    created_at,
                    created_at,
                    ticket_listed[index],
                )

        columns = ("ticket_id", "user_id", "reason", "created_at", "updated_at", "listed")
        with transaction.atomic():
            written = self.writer.write(Skip, columns, rows())
        elapsed = time.perf_counter() - started
        self.say(f"skips: {written:,} added ({existing + written:,} in all) in {elapsed:.1f}s")

    def analyze(self) -> None:
        """Fresh planner statistics (PostgreSQL, SQLite), so the first plans are the real ones."""
        from django.db import connection

        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # VACUUM too: it marks the freshly loaded pages all-visible, as
                # autovacuum does on a live desk, so counts read indexes only.
                cursor.execute("VACUUM (ANALYZE)")
            elif connection.vendor == "sqlite":
                cursor.execute("ANALYZE")

    def build(self, fresh: bool) -> None:
        from django.core.management import call_command
        from django.db import connection
        from django.test.utils import override_settings

        from skips import rollups

        started = time.perf_counter()
        settings = connection.settings_dict
        self.say(f"database: {connection.vendor} {settings['NAME']}")
        # The maintained counts (skips.rollups) are switched off while loading,
        # so that COPY fires no trigger per row, and filled once at the end.
        with override_settings(SKIPS_COUNT_ROLLUP=False):
            call_command("migrate", verbosity=0)
            if fresh:
                self.empty()
            self.build_users()
            self.build_tickets()
            self.build_skips()
        if rollups.install(connection.alias):
            self.say(f"counts: filled in {time.perf_counter() - started:.1f}s since the start")
        self.analyze()
        self.say(f"done in {time.perf_counter() - started:.1f}s")


#: Ticket columns in the order ``build_tickets`` draws them.
TICKET_COLUMNS = (
    "id",
    "subject",
    "raw_subject",
    "description",
    "status",
    "priority",
    "type",
    "requester_id",
    "submitter_id",
    "assignee_id",
    "organization_id",
    "group_id",
    "problem_id",
    "via_channel",
    "from_messaging_channel",
    "recipient",
    "external_id",
    "due_at",
    "satisfaction_id",
    "satisfaction_score",
    "satisfaction_comment",
    "is_archived",
    "created_at",
    "updated_at",
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.build_dataset", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--skips", type=int, default=50_000, help="skips in all (default 50,000)")
    parser.add_argument("--tickets", type=int, default=10_000, help="tickets (default 10,000)")
    parser.add_argument("--agents", type=int, default=200, help="agents (default 200)")
    parser.add_argument(
        "--end-users", type=int, default=2_000, help="end users filing tickets (default 2,000)"
    )
    parser.add_argument(
        "--archived",
        type=float,
        default=None,
        help="share of tickets archived, older ones first (default: 18%% of closed ones, ~3%%)",
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the content (default 7)")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="first empty the skips and help desk tables (a scratch database only)",
    )
    args = parser.parse_args(argv)
    if min(args.tickets, args.agents, args.end_users) < 6 or args.skips < 0:
        parser.error("need at least 6 tickets, agents and end users, and no negative count")
    if args.archived is not None and not 0 <= args.archived <= 0.5:
        parser.error("--archived is a share of the tickets, from 0 to 0.5")
    setup_django()
    counts = Counts(
        skips=args.skips,
        tickets=args.tickets,
        agents=args.agents,
        end_users=args.end_users,
        archived=args.archived,
    )
    DatasetBuilder(counts, args.seed).build(args.fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
