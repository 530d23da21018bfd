"""Who may do what, read through Django permissions.

An agent holds ``skips.add_skip``; reports access ("View only" or higher) is
``skips.view_skip``. Grant them with groups, a backend or a rules library.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


def _active(request: Request) -> bool:
    user = request.user
    return bool(user and user.is_authenticated and user.is_active)


class IsAgent(BasePermission):
    """Allows agents: active users holding ``skips.add_skip``."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(_active(request) and request.user.has_perm("skips.add_skip"))


class HasReportsAccess(BasePermission):
    """Allows active users with reports access: ``skips.view_skip``."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(_active(request) and request.user.has_perm("skips.view_skip"))


class IsPathUser(BasePermission):
    """Allows a user to reach the routes under their own id (or ``me``)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user_id = view.kwargs.get("user_id")
        return bool(_active(request) and (user_id == "me" or str(request.user.pk) == str(user_id)))


class IsRecording(BasePermission):
    """Allows requests that record a skip (``POST``)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method == "POST"
