"""Counts of listed skips kept current on write, for exact offset ``count`` at any size.

An offset page answers ``count``: how many skips the list holds. Counting the
skips of the tickets that are not archived joins every skip to its ticket: at
ten million skips that is seconds. On PostgreSQL, ``skips`` keeps the count
of each agent's listed skips (those of tickets that are not archived) in the
table of :class:`skips.models.SkipCount`, current in every transaction:

- triggers on the skips table add and take away as skips are inserted,
  deleted, moved to another agent or ticket (an erasure), or truncated;
- triggers on the host's ticket table move a ticket's skips out of the counts
  when it is archived, back when it is not, and out when it is deleted with its
  skips still there: whatever the host uses (``save()``, ``update()``, SQL).

A list of everyone's skips then counts with one sum over a row per agent, an
agent's list with one row. The counts are used only when they answer the very
question asked: the list of every skip, or of one agent's skips, not archived,
with no filter, for a user whom ``SKIPS_TICKET_ACCESS`` does not restrict;
any other count is an ordinary ``COUNT(*)``. And only when the triggers were
installed for the archived rule in force: ``SKIPS_ARCHIVED_TICKETS`` unset or
the name of a boolean field of the ticket model (a callable rule cannot be
followed by a trigger, and its lists count the ordinary way).

``migrate`` installs the triggers and fills the counts (a ``post_migrate``
handler), and again whenever the ticket table or the archived field changed;
``SKIPS_COUNT_ROLLUP = False`` removes them. Other databases count the
ordinary way.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField

from skips.conf import conf, get_ticket_model

#: Version of the trigger code: a new version reinstalls the triggers on ``migrate``.
VERSION = "3"


def archived_column() -> str | bool | None:
    """The ticket column the triggers follow: a column name, None (nothing is
    archived), or False (a rule no trigger can follow)."""
    rule = conf.ARCHIVED_TICKETS
    if rule is None:
        return None
    if not isinstance(rule, str):
        return False
    try:
        field = get_ticket_model()._meta.get_field(rule)
    except Exception:
        return False
    if not isinstance(field, BooleanField) or not getattr(field, "column", None):
        return False
    column: str | None = field.column
    return column


def rollup_key() -> str | None:
    """What the installed triggers must have been made for; None: no rollup wanted."""
    if not conf.COUNT_ROLLUP or not _integer_user_ids():
        return None
    column = archived_column()
    if column is False:
        return None
    ticket = get_ticket_model()._meta
    return f"v{VERSION}:{ticket.db_table}.{ticket.pk.column}:{column or ''}"


def _integer_user_ids() -> bool:
    """Whether agents have integer ids, as the counts table keeps them."""
    Skip = apps.get_model("skips", "Skip")

    target: Any = Skip._meta.get_field("user").target_field
    return target.get_internal_type() in INTEGER_FIELDS


INTEGER_FIELDS = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
    }
)


def _counts_table() -> str:
    SkipCount = apps.get_model("skips", "SkipCount")

    return SkipCount._meta.db_table


def rollup_count(using: str, user_id: Any | None) -> int | None:
    """The count of listed skips (of ``user_id``, or of everyone), or None when
    the counts on ``using`` cannot answer (not PostgreSQL, not installed for the
    rule in force)."""
    connection = connections[using]
    key = rollup_key()
    if key is None or connection.vendor != "postgresql":
        return None
    table = connection.ops.quote_name(_counts_table())
    where, params = ("WHERE user_id = %s", [user_id]) if user_id is not None else ("", [])
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT obj_description(%s::regclass, 'pg_class'),"
            f" (SELECT COALESCE(SUM(n), 0) FROM {table} {where})",
            [_counts_table(), *params],
        )
        installed, total = cursor.fetchone()
    if installed != key:
        return None
    return int(total)


# Installing


def install(using: str = "default") -> bool:
    """Install (or remove) the triggers on ``using`` as the settings say; fill the
    counts when installing. Returns whether triggers are in place. Idempotent."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    key = rollup_key()
    with connection.cursor() as cursor:
        cursor.execute("SELECT obj_description(%s::regclass, 'pg_class')", [_counts_table()])
        installed = cursor.fetchone()[0]
    if installed == key and key is not None:
        return True
    with transaction.atomic(using=using), connection.cursor() as cursor:
        _drop(connection, cursor)
        if key is None:
            table = connection.ops.quote_name(_counts_table())
            cursor.execute(f"TRUNCATE {table}")
            cursor.execute(f"COMMENT ON TABLE {table} IS NULL")
            return False
        for statement in _install_sql(connection):
            cursor.execute(statement)
        table = connection.ops.quote_name(_counts_table())
        cursor.execute(f"COMMENT ON TABLE {table} IS %s", [key])
    return True


