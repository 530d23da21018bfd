"""``manage.py seed_demo``: demo users, tokens, tickets and skips (idempotent)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from example_project.helpdesk.seeding import ForeignAccounts, seed

DEFAULT_SKIPS = 300


class Command(BaseCommand):
    help = (
        "Fill the example help desk with demo users (password 'demo'), API tokens, "
        "about 60 tickets and skips. Running it again creates only what is missing. "
        "It never changes an account it did not create: if a demo username is taken, "
        "it stops."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--skips",
            type=int,
            default=DEFAULT_SKIPS,
            metavar="N",
            help=f"Total number of skips wanted (default {DEFAULT_SKIPS}); "
            "only the difference is created.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["skips"] < 0:
            raise CommandError("--skips must be zero or more.")
        try:
            migrated = Permission.objects.filter(content_type__app_label="skips").exists()
        except DatabaseError as e:
            raise CommandError(f"The database is not ready ({e}): run 'manage.py migrate'.") from e
        if not migrated:
            raise CommandError("The skips permissions are missing: run 'manage.py migrate' first.")
        try:
            report = seed(options["skips"])
        except ForeignAccounts as e:
            raise CommandError(str(e)) from e
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {report.users} users, {report.tickets} tickets, {report.skips} skips."
            )
        )
        self.stdout.write(
            "Now: " + ", ".join(f"{count} {name}" for name, count in report.totals.items()) + "."
        )
