"""Admin of skips: supervisors browse who skipped what, and read the skips report.

- :class:`SkipAdmin`: the changelist (filters, search, a date drill-down, a
  CSV export), a read-only page per skip, and the report page. Skips are
  records: nobody adds or edits one here; deleting needs ``skips.delete_skip``;
  seeing any of it needs staff status and ``skips.view_skip``, as everywhere in
  Django's admin.
- :class:`SkipInline`: the newest skips of a ticket or of a user, read-only,
  for the host's ticket and user admins.

Both show a non-superuser only the skips of the tickets they may see
(``SKIPS_TICKET_ACCESS``), as the API does: the changelist and its count, its
filters, search and date drill-down, the page of one skip (any other is "not
found"), the CSV export and every figure of the report read
``SkipAdmin.get_queryset``, which narrows the skips by a subquery on the
ticket's id (no query of its own, none per row).

Nothing here imports the host's models: the ticket is
``Skip._meta.get_field("ticket").related_model`` and the user is
``get_user_model()``, searched by its ``USERNAME_FIELD``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.text import Truncator, smart_split, unescape_string_literal
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from skips.admin_changelist import DATE_PARTS, ExportChangeList, SkipChangeList, SkipPaginator
from skips.admin_export import CHUNK_SIZE, csv_response, csv_rows, skip_columns, user_field_names
from skips.admin_filters import (
    AgentFilter,
    ArchivedFilter,
    CreatedDateFilter,
    HasReasonFilter,
    filter_parameters,
    fk_filter_parameter,
    is_pk,
    user_email,
    user_label,
)
from skips.models import Skip
from skips.serializers import format_timestamp

#: Field names tried, in order, for a ticket's title.
TITLE_FIELDS = ("subject", "title")
#: Stands for a primary key in a change URL reversed once per request.
PK_PLACEHOLDER = "SKIPS0PK0"  # nothing that quote() escapes
#: Related models this request may link to, with their change URL (see PK_PLACEHOLDER).
Links = dict[type[Model], str]
#: Field names of a user's name, searched when the user model has them.
USER_NAME_FIELDS = ("first_name", "last_name", "full_name", "name")


#: Units of ``time_ago``, largest first: (seconds, singular, plural).
AGO_UNITS = (
    (365 * 86400, "%(n)d year", "%(n)d years"),
    (30 * 86400, "%(n)d month", "%(n)d months"),
    (7 * 86400, "%(n)d week", "%(n)d weeks"),
    (86400, "%(n)d day", "%(n)d days"),
    (3600, "%(n)d hour", "%(n)d hours"),
    (60, "%(n)d minute", "%(n)d minutes"),
)


def time_ago(value: Any, now: Any = None) -> str:
    """``3 hours ago``, ``just now``, or ``in 2 minutes`` for a clock ahead of ours.

    One unit, rounded down, as people say it; cheap enough for every row of a page.
    """
    now = now or timezone.now()
    seconds = (now - value).total_seconds()
    ahead = seconds < 0
    seconds = abs(seconds)
    for size, singular, plural in AGO_UNITS:
        if seconds >= size:
            count = int(seconds // size)
            delta = ngettext(singular, plural, count) % {"n": count}
            if ahead:
                return gettext("in %(delta)s") % {"delta": delta}
            return gettext("%(delta)s ago") % {"delta": delta}
    return gettext("just now")


def search_lookup(field: str) -> str:
    """A search field (``name``, ``^name``, ``=name`` or ``@name``) as an ORM lookup."""
    prefixes = {"^": "istartswith", "=": "iexact", "@": "search"}
    if field[:1] in prefixes:
        return f"{field[1:]}__{prefixes[field[0]]}"
    return f"{field}__icontains"


def any_of(lookups: Iterable[tuple[str, Any]]) -> Q:
    """The Q matching any of the ``(lookup, value)`` pairs; an empty Q for none."""
    match = Q()
    for lookup, value in lookups:
        match |= Q(**{lookup: value})
    return match


def ticket_title_field(model: type[Model]) -> str | None:
    """The first of ``subject`` and ``title`` that the ticket model has, or None."""
    for name in TITLE_FIELDS:
        try:
            model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        return name
    return None


class SkipDisplayMixin:
    """How a skip's time, agent, ticket and reason look in the admin, with links."""

    admin_site: admin.AdminSite
    #: The ticket field shown (and searched) as its title; None: the first of
    #: ``subject`` and ``title`` the ticket model has, else ``str(ticket)``.
    ticket_title_field: str | None = None
    #: Characters of the reason shown in lists.
    reason_length = 80

    def get_ticket_title_field(self) -> str | None:
        if self.ticket_title_field:
            return self.ticket_title_field
        return ticket_title_field(Skip._meta.get_field("ticket").related_model)  # type: ignore[arg-type]

    def linkable_models(self, request: HttpRequest) -> Links:
        """The user and ticket models whose admin pages ``request``'s user may open.

        Each maps to its change URL with a placeholder for the primary key, so
        that a page of rows reverses each URL once, not once per row.
        """
        links = {}
        for name in ("user", "ticket"):
            model: Any = Skip._meta.get_field(name).related_model
            try:
                model_admin = self.admin_site.get_model_admin(model)
            except NotRegistered:
                continue
            if model_admin.has_view_or_change_permission(request):
                url = self._reverse_change(model._meta, PK_PLACEHOLDER)
                if url is not None:
                    links[model] = url
        return links

    def mark_linkable(self, request: HttpRequest, skips: Iterable[Skip]) -> list[Skip]:
        """``skips``, each told which related admin pages this request may link to."""
        links = self.linkable_models(request)
        rows = list(skips)
        for skip in rows:
            skip._skips_links = links  # type: ignore[attr-defined]
        return rows

    def admin_change_url(self, obj: Model, links: Links | None = None) -> str | None:
        """The admin page of ``obj`` on this site, when registered (and in ``links``)."""
        opts = obj._meta
        if links is not None:
            url = links.get(opts.model)
            return url.replace(PK_PLACEHOLDER, str(quote(obj.pk))) if url else None
        if not self.admin_site.is_registered(opts.model):
            return None
        return self._reverse_change(opts, obj.pk)

    def _reverse_change(self, opts: Any, pk: Any) -> str | None:
        try:
            return reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change",
                args=[quote(pk)],
            )
        except NoReverseMatch:
            return None

    def skips_changelist_url(self, **params: Any) -> str:
        url = reverse(f"{self.admin_site.name}:skips_skip_changelist")
        return f"{url}?{urlencode(params)}" if params else url

    def ticket_text(self, ticket: Model) -> str:
        name = self.get_ticket_title_field()
        if name is None:
            return str(ticket)
        return f"#{ticket.pk} {getattr(ticket, name)}"

    @admin.display(description=_("when"), ordering="created_at")
    def when(self, skip: Skip) -> str:
        local = timezone.localtime(skip.created_at) if timezone.is_aware(skip.created_at) else None
        shown = date_format(local or skip.created_at, "DATETIME_FORMAT")
        return format_html(
            '<time datetime="{}" title="{}">{}</time><br><span class="quiet">{}</span>',
            format_timestamp(skip.created_at),
            format_timestamp(skip.created_at),
            shown,
            time_ago(skip.created_at),
        )

    @admin.display(description=_("agent"))
    def agent(self, skip: Skip) -> str:
        user = skip.user
        name = user_label(user)
        email = user_email(user)
        url = self.admin_change_url(user, getattr(skip, "_skips_links", None))
        shown = format_html('<a href="{}">{}</a>', url, name) if url else name
        if email and email != name:
            return format_html('{}<br><span class="quiet">{}</span>', shown, email)
        return format_html("{}", shown)

    @admin.display(description=_("ticket"))
    def ticket_display(self, skip: Skip) -> str:
        text = self.ticket_text(skip.ticket)
        url = self.admin_change_url(skip.ticket, getattr(skip, "_skips_links", None))
        return format_html('<a href="{}">{}</a>', url, text) if url else text

    @admin.display(description=_("reason"))
    def short_reason(self, skip: Skip) -> str:
        if not skip.reason:
            return self.admin_site.empty_value_display
        short = Truncator(skip.reason).chars(self.reason_length)
        if short == skip.reason:
            return skip.reason
        return format_html('<span title="{}">{}</span>', skip.reason, short)


