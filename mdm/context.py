"""Who is acting, why, and under which correlation ID: carried through services, history and the outbox.

Context variables rather than thread-locals, so the same code attributes changes correctly in web
requests, Celery tasks and management commands alike (audit must not depend on a web request).
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import User

_correlation_id: ContextVar[str] = ContextVar("correlation_id", default="")
_actor: ContextVar["User | None"] = ContextVar("actor", default=None)
_reason: ContextVar[str] = ContextVar("reason", default="")

MAX_CORRELATION_ID_LENGTH = 64


def new_correlation_id() -> str:
    """A fresh correlation ID for work that did not arrive with one."""
    return uuid.uuid4().hex


def current_correlation_id() -> str:
    """The correlation ID of the work in progress ('' outside any)."""
    return _correlation_id.get()


def current_actor() -> "User | None":
    """The user or system service account acting right now."""
    return _actor.get()


def current_reason() -> str:
    """Why the current change is being made, as recorded in history."""
    return _reason.get()


@contextmanager
def correlation(correlation_id: str | None = None) -> Iterator[str]:
    """Run a block of work under a correlation ID (a new one when none is given)."""
    token = _correlation_id.set(correlation_id or _correlation_id.get() or new_correlation_id())
    try:
        yield _correlation_id.get()
    finally:
        _correlation_id.reset(token)


@contextmanager
def acting(actor: "User | None", reason: str = "") -> Iterator[None]:
    """Attribute every change made inside the block to `actor`, with `reason`."""
    actor_token = _actor.set(actor)
    reason_token = _reason.set(reason)
    try:
        yield
    finally:
        _actor.reset(actor_token)
        _reason.reset(reason_token)


def history_user(instance: object = None, request: object = None, **kwargs: object) -> "User | None":
    """simple-history's get_user hook: the explicit actor first, else the logged-in request user."""
    actor = _actor.get()
    if actor is not None:
        return actor
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return user
    return None
