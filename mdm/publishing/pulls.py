"""Inbound pulls: changes made in a target come back through the hub's one write path, mdm/ingest.py.

Each target keeps a watermark per entity type (the newest SystemModstamp / lastmodifieddate read) and
re-reads a small overlap on every pull, so a change committed while the last pull ran is not missed;
re-reading a change twice is harmless (ingest treats an identical record as a no-op).

Our own writes come back too, and must not start a sync loop. A pulled record that carries our golden
ID is compared, field by field, with what we last delivered to that target: fields that still hold our
value are our echo and are dropped; only fields a person changed in the target reach the hub, laid over
the source record the target sent us before (so a Salesforce user's new phone number updates
Salesforce's source record, and our published legal name does not overwrite its trade name). A record
that differs in nothing is dropped whole: publish, pull, and nothing changes or republishes.
"""

import datetime
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone

from mdm.history import bulk_create_tracked
from mdm.ingest import ingest
from mdm.models import (
    CrossReference,
    Delivery,
    GoldenRecord,
    PullWatermark,
    SourceRecord,
    Target,
    XrefKind,
)
from mdm.publishing.connectors import connector_for, target_config
from mdm.publishing.connectors.base import PulledRecord
from mdm.publishing.mapping import inbound_fields, inbound_payload, latest_mappings

logger = logging.getLogger(__name__)

PULL_CHUNK = 500
EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


@dataclass
class PullSummary:
    """What one pull of one entity type did."""

    target: str
    entity_type: str
    read: int = 0
    echoes: int = 0
    ingested: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    watermark: str | None = None

    def __str__(self) -> str:
        return (
            f"{self.target}/{self.entity_type}: read {self.read}, our own echo {self.echoes}, "
            f"ingested {self.ingested} {self.outcomes}; watermark {self.watermark}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "echoes": self.echoes,
            "ingested": self.ingested,
            "outcomes": self.outcomes,
            "rejected": self.rejected[:20],
            "watermark": self.watermark,
        }


def _same(left: Any, right: Any) -> bool:
    """Equal as a target stores them: empty is empty, numbers by value, text without outer spaces."""

    def norm(value: Any) -> Any:
        if value in (None, "", [], {}):
            return None
        if isinstance(value, dict) and set(value) == {"id"}:  # a reference as sent, against its ID as read back
            return norm(str(value["id"]))
        if isinstance(value, bool):
            return value
        if value in ("T", "F"):  # NetSuite's SuiteQL booleans
            return value == "T"
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            stripped = value.strip()
            try:
                return float(stripped)  # "12.50" as read back against 12.5 as sent
            except ValueError:
                return stripped
        return value

    return norm(left) == norm(right)


def _merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overlay.items():
        merged[key] = (
            _merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
        )
    return merged


def _chunks(records: Iterator[PulledRecord], size: int) -> Iterator[list[PulledRecord]]:
    chunk: list[PulledRecord] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def target_pull(*, target: Target, entity_type: str) -> PullSummary:
    """Pull one entity type's changes from a target since its watermark, into the ingest path."""
    summary = PullSummary(target=target.code, entity_type=entity_type)
    if target.system is None:
        raise ValueError(f"target '{target.code}' has no source system to ingest pulled records as")
    mapping = latest_mappings(target).get(entity_type)
    if mapping is None or not mapping.inbound:
        raise ValueError(f"target '{target.code}' has no inbound mapping for {entity_type}")
    watermark, _ = PullWatermark.objects.get_or_create(target=target, entity_type=entity_type)
    overlap = datetime.timedelta(seconds=settings.MDM_PULL_OVERLAP_SECONDS)
    since = (watermark.watermark - overlap) if watermark.watermark else EPOCH
    connector = connector_for(target_config(target))
    newest = watermark.watermark
    actor = target.system.service_user
    for chunk in _chunks(connector.pull(entity_type, since), PULL_CHUNK):
        summary.read += len(chunk)
        payloads, born_here = _payloads(target, mapping.inbound, chunk, summary)
        if payloads:
            result = ingest(
                system=target.system,
                entity_type=entity_type,
                records=payloads,
                actor=actor,
                reason=f"pull from {target.code}",
            )
            summary.ingested += len(payloads)
            for outcome in result.outcomes:
                summary.outcomes[outcome.status] = summary.outcomes.get(outcome.status, 0) + 1
                if outcome.errors:
                    summary.rejected.append(outcome.as_dict())
            _remember_target_ids(
                target,
                entity_type,
                [
                    (target_id, o.golden_id)
                    for o in result.outcomes
                    if (target_id := born_here[o.index]) is not None and o.golden_id
                ],
            )
        newest = max([newest or EPOCH] + [record.modified_at for record in chunk])
    watermark.watermark = newest
    watermark.last_run_at = timezone.now()
    summary.watermark = newest.isoformat() if newest else None
    watermark.last_result = summary.as_dict()
    watermark.save()
    return summary


