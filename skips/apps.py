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

        from django.db.models.signals import post_migrate

        from skips.rollups import install_after_migrate

        # The counts of listed skips (PostgreSQL): triggers in line with the settings.
        post_migrate.connect(install_after_migrate, sender=self, dispatch_uid="skips_rollups")
