"""Retention: ``manage.py purge_skips [--older-than DAYS] [--batch-size N] [--dry-run]``.

Skips older than the limit are deleted in batches (a transaction each: an
interrupted run resumes, a second run finds nothing), with their tombstones;
tombstones older than ``SKIPS_TOMBSTONE_DAYS`` go too.
"""

from __future__ import annotations

import datetime
from io import StringIO
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from skips import tombstones
from skips.models import Skip, SkipTombstone
from tests.conftest import client_for
from tests.factories import CaseFactory, SkipFactory, UserFactory, grant

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def purge(*args: str) -> str:
    out = StringIO()
    call_command("purge_skips", *args, stdout=out)
    return out.getvalue()


def aged(days: float, **fields: Any) -> Skip:
    """A skip created ``days`` days ago."""
    skip: Skip = SkipFactory(created_at=timezone.now() - days * DAY, **fields)
    return skip


def old_tombstone(pk: int, days: float) -> SkipTombstone:
    at = timezone.now() - days * DAY
    return SkipTombstone.objects.create(
        id=pk, ticket_id=1, user_id=1, created_at=at - DAY, deleted_at=at
    )


def test_without_a_limit_no_skip_is_deleted() -> None:
    aged(5000)
    output = purge()
    assert Skip.objects.count() == 1
    assert "Skips: none deleted (SKIPS_RETENTION_DAYS is None; no --older-than)." in output
    assert "Tombstones: 0 of deletions before" in output


def test_older_than_deletes_the_old_skips_with_their_tombstones() -> None:
    old = [aged(11), aged(30, ticket=CaseFactory(is_archived=True)), aged(400)]
    new = [aged(9), aged(0)]
    before = timezone.now()
    output = purge("--older-than", "10")
    assert set(Skip.objects.values_list("id", flat=True)) == {s.pk for s in new}
    stored = {t.pk: t for t in SkipTombstone.objects.all()}
    assert set(stored) == {s.pk for s in old}
    for skip in old:
        tombstone = stored[skip.pk]
        assert (tombstone.ticket_id, tombstone.user_id) == (skip.ticket_id, skip.user_id)
        assert tombstone.created_at == skip.created_at
        assert tombstone.deleted_at >= before
    assert "  deleted 3 skips (3 so far)" in output
    assert "Skips: 3 created before " in output
    assert "deleted in 1 batch, with their tombstones." in output


def test_the_setting_is_the_default_limit(settings: Any) -> None:
    settings.SKIPS_RETENTION_DAYS = 30
    aged(31)
    kept = aged(29)
    purge()
    assert list(Skip.objects.values_list("id", flat=True)) == [kept.pk]
    aged(20)
    purge("--older-than", "10")  # the option wins
    assert not Skip.objects.exists()


def test_batches_progress_and_summary() -> None:
    for days in range(20, 25):
        aged(days)
    output = purge("--older-than", "10", "--batch-size", "2")
    lines = output.splitlines()
    assert lines[:3] == [
        "  deleted 2 skips (2 so far)",
        "  deleted 2 skips (4 so far)",
        "  deleted 1 skip (5 so far)",
    ]
    assert "Skips: 5 created before " in lines[3]
    assert lines[3].endswith("deleted in 3 batches, with their tombstones.")
    assert SkipTombstone.objects.count() == 5


def test_oldest_first_an_interrupted_run_resumes_and_a_second_run_is_idempotent() -> None:
    skips = [aged(days) for days in (50, 40, 30, 20)]
    real = tombstones.delete_skips
    calls = 0

    def fails_on_the_second_batch(queryset: Any, *args: Any) -> int:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the process is killed")
        return real(queryset, *args)

    with (
        mock.patch("skips.management.commands.purge_skips.delete_skips", fails_on_the_second_batch),
        pytest.raises(RuntimeError),
    ):
        purge("--older-than", "10", "--batch-size", "2")
    # The first batch (the two oldest) is done, tombstones and all; the rest is not.
    assert set(Skip.objects.values_list("id", flat=True)) == {s.pk for s in skips[2:]}
    assert set(SkipTombstone.objects.values_list("id", flat=True)) == {s.pk for s in skips[:2]}
    output = purge("--older-than", "10", "--batch-size", "2")
    assert "Skips: 2 created before" in output
    assert not Skip.objects.exists()
    assert SkipTombstone.objects.count() == 4
    again = purge("--older-than", "10", "--batch-size", "2")
    assert "Skips: 0 created before" in again
    assert "deleted in 0 batches" in again
    assert SkipTombstone.objects.count() == 4


