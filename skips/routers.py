"""Reads on replicas, writes on the primary, and reads that must see one's own writes.

:class:`PrimaryReplicaRouter` is a database router for a host whose databases
are a primary (``"default"``) and read replicas of it, listed in
``SKIPS_REPLICA_DATABASES``::

    DATABASES = {"default": {...}, "replica": {..., "TEST": {"MIRROR": "default"}}}
    DATABASE_ROUTERS = ["skips.routers.PrimaryReplicaRouter"]
    SKIPS_REPLICA_DATABASES = ["replica"]

It routes every model of the project, not only skips: a skips query joins the
host's tickets, and its permission checks read ``auth``, so they must all be
read from one database. Put it last in ``DATABASE_ROUTERS``, after routers of
your own apps.

Where reads go:

- Inside a *read scope* (each request of the skips API and of the skips admin
  opens one), every read goes to the same database: one replica, picked at
  random at the first read, so that a page's skips, their tickets and its
  count come from one snapshot; or the primary, once the scope is pinned to
  it (:func:`read_primary`).
- Outside a scope (management commands, your own views), each read goes to a
  replica picked at random.
- Reads of an object's relations go where the object was read from.
- Sessions, and Django's database cache, are always read from the primary: a
  session written by one request is read by the next.

Read-your-writes: after a user records a skip (or deletes skips in the
admin), :func:`note_write` marks them in Django's default cache for
``SKIPS_READ_YOUR_WRITES_SECONDS``; while the mark lasts, their requests read
the primary (:func:`wrote_recently`), so a client that posts a skip and lists
right away sees it, however far the replicas lag, up to that many seconds.
The mark needs a cache shared by every process that serves the API (Redis,
Memcached), as throttling does.

Your own router can honour the same scopes: call :func:`scoped_read_alias`
from its ``db_for_read``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.db import DEFAULT_DB_ALIAS

from skips.conf import conf

logger = logging.getLogger(__name__)

#: The cache key of a user's read-your-writes mark.
MARK_KEY = "skips:read-primary:{pk}"


def replica_aliases() -> tuple[str, ...]:
    """``SKIPS_REPLICA_DATABASES``, read at each call."""
    return conf.REPLICA_DATABASES


@dataclass
class ReadScope:
    """Where the reads of one block of code go (see :func:`read_scope`)."""

    #: Every read goes to the primary.
    primary: bool = False
    #: The replica the block reads from, picked at its first read.
    replica: str | None = None


_scope: ContextVar[ReadScope | None] = ContextVar("skips_read_scope", default=None)


@contextmanager
def read_scope() -> Iterator[ReadScope]:
    """A block whose reads all go to one database: one replica, or the primary once pinned.

    A scope inside another starts as the outer one is (pinned or not, and the
    same replica), and what it decides ends with it.
    """
    outer = _scope.get()
    scope = ReadScope(primary=outer.primary, replica=outer.replica) if outer else ReadScope()
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def read_primary() -> bool:
    """Pin the current read scope to the primary; False when no scope is open."""
    scope = _scope.get()
    if scope is None:
        return False
    scope.primary = True
    return True


def reads_pinned() -> bool:
    """Whether the current read scope is pinned to the primary."""
    scope = _scope.get()
    return scope is not None and scope.primary


def scoped_read_alias(replicas: tuple[str, ...], primary: str = DEFAULT_DB_ALIAS) -> str | None:
    """The database the current read scope reads from: ``primary`` when pinned,
    else its replica (picked among ``replicas`` at its first read); None
    without a scope or without replicas."""
    scope = _scope.get()
    if scope is None:
        return None
    if scope.primary:
        return primary
    if not replicas:
        return None
    if scope.replica not in replicas:
        scope.replica = random.choice(replicas)
    return scope.replica


class PrimaryReplicaRouter:
    """Writes and migrations on the primary, reads on the replicas of ``SKIPS_REPLICA_DATABASES``.

    With no replica listed, everything goes to the primary. A subclass may
    change :attr:`primary` and :attr:`primary_apps`.
    """

    #: The database alias of the primary.
    primary = DEFAULT_DB_ALIAS
    #: Apps always read from the primary: what one request writes and the next
    #: reads (sessions; Django's database cache, whose app label is ``django_cache``).
    primary_apps: frozenset[str] = frozenset({"sessions", "django_cache"})

    def replicas(self) -> tuple[str, ...]:
        return replica_aliases()

    def db_for_read(self, model: Any, **hints: Any) -> str:
        replicas = self.replicas()
        if not replicas or model._meta.app_label in self.primary_apps:
            return self.primary
        if reads_pinned():
            return self.primary
        instance = hints.get("instance")
        db = getattr(getattr(instance, "_state", None), "db", None)
        if db is not None and (db == self.primary or db in replicas):
            return str(db)  # an object's relations, where the object was read
        return scoped_read_alias(replicas, self.primary) or random.choice(replicas)

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return self.primary

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        """Objects read from the primary and from its replicas may be related."""
        pool = {self.primary, *self.replicas()}
        if obj1._state.db in pool and obj2._state.db in pool:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        """Never on a replica (it replays the primary's tables); elsewhere, other routers decide."""
        if db != self.primary and db in self.replicas():
            return False
        return None


def _mark_key(user: Any) -> str | None:
    pk = getattr(user, "pk", None)
    if pk is None or not getattr(user, "is_authenticated", False):
        return None
    return MARK_KEY.format(pk=pk)


def note_write(user: Any) -> None:
    """``user`` just wrote: their requests read the primary for ``SKIPS_READ_YOUR_WRITES_SECONDS``.

    Nothing is stored without replicas, or with the setting at 0. A cache that
    fails is logged, never raised: the write it follows is done.
    """
    seconds = conf.READ_YOUR_WRITES_SECONDS
    key = _mark_key(user)
    if not seconds or key is None or not replica_aliases():
        return
    try:
        caches[DEFAULT_CACHE_ALIAS].set(key, True, seconds)
    except Exception:
        logger.exception("skips: could not note a write of user %s in the cache", user.pk)


def wrote_recently(user: Any) -> bool:
    """Whether ``user``'s reads go to the primary (see :func:`note_write`).

    True when the cache cannot be read: the primary has every write.
    """
    key = _mark_key(user)
    if not conf.READ_YOUR_WRITES_SECONDS or key is None or not replica_aliases():
        return False
    try:
        return caches[DEFAULT_CACHE_ALIAS].get(key) is not None
    except Exception:
        logger.exception("skips: could not read the write mark of user %s", user.pk)
        return True


@contextmanager
def request_reads(user: Any, *, primary: bool = False) -> Iterator[ReadScope]:
    """The read scope of one request of ``user``: pinned to the primary when
    ``primary`` or when the user wrote recently."""
    with read_scope() as scope:
        if primary or wrote_recently(user):
            scope.primary = True
        yield scope
