"""Reads of publishing state: per golden record, the exception queue, the backlog, a change's impact."""

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from mdm.models import (
    EXCEPTION_STATES,
    OPEN_STATES,
    Delivery,
    GoldenRecord,
    OutboxEvent,
    OutboxStatus,
    Target,
)
from mdm.publishing.mapping import apply_mapping, golden_values, latest_mappings
from mdm.publishing.subscription import subscribed


def publish_status(golden: GoldenRecord) -> list[dict[str, Any]]:
    """For every target receiving this record's type: last delivered version, when, the target's ID, last error."""
    deliveries = {d.target_id: d for d in Delivery.objects.filter(golden=golden)}
    rows = []
    for target in targets_for([golden.entity_type], active_only=False):
        delivery = deliveries.get(target.pk)
        rows.append(
            {
                "target": target.code,
                "state": delivery.state if delivery else "not queued",
                "current_version": golden.version,
                "delivered_version": delivery.delivered_version if delivery else None,
                "delivered_at": delivery.delivered_at if delivery else None,
                "target_record_id": (delivery.target_record_id or None) if delivery else None,
                "attempts": delivery.attempts if delivery else 0,
                "next_attempt_at": delivery.next_attempt_at if delivery else None,
                "error": (
                    {
                        "kind": delivery.error_kind,
                        "code": delivery.error_code,
                        "message": delivery.error_message,
                        "fields": delivery.error_fields,
                        "at": delivery.error_at,
                    }
                    if delivery and delivery.error_kind
                    else None
                ),
            }
        )
    return rows


def exception_queue(*, target: str | None = None, kind: str | None = None) -> QuerySet[Delivery]:
    """Rejected and dead-lettered deliveries, newest error first, for the steward's exception queue."""
    queryset = Delivery.objects.filter(state__in=EXCEPTION_STATES).select_related("target", "golden")
    if target:
        queryset = queryset.filter(target__code=target)
    if kind:
        queryset = queryset.filter(error_kind=kind)
    return queryset.order_by("-error_at", "-id")


def backlog() -> dict[str, Any]:
    """The outbox and delivery backlog: depth, age of the oldest waiting change, exceptions per target."""
    now = timezone.now()
    outbox = OutboxEvent.objects.filter(status=OutboxStatus.PENDING).aggregate(n=Count("id"), oldest=Min("created_at"))
    per_target = (
        Delivery.objects.values("target__code")
        .annotate(
            due=Count("id", filter=Q(state__in=OPEN_STATES)),
            oldest=Min("pending_since", filter=Q(state__in=OPEN_STATES)),
            rejected=Count("id", filter=Q(state="rejected")),
            dead=Count("id", filter=Q(state="dead")),
        )
        .order_by("target__code")
    )
    return {
        "outbox_pending": outbox["n"],
        "outbox_oldest_seconds": (now - outbox["oldest"]).total_seconds() if outbox["oldest"] else 0.0,
        "targets": [
            {
                "target": row["target__code"],
                "due": row["due"],
                "oldest_seconds": (now - row["oldest"]).total_seconds() if row["oldest"] else 0.0,
                "rejected": row["rejected"],
                "dead": row["dead"],
            }
            for row in per_target
        ],
    }


def change_impact(golden: GoldenRecord, new_values: dict[str, Any]) -> list[dict[str, Any]]:
    """Which targets would receive which changed fields if these golden values applied (a change request's diff)."""
    current = golden_values([golden])[golden.pk]
    proposed = {**current, **new_values}
    impact: list[dict[str, Any]] = []
    for target in targets_for([golden.entity_type]):
        mapping = latest_mappings(target).get(golden.entity_type)
        if mapping is None:
            continue
        before, after = apply_mapping(mapping.fields, current), apply_mapping(mapping.fields, proposed)
        changed = sorted(name for name in after if after[name] != before.get(name))
        if not subscribed(target.subscription or {}, proposed):
            impact.append({"target": target.code, "fields": [], "note": "not subscribed after the change"})
        elif changed:
            impact.append({"target": target.code, "fields": changed, "values": {n: after[n] for n in changed}})
    return impact


def targets_for(entity_types: Iterable[str], *, active_only: bool = True) -> list[Target]:
    """Targets receiving any of these entity types (JSON lists: filtered here, there are a handful of targets)."""
    wanted = set(entity_types)
    queryset = Target.objects.filter(is_active=True) if active_only else Target.objects.all()
    return [t for t in queryset.order_by("code") if wanted & set(t.entity_types or [])]
