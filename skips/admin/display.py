"""How a skip looks in the admin: its time, agent, ticket and reason, with links
to the related admin pages the viewer may open.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.admin.utils import quote
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.text import Truncator
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from skips.models import Skip
from skips.serializers import format_timestamp
from skips.users import user_email, user_label

#: Field names tried, in order, for a ticket's title.
TITLE_FIELDS = ("subject", "title")


#: Stands for a primary key in a change URL reversed once per request.
PK_PLACEHOLDER = "SKIPS0PK0"  # nothing that quote() escapes


#: Related models this request may link to, with their change URL (see PK_PLACEHOLDER).
Links = dict[type[Model], str]


def time_ago(value: datetime.datetime, now: datetime.datetime | None = None) -> str:
    """``3 hours ago``, ``just now``, or ``in 2 minutes`` for a clock ahead of ours.

    One unit, as people say it: Django's ``timesince`` (translated with Django).
    """
    now = now or timezone.now()
    if value > now:
        return gettext("in %(delta)s") % {"delta": timeuntil(value, now, depth=1)}
    if now - value < datetime.timedelta(minutes=1):
        return gettext("just now")
    return gettext("%(delta)s ago") % {"delta": timesince(value, now, depth=1)}


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
        return ticket_title_field(Skip._meta.get_field("ticket").related_model)

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
