"""Bulk writes that keep history: the only way batch paths may create or update tracked models."""

from collections.abc import Sequence
from typing import TypeVar

from django.db import models
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from mdm.context import current_actor, current_correlation_id, current_reason

M = TypeVar("M", bound=models.Model)


def _provenance() -> dict[str, object]:
    return {
        "default_user": current_actor(),
        "default_change_reason": current_reason() or None,
        "custom_historical_attrs": {"correlation_id": current_correlation_id()},
    }


def bulk_create_tracked(objs: Sequence[M], model: type[M], *, batch_size: int = 500) -> list[M]:
    """bulk_create with one history row per object, attributed to the current actor and correlation ID."""
    if not objs:
        return []
    return bulk_create_with_history(list(objs), model, batch_size=batch_size, **_provenance())


def bulk_update_tracked(objs: Sequence[M], model: type[M], fields: list[str], *, batch_size: int = 500) -> None:
    """bulk_update with one history row per object, attributed to the current actor and correlation ID."""
    if objs:
        bulk_update_with_history(list(objs), model, fields, batch_size=batch_size, **_provenance())