def _names(connection: BaseDatabaseWrapper) -> dict[str, str]:
    Skip = apps.get_model("skips", "Skip")

    quote = connection.ops.quote_name
    ticket = get_ticket_model()._meta
    column = archived_column()
    return {
        "counts": quote(_counts_table()),
        "skips": quote(Skip._meta.db_table),
        "tickets": quote(ticket.db_table),
        "ticket_pk": quote(str(ticket.pk.column)),
        "archived_column": quote(column) if isinstance(column, str) else "",
    }


def _listed(n: dict[str, str], row: str) -> str:
    """SQL true when ticket ``row`` is listed: not archived (a NULL is not
    archived, as in the ORM's ``exclude()``)."""
    return f"{row}.{n['archived_column']} IS NOT TRUE" if n["archived_column"] else "TRUE"


def uninstall(connection: BaseDatabaseWrapper) -> None:
    """Remove the triggers (before the counts table goes: migrating back past 0004)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            _drop(connection, cursor)


def _drop(connection: BaseDatabaseWrapper, cursor: Any) -> None:
    """Remove every trigger and function of the rollup, whatever ticket table they were on."""
    cursor.execute(
        "SELECT tgname, tgrelid::regclass::text FROM pg_trigger"
        " WHERE tgname LIKE 'skips_rollup_%%' AND NOT tgisinternal"
    )
    for name, table in cursor.fetchall():
        cursor.execute(f"DROP TRIGGER IF EXISTS {connection.ops.quote_name(name)} ON {table}")
    for function in FUNCTIONS:
        cursor.execute(f"DROP FUNCTION IF EXISTS {function}() CASCADE")


FUNCTIONS = (
    "skips_rollup_compact",
    "skips_rollup_skip_change",
    "skips_rollup_skip_truncate",
    "skips_rollup_ticket_archive",
    "skips_rollup_ticket_delete",
)


#: A write folds the counts into one row per agent with this chance (so the
#: table holds about one row per agent, plus a few hundred).
COMPACT_EVERY_INVERSE = 0.002
#: The advisory lock of the fold (any fixed number: "skips" in ASCII).
ADVISORY_LOCK = 0x736B697073


def _install_sql(connection: BaseDatabaseWrapper) -> list[str]:
    n = _names(connection)
    # add(user, delta): a row appended, never an update of a shared row, so
    # that two transactions writing skips of one agent never wait for each other.
    add = "INSERT INTO {counts} (user_id, n) VALUES ({user}, {delta});"
    listed_ticket = "EXISTS (SELECT 1 FROM {tickets} t WHERE t.{ticket_pk} = {id} AND {listed})"
    n = {**n, "listed": _listed(n, "t")}
    statements = [
        f"""
CREATE FUNCTION skips_rollup_skip_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    IF {listed_ticket.format(**n, id="OLD.ticket_id")} THEN
      {add.format(**n, user="OLD.user_id", delta="-1")}
    END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    IF {listed_ticket.format(**n, id="NEW.ticket_id")} THEN
      {add.format(**n, user="NEW.user_id", delta="1")}
    END IF;
  END IF;
  IF random() < {COMPACT_EVERY_INVERSE} THEN
    PERFORM skips_rollup_compact();
  END IF;
  RETURN NULL;
END $$""",
        # Fold the rows into one per agent. One transaction at a time (an
        # advisory lock tried, never waited for): the rows it deletes are not
        # touched by anyone else, so no writer ever waits on them.
        f"""
