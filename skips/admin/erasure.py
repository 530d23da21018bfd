"""Erasure in the admin: two actions of the skips changelist, each with a confirmation page.

- "Erase the selected skips: anonymise" keeps them for reports, with the reason
  emptied and the erased account (``SKIPS_ERASED_USER``) as their agent.
- "Erase the selected skips: delete" deletes them, with their tombstones.

Both need ``skips.delete_skip`` and act on the selected skips (filter by agent
and "select all" for every skip of one person); ``manage.py
erase_user_skips`` does the same from a shell, whatever the viewer may see.
The confirmation page names the agents concerned, with how many of their skips
are selected and how many they have in all.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from skips.erasure import ErasedUserTaken, erased_user_fields
from skips.models import Skip

#: Agents listed on the confirmation page, at most.
MAX_AGENTS_LISTED = 50
TEMPLATE = "skips/admin/erase_confirmation.html"


def agents_of(queryset: QuerySet[Skip]) -> tuple[list[dict[str, Any]], int]:
    """The agents of the selected skips, most selected first: each with the number of
    their skips selected and in all; and how many agents there are."""
    selected = list(
        queryset.order_by()
        .values("user_id")
        .annotate(selected=Count("pk"))
        .order_by("-selected", "user_id")
    )
    shown = selected[:MAX_AGENTS_LISTED]
    ids = [row["user_id"] for row in shown]
    totals = dict(
        Skip._default_manager.filter(user_id__in=ids)
        .order_by()
        .values("user_id")
        .annotate(total=Count("pk"))
        .values_list("user_id", "total")
    )
    users = get_user_model()._default_manager.in_bulk(ids)
    agents = [
        {
            "user": users.get(row["user_id"]),
            "user_id": row["user_id"],
            "selected": row["selected"],
            "total": totals.get(row["user_id"], 0),
        }
        for row in shown
    ]
    return agents, len(selected)


def erase(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[Skip], *, anonymise: bool
) -> TemplateResponse | None:
    """The confirmation page, or (confirmed) the erasure and back to the changelist."""
    action = "anonymise_skips" if anonymise else "delete_skips_erasure"
    if request.POST.get("post") == "yes":
        try:
            count = queryset.erase(anonymise=anonymise)  # type: ignore[attr-defined]
        except (ErasedUserTaken, ImproperlyConfigured) as e:
            modeladmin.message_user(request, str(e), messages.ERROR)
            return None
        message = (
            ngettext(
                "Anonymised %(count)d skip: its reason emptied, its agent the erased account.",
                "Anonymised %(count)d skips: their reasons emptied, their agent the erased "
                "account.",
                count,
            )
            if anonymise
            else ngettext(
                "Deleted %(count)d skip (the incremental export reports the deletion).",
                "Deleted %(count)d skips (the incremental export reports the deletions).",
                count,
            )
        )
        modeladmin.message_user(request, message % {"count": count}, messages.SUCCESS)
        return None
    select_across = request.POST.get("select_across") == "1"
    agents, agent_count = agents_of(queryset)
    try:
        erased_login = erased_user_fields().get(get_user_model().USERNAME_FIELD)
    except ImproperlyConfigured:
        erased_login = None
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Anonymise skips") if anonymise else _("Delete skips"),
        "opts": opts,
        "anonymise": anonymise,
        "action": action,
        "count": queryset.count(),
        "agents": agents,
        "more_agents": agent_count - len(agents),
        "partial": any(agent["selected"] < agent["total"] for agent in agents),
        "erased_login": erased_login,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        # "Select all": the whole filtered list again (its filters are in the URL);
        # otherwise the ids selected on one page.
        "select_across": select_across,
        "selected_ids": list(
            queryset.order_by("pk").values_list("pk", flat=True)[: 1 if select_across else None]
        ),
        "media": modeladmin.media,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, TEMPLATE, context)


@admin.action(description=_("Erase the selected skips: anonymise"), permissions=["delete"])
def anonymise_skips(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[Skip]
) -> TemplateResponse | None:
    """Keep the skips for reports: reason emptied, agent the erased account."""
    return erase(modeladmin, request, queryset, anonymise=True)


@admin.action(description=_("Erase the selected skips: delete"), permissions=["delete"])
def delete_skips_erasure(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[Skip]
) -> TemplateResponse | None:
    """Delete the skips; the incremental export reports the deletions."""
    return erase(modeladmin, request, queryset, anonymise=False)
