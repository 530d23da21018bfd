"""SkipInline on a host's ticket and user admins, and links to them from the skips pages.

These tests serve their own admin site ("hostadmin", not Django's default one)
with the test host's cases and agents registered, as a host project would.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import path

from skips.admin import SkipAdmin, SkipInline
from skips.models import Skip
from tests.admin_support import bulk_skips, logged_in, result_ids, sql, staff
from tests.factories import CaseFactory, UserFactory
from tests.testapp.models import Agent, Case

site = admin.AdminSite(name="hostadmin")
site.register(Skip, SkipAdmin)


@admin.register(Case, site=site)
class CaseAdmin(admin.ModelAdmin):
    inlines = (SkipInline,)


@admin.register(Agent, site=site)
class AgentAdmin(admin.ModelAdmin):
    fields = ("email", "full_name", "is_active", "is_staff")
    inlines = (SkipInline,)


urlpatterns = [path("hostadmin/", site.urls)]
pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]
SKIPS = "/hostadmin/skips/skip/"


def host_staff(*codenames: str) -> Any:
    """Staff with the skips permissions named, and every permission on cases and agents."""
    user = staff(*codenames)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="testapp"))
    return Agent.objects.get(pk=user.pk)  # no cached permissions


def inline_skips(response: Any) -> list[Skip]:
    (formset,) = [f for f in response.context["inline_admin_formsets"] if f.formset.model is Skip]
    return list(formset.formset.get_queryset())


def test_ticket_page_shows_the_newest_skips_read_only() -> None:
    case = CaseFactory()
    agent = UserFactory(full_name="Ana Lima")
    skips = bulk_skips(23, users=[agent], tickets=[case], reasons=["I am lost."])
    response = logged_in(host_staff("view_skip")).get(f"/hostadmin/testapp/case/{case.pk}/change/")
    assert response.status_code == 200
    assert [s.pk for s in inline_skips(response)] == [s.pk for s in skips[:20]]
    page = response.content.decode()
    assert "Skips, newest first" in page
    assert "The newest 20 skips are shown." in page
    assert f'href="{SKIPS}?ticket__id__exact={case.pk}"' in page
    assert "Ana Lima" in page
    assert f'href="/hostadmin/testapp/agent/{agent.pk}/change/"' in page
    assert 'name="skips-0-reason"' not in page
    assert 'name="skips-__prefix__' not in page  # no row to add
    assert "Delete?" not in page


def test_user_page_shows_the_users_skips_without_an_agent_column() -> None:
    agent = UserFactory()
    case = CaseFactory(title="Printer on fire")
    bulk_skips(3, users=[agent], tickets=[case])
    bulk_skips(2)  # someone else's
    response = logged_in(host_staff("view_skip")).get(
        f"/hostadmin/testapp/agent/{agent.pk}/change/"
    )
    assert response.status_code == 200
    assert {s.user_id for s in inline_skips(response)} == {agent.pk}
    assert len(inline_skips(response)) == 3
    page = response.content.decode()
    assert f"#{case.pk} Printer on fire" in page
    assert "column-agent" not in page
    assert "column-ticket_display" in page
    assert f'href="{SKIPS}?user__id__exact={agent.pk}"' in page
    assert "The newest" not in page


def test_inline_is_hidden_without_view_skip() -> None:
    case = CaseFactory()
    bulk_skips(2, tickets=[case])
    response = logged_in(host_staff()).get(f"/hostadmin/testapp/case/{case.pk}/change/")
    assert response.status_code == 200
    assert not [f for f in response.context["inline_admin_formsets"] if f.formset.model is Skip]


def test_saving_the_ticket_leaves_its_skips_alone() -> None:
    case = CaseFactory(title="Before")
    bulk_skips(22, tickets=[case], reasons=["kept"])
    client = logged_in(host_staff("view_skip"))
    url = f"/hostadmin/testapp/case/{case.pk}/change/"
    page = client.get(url).content.decode()
    data = dict(re.findall(r'<input type="hidden" name="(skips-[^"]+)" value="([^"]*)"', page))
    data.update({"title": "After", "owner": case.owner_id or "", "labels": []})
    data["_save"] = "Save"
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    case.refresh_from_db()
    assert case.title == "After"
    assert Skip.objects.filter(ticket=case, reason="kept").count() == 22


def test_inline_queries_are_the_same_for_3_and_30_skips() -> None:
    case = CaseFactory()
    users = [UserFactory() for _ in range(5)]
    bulk_skips(3, users=users, tickets=[case])
    client = logged_in(host_staff("view_skip"))
    url = f"/hostadmin/testapp/case/{case.pk}/change/"
    client.get(url)
    with sql() as few:
        client.get(url)
    bulk_skips(27, users=users, tickets=[case])
    with sql() as many:
        client.get(url)
    assert len(few) == len(many), "\n".join(many)


def test_changelist_links_to_registered_tickets_and_users() -> None:
    agent = UserFactory()
    case = CaseFactory()
    bulk_skips(1, users=[agent], tickets=[case])
    client = logged_in(host_staff("view_skip"))
    response = client.get(SKIPS)
    page = response.content.decode()
    assert f'href="/hostadmin/testapp/case/{case.pk}/change/"' in page
    assert f'href="/hostadmin/testapp/agent/{agent.pk}/change/"' in page
    assert 'href="/hostadmin/skips/skip/report/"' in page
    skip = Skip.objects.get()
    detail = client.get(f"{SKIPS}{skip.pk}/change/").content.decode()
    assert f'href="/hostadmin/testapp/case/{case.pk}/change/"' in detail
    assert f'href="{SKIPS}?ticket__id__exact={case.pk}"' in detail
    narrowed = client.get(SKIPS, {"ticket__id__exact": case.pk})
    assert result_ids(narrowed) == [skip.pk]


def test_changelist_with_links_queries_are_the_same_for_1_and_100_skips() -> None:
    users = [UserFactory() for _ in range(5)]
    tickets = [CaseFactory() for _ in range(8)]
    client = logged_in(host_staff("view_skip"))
    bulk_skips(1, users=users, tickets=tickets)
    client.get(SKIPS)
    with sql() as one:
        client.get(SKIPS)
    bulk_skips(99, users=users, tickets=tickets)
    with sql() as hundred:
        assert len(result_ids(client.get(SKIPS))) == 100
    assert len(one) == len(hundred)


def test_report_links_to_registered_tickets_and_users() -> None:
    agent = UserFactory(full_name="Ana")
    case = CaseFactory(title="Printer")
    bulk_skips(2, users=[agent], tickets=[case])
    page = logged_in(host_staff("view_skip")).get(f"{SKIPS}report/").content.decode()
    assert f'<a href="/hostadmin/testapp/case/{case.pk}/change/">#{case.pk} Printer</a>' in page
    assert f'<a href="/hostadmin/testapp/agent/{agent.pk}/change/">Ana</a>' in page
    # The agent field's lookup opens the registered user changelist.
    assert 'href="/hostadmin/testapp/agent/?_to_field=id"' in page


def test_no_links_to_pages_the_viewer_may_not_open() -> None:
    bulk_skips(2)
    client = logged_in(staff("view_skip"))  # nothing on cases or agents
    skip = Skip.objects.first()
    assert skip is not None
    for url in (SKIPS, f"{SKIPS}{skip.pk}/change/", f"{SKIPS}report/"):
        page = client.get(url).content.decode()
        assert "/hostadmin/testapp/case/" not in page, url
        assert "/hostadmin/testapp/agent/" not in page, url


def test_report_names_only_agents_who_skipped_when_the_user_admin_is_closed() -> None:
    idle = UserFactory(full_name="Idle Ida", email="ida@example.com")
    bulk_skips(2)
    viewer = staff("view_skip")  # the host registers its users; this viewer may not open them
    page = logged_in(viewer).get(f"{SKIPS}report/", {"agent": idle.pk}).content.decode()
    assert "Idle Ida" not in page
    assert "ida@example.com" not in page
    listed = logged_in(viewer).get(SKIPS, {"user__id__exact": idle.pk}).content.decode()
    assert "Idle Ida" not in listed
