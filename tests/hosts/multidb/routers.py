"""Database routers of the multiple-databases host."""

from __future__ import annotations

from typing import Any

#: The alias the help desk's apps live in.
HELPDESK = "helpdesk"


class HelpdeskRouter:
    """Reads, writes and tables of the help desk's apps in "helpdesk"; the rest in "default".

    The help desk's apps are skips, the ticket and user app (``testapp``),
    ``authtoken``, and ``auth`` and ``contenttypes``, which the user's
    permissions join. Sessions and the admin's log stay in "default".
    """

    app_labels = frozenset({"skips", "testapp", "authtoken", "auth", "contenttypes"})

    def _alias(self, model: Any, **hints: Any) -> str:
        return HELPDESK if model._meta.app_label in self.app_labels else "default"

    db_for_read = _alias
    db_for_write = _alias

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return bool(obj1._state.db == obj2._state.db)

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return (app_label in self.app_labels) == (db == HELPDESK)


class SkipsLeftBehindRouter(HelpdeskRouter):
    """A router that forgot the skips app: tickets and users in "helpdesk", skips not."""

    app_labels = HelpdeskRouter.app_labels - {"skips"}
