"""Golden-record maintenance: recompute by survivorship, bump versions, record lineage, write the outbox.

Every path that changes what a golden record says (ingest, rule changes, later merges and steward
overrides) ends here, so versioning and outbox events can never be forgotten by one of them.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import models
from django.utils import timezone

from mdm.canonical import customer_columns, product_columns, quality_flags
from mdm.context import current_correlation_id
from mdm.history import bulk_create_tracked, bulk_update_tracked
from mdm.models import (
    Customer,
    GoldenOverride,
    GoldenRecord,
    OutboxEvent,
    OutboxEventType,
    OwnershipRule,
    Product,
    SourceRecord,
)
from mdm.signals import outbox_written
from mdm.survivorship import RuleSpec, SourceView, survive

ENTITY_MODELS: dict[str, type[Customer] | type[Product]] = {"customer": Customer, "product": Product}
_PROJECT = {"customer": customer_columns, "product": product_columns}


def load_rules(entity_type: str) -> dict[str, RuleSpec]:
    """The ownership rules of an entity type, by attribute."""
    return {
        rule.attribute: RuleSpec(tuple(rule.systems), rule.fallback)
        for rule in OwnershipRule.objects.filter(entity_type=entity_type)
    }


def source_views(golden_pks: Iterable[int]) -> dict[int, list[SourceView]]:
    """The standardised source records of these golden records, as survivorship sees them."""
    views: dict[int, list[SourceView]] = defaultdict(list)
    rows = SourceRecord.objects.filter(golden_id__in=list(golden_pks)).values_list(
        "id", "golden_id", "system__code", "source_id", "standardised", "source_updated_at", "created_at"
    )
    for pk, golden_pk, system, source_id, values, updated_at, created_at in rows.iterator(chunk_size=2000):
        views[golden_pk].append(SourceView(pk, system, source_id, values, updated_at or created_at))
    return views


def golden_records_recompute(
    *,
    entity_type: str,
    golden_pks: Iterable[int],
    rules: dict[str, RuleSpec] | None = None,
    new_golden_sources: Mapping[int, list[SourceView]] | None = None,
) -> list[int]:
    """Recompute the golden values of these records from their sources; returns the pks whose values changed.

    Changed records get a new version and an outbox event in the caller's transaction; a change of
    lineage alone (the same value now supplied by another source) is recorded without an event.
    `new_golden_sources` gives the complete sources of golden records created by the caller just now,
    which then need not be read back from the database.
    """
    pks = sorted(set(golden_pks))
    if not pks:
        return []
    rules = load_rules(entity_type) if rules is None else rules
    model = ENTITY_MODELS[entity_type]
    project = _PROJECT[entity_type]
    known = new_golden_sources or {}
    sources = {**source_views([pk for pk in pks if pk not in known]), **known}
    rows = model.objects.in_bulk([pk for pk in pks if pk not in known])
    goldens = GoldenRecord.objects.in_bulk(pks)
    now = timezone.now()
    to_create: list[models.Model] = []
    to_update: list[models.Model] = []
    changed_pks: list[int] = []
    changed_fields_by_pk: dict[int, list[str]] = {}
    update_fields: set[str] = {"lineage", "quality_flags", "updated_at"}
    overrides = live_overrides(pks)
    for pk in pks:
        if not sources.get(pk):
            continue  # a golden record without sources keeps its last values (it is retired or being merged)
        result = survive(entity_type, sources[pk], rules, overrides.get(pk))
        values = result.values()
        columns = project(values)
        lineage = result.lineage()
        flags = quality_flags(entity_type, values)
        row = rows.get(pk)
        if row is None:
            to_create.append(model(golden_id=pk, lineage=lineage, quality_flags=flags, **columns))
            changed_fields_by_pk[pk] = sorted(columns)
            continue
        changed = sorted(name for name, value in columns.items() if getattr(row, name) != value)
        if not changed and row.lineage == lineage and row.quality_flags == flags:
            continue
        for name in changed:
            setattr(row, name, columns[name])
        update_fields.update(changed)
        row.lineage, row.quality_flags, row.updated_at = lineage, flags, now
        to_update.append(row)
        if changed:
            changed_pks.append(pk)
            changed_fields_by_pk[pk] = changed
    bulk_create_tracked(to_create, model)
    bulk_update_tracked(to_update, model, sorted(update_fields))
    bumped = []
    for pk in changed_pks:
        golden = goldens[pk]
        golden.version += 1
        golden.updated_at = now
        bumped.append(golden)
    bulk_update_tracked(bumped, GoldenRecord, ["version", "updated_at"])
    _write_outbox(goldens, changed_fields_by_pk)
    return sorted(changed_fields_by_pk)


def golden_record_touch(*, golden: GoldenRecord, changed_fields: list[str]) -> None:
    """Record a change that lives outside the entity row (e.g. a new parent): new version, outbox event."""
    golden.version += 1
    golden.save(update_fields=["version", "updated_at"])
    _write_outbox({golden.pk: golden}, {golden.pk: changed_fields})


def golden_records_touch(goldens: Sequence[GoldenRecord], changed_fields: list[str]) -> None:
    """golden_record_touch for many records at once: a new version and an outbox event each, in bulk."""
    if not goldens:
        return
    now = timezone.now()
    for golden in goldens:
        golden.version += 1
        golden.updated_at = now
    bulk_update_tracked(list(goldens), GoldenRecord, ["version", "updated_at"])
    _write_outbox({golden.pk: golden for golden in goldens}, {golden.pk: changed_fields for golden in goldens})


def _write_outbox(goldens: dict[int, GoldenRecord], changed: dict[int, list[str]]) -> None:
    correlation_id = current_correlation_id()
    events: list[Any] = [
        OutboxEvent(
            golden_id=pk,
            golden_version=goldens[pk].version,
            event_type=OutboxEventType.UPSERTED,
            changed_fields=fields,
            correlation_id=correlation_id,
        )
        for pk, fields in changed.items()
    ]
    OutboxEvent.objects.bulk_create(events, batch_size=1000)
    if events:
        outbox_written.send(sender=OutboxEvent)


def golden_values_preview(entity_type: str, golden_pks: Iterable[int]) -> tuple[dict[str, Any], dict[str, Any]]:
    """What one golden record made of these records' sources would say: (values, lineage), with the steward
    overrides of the oldest (the survivor of a merge). Writes nothing: a steward sees a merge's result first."""
    pks = sorted(golden_pks)
    sources = [view for views in source_views(pks).values() for view in views]
    result = survive(
        entity_type, sources, load_rules(entity_type), live_overrides(pks[:1]).get(pks[0]) if pks else None
    )
    return result.values(), result.lineage()


def live_overrides(golden_pks: Iterable[int]) -> dict[int, dict[str, dict[str, Any]]]:
    """The steward overrides in force, by golden record and attribute, as survivorship takes them."""
    found: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    rows = GoldenOverride.objects.filter(golden_id__in=list(golden_pks), cleared_at__isnull=True).values_list(
        "pk", "golden_id", "attribute", "value", "set_by__username", "created_at"
    )
    for pk, golden_pk, attribute, value, username, created_at in rows:
        found[golden_pk][attribute] = {"value": value, "override": pk, "by": username, "at": created_at.isoformat()}
    return found
