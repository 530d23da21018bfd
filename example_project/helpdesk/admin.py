"""Admin of the example help desk: tickets and what they refer to.

The skips app's inline shows each ticket's and each user's newest skips; the
admin index carries the skips app's "Reports" box (its index template).
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from example_project.helpdesk.models import (
    AgentGroup,
    CustomFieldValue,
    Organization,
    SharingAgreement,
    Tag,
    Ticket,
)
from skips.admin import SkipInline

admin.site.index_template = "skips/admin/index.html"


class CustomFieldValueInline(admin.TabularInline):
    model = CustomFieldValue
    extra = 0


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("id", "subject", "status", "priority", "requester", "assignee", "is_archived")
    list_filter = ("status", "priority", "type", "is_archived", "group", "via_channel")
    list_select_related = ("requester", "assignee")
    search_fields = ("subject",)
    raw_id_fields = ("requester", "submitter", "assignee", "problem", "collaborators", "followers")
    filter_horizontal = ("tags", "sharing_agreements")
    readonly_fields = ("created_at", "updated_at")
    inlines = (CustomFieldValueInline, SkipInline)


@admin.register(Organization, AgentGroup, Tag, SharingAgreement)
class NamedAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class HelpdeskUserAdmin(UserAdmin):
    """Django's user admin, with the user's newest skips."""

    inlines = (*UserAdmin.inlines, SkipInline)
