"""``manage.py erase_user_skips USER_ID (--anonymise | --delete)``.

Erases the personal data a person's skips hold, for a request to erase it
(:mod:`skips.erasure`): ``--anonymise`` keeps the skips for reports, with the
reason emptied and the "erased user" account (``SKIPS_ERASED_USER``) as their
agent; ``--delete`` deletes them, recording their tombstones. Either way the
incremental export carries the change, and the person's user row can then be
deleted. One of the two must be given: there is no default.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from skips.erasure import ErasedUserTaken, find_erased_user
from skips.models import Skip


class Command(BaseCommand):
    help = (
        "Erase a user's skips: --anonymise (keep them, reason emptied, reassigned to the "
        "erased account of SKIPS_ERASED_USER) or --delete (tombstones recorded)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user_id", metavar="USER_ID", help="The user's primary key.")
        how = parser.add_mutually_exclusive_group(required=True)
        how.add_argument(
            "--anonymise",
            "--anonymize",
            dest="anonymise",
            action="store_true",
            help="Keep the skips for reports: reason emptied, agent the erased account.",
        )
        how.add_argument(
            "--delete",
            dest="delete",
            action="store_true",
            help="Delete the skips (the incremental export shows them as deleted).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        raw_id = options["user_id"]
        try:
            user = user_model._default_manager.filter(pk=raw_id).first()
        # Not a key of the user model, or past the database's integers.
        except (ValueError, TypeError, OverflowError, ValidationError, DatabaseError) as e:
            raise CommandError(f"{raw_id!r} is not a user id.") from e
        if user is None:
            raise CommandError(f"There is no user with id {raw_id}.")
        anonymise: bool = options["anonymise"]
        try:
            erased = find_erased_user()
            if erased is not None and erased.pk == user.pk:
                raise CommandError(
                    f"User #{user.pk} is the erased account (SKIPS_ERASED_USER): its skips "
                    "are already anonymised."
                )
            count = Skip.objects.for_user(user).erase(anonymise=anonymise)
        except (ErasedUserTaken, ImproperlyConfigured) as e:
            raise CommandError(str(e)) from e
        if anonymise:
            erased = find_erased_user()
            done = (
                f"Anonymised {count:,} skip{'s' if count != 1 else ''} of user #{user.pk}: "
                f"reason emptied, reassigned to the erased account #{erased.pk} ({erased})."
            )
        else:
            done = (
                f"Deleted {count:,} skip{'s' if count != 1 else ''} of user #{user.pk}, "
                "with their tombstones."
            )
        self.stdout.write(self.style.SUCCESS(done))
        self.stdout.write(f"User #{user.pk} has no skips left: their account can be deleted.")
