"""Tombstones: a record of every deleted skip, for the incremental export.

A ``pre_delete`` receiver on :class:`~skips.models.Skip` (connected when the app
is ready) records a :class:`~skips.models.SkipTombstone` in the transaction
that deletes the skip. Django sends ``pre_delete`` for each object of a model
that has receivers, whatever deletes it, and the receiver turns off the fast
path that would delete without fetching: ``skip.delete()``, a queryset's
``delete()``, the cascade of a ticket's deletion (one ticket, or a queryset of
tickets), the admin's delete pages and action.

Not covered: SQL that bypasses Django's deletion (a raw ``DELETE``,
``TRUNCATE``, a cascade the database runs itself) and ``QuerySet._raw_delete()``.

:func:`delete_skips` deletes many skips and records their tombstones in bulk
(one ``INSERT`` per chunk instead of one per skip); ``purge_skips`` and the
erasure use it. A skip deleted twice (restored from a backup, then deleted
again) keeps one tombstone, of its last deletion.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db import connections, router, transaction
from django.db.models.signals import pre_delete
from django.utils import timezone

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from skips.models import Skip, SkipTombstone

#: Rows of a skip that its tombstone keeps, in this order.
TOMBSTONE_ROW = ("id", "ticket_id", "user_id", "created_at")
#: Skips deleted and tombstoned per statement by :func:`delete_skips`.
CHUNK_SIZE = 500

#: Ids of skips whose tombstones :func:`delete_skips` has already written.
_recorded: ContextVar[frozenset[int]] = ContextVar("skips_tombstones_recorded", default=frozenset())


def tombstone_model() -> type[SkipTombstone]:
    """:class:`~skips.models.SkipTombstone`, looked up (this module sits below the
    models, which the queryset's ``erase()`` reaches it from)."""
    model: type[SkipTombstone] = apps.get_model("skips", "SkipTombstone")
    return model


def connect() -> None:
    """Record a tombstone whenever a skip is deleted (called by the app's ``ready()``)."""
    pre_delete.connect(record_deletion, sender="skips.Skip", dispatch_uid="skips.tombstones")


def record_deletion(sender: Any, instance: Skip, using: str, **kwargs: Any) -> None:
    """``pre_delete`` receiver: the tombstone of ``instance``, in the deleting transaction."""
    if instance.pk in _recorded.get():
        return
    save_tombstones(
        [
            tombstone_model()(
                id=instance.pk,
                ticket_id=instance.ticket_id,
                user_id=instance.user_id,
                created_at=instance.created_at,
                deleted_at=timezone.now(),
            )
        ],
        using,
    )


def save_tombstones(tombstones: Sequence[SkipTombstone], using: str) -> None:
    """Insert ``tombstones``; one of a skip that has a tombstone already replaces it."""
    if not tombstones:
        return
    features = connections[using].features
    tombstone_model()._default_manager.using(using).bulk_create(
        tombstones,
        batch_size=CHUNK_SIZE,
        update_conflicts=True,
        # MySQL and MariaDB update on any unique key and take no conflict target.
        unique_fields=["id"] if features.supports_update_conflicts_with_target else None,
        update_fields=["ticket_id", "user_id", "created_at", "deleted_at"],
    )


def _chunks(values: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def write_database(queryset: QuerySet[Any]) -> str:
    """The database ``queryset`` writes to (as its ``delete()`` or ``update()`` would)."""
    alias: str | None = getattr(queryset, "_db", None)  # set by .using()
    return alias or router.db_for_write(queryset.model)


def delete_skips(queryset: QuerySet[Skip], chunk_size: int = CHUNK_SIZE) -> int:
    """Delete the skips of ``queryset`` with their tombstones, in one transaction; how many.

    Each chunk of ``chunk_size`` skips costs a locking read of their rows, one
    ``INSERT`` of their tombstones and Django's own deletion (which sends
    ``pre_delete`` and ``post_delete`` to any receiver of the host's).
    """
    using = write_database(queryset)
    deleted = 0
    with transaction.atomic(using=using):
        ids = list(queryset.using(using).order_by().values_list("pk", flat=True))
        for chunk in _chunks(ids, chunk_size):
            deleted += _delete_chunk(queryset.model, chunk, using)
    return deleted


def _delete_chunk(model: type[Skip], ids: Iterable[int], using: str) -> int:
    skips = model._base_manager.using(using).filter(pk__in=list(ids))
    rows = list(skips.select_for_update().values_list(*TOMBSTONE_ROW))
    if not rows:
        return 0
    deleted_at = timezone.now()
    tombstone = tombstone_model()
    save_tombstones(
        [
            tombstone(
                id=pk,
                ticket_id=ticket_id,
                user_id=user_id,
                created_at=created_at,
                deleted_at=deleted_at,
            )
            for pk, ticket_id, user_id, created_at in rows
        ],
        using,
    )
    pks = frozenset(row[0] for row in rows)
    token = _recorded.set(_recorded.get() | pks)
    try:
        _total, per_model = skips.filter(pk__in=pks).delete()
    finally:
        _recorded.reset(token)
    return per_model.get(model._meta.label, 0)


def purge_tombstones(
    older_than: datetime.datetime, batch_size: int = CHUNK_SIZE, using: str | None = None
) -> Iterator[int]:
    """Delete tombstones of deletions before ``older_than``, a batch per transaction.

    Yields the number deleted by each batch (nothing when there is none).
    """
    model = tombstone_model()
    using = using or router.db_for_write(model)
    tombstones = model._default_manager.using(using)
    while True:
        with transaction.atomic(using=using):
            ids = list(
                tombstones.filter(deleted_at__lt=older_than)
                .order_by("deleted_at", "id")
                .values_list("id", flat=True)[:batch_size]
            )
            if not ids:
                return
            count, _ = tombstones.filter(id__in=ids).delete()
        yield count
