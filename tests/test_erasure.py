"""Erasure of a person's skips: the queryset's ``erase()``, ``manage.py erase_user_skips``
and the admin's two actions with their confirmation page.

Anonymised skips keep their tickets and times, lose their reason (``""``) and
belong to one erased account, created once (inactive, no usable password);
their ``updated_at`` changes so that the export carries it. Deleted ones leave
tombstones. Either way, the person's user row can then be deleted.
"""

from __future__ import annotations

import datetime
from io import StringIO
from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import ProtectedError
from django.utils import timezone

from skips.erasure import ErasedUserTaken, erased_user
from skips.models import Skip, SkipTombstone
from tests.admin_support import CHANGELIST, logged_in, staff
from tests.conftest import client_for
from tests.factories import AgentFactory, CaseFactory, SkipFactory, UserFactory, grant
from tests.testapp.models import Agent

pytestmark = pytest.mark.django_db

ERASED_EMAIL = "erased-user@erased.invalid"
EXPORT = "/api/v2/incremental/skips/cursor.json"


@pytest.fixture
def person(db: Any) -> Any:
    """An agent with three skips, and another agent's skip on the same ticket."""
    case = CaseFactory()
    agent = AgentFactory()
    past = timezone.now() - datetime.timedelta(days=3)
    SkipFactory.create_batch(3, user=agent, ticket=case, created_at=past, reason="I am Ann")
    SkipFactory(ticket=case, reason="someone else's")
    return agent


def erase_command(*args: str) -> str:
    out = StringIO()
    call_command("erase_user_skips", *args, stdout=out)
    return out.getvalue()


# The queryset


def test_anonymise_keeps_the_skips_under_the_erased_account(person: Any) -> None:
    before = {s.pk: (s.ticket_id, s.created_at) for s in Skip.objects.for_user(person)}
    started = timezone.now()
    assert Skip.objects.for_user(person).erase(anonymise=True) == 3
    erased = Agent.objects.get(email=ERASED_EMAIL)
    assert not erased.is_active
    assert not erased.has_usable_password()
    assert not erased.is_staff
    assert not erased.is_superuser
    skips = Skip.objects.filter(pk__in=before)
    assert {s.pk: (s.ticket_id, s.created_at) for s in skips} == before
    for skip in skips:
        assert skip.user_id == erased.pk
        assert skip.reason == ""
        assert skip.updated_at >= started
    assert not Skip.objects.for_user(person).exists()
    assert Skip.objects.get(reason="someone else's").user_id != erased.pk
    assert not SkipTombstone.objects.exists()
    person.delete()  # nothing protects the account now
    assert Skip.objects.count() == 4


def test_the_erased_account_is_created_once(person: Any, other_agent: Any) -> None:
    SkipFactory(user=other_agent)
    Skip.objects.for_user(person).erase(anonymise=True)
    Skip.objects.for_user(other_agent).erase(anonymise=True)
    assert Agent.objects.filter(email=ERASED_EMAIL).count() == 1
    assert Skip.objects.filter(user__email=ERASED_EMAIL).count() == 4
    # Anonymising the erased account's own skips again changes nothing.
    stamps = set(Skip.objects.values_list("updated_at", flat=True))
    assert Skip.objects.filter(user__email=ERASED_EMAIL).erase(anonymise=True) == 0
    assert set(Skip.objects.values_list("updated_at", flat=True)) == stamps


def test_delete_records_tombstones_and_frees_the_account(person: Any) -> None:
    ids = set(Skip.objects.for_user(person).values_list("id", flat=True))
    with pytest.raises(ProtectedError):
        person.delete()
    assert Skip.objects.for_user(person).erase(anonymise=False) == 3
    assert set(SkipTombstone.objects.values_list("id", flat=True)) == ids
    assert set(SkipTombstone.objects.values_list("user_id", flat=True)) == {person.pk}
    assert not Agent.objects.filter(email=ERASED_EMAIL).exists()  # not needed
    person.delete()


def test_the_setting_names_the_account(person: Any, settings: Any) -> None:
    settings.SKIPS_ERASED_USER = {
        "email": "gone@example.invalid",
        "full_name": "Erased",
        "nickname": "left out: not a field of the user model",
    }
    Skip.objects.for_user(person).erase(anonymise=True)
    erased = Agent.objects.get(email="gone@example.invalid")
    assert erased.full_name == "Erased"
    assert Skip.objects.filter(user=erased).count() == 3


