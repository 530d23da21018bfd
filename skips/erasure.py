"""Erasure of a person's skips, for a request to erase their personal data.

Two ways, both through ``Skip.objects.for_user(user).erase(...)``, the
``erase_user_skips`` command and the admin's actions:

- **anonymise** (``erase(anonymise=True)``): the skips stay for reports (their
  tickets and times), but their reason becomes ``""`` and they are reassigned
  to one "erased user" account (:func:`erased_user`). Their ``updated_at``
  changes, so the incremental export carries the change.
- **delete** (``erase(anonymise=False)``): the skips are deleted, and their
  tombstones recorded for the export (:mod:`skips.tombstones`).

Either way the person then has no skips, so their user row can be deleted
(``Skip.user`` protects users who have skips).

The erased account is created the first time it is needed, with the field
values of ``SKIPS_ERASED_USER`` that the user model has (by default username
``erased-user`` and email ``erased-user@erased.invalid``), through the user
model's default manager, inactive and without a usable password. An active
account, or one with a usable password, of that login is someone's own: it is
never taken for the erased account (:class:`ErasedUserTaken`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, router, transaction
from django.utils import timezone

from skips.conf import conf
from skips.tombstones import delete_skips, write_database

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from skips.models import Skip

#: Skips anonymised per ``UPDATE``.
CHUNK_SIZE = 500


class ErasedUserTaken(Exception):
    """``SKIPS_ERASED_USER`` names an account that is someone's own."""


def erased_user_fields() -> dict[str, Any]:
    """The values of ``SKIPS_ERASED_USER`` that are fields of the user model.

    Raises ``ImproperlyConfigured`` when they leave out the model's ``USERNAME_FIELD``.
    """
    model = get_user_model()
    names = {field.name for field in model._meta.concrete_fields}
    fields = {name: value for name, value in conf.ERASED_USER.items() if name in names}
    if model.USERNAME_FIELD not in fields:
        raise ImproperlyConfigured(
            f"SKIPS_ERASED_USER must give the user model's USERNAME_FIELD "
            f"({model.USERNAME_FIELD!r}) of the erased account."
        )
    return fields


def find_erased_user(using: str | None = None) -> Any:
    """The erased account if it exists (whoever holds its login), or None."""
    model = get_user_model()
    fields = erased_user_fields()
    login = {model.USERNAME_FIELD: fields[model.USERNAME_FIELD]}
    return model._default_manager.db_manager(using).filter(**login).first()


def erased_user(using: str | None = None) -> Any:
    """The account anonymised skips belong to, created (inactive, no usable password) once."""
    model = get_user_model()
    using = using or router.db_for_write(model)
    fields = erased_user_fields()
    login = {model.USERNAME_FIELD: fields[model.USERNAME_FIELD]}
    manager = model._default_manager.db_manager(using)
    user = find_erased_user(using)
    if user is None:
        user = manager.model(**fields)
        user.set_unusable_password()
        if hasattr(user, "is_active"):
            user.is_active = False
        try:
            with transaction.atomic(using=using):
                user.save(using=using)
        except IntegrityError:  # created meanwhile by another erasure
            user = manager.get(**login)
    if getattr(user, "is_active", False) or user.has_usable_password():
        raise ErasedUserTaken(
            f"SKIPS_ERASED_USER names {login!r}, an account that is active or has a usable "
            "password: someone's own, not the erased account. Nothing was changed. Name "
            "another account in SKIPS_ERASED_USER."
        )
    return user


def erase_skips(queryset: QuerySet[Skip], *, anonymise: bool) -> int:
    """Anonymise or delete the skips of ``queryset`` (see the module); how many, in one
    transaction."""
    if not anonymise:
        return delete_skips(queryset)
    using = write_database(queryset)
    with transaction.atomic(using=using):
        erased = erased_user(using)
        ids = list(
            queryset.using(using).exclude(user=erased).order_by().values_list("pk", flat=True)
        )
        now = timezone.now()
        skips = queryset.model._base_manager.using(using)
        return sum(
            skips.filter(pk__in=ids[start : start + CHUNK_SIZE]).update(
                reason="", user=erased, updated_at=now
            )
            for start in range(0, len(ids), CHUNK_SIZE)
        )
