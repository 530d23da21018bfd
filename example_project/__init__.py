"""A small help desk that serves the Ticket Skips API, to try the ``skips`` app."""
