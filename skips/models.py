"""The Skip model: an agent passed over a ticket without answering it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from skips.conf import conf, get_ticket_model
from skips.querysets import SkipQuerySet

#: The manager of skips: ``Skip.objects``, with the verbs of :class:`SkipQuerySet`.
SkipManager = models.Manager.from_queryset(SkipQuerySet)

REASON_MAX_LENGTH = 1024
#: The largest id the API takes or gives (a signed 64-bit integer, as the reference's).
MAX_ID = 2**63 - 1

__all__ = [
    "MAX_ID",
    "REASON_MAX_LENGTH",
    "Skip",
    "SkipCount",
    "SkipTombstone",
    "get_ticket_model",
]


class Skip(models.Model):
    """A record that an agent skipped a ticket, with an optional reason.

    Deleting a ticket deletes its skips. Deleting a user who has skips is
    refused (``ProtectedError``): skips are report history. Deactivate the user
    instead, or delete their skips first on purpose.
    """

    ticket = models.ForeignKey(
        conf.TICKET_MODEL,
        on_delete=models.CASCADE,
        # No reverse accessor or query name on the host's ticket model, so that
        # none can clash with a field, property or relation of its own.
        related_name="+",
        verbose_name=_("ticket"),
        db_index=False,  # served by the (ticket, created_at, id) index
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="ticket_skips",
        verbose_name=_("agent"),
        db_index=False,  # served by the (user, created_at, id) index
    )
    reason = models.CharField(_("reason"), max_length=REASON_MAX_LENGTH, blank=True, default="")
    # A default rather than auto_now_add, so that a host can import history.
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)
    # Whether the skip's ticket is listed (not archived), kept by the triggers
    # of skips.rollups on PostgreSQL so that the lists read a partial index;
    # True and unused elsewhere. Not part of the API.
    listed = models.BooleanField(_("listed"), db_default=True, editable=False)

    objects = SkipManager()

    class Meta:
        verbose_name = _("skip")
        verbose_name_plural = _("skips")
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["created_at", "id"], name="skips_created_id_idx"),
            models.Index(fields=["user", "created_at", "id"], name="skips_user_created_idx"),
            models.Index(fields=["ticket", "created_at", "id"], name="skips_ticket_created_idx"),
            # The incremental export's order.
            models.Index(fields=["updated_at", "id"], name="skips_updated_id_idx"),
        ]
        permissions = [("export_skip", _("Can export skips"))]

    def __str__(self) -> str:
        return f"Skip #{self.pk} of ticket #{self.ticket_id} by user #{self.user_id}"

    def __repr__(self) -> str:
        return f"<Skip id={self.pk} ticket_id={self.ticket_id} user_id={self.user_id}>"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A new skip's two timestamps are equal, as the reference shows them.
        self.updated_at = self.created_at if self._state.adding else timezone.now()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "updated_at" not in update_fields:
            kwargs["update_fields"] = {*update_fields, "updated_at"}
        super().save(*args, **kwargs)


class SkipTombstone(models.Model):
    """A deleted skip, as the incremental export shows it.

    Recorded whatever deletes a skip (its ticket deleted, the admin, a queryset
    ``delete()``, ``purge_skips``, an erasure: see :mod:`skips.tombstones`),
    with the skip's id, ticket, agent and creation time, and when it was
    deleted. ``purge_skips`` removes tombstones older than
    ``SKIPS_TOMBSTONE_DAYS``. Plain integers, not foreign keys: the ticket and
    the agent may be gone too.
    """

    id = models.BigIntegerField(_("skip id"), primary_key=True)
    ticket_id = models.BigIntegerField(_("ticket id"))
    user_id = models.BigIntegerField(_("agent id"))
    created_at = models.DateTimeField(_("created at"))
    deleted_at = models.DateTimeField(_("deleted at"))

    class Meta:
        verbose_name = _("deleted skip")
        verbose_name_plural = _("deleted skips")
        default_permissions = ()
        indexes = [models.Index(fields=["deleted_at", "id"], name="skips_tombstone_deleted_idx")]

    def __str__(self) -> str:
        return f"Skip #{self.pk} of ticket #{self.ticket_id}, deleted"


class SkipCount(models.Model):
    """Listed skips (of tickets not archived) of an agent, as rows of changes:
    an agent's count is the sum of their rows. Written by triggers on
    PostgreSQL (see :mod:`skips.rollups`), unused elsewhere."""

    user_id = models.BigIntegerField(_("agent id"))
    n = models.BigIntegerField(_("skips"))

    class Meta:
        verbose_name = _("skip count")
        verbose_name_plural = _("skip counts")
        default_permissions = ()
        indexes = [models.Index(fields=["user_id"], name="skips_count_user_idx")]

    def __str__(self) -> str:
        return f"{self.n:+} skips of user #{self.user_id}"
