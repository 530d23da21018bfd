"""Ticket models that the test host's ``Case`` is not."""

from __future__ import annotations

import uuid

from django.db import models


class Ticket(models.Model):
    """What every ticket of these hosts has."""

    subject = models.CharField(max_length=100)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.subject


class UUIDTicket(Ticket):
    """A ticket whose primary key is a UUID (skips.E010)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)


class CodeTicket(Ticket):
    """A ticket whose primary key is a code (skips.E010)."""

    code = models.CharField(max_length=20, primary_key=True)


class FieldTicket(Ticket):
    """A ticket with a column named ``skips``."""

    skips = models.PositiveIntegerField(default=0)


class PropertyTicket(Ticket):
    """A ticket with a property named ``skips``."""

    @property
    def skips(self) -> str:
        return "the host's property"


class RelatedTicket(Ticket):
    """A ticket with a relation of its own named ``skips``."""


class HostSkip(models.Model):
    """The host's own notion of a skip, reached as ``ticket.skips``."""

    ticket = models.ForeignKey(RelatedTicket, on_delete=models.CASCADE, related_name="skips")
    note = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.note


class SubTicket(RelatedTicket):
    """A ticket inheriting its (integer) primary key from its parent: no skips.E010."""

    priority = models.PositiveSmallIntegerField(default=0)
