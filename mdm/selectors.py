"""Reads of the golden-record store: resolution of source keys, golden records, their history and lineage."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from mdm.models import CrossReference, Customer, GoldenRecord, GoldenStatus, Product, SourceRecord


@dataclass(frozen=True)
class SourceKey:
    """A record's identity in its own system."""

    system: str
    entity_type: str
    source_id: str


@dataclass(frozen=True)
class Resolution:
    """Where a source key points: its golden ID, and the survivor's if that record was merged away."""

    key: SourceKey
    golden_id: str | None
    status: str  # "active", "merged", "not_found"
    merged_into: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "system": self.key.system,
            "entity_type": self.key.entity_type,
            "source_id": self.key.source_id,
            "status": self.status,
            "golden_id": self.golden_id,
        }
        if self.merged_into:
            data["merged_into"] = self.merged_into
        return data


def survivor_of(golden: GoldenRecord) -> GoldenRecord:
    """The active record a (possibly retired) golden record now resolves to."""
    seen = set()
    while golden.status == GoldenStatus.RETIRED and golden.merged_into_id and golden.pk not in seen:
        seen.add(golden.pk)
        golden = golden.merged_into
    return golden


def resolve_keys(keys: Sequence[SourceKey]) -> list[Resolution]:
    """Resolve source keys (or target IDs) to golden IDs in one query; answers in input order."""
    if not keys:
        return []
    groups: dict[tuple[str, str], set[str]] = {}
    for key in keys:
        groups.setdefault((key.system, key.entity_type), set()).add(key.source_id)
    condition = Q()
    for (system, entity_type), source_ids in groups.items():
        condition |= Q(system__code=system, entity_type=entity_type, external_id__in=source_ids)
    found: dict[SourceKey, GoldenRecord] = {}
    rows = (
        CrossReference.objects.filter(condition)
        .select_related("golden", "golden__merged_into", "system")
        .order_by("kind")  # "source" before "target": a system's own records win over IDs it was given
    )
    for xref in rows:
        found.setdefault(SourceKey(xref.system.code, xref.entity_type, xref.external_id), xref.golden)
    results = []
    for key in keys:
        golden = found.get(key)
        if golden is None:
            results.append(Resolution(key, None, "not_found"))
        elif golden.status == GoldenStatus.RETIRED:
            survivor = survivor_of(golden)
            results.append(Resolution(key, survivor.golden_id, "merged", merged_into=survivor.golden_id))
        else:
            results.append(Resolution(key, golden.golden_id, "active"))
    return results


def golden_customers() -> QuerySet[Customer]:
    """Customers with their identity row, for lists and details."""
    return Customer.objects.select_related("golden")


def golden_products() -> QuerySet[Product]:
    """Products with their identity row, for lists and details."""
    return Product.objects.select_related("golden")


def source_records_of(golden: GoldenRecord) -> QuerySet[SourceRecord]:
    """The source records a golden record is built from."""
    return golden.source_records.select_related("system").order_by("system__code", "source_id")


def entity_history(entity: Customer | Product) -> QuerySet[Any]:
    """History rows of a golden entity, newest first."""
    return entity.history.select_related("history_user").order_by("-history_date", "-history_id")


def entity_as_of(entity: Customer | Product, moment: datetime) -> Any | None:
    """The entity's historical row in force at a moment, or None if it did not exist yet."""
    return entity.history.filter(history_date__lte=moment).order_by("-history_date", "-history_id").first()


def history_diff(row: Any) -> list[dict[str, Any]]:
    """What one history row changed against the previous one."""
    previous = row.prev_record
    if previous is None:
        return []
    delta = row.diff_against(previous, excluded_fields=["updated_at"])
    return [{"field": change.field, "old": change.old, "new": change.new} for change in delta.changes]
