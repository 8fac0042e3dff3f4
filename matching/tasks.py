"""Celery tasks of the matcher: thin wrappers that take names and IDs and call matching's services."""

from celery import shared_task

from matching.batch import match_chunk
from matching.engine import match_context
from matching.training import match_model_train_if_due
from mdm.models import EntityType
from mdm.services import system_actor


@shared_task(acks_late=True)
def match_golden_chunk(*, entity_type: str, golden_pks: list[int], apply: bool = True) -> dict[str, int]:
    """Re-match one chunk of golden records (manage.py match --celery spreads a run over the workers)."""
    stats = match_chunk(match_context(entity_type, batch=True), golden_pks, apply=apply)
    return {
        "goldens": stats.goldens,
        "compared_pairs": stats.compared_pairs,
        "merged": stats.merged,
        "proposed": stats.proposed,
    }


@shared_task(acks_late=True)
def train_matchers() -> dict[str, int | None]:
    """Learn each entity type's match model again where it is due (scheduled weekly in Celery beat)."""
    trained: dict[str, int | None] = {}
    for entity_type in EntityType.values:
        model = match_model_train_if_due(entity_type=entity_type, actor=system_actor("matcher"))
        trained[entity_type] = model.version if model is not None else None
    return trained
