"""The on-commit nudge: after a transaction that wrote outbox events commits, ask a worker to publish now.

A nudge is an optimisation, never the source of truth: if the broker is down the commit still succeeds
(the nudge is dropped with a warning) and the beat schedule publishes what is pending once it is back.
"""

import logging
import os

from django.conf import settings
from django.db import connection, transaction
from django.dispatch import receiver

from mdm.publishing.tasks import relay
from mdm.signals import outbox_written

logger = logging.getLogger(__name__)


@receiver(outbox_written)
def _on_outbox_written(sender: object, **kwargs: object) -> None:
    relay_nudge_on_commit()


def relay_nudge_on_commit() -> None:
    """Schedule one nudge for when the current transaction commits (nothing if it rolls back)."""
    if not settings.MDM_PUBLISH_NUDGE:
        return
    # One nudge per transaction, however many outbox writes it makes (a merge writes several).
    if connection.in_atomic_block and any(item[1] is _send for item in connection.run_on_commit):
        return
    transaction.on_commit(_send)


def _send() -> None:
    app = relay.app  # the project's Celery app (config/celery.py), which the task is bound to

    folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("data_folder_in")
    if folder and not app.conf.task_always_eager and not os.path.isdir(str(folder)):
        # The embedded filesystem broker's folder is made by the demo's worker: with none, no one would listen
        # (a script or a benchmark on a fresh checkout). Nothing to nudge; beat publishes when a worker runs.
        return
    try:
        if app.conf.task_always_eager:
            relay.apply_async()
            return
        with app.producer_or_acquire() as producer:
            # One connection attempt: kombu's default retries (broker_connection_timeout plus its intervals) would
            # keep the committing request waiting about 6 s for a broker that is down; retry=False does not cover it.
            producer.connection.ensure_connection(max_retries=0)
            relay.apply_async(retry=False, producer=producer)
    except Exception as exc:  # the broker is down: the outbox keeps the events, beat publishes them later
        logger.warning("publish nudge not sent (%s); the scheduled relay will publish", type(exc).__name__)