def test_an_account_that_is_someones_own_is_never_the_erased_one(person: Any) -> None:
    UserFactory(email=ERASED_EMAIL)  # active, with a password
    with pytest.raises(ErasedUserTaken):
        Skip.objects.for_user(person).erase(anonymise=True)
    assert Skip.objects.for_user(person).count() == 3
    assert set(Skip.objects.for_user(person).values_list("reason", flat=True)) == {"I am Ann"}


def test_erased_user_is_found_again(db: Any) -> None:
    first = erased_user()
    assert erased_user().pk == first.pk


def test_the_export_carries_the_anonymisation_and_the_deletion(
    person: Any, other_agent: Any, settings: Any
) -> None:
    settings.SKIPS_EXPORT_HORIZON_SECONDS = 0
    settings.SKIPS_EXPORT_THROTTLE_RATE = None
    SkipFactory(user=other_agent, reason="mine")
    c = client_for(grant(UserFactory(), "export_skip"))
    first = c.get(EXPORT, {"start_time": 0}).json()
    assert len(first["skips"]) == 5
    Skip.objects.for_user(person).erase(anonymise=True)
    Skip.objects.for_user(other_agent).erase(anonymise=False)
    later = c.get(first["after_url"]).json()["skips"]
    erased = Agent.objects.get(email=ERASED_EMAIL)
    anonymised = [item for item in later if item["deleted_at"] is None]
    assert len(anonymised) == 3
    assert all(item["reason"] == "" and item["user_id"] == erased.pk for item in anonymised)
    (deleted,) = [item for item in later if item["deleted_at"] is not None]
    assert (deleted["user_id"], deleted["reason"]) == (other_agent.pk, None)


# The command


def test_command_anonymise(person: Any) -> None:
    output = erase_command(str(person.pk), "--anonymise")
    erased = Agent.objects.get(email=ERASED_EMAIL)
    assert f"Anonymised 3 skips of user #{person.pk}" in output
    assert f"the erased account #{erased.pk} ({ERASED_EMAIL})" in output
    assert "can be deleted" in output
    assert Skip.objects.filter(user=erased).count() == 3
    assert "Anonymised 0 skips" in erase_command(str(person.pk), "--anonymize")


def test_command_delete(person: Any) -> None:
    output = erase_command(str(person.pk), "--delete")
    assert f"Deleted 3 skips of user #{person.pk}, with their tombstones." in output
    assert SkipTombstone.objects.count() == 3
    assert Skip.objects.count() == 1


@pytest.mark.parametrize(
    "args",
    [
        (),  # no user
        ("1",),  # neither --anonymise nor --delete
        ("1", "--anonymise", "--delete"),
        ("abc", "--delete"),
        ("99999999999999999999999", "--delete"),
        ("424242", "--delete"),  # no such user
    ],
)
def test_command_refuses(person: Any, args: tuple[str, ...]) -> None:
    with pytest.raises(CommandError):
        erase_command(*args)
    assert Skip.objects.count() == 4


def test_command_refuses_the_erased_account_and_a_taken_login(person: Any) -> None:
    erase_command(str(person.pk), "--anonymise")
    erased = Agent.objects.get(email=ERASED_EMAIL)
    with pytest.raises(CommandError, match="is the erased account"):
        erase_command(str(erased.pk), "--delete")
    assert Skip.objects.filter(user=erased).count() == 3
    erased.is_active = True
    erased.save()
    other = SkipFactory().user
    with pytest.raises(CommandError, match="someone's own"):
        erase_command(str(other.pk), "--anonymise")


def test_checks_of_the_erased_user_setting(settings: Any) -> None:
    from django.core.management.base import SystemCheckError

    for value in ("erased-user", {"username": "erased-user"}, {1: "x"}):
        settings.SKIPS_ERASED_USER = value
        with pytest.raises(SystemCheckError, match=r"skips\.E024"):
            call_command("check")
    settings.SKIPS_ERASED_USER = {"email": "x@erased.invalid"}
    call_command("check")


