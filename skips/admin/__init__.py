"""Admin of skips: supervisors browse who skipped what, and read the skips report.

- :class:`SkipAdmin` (:mod:`skips.admin.options`): the changelist (filters,
  search, a date drill-down, a CSV export), a read-only page per skip, and the
  report page.
- :class:`SkipInline` (:mod:`skips.admin.inlines`): the newest skips of a
  ticket or of a user, read-only, for the host's ticket and user admins.

Both show a non-superuser only the skips of the tickets they may see
(``SKIPS_TICKET_ACCESS``), as the API does: the changelist and its count, its
filters, search and date drill-down, the page of one skip (any other is "not
found"), the CSV export and every figure of the report read
``SkipAdmin.get_queryset``, which narrows the skips by a subquery on the
ticket's id (no query of its own, none per row).

Nothing here imports the host's models: the ticket is
``Skip._meta.get_field("ticket").related_model`` and the user is
``get_user_model()``, searched by its ``USERNAME_FIELD``.

Layers, top down: ``options`` and ``inlines`` → ``changelist``, ``filters``,
``export``, ``report`` and ``chart`` → ``display`` → :mod:`skips.reports`,
:mod:`skips.users`, :mod:`skips.dates` (which import nothing from here).
"""

from skips.admin.inlines import SkipInline
from skips.admin.options import SkipAdmin

__all__ = ["SkipAdmin", "SkipInline"]
