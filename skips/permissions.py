"""Who may do what, read through Django permissions.

An agent holds ``skips.add_skip``; reports access ("View only" or higher) is
``skips.view_skip``. Grant them with groups, a backend or a rules library.

Under Django's ``ModelBackend`` (and subclasses that keep its way of reading
permissions), a request reads the user's permissions in one query rather than
two: :func:`load_permissions` fills the backend's own cache, with what the
backend would have read itself. Any other backend is asked as Django asks it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_backends, get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.core.exceptions import FieldDoesNotExist
from django.core.signals import setting_changed
from django.db import router
from django.db.models import Q
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from skips.serializers.compiled import CompiledQuery

#: The methods through which ModelBackend reads and caches a user's permissions.
_MODEL_BACKEND_METHODS = (
    "has_perm",
    "get_all_permissions",
    "get_user_permissions",
    "get_group_permissions",
    "_get_permissions",
    "_get_user_permissions",
    "_get_group_permissions",
)
#: Whether every configured backend reads permissions as ModelBackend does, by setting.
_MODEL_BACKENDS_ONLY: dict[tuple[str, ...], bool] = {}


def _model_backends_only() -> bool:
    """Whether every authentication backend reads permissions as ``ModelBackend`` does."""
    paths = tuple(settings.AUTHENTICATION_BACKENDS)
    known = _MODEL_BACKENDS_ONLY.get(paths)
    if known is None:
        backends = get_backends()
        known = _MODEL_BACKENDS_ONLY[paths] = bool(backends) and all(
            isinstance(backend, ModelBackend)
            and all(
                getattr(type(backend), name) is getattr(ModelBackend, name)
                for name in _MODEL_BACKEND_METHODS
            )
            for backend in backends
        )
    return known


def _has_permission_fields(user_model: Any) -> bool:
    """Whether the user model has PermissionsMixin's relations, as ModelBackend reads them."""
    try:
        user_model._meta.get_field("user_permissions")
        user_model._meta.get_field("groups")
    except FieldDoesNotExist:
        return False
    return True


def _permissions_queryset(pk: Any) -> Any:
    """The permissions of the user ``pk`` and of their groups (ModelBackend reads them
    in two queries), as ``(app_label, codename)`` rows."""
    user_model = get_user_model()
    own = user_model._meta.get_field("user_permissions").related_query_name()
    groups = user_model._meta.get_field("groups").related_query_name()
    mine = Permission.objects.filter(**{own: pk}).values("pk")
    of_my_groups = Permission.objects.filter(**{f"group__{groups}": pk}).values("pk")
    return (
        Permission.objects.filter(Q(pk__in=mine) | Q(pk__in=of_my_groups))
        .values_list("content_type__app_label", "codename")
        .order_by()
    )


#: The permissions query, compiled once: it runs at every request.
_PERMISSIONS = CompiledQuery(lambda pks: _permissions_queryset(pks[0]))


def load_permissions(user: Any) -> None:
    """Fill ``ModelBackend``'s permission cache of ``user`` with one query.

    Nothing is read when the user has the cache already, is inactive, anonymous
    or a superuser (who holds every permission without a query), or when a
    backend other than ``ModelBackend`` (or a subclass that reads permissions
    its own way) is configured: Django reads them as usual then.
    """
    if (
        not getattr(user, "is_authenticated", False)
        or not getattr(user, "is_active", False)
        or getattr(user, "is_superuser", False)
        or hasattr(user, "_perm_cache")
        or not _model_backends_only()
    ):
        return
    user_model = get_user_model()
    if not isinstance(user, user_model) or not _has_permission_fields(user_model):
        return
    using = router.db_for_read(Permission, instance=user)
    rows = _PERMISSIONS.rows([user.pk], using)
    # ModelBackend's own cache, as get_all_permissions() would fill it.
    cached: Any = user
    cached._perm_cache = {f"{app_label}.{codename}" for app_label, codename in rows}


def _forget_backends(*, setting: str, **kwargs: Any) -> None:
    if setting == "AUTHENTICATION_BACKENDS":
        _MODEL_BACKENDS_ONLY.clear()


setting_changed.connect(_forget_backends)


def has_perm(request: Request, perm: str) -> bool:
    """Whether the request's user is active and holds ``perm`` (read once a request)."""
    if not _active(request):
        return False
    load_permissions(request.user)
    return bool(request.user.has_perm(perm))


def _active(request: Request) -> bool:
    user = request.user
    return bool(user and user.is_authenticated and user.is_active)


class IsAgent(BasePermission):
    """Allows agents: active users holding ``skips.add_skip``."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return has_perm(request, "skips.add_skip")


class HasReportsAccess(BasePermission):
    """Allows active users with reports access: ``skips.view_skip``."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return has_perm(request, "skips.view_skip")


class IsPathUser(BasePermission):
    """Allows a user to reach the routes under their own id (or ``me``)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user_id = view.kwargs.get("user_id")
        return bool(_active(request) and (user_id == "me" or str(request.user.pk) == str(user_id)))


class IsRecording(BasePermission):
    """Allows requests that record a skip (``POST``)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method == "POST"
