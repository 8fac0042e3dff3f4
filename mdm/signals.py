"""The store's signals: history rows stamped with the correlation ID and reason of the work that made the change,
and the signals through which the store tells the layers above it what happened (they connect; it never imports
them: ../shared/DESIGN.md "Layout")."""

from typing import Any

from django.dispatch import Signal, receiver
from simple_history.signals import pre_create_historical_record

from mdm.context import current_correlation_id, current_reason


@receiver(pre_create_historical_record)
def stamp_history_provenance(sender: Any, history_instance: Any, **kwargs: Any) -> None:
    """Single-row saves get the same provenance the bulk helpers in mdm.history pass explicitly."""
    if hasattr(history_instance, "correlation_id") and not history_instance.correlation_id:
        history_instance.correlation_id = current_correlation_id()
    if not history_instance.history_change_reason:
        history_instance.history_change_reason = current_reason() or None


# Outbox events were written in the current transaction (sent once per write, inside it): publishing connects
# its on-commit nudge (mdm/publishing/nudge.py), so a worker publishes right after the commit.
outbox_written = Signal()
# Source records moved to another golden record by a merge or an undone merge (sent inside the transaction, with
# `into`: {merged golden pk: survivor pk} for a merge, or `source_pks` and `golden_pk` for an undo): matching
# connects what follows for its own tables (match profiles, blocking keys, review candidates).
golden_records_merged = Signal()
merge_undone = Signal()
