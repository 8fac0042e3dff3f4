"""Celery tasks of the store: thin wrappers that take names and IDs and call a service."""

from celery import shared_task

from mdm.maintenance import analyze_stale_tables
from mdm.services import golden_records_recompute_all, system_actor


@shared_task(acks_late=True)
def recompute_golden_records(*, entity_type: str, reason: str) -> int:
    """Recompute all golden records of a type (after an ownership rule change)."""
    return golden_records_recompute_all(entity_type=entity_type, actor=system_actor("survivorship"), reason=reason)


@shared_task(acks_late=True)
def refresh_table_statistics() -> list[str]:
    """ANALYZE the hub's tables whose statistics lag (a safety net where autovacuum is off or behind)."""
    return analyze_stale_tables()