CREATE FUNCTION skips_rollup_compact() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF pg_try_advisory_xact_lock({ADVISORY_LOCK}) THEN
    WITH gone AS (DELETE FROM {n["counts"]} RETURNING user_id, n)
    INSERT INTO {n["counts"]} (user_id, n)
      SELECT user_id, SUM(n) FROM gone GROUP BY user_id HAVING SUM(n) <> 0;
  END IF;
END $$""",
        f"""
CREATE TRIGGER skips_rollup_skip_insert_delete AFTER INSERT OR DELETE ON {n["skips"]}
  FOR EACH ROW EXECUTE FUNCTION skips_rollup_skip_change()""",
        f"""
CREATE TRIGGER skips_rollup_skip_update AFTER UPDATE OF user_id, ticket_id ON {n["skips"]}
  FOR EACH ROW WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id
                     OR OLD.ticket_id IS DISTINCT FROM NEW.ticket_id)
  EXECUTE FUNCTION skips_rollup_skip_change()""",
        f"""
CREATE FUNCTION skips_rollup_skip_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- DELETE, not TRUNCATE: a TRUNCATE of both tables at once (Django's flush)
  -- holds the counts table, which a nested TRUNCATE may not touch.
  DELETE FROM {n["counts"]};
  RETURN NULL;
END $$""",
        f"""
CREATE TRIGGER skips_rollup_skip_truncate AFTER TRUNCATE ON {n["skips"]}
  FOR EACH STATEMENT EXECUTE FUNCTION skips_rollup_skip_truncate()""",
        # A ticket deleted while its skips are still there (SQL, not the ORM,
        # which deletes the skips first): its skips leave the counts now; the
        # skips' own delete then finds no ticket and changes nothing.
        f"""
CREATE FUNCTION skips_rollup_ticket_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF {_listed(n, "OLD")} THEN
    INSERT INTO {n["counts"]} (user_id, n)
      SELECT user_id, -COUNT(*) FROM {n["skips"]} WHERE ticket_id = OLD.{n["ticket_pk"]}
      GROUP BY user_id;
  END IF;
  RETURN OLD;
END $$""",
        f"""
CREATE TRIGGER skips_rollup_ticket_delete BEFORE DELETE ON {n["tickets"]}
  FOR EACH ROW EXECUTE FUNCTION skips_rollup_ticket_delete()""",
    ]
    if n["archived_column"]:
        column = n["archived_column"]
        statements += [
            f"""
CREATE FUNCTION skips_rollup_ticket_archive() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {n["counts"]} (user_id, n)
    SELECT user_id, CASE WHEN NEW.{column} IS TRUE THEN -COUNT(*) ELSE COUNT(*) END
    FROM {n["skips"]} WHERE ticket_id = NEW.{n["ticket_pk"]}
    GROUP BY user_id;
  RETURN NULL;
END $$""",
            f"""
CREATE TRIGGER skips_rollup_ticket_archive AFTER UPDATE OF {column} ON {n["tickets"]}
  FOR EACH ROW WHEN ((OLD.{column} IS TRUE) IS DISTINCT FROM (NEW.{column} IS TRUE))
  EXECUTE FUNCTION skips_rollup_ticket_archive()""",
        ]
    # Fill: no write may slip between the count and the triggers taking over.
    statements += [
        f"LOCK TABLE {n['skips']} IN SHARE MODE",
        f"TRUNCATE {n['counts']}",
        f"""
INSERT INTO {n["counts"]} (user_id, n)
  SELECT s.user_id, COUNT(*) FROM {n["skips"]} s
  JOIN {n["tickets"]} t ON t.{n["ticket_pk"]} = s.ticket_id
  WHERE {_listed(n, "t")}
  GROUP BY s.user_id""",
    ]
    return statements


def install_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """``post_migrate`` handler: bring the triggers in line with the settings."""
    SkipCount = apps.get_model("skips", "SkipCount")

    if not router.allow_migrate_model(using, SkipCount):
        return
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    if _counts_table() not in connection.introspection.table_names():
        return  # migrated backwards past the table
    install(using)
