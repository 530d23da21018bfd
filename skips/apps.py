from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SkipsConfig(AppConfig):
    name = "skips"
    verbose_name = _("Ticket skips")
    # Pinned so that a host's DEFAULT_AUTO_FIELD never makes migrations for skips.
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from skips import checks  # noqa: F401  (registers the system checks)
        from skips.tombstones import connect as record_tombstones

        record_tombstones()  # of every deleted skip, for the incremental export
