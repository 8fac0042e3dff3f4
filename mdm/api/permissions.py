"""Who may do what over the API: read scope for keys and stewards; writes only as the key's own system."""

from typing import Any

from django.contrib.auth.models import User
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from mdm.masking import UNMASKED_PERMISSION
from mdm.models import ApiKey


def is_steward(request: Request) -> bool:
    """A logged-in staff user (the admin UI's stewards)."""
    user = request.user
    return bool(user and user.is_authenticated and user.is_active and getattr(user, "is_staff", False))


def acting_person(request: Request) -> User | None:
    """The person acting: an active logged-in user, or the steward an API key acts for (None for a system key)."""
    if isinstance(request.auth, ApiKey):
        return request.auth.steward if request.auth.steward_id else None
    user = request.user
    return user if user and user.is_authenticated and user.is_active else None


class ReadScope(BasePermission):
    """Reads need a key with the read scope, or a steward session."""

    message = "this API key has no read scope"

    def has_permission(self, request: Request, view: Any) -> bool:
        if isinstance(request.auth, ApiKey):
            return request.auth.can_read
        return is_steward(request)


class WriteScope(BasePermission):
    """Writes need a key with a write scope; which system it may write as is checked against the payload."""

    message = "this API key may not write source records"

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, ApiKey) and request.auth.write_system_id is not None


def sees_unmasked(request: Request) -> bool:
    """May this caller see tax IDs, national IDs, phones and emails in full?

    A logged-in person needs the unmasked permission (a viewer has not). A system's API key sees them as
    before, unless it acts for a steward (`ApiKey.steward`): then it sees exactly what that person may.
    Answered once per request.
    """
    cached = getattr(request, "_sees_unmasked", None)
    if cached is None:
        if isinstance(request.auth, ApiKey):
            person = request.auth.steward if request.auth.steward_id else None
            cached = person is None or person.has_perm(UNMASKED_PERMISSION)
        else:
            user = request.user
            cached = bool(user and user.is_authenticated and user.has_perm(UNMASKED_PERMISSION))
        request._sees_unmasked = cached  # type: ignore[attr-defined]  # memoised on the request
    return cached