def _remember_target_ids(target: Target, entity_type: str, pairs: list[tuple[str, str]]) -> None:
    """A record born in the target is that target's record of its golden record: publishing updates it by
    its ID instead of creating a second one by golden ID."""
    if not pairs:
        return
    goldens = dict(GoldenRecord.objects.filter(golden_id__in=[g for _, g in pairs]).values_list("golden_id", "pk"))
    known = set(
        CrossReference.objects.filter(
            system=target.system, entity_type=entity_type, kind=XrefKind.TARGET, external_id__in=[t for t, _ in pairs]
        ).values_list("external_id", flat=True)
    )
    bulk_create_tracked(
        [
            CrossReference(
                golden_id=goldens[golden_id],
                system=target.system,
                entity_type=entity_type,
                external_id=target_id,
                kind=XrefKind.TARGET,
            )
            for target_id, golden_id in dict(pairs).items()
            if target_id not in known and golden_id in goldens
        ],
        CrossReference,
    )


def _payloads(
    target: Target, template: dict[str, Any], chunk: list[PulledRecord], summary: PullSummary
) -> tuple[list[dict], list[str | None]]:
    """Source-record payloads for what changed, and for each the target's ID when the record was born there."""
    ours = {r.golden_id for r in chunk if r.golden_id}
    delivered = {
        golden_id: fields
        for golden_id, fields in Delivery.objects.filter(target=target, golden__golden_id__in=ours)
        .exclude(delivered_version=None)
        .values_list("golden__golden_id", "delivered_fields")
    }
    sources: dict[str, SourceRecord] = {}
    for source in SourceRecord.objects.filter(system=target.system, golden__golden_id__in=ours).select_related(
        "golden"
    ):
        sources.setdefault(source.golden.golden_id, source)
    by_target_id = {
        s.source_id: s
        for s in SourceRecord.objects.filter(system=target.system, source_id__in=[r.target_id for r in chunk])
    }
    readable = inbound_fields(template)
    payloads: list[dict[str, Any]] = []
    born_here: list[str | None] = []
    for record in chunk:
        sent = delivered.get(record.golden_id or "")
        known: SourceRecord | None = by_target_id.get(record.target_id) or (
            sources.get(record.golden_id) if record.golden_id else None
        )
        if sent is not None:
            # Field names compared without case: SuiteQL answers in lower case what the record API took in camel case.
            sent_by_name = {name.lower(): value for name, value in sent.items()}
            changed = {
                name
                for name, value in record.fields.items()
                if name.lower() in sent_by_name and not _same(value, sent_by_name[name.lower()])
            }
            if not changed:
                summary.echoes += 1
                continue
            # Over a source record the target sent us before, only what a person changed; a first source
            # record from this target needs all it says (a contract needs a name, at least).
            fields_to_take: set[str] | None = changed | {name for name in readable if name.lower() not in sent_by_name}
            if known is None:
                fields_to_take = None
        else:
            fields_to_take = None
        payload = inbound_payload(template, record.fields, fields_to_take)
        if known is not None:
            body = {k: v for k, v in known.payload.items() if k not in ("source_id", "updated_at")}
            payload = _merge(body, payload)
            source_id = known.source_id
        else:
            source_id = record.target_id
        payloads.append({**payload, "source_id": source_id, "updated_at": record.modified_at.isoformat()})
        born_here.append(record.target_id if not record.golden_id and known is None else None)
    return payloads, born_here


def target_pulls(target: Target) -> Iterator[tuple[str, "PullSummary | Exception"]]:
    """Pull each entity type a target receives; one type's trouble is reported and does not stop the others."""
    for entity_type in target.entity_types or []:
        try:
            yield entity_type, target_pull(target=target, entity_type=entity_type)
        except Exception as exc:
            logger.exception("pull failed", extra={"target": target.code, "entity_type": entity_type})
            yield entity_type, exc


def pull_all() -> dict[str, dict[str, Any]]:
    """Pull every entity type of every target with pulls on (the beat task's body)."""
    results: dict[str, dict[str, Any]] = {}
    for target in Target.objects.filter(is_active=True, pull_enabled=True).select_related("system"):
        for entity_type, outcome in target_pulls(target):
            key = f"{target.code}/{entity_type}"
            if isinstance(outcome, Exception):
                results[key] = {"error": f"{type(outcome).__name__}: {outcome}"}
            else:
                results[key] = outcome.as_dict()
    return results
