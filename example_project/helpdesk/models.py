"""Tickets of the example help desk, with every field of the reference ticket."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Organization(models.Model):
    """A customer company; its people file tickets."""

    name = models.CharField(_("name"), max_length=200, unique=True)

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class AgentGroup(models.Model):
    """A team of agents that tickets are routed to (a help desk "group")."""

    name = models.CharField(_("name"), max_length=200, unique=True)

    class Meta:
        verbose_name = _("agent group")
        verbose_name_plural = _("agent groups")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    """A label on tickets, rendered by its name."""

    name = models.SlugField(_("name"), max_length=80, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class SharingAgreement(models.Model):
    """An agreement to share tickets with another help desk."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    partner_url = models.URLField(_("partner URL"), blank=True)

    class Meta:
        verbose_name = _("sharing agreement")
        verbose_name_plural = _("sharing agreements")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    """A request from an end user, worked on by agents."""

    class Status(models.TextChoices):
        NEW = "new", _("New")
        OPEN = "open", _("Open")
        PENDING = "pending", _("Pending")
        HOLD = "hold", _("On hold")
        SOLVED = "solved", _("Solved")
        CLOSED = "closed", _("Closed")

    class Priority(models.TextChoices):
        URGENT = "urgent", _("Urgent")
        HIGH = "high", _("High")
        NORMAL = "normal", _("Normal")
        LOW = "low", _("Low")

    class Type(models.TextChoices):
        PROBLEM = "problem", _("Problem")
        INCIDENT = "incident", _("Incident")
        QUESTION = "question", _("Question")
        TASK = "task", _("Task")

    class Satisfaction(models.TextChoices):
        OFFERED = "offered", _("Offered")
        GOOD = "good", _("Good")
        BAD = "bad", _("Bad")

    subject = models.CharField(_("subject"), max_length=255)
    raw_subject = models.CharField(_("raw subject"), max_length=255, blank=True)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.NEW
    )
    # Null, not "", where the reference ticket says null: the API renders the column.
    priority = models.CharField(  # noqa: DJ001
        _("priority"), max_length=10, choices=Priority.choices, null=True, blank=True
    )
    type = models.CharField(  # noqa: DJ001
        _("type"), max_length=10, choices=Type.choices, null=True, blank=True
    )

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="helpdesk_requested_tickets",
        verbose_name=_("requester"),
    )
    submitter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="helpdesk_submitted_tickets",
        verbose_name=_("submitter"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="helpdesk_assigned_tickets",
        verbose_name=_("assignee"),
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("organization"),
    )
    group = models.ForeignKey(
        AgentGroup,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("group"),
    )
    collaborators = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="helpdesk_collaborated_tickets",
        verbose_name=_("collaborators"),
    )
    followers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="helpdesk_followed_tickets",
        verbose_name=_("followers"),
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets", verbose_name=_("tags"))
    sharing_agreements = models.ManyToManyField(
        SharingAgreement,
        blank=True,
        related_name="tickets",
        verbose_name=_("sharing agreements"),
    )
    problem = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="incidents",
        verbose_name=_("problem"),
        help_text=_("The problem ticket this incident is an occurrence of."),
    )

    via_channel = models.CharField(_("channel"), max_length=40, default="web")
    from_messaging_channel = models.BooleanField(_("from a messaging channel"), default=False)
    recipient = models.EmailField(_("recipient"), null=True, blank=True)  # noqa: DJ001
    external_id = models.CharField(  # noqa: DJ001
        _("external id"), max_length=255, null=True, blank=True
    )
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)

    # The requester's satisfaction rating: no score ("") until a survey is offered.
    satisfaction_id = models.BigIntegerField(_("satisfaction rating id"), null=True, blank=True)
    satisfaction_score = models.CharField(
        _("satisfaction score"), max_length=10, choices=Satisfaction.choices, blank=True
    )
    satisfaction_comment = models.TextField(_("satisfaction comment"), blank=True)

    is_archived = models.BooleanField(_("archived"), default=False, db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ("-id",)
        # On PostgreSQL, migration 0002 adds a pg_trgm index on UPPER(subject)
        # for the skips admin's search (docs/howto/admin-search.rst). It is not
        # in Meta.indexes: the example project migrates on SQLite and MariaDB
        # too, without django.contrib.postgres.

    def __str__(self) -> str:
        return f"#{self.id} {self.subject}"

    @property
    def satisfaction_rating(self) -> dict[str, object] | None:
        """``{"comment", "id", "score"}`` once a survey is offered, else None."""
        if not self.satisfaction_score:
            return None
        return {
            "comment": self.satisfaction_comment,
            "id": self.satisfaction_id,
            "score": self.satisfaction_score,
        }


class CustomFieldValue(models.Model):
    """The value of one of the help desk's custom ticket fields on a ticket."""

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="custom_fields", verbose_name=_("ticket")
    )
    field_id = models.BigIntegerField(_("field id"))
    value = models.TextField(_("value"), blank=True)

    class Meta:
        verbose_name = _("custom field value")
        verbose_name_plural = _("custom field values")
        ordering = ("ticket_id", "field_id")
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "field_id"], name="helpdesk_custom_field_once_per_ticket"
            ),
        ]

    def __str__(self) -> str:
        return f"field {self.field_id} of ticket #{self.ticket_id}"
