"""Ticket models of other hosts, each named in turn by ``SKIPS_TICKET_MODEL``.

Installed only in the processes that ``tests/test_misconfiguration.py`` starts.
"""
