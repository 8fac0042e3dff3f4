"""What people do with publishing: configure targets and mappings, test a connection, replay, pause."""

import logging
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from mdm.models import EXCEPTION_STATES, Delivery, DeliveryState, FieldMapping, GoldenRecord, System, Target
from mdm.publishing.connectors import connector_for, target_config
from mdm.publishing.defaults import MAPPINGS_BY_KIND, SIMULATOR_CREDENTIALS, SIMULATOR_TARGETS
from mdm.publishing.relay import deliveries_requeue, target_pause, target_resume

logger = logging.getLogger(__name__)

__all__ = ["target_pause", "target_resume"]


class PublishingError(Exception):
    """A publishing action refused, with the field at fault (for 400 answers with field paths)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def simulator_target_create(
    *,
    kind: str,
    base_url: str,
    ca_bundle: str,
    entity_types: Iterable[str],
    note: str = "starting mapping",
    **fields: Any,
) -> Target:
    """A target on a loopback simulator (`manage.py simulators`): its kind's settings, credentials and starting
    field mappings for these entity types; `fields` set or override any other Target field (code, batch size)."""
    entity_types = list(entity_types)
    settings = {**SIMULATOR_TARGETS[kind], **fields}
    settings.setdefault("code", kind)
    settings.setdefault("system", System.objects.filter(code=kind).first())
    target = Target(kind=kind, base_url=base_url, ca_bundle=ca_bundle, entity_types=entity_types, **settings)
    target.credentials = SIMULATOR_CREDENTIALS[kind]
    target.full_clean()
    target.save()
    for entity_type in entity_types:
        field_mapping_publish(
            target=target, entity_type=entity_type, actor=None, note=note, **MAPPINGS_BY_KIND[kind][entity_type]
        )
    return target


def target_test_connection(*, target: Target) -> list[str]:
    """What is wrong with a target's configuration, in words a person can act on; empty when it works."""
    try:
        connector = connector_for(target_config(target))
        return connector.test_connection()
    except Exception as exc:  # a broken configuration must come back as a message, never a 500
        return [f"{type(exc).__name__}: {exc}"]


def field_mapping_publish(
    *,
    target: Target,
    entity_type: str,
    fields: dict[str, Any],
    related: dict[str, Any] | None = None,
    inbound: dict[str, Any] | None = None,
    actor: User | None,
    note: str = "",
) -> FieldMapping:
    """A new version of a target's mapping; its records are queued again (unchanged payloads cost no call)."""
    with transaction.atomic():
        Target.objects.select_for_update().filter(pk=target.pk).first()  # one new version at a time per target
        latest = FieldMapping.objects.filter(target=target, entity_type=entity_type).aggregate(v=Max("version"))["v"]
        mapping = FieldMapping(
            target=target,
            entity_type=entity_type,
            version=(latest or 0) + 1,
            fields=fields,
            related=related or {},
            inbound=inbound or {},
            note=note[:200],
            created_by=actor if actor is not None and actor.is_authenticated else None,
        )
        mapping.full_clean()
        mapping.save()
        # Rejected and dead records get another chance (a payload the target rejected before is not sent
        # again unless the new mapping changes it); delivered ones are compared, and only changes cost calls.
        states = [DeliveryState.DELIVERED, *EXCEPTION_STATES] if latest is not None else list(EXCEPTION_STATES)
        goldens = GoldenRecord.objects.filter(entity_type=entity_type).values("pk")
        now = timezone.now()
        Delivery.objects.filter(target=target, golden__in=goldens, state__in=states).update(
            state=DeliveryState.PENDING, attempts=0, next_attempt_at=now, pending_since=now
        )
    return mapping


def deliveries_replay(
    *,
    actor: User | None,
    target: Target | None = None,
    golden_ids: Iterable[str] | None = None,
    states: Iterable[str] = EXCEPTION_STATES,
    force: bool = False,
) -> int:
    """Send rejected and dead-lettered records again (their current version). Replaying twice does no more.

    `force` also resends delivered records even when the target already has their payload.
    """
    states = list(states)
    unknown = sorted(set(states) - set(DeliveryState.values))
    if unknown:
        raise PublishingError("states", f"unknown states: {', '.join(unknown)}")
    if force:
        states = sorted(set(states) | {DeliveryState.DELIVERED})
    golden_pks: list[int] | None = None
    if golden_ids is not None:
        golden_ids = list(golden_ids)
        found = dict(GoldenRecord.objects.filter(golden_id__in=golden_ids).values_list("golden_id", "pk"))
        missing = [g for g in golden_ids if g not in found]
        if missing:
            raise PublishingError("golden_ids", f"unknown golden IDs: {', '.join(missing[:10])}")
        golden_pks = list(found.values())
    targets = [target] if target is not None else list(Target.objects.filter(is_active=True))
    total = 0
    with transaction.atomic():
        for each in targets:
            queryset = Delivery.objects.filter(target=each, state__in=states)
            if golden_pks is not None:
                queryset = queryset.filter(golden_id__in=golden_pks)
            # A replay is a deliberate retry: forget the rejected payload and, when forced, the delivered one.
            queryset.update(attempted_hash="", **({"delivered_hash": ""} if force else {}))
            total += deliveries_requeue(target=each, golden_pks=golden_pks, states=states)
    logger.info(
        "replay",
        extra={
            "actor": getattr(actor, "username", "system"),
            "target": target.code if target else "*",
            "records": total,
            "states": states,
        },
    )
    return total