def test_dry_run_counts_and_deletes_nothing() -> None:
    aged(20)
    aged(21)
    aged(1)
    old_tombstone(999_001, 40)
    output = purge("--older-than", "10", "--dry-run")
    assert "Skips: 2 created before " in output
    assert "would be deleted." in output
    assert "Tombstones: 1 of deletions before " in output
    assert Skip.objects.count() == 3
    assert SkipTombstone.objects.count() == 1


def test_old_tombstones_are_purged(settings: Any) -> None:
    old_tombstone(999_001, 31)
    old_tombstone(999_002, 45)
    old_tombstone(999_003, 29)
    output = purge("--batch-size", "1")
    assert list(SkipTombstone.objects.values_list("id", flat=True)) == [999_003]
    assert "  deleted 1 tombstone (2 so far)" in output
    assert "Tombstones: 2 of deletions before " in output
    settings.SKIPS_TOMBSTONE_DAYS = None
    old_tombstone(999_004, 4000)
    assert "Tombstones: none deleted (SKIPS_TOMBSTONE_DAYS is None)." in purge()
    assert SkipTombstone.objects.count() == 2
    settings.SKIPS_TOMBSTONE_DAYS = 1
    purge()
    assert not SkipTombstone.objects.exists()


def test_the_skips_deleted_this_run_keep_their_tombstones(settings: Any) -> None:
    settings.SKIPS_TOMBSTONE_DAYS = 1
    aged(10)
    purge("--older-than", "5")
    assert SkipTombstone.objects.count() == 1  # deleted now: not older than a day


@pytest.mark.parametrize(
    "args",
    [
        ("--older-than", "0"),
        ("--older-than", "-1"),
        ("--older-than", "ten"),
        ("--older-than", "1.5"),
        ("--batch-size", "0"),
        ("--batch-size", "x"),
    ],
)
def test_bad_arguments(args: tuple[str, ...]) -> None:
    aged(100)
    with pytest.raises(CommandError):
        purge(*args)
    assert Skip.objects.count() == 1


def test_the_export_shows_the_purge(settings: Any) -> None:
    settings.SKIPS_EXPORT_HORIZON_SECONDS = 0
    settings.SKIPS_EXPORT_THROTTLE_RATE = None
    skip = aged(100)
    c = client_for(grant(UserFactory(), "export_skip"))
    first = c.get("/api/v2/incremental/skips/cursor.json", {"start_time": 0}).json()
    assert [item["id"] for item in first["skips"]] == [skip.pk]
    purge("--older-than", "10")
    later = c.get(first["after_url"]).json()["skips"]
    assert [(item["id"], item["reason"], item["deleted_at"] is not None) for item in later] == [
        (skip.pk, None, True)
    ]


def test_checks_of_the_retention_settings(settings: Any) -> None:
    from django.core.management.base import SystemCheckError

    for name, value, error in (
        ("SKIPS_RETENTION_DAYS", 0, "skips.E022"),
        ("SKIPS_RETENTION_DAYS", "30", "skips.E022"),
        ("SKIPS_TOMBSTONE_DAYS", 0, "skips.E023"),
        ("SKIPS_TOMBSTONE_DAYS", 1.5, "skips.E023"),
    ):
        setattr(settings, name, value)
        with pytest.raises(SystemCheckError, match=error):
            call_command("check")
        delattr(settings, name)
    settings.SKIPS_RETENTION_DAYS = 365
    settings.SKIPS_TOMBSTONE_DAYS = None
    call_command("check")
