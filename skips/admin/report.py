"""The "Skips report" admin page: its form, and the context its template reads.

The figures come from :func:`skips.reports.build_report` (aggregate queries,
a fixed number of them) over ``SkipAdmin.get_queryset``: the skips of the
tickets the viewer may see (``SKIPS_TICKET_ACCESS``). This module turns them
into rows with links to the changelist, the tickets and the agents. The agent
chosen must have one of those skips: an id names nobody else.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from skips.admin.chart import daily_chart
from skips.admin.filters import AgentFilter, CreatedDateFilter, fk_filter_parameter, parse_user_pk
from skips.models import Skip
from skips.querysets import archived_q
from skips.reports import build_report
from skips.users import agents_who_skipped, user_label, users_who_skipped

if TYPE_CHECKING:
    from skips.admin.display import Links
    from skips.admin.options import SkipAdmin


class DateInput(forms.DateInput):
    """The browser's own date picker (``<input type="date">``): no script needed."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


class UserChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]  # not generic at run time
    """A user by primary key; a key out of the database's range is an invalid choice."""

    def to_python(self, value: Any) -> Any:
        if value not in self.empty_values:
            try:
                parse_user_pk(value)
            except ValidationError as e:
                raise ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice"
                ) from e
        return super().to_python(value)


class ReportForm(forms.Form):
    """The period (local dates, both included), an optional agent, and archived tickets.

    The agent is one of the users with a skip among ``skips`` (the skips the
    viewer may see); any other id is an invalid choice.
    """

    first = forms.DateField(label=_("From"), required=False, widget=DateInput())
    last = forms.DateField(label=_("To"), required=False, widget=DateInput())
    agent = UserChoiceField(
        label=_("Agent"), queryset=get_user_model()._default_manager.none(), required=False
    )
    hide_archived = forms.BooleanField(
        label=_("Hide archived tickets"), required=False, label_suffix=""
    )

    def __init__(
        self,
        *args: Any,
        model_admin: SkipAdmin,
        linkable: Links,
        skips: QuerySet[Skip],
        default_first: datetime.date,
        default_last: datetime.date,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.model_admin = model_admin
        self.default_first = default_first
        self.default_last = default_last
        agent: Any = self.fields["agent"]
        agent.queryset = users_who_skipped(skips)
        if get_user_model() in linkable:
            # Any user, picked in the user admin's list.
            agent.widget = ForeignKeyRawIdWidget(
                Skip._meta.get_field("user").remote_field,
                model_admin.admin_site,
            )
        else:
            # The user admin is closed to this viewer: a list of agents who skipped.
            chosen = self.data.get(self.add_prefix("agent")) if self.is_bound else None
            users = agents_who_skipped(AgentFilter.limit, _user_pk(chosen), skips)
            agent.widget = forms.Select(
                choices=[("", "---------"), *((user.pk, user_label(user)) for user in users)]
            )
        if archived_q() is None:
            del self.fields["hide_archived"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first = data.get("first") or self.default_first
        last = data.get("last") or self.default_last
        if first > last:
            raise forms.ValidationError(_("The first day comes after the last day."))
        if (last - first).days + 1 > self.model_admin.report_max_days:
            raise forms.ValidationError(
                _("Choose at most %(days)s days."),
                params={"days": self.model_admin.report_max_days},
            )
        data["first"], data["last"] = first, last
        return data


def _user_pk(value: Any) -> Any:
    """``value`` as a user primary key, or None."""
    if not value:
        return None
    try:
        return parse_user_pk(value)
    except ValidationError:
        return None


def report_context(model_admin: SkipAdmin, request: HttpRequest) -> dict[str, Any]:
    """Everything ``skips/admin/report.html`` shows, for ``request``'s choices."""
    today = timezone.localdate()
    default_first = today - datetime.timedelta(days=model_admin.report_days - 1)
    linkable = model_admin.linkable_models(request)
    visible: Any = model_admin.get_queryset(request)  # a SkipQuerySet
    form = ReportForm(
        request.GET or None,
        model_admin=model_admin,
        linkable=linkable,
        skips=visible,
        default_first=default_first,
        default_last=today,
        initial={"first": default_first, "last": today},
    )
    choices: dict[str, Any] = {"first": default_first, "last": today}
    if form.is_bound and form.is_valid():
        choices = form.cleaned_data

    queryset = visible
    agent = choices.get("agent")
    if agent is not None:
        queryset = queryset.for_user(agent)
    if choices.get("hide_archived"):
        queryset = queryset.not_archived()
    report = build_report(queryset, choices["first"], choices["last"])

    # The changelist showing the same skips.
    period = {
        CreatedDateFilter.from_parameter: choices["first"].isoformat(),
        CreatedDateFilter.to_parameter: choices["last"].isoformat(),
    }
    if choices.get("hide_archived"):
        period["archived"] = "hide"
    by_ticket, by_agent = fk_filter_parameter("ticket"), fk_filter_parameter("user")
    agent_period = {**period, **({by_agent: agent.pk} if agent is not None else {})}

    tickets = [
        {
            "id": row.ticket_id,
            "text": model_admin.ticket_text(row.ticket) if row.ticket else f"#{row.ticket_id}",
            "url": model_admin.admin_change_url(row.ticket, linkable) if row.ticket else None,
            "skips": row.skips,
            "skips_url": model_admin.skips_changelist_url(
                **agent_period, **{by_ticket: row.ticket_id}
            ),
            "agents": row.agents,
        }
        for row in report.top_tickets
    ]
    agents = [
        {
            "label": row.label,
            "url": model_admin.admin_change_url(row.user, linkable) if row.user else None,
            "skips": row.skips,
            "skips_url": model_admin.skips_changelist_url(**period, **{by_agent: row.user_id}),
            "with_reason": row.with_reason,
            "reason_share": row.reason_share,
        }
        for row in report.top_agents
    ]
    most = max((row.skips for row in report.top_tickets), default=0)
    return {
        "title": _("Skips report"),
        "subtitle": None,
        "opts": model_admin.opts,
        "app_label": model_admin.opts.app_label,
        "has_view_permission": True,
        "form": form,
        "media": model_admin.media + form.media,
        "report": report,
        "chart": daily_chart(report.days),
        "tickets": tickets,
        "ticket_most": most,
        "agents": agents,
        "reasons": report.top_reasons,
        "agent": agent,
        "agent_label": user_label(agent) if agent is not None else None,
        "changelist_url": model_admin.skips_changelist_url(**agent_period),
        "export_url": _export_url(model_admin, agent_period),
        "total_label": number_format(report.total, force_grouping=True),
    }


def _export_url(model_admin: SkipAdmin, params: dict[str, Any]) -> str:
    url = reverse(f"{model_admin.admin_site.name}:skips_skip_export")
    return f"{url}?{urlencode(params)}"
