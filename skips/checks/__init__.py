"""System checks of ``skips``: a bad setting is a ``skips.E0NN`` error, not a traceback.

One module per kind of setting, each check registered with Django's check
framework when ``skips`` is ready (``SkipsConfig.ready`` imports this package):

- :mod:`skips.checks.models`: the ticket model and the rules over it
  (E001-E004, E009, E010);
- :mod:`skips.checks.api`: authentication, tokens and limits (E005-E008, E012,
  W012, E013);
- :mod:`skips.checks.databases`: routing and read replicas (E011, E030-E033);
- :mod:`skips.checks.data`: the export, retention and erasure (E020-E024).
"""

from skips.checks.api import (
    check_authentication,
    check_failed_auth_rates,
    check_max_body_size,
    check_throttle_rate,
    check_token_app,
)
from skips.checks.data import check_erased_user, check_export_settings, check_retention_settings
from skips.checks.databases import (
    check_database_routing,
    check_read_your_writes,
    check_replica_databases,
)
from skips.checks.models import (
    check_archived_tickets,
    check_ticket_access,
    check_ticket_model,
    check_ticket_primary_key,
    check_ticket_serializer,
)

__all__ = [
    "check_archived_tickets",
    "check_authentication",
    "check_database_routing",
    "check_erased_user",
    "check_export_settings",
    "check_failed_auth_rates",
    "check_max_body_size",
    "check_read_your_writes",
    "check_replica_databases",
    "check_retention_settings",
    "check_throttle_rate",
    "check_ticket_access",
    "check_ticket_model",
    "check_ticket_primary_key",
    "check_ticket_serializer",
    "check_token_app",
]
