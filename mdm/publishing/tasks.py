"""Celery tasks of publishing: thin wrappers that take IDs and call the relay or the pulls."""

import logging

from celery import shared_task

from mdm.models import Target
from mdm.publishing import pulls
from mdm.publishing import relay as relay_service

logger = logging.getLogger(__name__)

DELIVER_BUDGET_SECONDS = 50.0


@shared_task(acks_late=True, ignore_result=True)
def relay() -> int:
    """Dispatch pending outbox events, then start a delivery task for every target with due work."""
    dispatched = relay_service.outbox_dispatch_all()
    for target_id in relay_service.targets_with_due_work():
        deliver.delay(target_id)
    return dispatched


@shared_task(acks_late=True, ignore_result=True)
def deliver(target_id: int) -> dict:
    """Deliver due records to one target for up to 50 s; hand over to a fresh task when more is due."""
    target = Target.objects.filter(pk=target_id).first()
    if target is None:
        return {"status": "gone"}
    summary = relay_service.target_deliver(target=target, budget_seconds=DELIVER_BUDGET_SECONDS)
    if summary.status == "done" and summary.batches and target_id in relay_service.targets_with_due_work():
        deliver.delay(target_id)
    return {"status": summary.status, "delivered": summary.delivered, "batches": summary.batches}


@shared_task(acks_late=True, ignore_result=True)
def pull_all() -> dict:
    """Pull changes from every target with pulls on."""
    return pulls.pull_all()
