"""The Ticket Skips API of the reference help desk, as a reusable Django app.

``__version__`` follows semantic versioning over what the app promises: the
wire format (routes, JSON, status codes, error names, parameters, headers), the
``SKIPS_*`` settings and the ``skips.E*`` check ids. Only a major release breaks
one of them; CHANGELOG.md says what counts.
"""

__version__ = "1.0.0"
