"""Merging golden records: the store's primitive, used by the matcher's batch run and by steward merges.

`golden_records_merge` retires one golden record into another: its source records and
cross-references move to the survivor, the survivor is recomputed by survivorship (new version,
outbox event when its values change), the retired record gets a `merged` outbox event, and its
golden ID keeps resolving to the survivor. A GoldenMerge row records exactly what moved, which is
what an unmerge needs to put it back. Hierarchy edges are not moved here: a record with edges is
refused, and its merge is a steward's (governance), where the edges' effect can be reviewed.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q

from mdm.context import acting, current_correlation_id
from mdm.golden import golden_record_touch, golden_records_recompute
from mdm.history import bulk_update_tracked
from mdm.models import (
    CrossReference,
    GoldenMerge,
    GoldenRecord,
    GoldenStatus,
    HierarchyEdge,
    OutboxEvent,
    OutboxEventType,
    SourceRecord,
)


class MergeError(Exception):
    """The merge cannot be done as asked; nothing was changed."""


def golden_records_merge(
    *,
    survivor: GoldenRecord,
    merged: GoldenRecord,
    actor: AbstractBaseUser,
    reason: str,
    probability: float | None = None,
    explanation: dict | None = None,
) -> GoldenMerge:
    """Retire `merged` into `survivor` (which keeps its golden ID); returns the merge record."""
    from matching.models import BlockingKey, MatchProfile  # derived data that follows the source records

    with acting(actor, reason), transaction.atomic():
        locked = {
            golden.pk: golden
            for golden in GoldenRecord.objects.select_for_update()
            .filter(pk__in=[survivor.pk, merged.pk])
            .order_by("pk")
        }
        survivor, merged = locked.get(survivor.pk), locked.get(merged.pk)
        if survivor is None or merged is None:
            raise MergeError("both golden records must exist")
        if survivor.pk == merged.pk:
            raise MergeError("a golden record cannot be merged into itself")
        if survivor.entity_type != merged.entity_type:
            raise MergeError(f"cannot merge a {merged.entity_type} into a {survivor.entity_type}")
        for golden in (survivor, merged):
            if golden.status != GoldenStatus.ACTIVE:
                raise MergeError(f"{golden.golden_id} is retired (merged into another record)")
        if HierarchyEdge.objects.filter(Q(parent=merged) | Q(child=merged)).exists():
            raise MergeError(f"{merged.golden_id} has hierarchy edges; merge it as a steward to move them")

        sources = list(SourceRecord.objects.select_for_update().filter(golden=merged).order_by("pk"))
        xrefs = list(CrossReference.objects.filter(golden=merged).order_by("pk"))
        for record in sources:
            record.golden = survivor
        for xref in xrefs:
            xref.golden = survivor
        bulk_update_tracked(sources, SourceRecord, ["golden"])
        bulk_update_tracked(xrefs, CrossReference, ["golden"])
        BlockingKey.objects.filter(golden=merged).update(golden=survivor)
        MatchProfile.objects.filter(golden=merged).update(golden=survivor)

        merged.status, merged.merged_into = GoldenStatus.RETIRED, survivor
        merged.version += 1
        merged.save(update_fields=["status", "merged_into", "version", "updated_at"])
        OutboxEvent.objects.create(
            golden=merged,
            golden_version=merged.version,
            event_type=OutboxEventType.MERGED,
            changed_fields=["status", "merged_into"],
            correlation_id=current_correlation_id(),
        )
        changed = golden_records_recompute(entity_type=survivor.entity_type, golden_pks=[survivor.pk])
        if not changed:
            # Same values, new sources: targets still learn the survivor now stands for the merged record.
            survivor.refresh_from_db()
            golden_record_touch(golden=survivor, changed_fields=["sources"])
        return GoldenMerge.objects.create(
            survivor=survivor,
            merged=merged,
            source_record_ids=[record.pk for record in sources],
            xref_ids=[xref.pk for xref in xrefs],
            probability=probability,
            explanation=explanation or {},
            actor=actor,
            reason=reason[:255],
            correlation_id=current_correlation_id(),
        )
