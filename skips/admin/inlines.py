"""Skips inside the host's own admin pages: the newest skips of a ticket or a user."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from skips.admin.display import Links, SkipDisplayMixin
from skips.admin.filters import fk_filter_parameter
from skips.models import Skip
from skips.querysets import SkipQuerySet


class RecentSkipsFormSet(BaseInlineFormSet):  # type: ignore[type-arg]  # not generic at run time
    """The newest ``limit`` skips of the parent, and whether there are more."""

    limit = 20
    all_url: str | None = None
    has_more = False
    #: The related models this request may link to (set per request by SkipInline).
    links: Links | None = None

    @classmethod
    def get_default_prefix(cls) -> str:
        # The ticket's foreign key has no reverse name (related_name="+"),
        # which would make the prefix empty (the admin then writes "-1").
        return "skips"

    def get_queryset(self) -> Any:
        if not hasattr(self, "_recent"):
            rows = list(super().get_queryset()[: self.limit + 1])
            for skip in rows:
                skip._skips_links = self.links
            self.has_more = len(rows) > self.limit
            self._recent = rows[: self.limit]
        return self._recent


class SkipInline(SkipDisplayMixin, admin.TabularInline):  # type: ignore[type-arg]  # not generic at run time
    """The newest skips of a ticket or of a user, read-only, with a link to all of them.

    Add it to the host's ticket admin and user admin (``inlines = [SkipInline]``).
    The foreign key is found from the parent model; set ``fk_name`` ("ticket" or
    "user") in a subclass if the parent could be either.
    """

    model = Skip
    formset = RecentSkipsFormSet
    template = "skips/admin/skip_inline.html"
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = _("skips, newest first")
    fields = ("when", "agent", "ticket_display", "short_reason")
    readonly_fields = fields
    #: Skips shown at most.
    limit = 20

    def get_fk_name(self) -> str:
        if self.fk_name:
            return self.fk_name
        for name in ("ticket", "user"):
            related = Skip._meta.get_field(name).related_model
            if isinstance(related, type) and issubclass(self.parent_model, related):
                return name
        return "ticket"

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        parent_column = {"ticket": "ticket_display", "user": "agent"}[self.get_fk_name()]
        return [name for name in self.fields if name != parent_column]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Skip]:
        skips: SkipQuerySet = super().get_queryset(request)  # type: ignore[assignment]
        return (
            skips.of_tickets_visible_to(request.user)
            .select_related("user", "ticket")
            .order_by("-created_at", "-id")
        )

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset: Any = super().get_formset(request, obj, **kwargs)
        formset.limit = self.limit
        formset.links = self.linkable_models(request)
        if obj is not None and obj.pk is not None:
            parameter = fk_filter_parameter(self.get_fk_name())
            formset.all_url = self.skips_changelist_url(**{parameter: obj.pk})
        return formset

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
