"""Reads of the golden-record store: resolution of source keys, golden records, their history and lineage."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from mdm.models import CrossReference, Customer, GoldenRecord, GoldenStatus, Product, SourceRecord, System


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
    while golden.status == GoldenStatus.RETIRED and golden.merged_into is not None and golden.pk not in seen:
        seen.add(golden.pk)
        golden = golden.merged_into
    return golden


def resolve_keys(keys: Sequence[SourceKey]) -> list[Resolution]:
    """Resolve source keys (or target IDs) to golden IDs in one query; answers in input order.

    The busiest read of the hub (integrating systems ask it on every record they touch), so it is one fixed SQL
    statement over the cross-reference index rather than an ORM query: compiling the ORM's three joins cost more
    than PostgreSQL's answer. A system's own records ("source") win over IDs it was given ("target")."""
    if not keys:
        return []
    groups: dict[tuple[str, str], set[str]] = {}
    for key in keys:
        groups.setdefault((key.system, key.entity_type), set()).add(key.source_id)
    conditions: list[str] = []
    parameters: list[Any] = []
    for (system, entity_type), source_ids in groups.items():
        if connection.vendor == "postgresql":  # one array parameter, not a placeholder per key
            conditions.append("(s.code = %s AND x.entity_type = %s AND x.external_id = ANY(%s))")
            parameters += [system, entity_type, sorted(source_ids)]
        else:
            listed = ", ".join(["%s"] * len(source_ids))
            conditions.append(f"(s.code = %s AND x.entity_type = %s AND x.external_id IN ({listed}))")
            parameters += [system, entity_type, *sorted(source_ids)]
    statement = (
        f"SELECT s.code, x.entity_type, x.external_id, g.id, g.golden_id, g.status"  # noqa: S608 (table names only)
        f" FROM {CrossReference._meta.db_table} x"
        f" JOIN {System._meta.db_table} s ON s.id = x.system_id"
        f" JOIN {GoldenRecord._meta.db_table} g ON g.id = x.golden_id"
        f" WHERE {' OR '.join(conditions)} ORDER BY x.kind"
    )
    found: dict[SourceKey, tuple[int, str, str]] = {}
    with connection.cursor() as cursor:
        cursor.execute(statement, parameters)
        for system, entity_type, external_id, pk, golden_id, status in cursor.fetchall():
            found.setdefault(SourceKey(system, entity_type, external_id), (pk, golden_id, status))
    retired = {pk for pk, _, status in found.values() if status == GoldenStatus.RETIRED}
    survivors = {}
    if retired:  # rare: merged-away records, followed to the record that now stands for them
        for golden in GoldenRecord.objects.filter(pk__in=retired).select_related("merged_into"):
            survivors[golden.pk] = survivor_of(golden).golden_id
    results = []
    for key in keys:
        hit = found.get(key)
        if hit is None:
            results.append(Resolution(key, None, "not_found"))
        elif hit[0] in survivors:
            results.append(Resolution(key, survivors[hit[0]], "merged", merged_into=survivors[hit[0]]))
        else:
            results.append(Resolution(key, hit[1], "active"))
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
