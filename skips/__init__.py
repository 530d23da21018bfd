"""The Ticket Skips API of the reference help desk, as a reusable Django app."""

__version__ = "0.1.0"
