"""Serializers of skips and of the embedded ticket.

- :mod:`skips.serializers.skip`: :class:`SkipSerializer`, a skip with its
  ticket embedded, and its lean path for list pages;
- :mod:`skips.serializers.tickets`: :class:`TicketSerializer`, the safe default
  for the embedded ticket (``SKIPS_TICKET_SERIALIZER``);
- :mod:`skips.serializers.fields`: the timestamp, ticket URL and strict JSON
  fields, for host serializers too;
- :mod:`skips.serializers.compiled`: :class:`CompiledQuery`, a queryset
  compiled to SQL once, for the queries of every page (a ticket serializer's
  ``render_many`` too).

A ticket serializer declares the relations it reads in ``select_related`` and
``prefetch_related`` (lookups from the ticket), so that a list page costs a
fixed number of queries whatever its size.
"""

from skips.serializers.compiled import CompiledQuery
from skips.serializers.fields import (
    StrictCharField,
    StrictIntegerField,
    TicketURLField,
    TimestampField,
    format_timestamp,
    ticket_url_prefix,
)
from skips.serializers.skip import ROW_FIELDS, SkipSerializer
from skips.serializers.tickets import REFERENCE_TICKET_FIELDS, TicketSerializer

__all__ = [
    "REFERENCE_TICKET_FIELDS",
    "ROW_FIELDS",
    "CompiledQuery",
    "SkipSerializer",
    "StrictCharField",
    "StrictIntegerField",
    "TicketSerializer",
    "TicketURLField",
    "TimestampField",
    "format_timestamp",
    "ticket_url_prefix",
]
