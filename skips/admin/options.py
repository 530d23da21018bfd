"""The skips changelist, a read-only page per skip, the CSV export and the report.

Skips are records: nobody adds or edits one here; deleting needs
``skips.delete_skip``; seeing any of it needs staff status and
``skips.view_skip``, as everywhere in Django's admin.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from skips.admin.changelist import DATE_PARTS, ExportChangeList, SkipChangeList, SkipPaginator
from skips.admin.display import SkipDisplayMixin
from skips.admin.erasure import anonymise_skips, delete_skips_erasure
from skips.admin.export import CHUNK_SIZE, copy_csv_rows, csv_response, csv_rows, skip_columns
from skips.admin.filters import (
    AgentFilter,
    ArchivedFilter,
    CreatedDateFilter,
    HasReasonFilter,
    filter_parameters,
    fk_filter_parameter,
    is_pk,
)
from skips.admin.replicas import scoped_urls
from skips.admin.report import report_context
from skips.admin.search import search_lookup, search_q, search_words
from skips.models import Skip
from skips.querysets import SkipQuerySet
from skips.serializers import format_timestamp
from skips.users import USER_NAME_FIELDS, user_field_names


@admin.register(Skip)
class SkipAdmin(SkipDisplayMixin, admin.ModelAdmin):  # type: ignore[type-arg]  # not generic at run time
    """The skips changelist, a read-only page per skip, the CSV export and the report."""

    list_display = ("id", "when", "agent", "ticket_display", "short_reason")
    list_filter = (CreatedDateFilter, AgentFilter, HasReasonFilter, ArchivedFilter)
    list_select_related = ("user", "ticket")
    sortable_by = ("id", "when")
    raw_id_fields = ("user", "ticket")
    date_hierarchy = "created_at"
    paginator = SkipPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = ("export_csv", anonymise_skips, delete_skips_erasure)
    change_list_template = "skips/admin/change_list.html"
    report_template = "skips/admin/report.html"
    fields = (
        "id",
        "when",
        "agent",
        "ticket_display",
        "reason",
        "created_at_utc",
        "updated_at_utc",
        "elsewhere",
    )
    readonly_fields = fields
    search_help_text = _(
        "Reason, ticket number or title, agent's login, email or name. "
        "Several words must all match; words after the first %(count)s are left out."
    )
    #: User fields searched; None: the login field, the email field and the name fields it has.
    user_search_fields: Sequence[str] | None = None
    #: Words of a search that are searched (each costs a condition on every
    #: search field): the first ones; the rest are left out.
    search_max_words = 10
    #: A word's matching tickets (or agents) are written into the skips query
    #: as ids up to this many; past it, as a subquery (skips.admin.search).
    search_id_limit = 500
    #: Rows written at a time by the CSV export.
    export_chunk_size = CHUNK_SIZE
    #: Prefix exported text that a spreadsheet would read as a formula with ``'``
    #: (an agent's reason could otherwise run in a supervisor's spreadsheet).
    #: Set it to False for the API's values exactly.
    export_guard_formulas = True
    #: On PostgreSQL (psycopg 3), let PostgreSQL write the CSV with ``COPY (...)
    #: TO STDOUT``: the same bytes as Python's writer, several times faster. Set
    #: it to False for Python's writer everywhere.
    export_with_copy = True
    #: Days in the report when none are chosen, and at most.
    report_days = 30
    report_max_days = 366

    class Media:
        css = {"all": ("skips/admin/skips.css",)}

    # Permissions: skips are records, not documents.

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # The changelist

    def action_checkbox(self, obj: Any) -> SafeString:
        """The row's selection box, Django's markup written directly.

        Django's own goes through a form widget and its template: 70-88 us a row
        against 13-17 us here (measured on this project's machine), some 7 ms of
        a 100-row page whose whole render is about 37 ms.
        """
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            format_html(gettext("Select this object for an action - {}"), str(obj)),
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Skip]:
        """Every skip of the tickets ``request``'s user may see (``SKIPS_TICKET_ACCESS``).

        The changelist, its count, filters and search, the page of one skip,
        the export and the report all start here.
        """
        skips: SkipQuerySet = super().get_queryset(request)  # type: ignore[assignment]
        return skips.of_tickets_visible_to(request.user).select_related(*self.list_select_related)

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        changelist.search_help_text = self.get_search_help_text()
        if not getattr(request, "_skips_export", False):
            changelist.result_list = self.mark_linkable(request, changelist.result_list)
        return changelist

    def get_search_help_text(self) -> str:
        """``search_help_text``, its ``%(count)s`` being ``search_max_words``."""
        return str(self.search_help_text or "").replace("%(count)s", str(self.search_max_words))

    def allowed_lookups(self, request: HttpRequest | None = None) -> set[str]:
        """The query string parameters the changelist takes, besides Django's own.

        The list filters' parameters, the date drill-down's, and the ticket's
        (the link to every skip of a ticket). Anything else, such as
        ``reason__regex`` or ``id__gt``, is refused (Django's 400).
        """
        list_filter = self.get_list_filter(request) if request is not None else self.list_filter
        names = {name for item in list_filter for name in filter_parameters(item)}
        if self.date_hierarchy:
            names.update(f"{self.date_hierarchy}__{part}" for part in DATE_PARTS)
        names.add(fk_filter_parameter("ticket"))
        return names

    def lookup_allowed(self, lookup: str, value: Any, request: Any = None) -> bool:
        return lookup in self.allowed_lookups(request)

    def response_action(
        self, request: HttpRequest, queryset: QuerySet[Skip], *args: Any, **kwargs: Any
    ) -> Any:
        """Run the action chosen; selected ids that no skip could have are left out.

        An id such as ``abc``, or one past the database's integers, would
        otherwise fail the query: it is treated as the id of a missing skip.
        """
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        possible = [value for value in selected if is_pk(Skip, value)]
        if len(possible) != len(selected):
            post = request.POST.copy()
            post.setlist(helpers.ACTION_CHECKBOX_NAME, possible)
            request.POST = post  # type: ignore[assignment]
        return super().response_action(request, queryset, *args, **kwargs)

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        skip = super().get_object(request, object_id, from_field)
        if skip is not None:
            self.mark_linkable(request, [skip])
        return skip

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[SkipChangeList]:
        if getattr(request, "_skips_export", False):
            return ExportChangeList
        return SkipChangeList

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        if self.search_fields:
            return list(self.search_fields)
        fields = ["reason"]
        title = self.get_ticket_title_field()
        if title:
            fields.append(f"ticket__{title}")
        fields.extend(f"user__{name}" for name in self.get_user_search_fields())
        return fields

    def get_user_search_fields(self) -> list[str]:
        if self.user_search_fields is not None:
            return list(self.user_search_fields)
        user_model = get_user_model()
        login, email = user_field_names()
        names = [login, *([email] if email else [])]
        for name in USER_NAME_FIELDS:
            try:
                user_model._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            names.append(name)
        return list(dict.fromkeys(names))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Skip], search_term: str
    ) -> tuple[QuerySet[Skip], bool]:
        """Skips matching every word of ``search_term`` in some search field.

        A word also matches the skips of the ticket it numbers (``123`` or
        ``#123``). Fields of the ticket and of the user are searched in those
        (small) tables, as ``ticket_id IN (...)`` and ``user_id IN (...)``:
        the skips table is then read alone, newest first along its
        ``created_at`` index, and a page of a common word stops early.

        Only the first ``search_max_words`` words are searched: each one adds
        a condition on every search field, and the rest are left out.
        """
        words = search_words(search_term, self.search_max_words)
        if not words:
            return queryset, False
        fields = [search_lookup(field) for field in self.get_search_fields(request)]
        match = search_q(words, fields, queryset.db, self.search_id_limit)
        if match is None:  # no field to search, or a word that nothing matches
            return queryset.none(), False
        return queryset.filter(match), False

    # The read-only page of a skip

    @admin.display(description=_("created at (API, UTC)"))
    def created_at_utc(self, skip: Skip) -> str | None:
        return format_timestamp(skip.created_at)

    @admin.display(description=_("updated at (API, UTC)"))
    def updated_at_utc(self, skip: Skip) -> str | None:
        return format_timestamp(skip.updated_at)

    @admin.display(description=_("see also"))
    def elsewhere(self, skip: Skip) -> str:
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            self.skips_changelist_url(**{fk_filter_parameter("ticket"): skip.ticket_id}),
            gettext("Every skip of this ticket"),
            self.skips_changelist_url(**{fk_filter_parameter("user"): skip.user_id}),
            gettext("Every skip by this agent"),
        )

    # The CSV export: an action on the selected skips (or all of the filtered
    # list, with "select all"), and a link that exports the filtered list.

    def csv_export_response(self, queryset: QuerySet[Skip]) -> HttpResponseBase:
        columns = skip_columns(self.get_ticket_title_field())
        # The rows are read as the response streams, after the view: on the
        # database the view would read (its replica, or the primary).
        queryset = queryset.using(queryset.db)
        size, guard = self.export_chunk_size, self.export_guard_formulas
        if self.export_with_copy:  # None where PostgreSQL cannot write the same bytes
            copied = copy_csv_rows(queryset, columns, chunk_size=size, guard_formulas=guard)
            if copied is not None:
                return csv_response(copied)
        return csv_response(csv_rows(queryset, columns, chunk_size=size, guard_formulas=guard))

    @admin.action(description=_("Export the selected skips as CSV"), permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Skip]) -> HttpResponseBase:
        return self.csv_export_response(queryset)

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        """The changelist's skips (filters, search, order of the query string) as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        request._skips_export = True  # type: ignore[attr-defined]
        try:
            changelist = self.get_changelist_instance(request)
        except admin.options.IncorrectLookupParameters:
            return HttpResponseRedirect(self.skips_changelist_url(e=1))
        return self.csv_export_response(changelist.queryset)

    # The report

    def report_view(self, request: HttpRequest) -> TemplateResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            **report_context(self, request),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.report_template, context)

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        # Each page reads one database, the primary after its user wrote (skips.admin.replicas).
        return scoped_urls(
            [
                path("report/", wrap(self.report_view), name="{}_{}_report".format(*info)),
                path("export/", wrap(self.export_view), name="{}_{}_export".format(*info)),
                *super().get_urls(),
            ]
        )
