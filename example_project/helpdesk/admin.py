"""Admin of the example help desk: tickets and what they refer to."""

from __future__ import annotations

from django.contrib import admin

from example_project.helpdesk.models import (
    AgentGroup,
    CustomFieldValue,
    Organization,
    SharingAgreement,
    Tag,
    Ticket,
)
from skips import admin as skips_admin


class CustomFieldValueInline(admin.TabularInline):
    model = CustomFieldValue
    extra = 0


def _ticket_inlines() -> list[type[admin.options.InlineModelAdmin]]:
    """The custom field inline, and the skips app's inline when it offers one."""
    inlines: list[type[admin.options.InlineModelAdmin]] = [CustomFieldValueInline]
    skip_inline = getattr(skips_admin, "SkipInline", None)
    if skip_inline is not None:
        inlines.append(skip_inline)
    return inlines


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("id", "subject", "status", "priority", "requester", "assignee", "is_archived")
    list_filter = ("status", "priority", "type", "is_archived", "group", "via_channel")
    list_select_related = ("requester", "assignee")
    search_fields = ("subject",)
    raw_id_fields = ("requester", "submitter", "assignee", "problem", "collaborators", "followers")
    filter_horizontal = ("tags", "sharing_agreements")
    readonly_fields = ("created_at", "updated_at")
    inlines = _ticket_inlines()


@admin.register(Organization, AgentGroup, Tag, SharingAgreement)
class NamedAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)