# The admin


def test_actions_need_the_delete_permission(person: Any) -> None:
    viewer = logged_in(staff("view_skip"))
    page = viewer.get(CHANGELIST)
    names = [name for name, _ in page.context["action_form"].fields["action"].choices]
    assert "anonymise_skips" not in names
    assert "delete_skips_erasure" not in names
    ids = list(Skip.objects.values_list("pk", flat=True))
    refused = viewer.post(
        CHANGELIST,
        {"action": "anonymise_skips", ACTION_CHECKBOX_NAME: ids, "post": "yes", "index": 0},
    )
    assert refused.status_code in (200, 302)
    assert set(Skip.objects.values_list("reason", flat=True)) == {"I am Ann", "someone else's"}
    deleter = logged_in(staff("view_skip", "delete_skip"))
    names = [
        name for name, _ in deleter.get(CHANGELIST).context["action_form"].fields["action"].choices
    ]
    assert {"anonymise_skips", "delete_skips_erasure"} <= set(names)


@pytest.mark.parametrize("action", ["anonymise_skips", "delete_skips_erasure"])
def test_confirmation_page_then_erasure(person: Any, action: str) -> None:
    client = logged_in(staff("view_skip", "delete_skip"))
    chosen = list(Skip.objects.for_user(person).order_by("pk").values_list("pk", flat=True)[:2])
    page = client.post(CHANGELIST, {"action": action, ACTION_CHECKBOX_NAME: chosen, "index": 0})
    assert page.status_code == 200
    assert page.templates[0].name == "skips/admin/erase_confirmation.html"
    html = page.content.decode()
    assert ("Anonymise 2 skips?" if action == "anonymise_skips" else "Delete 2 skips?") in html
    assert str(person) in html
    assert "are not selected" in html  # the third skip of the person
    assert Skip.objects.for_user(person).count() == 3  # nothing done yet
    assert 'name="post" value="yes"' in html
    done = client.post(CHANGELIST, {"action": action, ACTION_CHECKBOX_NAME: chosen, "post": "yes"})
    assert done.status_code == 302
    assert Skip.objects.for_user(person).count() == 1
    if action == "anonymise_skips":
        erased = Agent.objects.get(email=ERASED_EMAIL)
        assert set(Skip.objects.filter(user=erased).values_list("pk", flat=True)) == set(chosen)
        assert not SkipTombstone.objects.exists()
    else:
        assert set(SkipTombstone.objects.values_list("id", flat=True)) == set(chosen)
    (message,) = get_messages(done.wsgi_request)
    assert "2 skips" in message.message


def test_select_all_of_one_agent(person: Any) -> None:
    client = logged_in(staff("view_skip", "delete_skip"))
    url = f"{CHANGELIST}?user__id__exact={person.pk}"
    one = Skip.objects.for_user(person).values_list("pk", flat=True)[:1][0]
    page = client.post(
        url,
        {
            "action": "delete_skips_erasure",
            ACTION_CHECKBOX_NAME: [one],
            "select_across": "1",
            "index": 0,
        },
    )
    html = page.content.decode()
    assert "Delete 3 skips?" in html
    assert "are not selected" not in html
    assert 'name="select_across" value="1"' in html
    done = client.post(
        url,
        {
            "action": "delete_skips_erasure",
            ACTION_CHECKBOX_NAME: [one],
            "select_across": "1",
            "post": "yes",
        },
    )
    assert done.status_code == 302
    assert not Skip.objects.for_user(person).exists()
    assert Skip.objects.count() == 1  # the other agent's, outside the filter
    assert SkipTombstone.objects.count() == 3


def test_a_taken_erased_login_is_an_error_message(person: Any) -> None:
    UserFactory(email=ERASED_EMAIL)
    client = logged_in(staff("view_skip", "delete_skip"))
    ids = list(Skip.objects.for_user(person).values_list("pk", flat=True))
    done = client.post(
        CHANGELIST,
        {"action": "anonymise_skips", ACTION_CHECKBOX_NAME: ids, "post": "yes"},
        follow=True,
    )
    assert "someone&#x27;s own" in done.content.decode() or "someone's own" in done.content.decode()
    assert Skip.objects.for_user(person).count() == 3
