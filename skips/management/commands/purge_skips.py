"""``manage.py purge_skips [--older-than DAYS] [--batch-size N] [--dry-run]``.

Deletes the skips created more than ``SKIPS_RETENTION_DAYS`` days ago (or
``--older-than`` days), oldest first, a batch per transaction, recording their
tombstones so that the incremental export tells copies elsewhere; then the
tombstones of deletions more than ``SKIPS_TOMBSTONE_DAYS`` days ago. Short
transactions: the API keeps answering while it runs. Interrupted, it leaves
whole batches done and the rest for the next run; run again, it finds nothing
more to do. Run it daily from cron or a scheduler.
"""

from __future__ import annotations

import argparse
import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from skips.conf import conf
from skips.models import Skip, SkipTombstone
from skips.serializers import format_timestamp
from skips.tombstones import delete_skips, purge_tombstones

DEFAULT_BATCH_SIZE = 1000


def count(number: int, noun: str) -> str:
    """``1 skip``, ``2,000 skips``."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def whole_number(low: int) -> Any:
    def parse(value: str) -> int:
        if not (value.isascii() and value.isdigit()) or int(value) < low:
            raise argparse.ArgumentTypeError(f"must be a whole number, {low} or more")
        return int(value)

    return parse


class Command(BaseCommand):
    help = (
        "Delete skips older than SKIPS_RETENTION_DAYS (or --older-than DAYS), in batches, "
        "recording tombstones for the incremental export; then tombstones older than "
        "SKIPS_TOMBSTONE_DAYS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=whole_number(1),
            metavar="DAYS",
            help="Delete the skips created more than DAYS days ago (default: "
            "SKIPS_RETENTION_DAYS; without either, no skip is deleted).",
        )
        parser.add_argument(
            "--batch-size",
            type=whole_number(1),
            default=DEFAULT_BATCH_SIZE,
            metavar="N",
            help=f"Skips (and tombstones) deleted per transaction (default {DEFAULT_BATCH_SIZE}).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count what would be deleted; delete nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        days = options["older_than"]
        if days is None:
            days = conf.RETENTION_DAYS
        batch_size: int = options["batch_size"]
        dry_run: bool = options["dry_run"]
        if days is None:
            self.stdout.write(
                "Skips: none deleted (SKIPS_RETENTION_DAYS is None; no --older-than)."
            )
        else:
            self.purge_skips(now - datetime.timedelta(days=days), batch_size, dry_run)
        tombstone_days = conf.TOMBSTONE_DAYS
        if tombstone_days is None:
            self.stdout.write("Tombstones: none deleted (SKIPS_TOMBSTONE_DAYS is None).")
        else:
            self.purge_tombstones(
                now - datetime.timedelta(days=tombstone_days), batch_size, dry_run
            )

    def purge_skips(self, before: datetime.datetime, batch_size: int, dry_run: bool) -> None:
        old = Skip._default_manager.filter(created_at__lt=before)
        when = format_timestamp(before)
        if dry_run:
            self.stdout.write(f"Skips: {old.count():,} created before {when} would be deleted.")
            return
        total = batches = 0
        while True:
            ids = list(old.order_by("created_at", "id").values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            deleted = delete_skips(Skip._default_manager.filter(pk__in=ids))
            if not deleted:  # deleted meanwhile by someone else: look again
                continue
            total += deleted
            batches += 1
            self.stdout.write(f"  deleted {count(deleted, 'skip')} ({total:,} so far)")
        self.stdout.write(
            self.style.SUCCESS(
                f"Skips: {total:,} created before {when} deleted in {batches:,} "
                f"{'batch' if batches == 1 else 'batches'}, with their tombstones."
            )
        )

    def purge_tombstones(self, before: datetime.datetime, batch_size: int, dry_run: bool) -> None:
        when = format_timestamp(before)
        if dry_run:
            old = SkipTombstone._default_manager.filter(deleted_at__lt=before).count()
            self.stdout.write(f"Tombstones: {old:,} of deletions before {when} would be deleted.")
            return
        total = 0
        for deleted in purge_tombstones(before, batch_size):
            total += deleted
            self.stdout.write(f"  deleted {count(deleted, 'tombstone')} ({total:,} so far)")
        self.stdout.write(
            self.style.SUCCESS(f"Tombstones: {total:,} of deletions before {when} deleted.")
        )
