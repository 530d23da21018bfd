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
VERSION = "6"


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


# Listed flags


#: Installs this process has made or seen: (alias, database name, key).
_seen: set[tuple[str, str, str]] = set()


def flags_in_use(using: str) -> bool:
    """Whether ``Skip.listed`` on ``using`` is kept by triggers installed for the
    settings in force, so that the lists may narrow on it (and read the partial
    indexes of listed skips). Asks the database once per process and setting."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    key = rollup_key()
    if key is None:
        return False
    seen = (using, str(connection.settings_dict["NAME"]), key)
    if seen not in _seen:
        with connection.cursor() as cursor:
            cursor.execute("SELECT obj_description(%s::regclass, 'pg_class')", [_counts_table()])
            if cursor.fetchone()[0] != key:
                return False
        _seen.add(seen)
    return True


def _forget(connection: BaseDatabaseWrapper) -> None:
    for seen in [seen for seen in _seen if seen[0] == connection.alias]:
        _seen.discard(seen)


# Installing


def install(using: str = "default") -> bool:
    """Install (or remove) the triggers on ``using`` as the settings say; fill the
    counts and the listed flags when installing. Returns whether triggers are in
    place. Idempotent."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    key = rollup_key()
    with connection.cursor() as cursor:
        cursor.execute("SELECT obj_description(%s::regclass, 'pg_class')", [_counts_table()])
        installed = cursor.fetchone()[0]
    name = str(connection.settings_dict["NAME"])
    if installed == key and key is not None:
        _seen.add((using, name, key))
        return True
    _forget(connection)
    with transaction.atomic(using=using), connection.cursor() as cursor:
        _drop(connection, cursor)
        table = connection.ops.quote_name(_counts_table())
        if key is None:
            _drop_indexes(connection, cursor)
            cursor.execute(f"TRUNCATE {table}")
            cursor.execute(f"COMMENT ON TABLE {table} IS NULL")
            return False
        for statement in _install_sql(connection):
            cursor.execute(statement)
        cursor.execute(f"COMMENT ON TABLE {table} IS %s", [key])
    _seen.add((using, name, key))
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
    """Remove the triggers and the partial indexes (migrating back past 0004 or 0005)."""
    if connection.vendor == "postgresql":
        _forget(connection)
        with connection.cursor() as cursor:
            _drop(connection, cursor)
            _drop_indexes(connection, cursor)
            # The counts no longer follow the writes: no list may read them.
            table = connection.ops.quote_name(_counts_table())
            cursor.execute(f"COMMENT ON TABLE {table} IS NULL")


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


def _drop_indexes(connection: BaseDatabaseWrapper, cursor: Any) -> None:
    for index in INDEXES:
        cursor.execute(f"DROP INDEX IF EXISTS {connection.ops.quote_name(index)}")


FUNCTIONS = (
    "skips_rollup_compact",
    "skips_rollup_skip_change",
    "skips_rollup_skip_listed",
    "skips_rollup_skip_truncate",
    "skips_rollup_ticket_delete",
    "skips_rollup_ticket_listed",
    # Of earlier versions, dropped when found.
    "skips_rollup_ticket_archive",
    "skips_rollup_ticket_insert",
)

