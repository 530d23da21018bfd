"""Admin of skips: supervisors browse who skipped what."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from skips.models import Skip


@admin.register(Skip)
class SkipAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "user", "ticket_id", "short_reason")
    list_select_related = ("user",)
    raw_id_fields = ("user", "ticket")
    readonly_fields = ("user", "ticket", "reason", "created_at", "updated_at")
    search_fields = ("reason",)
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description=_("reason"))
    def short_reason(self, skip: Skip) -> str:
        return Truncator(skip.reason).chars(80)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