@admin.register(Skip)
class SkipAdmin(SkipDisplayMixin, admin.ModelAdmin):
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
    actions = ("export_csv",)
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
    #: Rows written at a time by the CSV export.
    export_chunk_size = CHUNK_SIZE
    #: Prefix exported text that a spreadsheet would read as a formula with ``'``
    #: (an agent's reason could otherwise run in a supervisor's spreadsheet).
    #: Set it to False for the API's values exactly.
    export_guard_formulas = True
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
        """The row's selection box, written directly rather than through a form widget."""
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            format_html(gettext("Select this object for an action - {}"), str(obj)),
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        """Every skip of the tickets ``request``'s user may see (``SKIPS_TICKET_ACCESS``).

        The changelist, its count, filters and search, the page of one skip,
        the export and the report all start here.
        """
        skips: Any = super().get_queryset(request)  # a SkipQuerySet
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
        self, request: HttpRequest, queryset: QuerySet, *args: Any, **kwargs: Any
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
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        """Skips matching every word of ``search_term`` in some search field.

        A word also matches the skips of the ticket it numbers (``123`` or
        ``#123``). Fields of the ticket and of the user are searched in those
        (small) tables, as ``ticket_id IN (...)`` and ``user_id IN (...)``:
        the skips table is then read alone, newest first along its
        ``created_at`` index, and a page of a common word stops early.

        Only the first ``search_max_words`` words are searched: each one adds
        a condition on every search field, and the rest are left out.
        """
        bits = islice(smart_split(search_term), self.search_max_words)
        words = [
            unescape_string_literal(bit) if bit[:1] in "\"'" and bit[0] == bit[-1] else bit
            for bit in bits
        ]
        if not words:
            return queryset, False
        fields = [search_lookup(field) for field in self.get_search_fields(request)]
        related = {name: Skip._meta.get_field(name).related_model for name in ("ticket", "user")}
        for word in words:
            match = any_of((f, word) for f in fields if f.split("__", 1)[0] not in related)
            for name, model in related.items():
                prefix = f"{name}__"
                lookups = [(f[len(prefix) :], word) for f in fields if f.startswith(prefix)]
                if lookups:
                    matching = model._default_manager.filter(any_of(lookups))  # type: ignore[union-attr]
                    match |= Q(**{f"{name}__in": matching.values("pk")})
            number = word.removeprefix("#")
            if number.isascii() and number.isdigit() and len(number) <= 18:
                match |= Q(ticket_id=int(number))
            if not match:  # no field to search
                return queryset.none(), False
            queryset = queryset.filter(match)
        return queryset, False

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

    def csv_export_response(self, queryset: QuerySet) -> HttpResponseBase:
        columns = skip_columns(self.get_ticket_title_field())
        lines = csv_rows(
            queryset,
            columns,
            chunk_size=self.export_chunk_size,
            guard_formulas=self.export_guard_formulas,
        )
        return csv_response(lines)

    @admin.action(description=_("Export the selected skips as CSV"), permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> HttpResponseBase:
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
        from skips.admin_report import report_context

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
        return [
            path("report/", wrap(self.report_view), name="{}_{}_report".format(*info)),
            path("export/", wrap(self.export_view), name="{}_{}_export".format(*info)),
            *super().get_urls(),
        ]


class RecentSkipsFormSet(BaseInlineFormSet):
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


class SkipInline(SkipDisplayMixin, admin.TabularInline):
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

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        skips: Any = super().get_queryset(request)  # a SkipQuerySet
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
