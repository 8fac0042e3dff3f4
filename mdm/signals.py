"""Stamps every history row with the correlation ID and reason of the work that made the change."""

from typing import Any

from django.dispatch import receiver
from simple_history.signals import pre_create_historical_record

from mdm.context import current_correlation_id, current_reason


@receiver(pre_create_historical_record)
def stamp_history_provenance(sender: Any, history_instance: Any, **kwargs: Any) -> None:
    """Single-row saves get the same provenance the bulk helpers in mdm.history pass explicitly."""
    if hasattr(history_instance, "correlation_id") and not history_instance.correlation_id:
        history_instance.correlation_id = current_correlation_id()
    if not history_instance.history_change_reason:
        history_instance.history_change_reason = current_reason() or None
