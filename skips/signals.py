"""Signals sent by the skips app."""

from django.dispatch import Signal

#: Sent after a skip is saved, by ``Skip.objects.record()`` (and so by the API).
#: Arguments: ``sender`` (the Skip class), ``skip``, ``user``, ``ticket``.
skip_recorded = Signal()
