"""Users as the admin and the report show and look them up.

Nothing here assumes a field name: the login is ``USERNAME_FIELD``, the email
``EMAIL_FIELD``; the user model is ``get_user_model()`` at call time.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Exists, OuterRef, QuerySet

from skips.models import Skip

#: Field names of a user's name, searched when the user model has them.
USER_NAME_FIELDS = ("first_name", "last_name", "full_name", "name")


def user_label(user: Any) -> str:
    """A user as people know them: full name, else the login name."""
    get_full_name = getattr(user, "get_full_name", None)
    name = get_full_name() if callable(get_full_name) else ""
    if not name:
        name = getattr(user, "full_name", "") or ""
    return str(name or getattr(user, user.USERNAME_FIELD, "") or user)


def user_email(user: Any) -> str:
    """The user's email address (``EMAIL_FIELD``), or "" when the model has none."""
    get_name = getattr(type(user), "get_email_field_name", None)
    name = get_name() if callable(get_name) else "email"
    return str(getattr(user, name, "") or "")


def user_field_names() -> tuple[str, str | None]:
    """The user model's login field, and its email field when it has another one."""
    user_model = get_user_model()
    login = user_model.USERNAME_FIELD
    email = user_model.get_email_field_name()
    try:
        user_model._meta.get_field(email)
    except FieldDoesNotExist:
        return login, None
    return login, (email if email != login else None)


def users_who_skipped(skips: QuerySet[Skip] | None = None) -> QuerySet[Any]:
    """Users with a skip among ``skips`` (every skip when None), as one ``EXISTS`` probe each.

    The probe reads the ``(user, created_at, id)`` index: the cost follows the
    number of users, not of skips. ``skips`` is what the viewer may see (the
    admin's queryset), so that nobody learns a name through a skip hidden from
    them, nor the name of a user who never skipped.
    """
    skips = Skip.objects.all() if skips is None else skips
    mine = skips.order_by().select_related(None).filter(user=OuterRef("pk"))
    return get_user_model()._default_manager.filter(Exists(mine))


def agents_who_skipped(
    limit: int, selected: Any = None, skips: QuerySet[Skip] | None = None
) -> list[Any]:
    """The first ``limit`` users (by login) with a skip among ``skips``, and the ``selected`` one.

    The ``selected`` user (a primary key) is added when they are not among the
    first ``limit`` but have a skip among ``skips`` too; anyone else is left out.
    """
    user_model = get_user_model()
    skipped = users_who_skipped(skips)
    users = list(skipped.order_by(user_model.USERNAME_FIELD)[:limit])
    if selected is not None and all(user.pk != selected for user in users):
        users.extend(skipped.filter(pk=selected))
    return users
