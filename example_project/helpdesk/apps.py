"""App configuration of the example help desk."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HelpdeskConfig(AppConfig):
    name = "example_project.helpdesk"
    label = "helpdesk"
    verbose_name = _("Help desk")
    default_auto_field = "django.db.models.BigAutoField"
