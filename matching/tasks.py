"""Celery tasks of the matcher: thin wrappers that take names and IDs and call matching's services."""

from celery import shared_task

from matching.batch import match_chunk
from matching.engine import match_context


@shared_task(acks_late=True)
def match_golden_chunk(*, entity_type: str, golden_pks: list[int], apply: bool = True) -> dict[str, int]:
    """Re-match one chunk of golden records (manage.py match --celery spreads a run over the workers)."""
    stats = match_chunk(match_context(entity_type), golden_pks, apply=apply)
    return {
        "goldens": stats.goldens,
        "compared_pairs": stats.compared_pairs,
        "merged": stats.merged,
        "proposed": stats.proposed,
    }
