"""The same host with the app's default ticket serializer (plus columns by name)."""

from tests.hosts.spectacular_host.settings import *  # noqa: F403

SKIPS_TICKET_SERIALIZER = "tests.hosts.spectacular_host.serializers.CaseColumns"