#: The partial indexes of listed skips, in the order of the three lists:
#: everyone's skips, an agent's, a ticket's (whose count they answer alone).
INDEXES = {
    "skips_listed_created_idx": "(created_at, id)",
    "skips_listed_user_created_idx": "(user_id, created_at, id)",
    "skips_listed_ticket_created_idx": "(ticket_id, created_at, id)",
}


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
    listed_ticket = (
        f"EXISTS (SELECT 1 FROM {n['tickets']} t"
        f" WHERE t.{n['ticket_pk']} = NEW.ticket_id AND {_listed(n, 't')})"
    )
    # Fill first, the triggers not yet there: no write to either table may
    # slip in between (writers wait for the lock, which creating the triggers
    # would take anyway; readers go on).
    statements = [
        f"LOCK TABLE {n['skips']}, {n['tickets']} IN SHARE ROW EXCLUSIVE MODE",
        # The flags, only where they are wrong (a reinstall changes few).
        f"""
UPDATE {n["skips"]} s SET listed = FALSE FROM {n["tickets"]} t
  WHERE t.{n["ticket_pk"]} = s.ticket_id AND s.listed AND NOT ({_listed(n, "t")})""",
        f"""
UPDATE {n["skips"]} s SET listed = TRUE FROM {n["tickets"]} t
  WHERE t.{n["ticket_pk"]} = s.ticket_id AND NOT s.listed AND {_listed(n, "t")}""",
        f"TRUNCATE {n['counts']}",
        f"""
INSERT INTO {n["counts"]} (user_id, n)
  SELECT user_id, COUNT(*) FROM {n["skips"]} WHERE listed GROUP BY user_id""",
        # CREATE INDEX refuses to run while foreign key checks wait for the
        # commit (skips written earlier in this transaction): check them now.
        "SET CONSTRAINTS ALL IMMEDIATE",
        "SET CONSTRAINTS ALL DEFERRED",
        *(
            f"CREATE INDEX IF NOT EXISTS {connection.ops.quote_name(index)}"
            f" ON {n['skips']} {columns} WHERE listed"
            for index, columns in INDEXES.items()
        ),
        # A new or moved skip takes its ticket's state (a ticket not there yet,
        # inserted later in the transaction, is not listed until it arrives).
        # Django's save() writes ticket_id with the other columns, so a stale
        # flag it carries is put right here; the ticket triggers below set the
        # flag alone.
        f"""
CREATE FUNCTION skips_rollup_skip_listed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.listed := {listed_ticket};
  RETURN NEW;
END $$""",
        f"""
CREATE TRIGGER skips_rollup_skip_listed BEFORE INSERT OR UPDATE OF ticket_id
  ON {n["skips"]} FOR EACH ROW EXECUTE FUNCTION skips_rollup_skip_listed()""",
        # The counts follow the flags, row by row.
        f"""
CREATE FUNCTION skips_rollup_skip_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') AND OLD.listed THEN
    {add.format(**n, user="OLD.user_id", delta="-1")}
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.listed THEN
    {add.format(**n, user="NEW.user_id", delta="1")}
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
CREATE TRIGGER skips_rollup_skip_update AFTER UPDATE OF user_id, ticket_id, listed
  ON {n["skips"]} FOR EACH ROW
  WHEN (OLD.listed IS DISTINCT FROM NEW.listed
        OR (NEW.listed AND OLD.user_id IS DISTINCT FROM NEW.user_id))
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
        # which deletes the skips first): its skips are no longer listed (the
        # counts follow); their own delete then changes nothing.
        f"""
CREATE FUNCTION skips_rollup_ticket_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE {n["skips"]} SET listed = FALSE WHERE ticket_id = OLD.{n["ticket_pk"]} AND listed;
  RETURN OLD;
END $$""",
        f"""
CREATE TRIGGER skips_rollup_ticket_delete BEFORE DELETE ON {n["tickets"]}
  FOR EACH ROW EXECUTE FUNCTION skips_rollup_ticket_delete()""",
        # A ticket inserted after skips of it (a deferred foreign key), or
        # archived or brought back: its skips take its state.
        f"""
CREATE FUNCTION skips_rollup_ticket_listed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE {n["skips"]} SET listed = ({_listed(n, "NEW")})
    WHERE ticket_id = NEW.{n["ticket_pk"]} AND listed IS DISTINCT FROM ({_listed(n, "NEW")});
  RETURN NULL;
END $$""",
        f"""
CREATE TRIGGER skips_rollup_ticket_insert AFTER INSERT ON {n["tickets"]}
  FOR EACH ROW EXECUTE FUNCTION skips_rollup_ticket_listed()""",
    ]
    if n["archived_column"]:
        column = n["archived_column"]
        statements.append(
            f"""
CREATE TRIGGER skips_rollup_ticket_archive AFTER UPDATE OF {column} ON {n["tickets"]}
  FOR EACH ROW WHEN ((OLD.{column} IS TRUE) IS DISTINCT FROM (NEW.{column} IS TRUE))
  EXECUTE FUNCTION skips_rollup_ticket_listed()"""
        )
    return statements


def install_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """``post_migrate`` handler: bring the triggers in line with the settings."""
    SkipCount = apps.get_model("skips", "SkipCount")

    if not router.allow_migrate_model(using, SkipCount):
        return
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    Skip = apps.get_model("skips", "Skip")
    with connection.cursor() as cursor:
        if _counts_table() not in connection.introspection.table_names(cursor):
            return  # migrated backwards past the table
        columns = connection.introspection.get_table_description(cursor, Skip._meta.db_table)
    if "listed" not in {column.name for column in columns}:
        return  # migrated backwards past the flags
    install(using)
