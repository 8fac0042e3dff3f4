"""Merging golden records: the store's primitive, used by the matcher's batch run and by steward merges.

`golden_records_merge` retires one golden record into another: its source records and
cross-references move to the survivor, the survivor is recomputed by survivorship (new version,
outbox event when its values change), the retired record gets a `merged` outbox event, and its
golden ID keeps resolving to the survivor. A GoldenMerge row records exactly what moved, which is
what an unmerge needs to put it back. Hierarchy edges move only when the caller asks (a steward's
merge, the batch matcher's), each checked like a new edge; a merge whose edges cannot move (the
survivor already has another parent, a cycle) is refused with the reason and nothing of it is written.

`golden_records_merge_many` does the same for many pairs in one transaction with a fixed number of
statements (the batch matcher merges hundreds of thousands of records after a large first load).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from mdm.context import acting, current_correlation_id
from mdm.golden import golden_record_touch, golden_records_recompute, golden_records_touch
from mdm.hierarchies import check_edge
from mdm.history import bulk_update_tracked, move_tracked
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
from mdm.signals import golden_records_merged, merge_undone, outbox_written


class MergeError(Exception):
    """The merge cannot be done as asked; nothing was changed."""


@dataclass(frozen=True)
class MergeRequest:
    """Retire `merged_pk` into `survivor_pk`, for this reason (kept on the GoldenMerge row)."""

    survivor_pk: int
    merged_pk: int
    reason: str
    probability: float | None = None
    explanation: dict = field(default_factory=dict)
    move_edges: bool = (
        False  # re-point the merged record's hierarchy edges to the survivor (else refuse one with edges)
    )


@dataclass
class MergeOutcome:
    """What a merge_many call did: the merges made, and each refused request with why."""

    merges: list[GoldenMerge] = field(default_factory=list)
    refused: list[tuple[MergeRequest, str]] = field(default_factory=list)


def golden_records_merge(
    *,
    survivor: GoldenRecord,
    merged: GoldenRecord,
    actor: User,
    reason: str,
    probability: float | None = None,
    explanation: dict | None = None,
    move_edges: bool = False,
) -> GoldenMerge:
    """Retire `merged` into `survivor` (which keeps its golden ID); returns the merge record.

    With `move_edges` the merged record's hierarchy edges are re-pointed to the survivor, each checked like
    a new edge (one parent per hierarchy, no cycle); otherwise a record with edges is refused."""
    request = MergeRequest(survivor.pk, merged.pk, reason, probability, explanation or {}, move_edges)
    with acting(actor, reason), transaction.atomic():
        outcome = golden_records_merge_many([request], actor=actor)
        if outcome.refused:
            raise MergeError(outcome.refused[0][1])
    return outcome.merges[0]


def _refusal(request: MergeRequest, locked: dict[int, GoldenRecord], retired: set[int], grown: set[int]) -> str:
    survivor, merged = locked.get(request.survivor_pk), locked.get(request.merged_pk)
    if survivor is None or merged is None:
        return "both golden records must exist"
    if survivor.pk == merged.pk:
        return "a golden record cannot be merged into itself"
    if survivor.entity_type != merged.entity_type:
        return f"cannot merge a {merged.entity_type} into a {survivor.entity_type}"
    for golden in (survivor, merged):
        if golden.status != GoldenStatus.ACTIVE or golden.pk in retired:
            return f"{golden.golden_id} is retired (merged into another record)"
    if merged.pk in grown:
        return f"{merged.golden_id} received other records in this run; merge it on its own"
    return ""


def golden_records_merge_many(requests: Sequence[MergeRequest], *, actor: User) -> MergeOutcome:
    """Apply these merges, in order, in the caller's transaction (or one of its own); refused requests are
    returned with the reason and change nothing. A record retired by an earlier request cannot be merged
    into, and a record that received others cannot itself be merged away in the same call."""
    outcome = MergeOutcome()
    if not requests:
        return outcome
    with transaction.atomic():
        locked = _lock_goldens(requests)
        accepted, moved_edges = _accept(requests, locked, outcome)
        if not accepted:
            return outcome
        into = {request.merged_pk: request.survivor_pk for request in accepted}
        moved_sources = move_tracked(SourceRecord, "golden", into)
        moved_xrefs = move_tracked(CrossReference, "golden", into)
        # Matching's derived data (match profiles, blocking keys, review candidates) follows, in this transaction.
        golden_records_merged.send(sender=GoldenRecord, into=into, actor=actor)
        correlation_id = current_correlation_id()
        _retire([locked[pk] for pk in into], into, correlation_id)
        _recompute_survivors(sorted({request.survivor_pk for request in accepted}), locked)
        outcome.merges = GoldenMerge.objects.bulk_create(
            [
                GoldenMerge(
                    survivor_id=request.survivor_pk,
                    merged_id=request.merged_pk,
                    source_record_ids=moved_sources.get(request.merged_pk, []),
                    xref_ids=moved_xrefs.get(request.merged_pk, []),
                    moved_edges=moved_edges.get(request.merged_pk, []),
                    probability=request.probability,
                    explanation=request.explanation,
                    actor=actor,
                    reason=request.reason[:255],
                    correlation_id=correlation_id,
                )
                for request in accepted
            ],
            batch_size=1000,
        )
    return outcome


def _lock_goldens(requests: Sequence[MergeRequest]) -> dict[int, GoldenRecord]:
    """Every golden record the requests name, locked in primary-key order (so two merges never wait on each other
    in a circle)."""
    involved = sorted({pk for request in requests for pk in (request.survivor_pk, request.merged_pk)})
    return {
        golden.pk: golden for golden in GoldenRecord.objects.select_for_update().filter(pk__in=involved).order_by("pk")
    }


def _accept(
    requests: Sequence[MergeRequest], locked: dict[int, GoldenRecord], outcome: MergeOutcome
) -> tuple[list[MergeRequest], dict[int, list[dict[str, Any]]]]:
    """The requests that can be made, in order, with the hierarchy edges each moves to its survivor (moved here, in a
    savepoint each); the others go to `outcome.refused` with the reason."""
    involved = list(locked)
    with_edges = set(
        HierarchyEdge.objects.filter(Q(parent_id__in=involved) | Q(child_id__in=involved)).values_list(
            "parent_id", "child_id"
        )
    )
    has_edges = {pk for edge in with_edges for pk in edge}
    retired: set[int] = set()
    grown: set[int] = set()
    accepted: list[MergeRequest] = []
    moved_edges: dict[int, list[dict[str, Any]]] = {}
    for request in requests:
        why = _refusal(request, locked, retired, grown)
        if not why and request.merged_pk in has_edges:
            why = _edges_moved(request, moved_edges, locked)
        if why:
            outcome.refused.append((request, why))
            continue
        accepted.append(request)
        retired.add(request.merged_pk)
        grown.add(request.survivor_pk)
    return accepted, moved_edges


def _retire(retiring: list[GoldenRecord], into: dict[int, int], correlation_id: str) -> None:
    """The merged records retire into their survivors (a new version each), and targets are told."""
    now = timezone.now()
    for golden in retiring:
        golden.status, golden.merged_into_id = GoldenStatus.RETIRED, into[golden.pk]
        golden.version, golden.updated_at = golden.version + 1, now
    bulk_update_tracked(retiring, GoldenRecord, ["status", "merged_into", "version", "updated_at"])
    OutboxEvent.objects.bulk_create(
        [
            OutboxEvent(
                golden=golden,
                golden_version=golden.version,
                event_type=OutboxEventType.MERGED,
                changed_fields=["status", "merged_into"],
                correlation_id=correlation_id,
            )
            for golden in retiring
        ],
        batch_size=1000,
    )
    outbox_written.send(sender=OutboxEvent)


def _recompute_survivors(survivors: list[int], locked: dict[int, GoldenRecord]) -> None:
    """Survivorship over each survivor's new sources; one whose values did not change is still announced, so
    targets learn that it now stands for the merged record."""
    entity_type = locked[survivors[0]].entity_type
    changed = set(golden_records_recompute(entity_type=entity_type, golden_pks=survivors))
    golden_records_touch([locked[pk] for pk in survivors if pk not in changed], ["sources"])


def _edges_moved(
    request: MergeRequest, moved_edges: dict[int, list[dict[str, Any]]], locked: dict[int, GoldenRecord]
) -> str:
    """Move the merged record's hierarchy edges to the survivor (in a savepoint, before anything else of this
    merge is written) and note them for undo; "" when done, else why the merge is refused (nothing moved)."""
    if not request.move_edges:
        return f"{locked[request.merged_pk].golden_id} has hierarchy edges; merge it as a steward to move them"
    try:
        with transaction.atomic():
            moved_edges[request.merged_pk] = _move_edges(request.merged_pk, request.survivor_pk)
    except MergeError as exc:
        return str(exc)
    return ""


def _move_edges(merged_pk: int, survivor_pk: int) -> list[dict[str, Any]]:
    """Re-point the merged record's hierarchy edges to the survivor, each checked as a new edge would be."""
    moved: list[dict[str, Any]] = []
    # Lock the edges only: the golden records at their other ends are not locked here (the merge locks golden
    # records in key order, and a join-lock on them would step outside that order).
    edges = HierarchyEdge.objects.select_for_update(of=("self",)).filter(Q(parent_id=merged_pk) | Q(child_id=merged_pk))
    for edge in edges.select_related("hierarchy", "parent", "child").order_by("pk"):
        end = "parent" if edge.parent_id == merged_pk else "child"
        other = edge.child if end == "parent" else edge.parent
        if other.pk == survivor_pk:
            raise MergeError(
                f"{edge.parent.golden_id} is the parent of {edge.child.golden_id} in {edge.hierarchy.name}; "
                "end that edge before merging the two"
            )
        setattr(edge, f"{end}_id", survivor_pk)
        errors = check_edge(edge)
        if errors:
            raise MergeError(f"moving the {edge.hierarchy.name} edge to the survivor: " + "; ".join(errors.values()))
        _save_moved_edge(edge, end)
        moved.append({"edge": edge.pk, "end": end})
    return moved


def _save_moved_edge(edge: HierarchyEdge, end: str) -> None:
    """Save an edge whose `end` now points at another record; when its parent changed, the child's targets learn
    of it (a moved child end needs no event of its own: the records at both ends are recomputed or retired)."""
    edge.save()
    if end == "parent":
        golden_record_touch(
            golden=GoldenRecord.objects.get(pk=edge.child_id), changed_fields=[f"parent:{edge.hierarchy.code}"]
        )


def golden_merge_undo(*, merge: GoldenMerge, actor: User, reason: str) -> GoldenRecord:
    """Undo a merge: the retired record comes back to life with exactly the source records, cross-references
    and hierarchy edges that moved, both records are recomputed, and targets get correcting events.

    Refused (nothing changes) when the merge was already undone, or when the survivor has since been merged
    into another record (undo that merge first). Returns the restored golden record."""
    with acting(actor, reason), transaction.atomic():
        merge = GoldenMerge.objects.select_for_update().get(pk=merge.pk)
        if merge.undone_at is not None:
            raise MergeError(f"this merge was already undone on {merge.undone_at:%Y-%m-%d %H:%M}")
        pair = GoldenRecord.objects.select_for_update().filter(pk__in=[merge.survivor_id, merge.merged_id])
        locked = {golden.pk: golden for golden in pair.order_by("pk")}
        survivor, merged = locked[merge.survivor_id], locked[merge.merged_id]
        if survivor.status != GoldenStatus.ACTIVE:
            into = survivor.merged_into.golden_id if survivor.merged_into else "another record"
            raise MergeError(f"{survivor.golden_id} has since been merged into {into}; undo that merge first")
        if merged.status != GoldenStatus.RETIRED or merged.merged_into_id != survivor.pk:
            raise MergeError(f"{merged.golden_id} is no longer retired into {survivor.golden_id}")
        sources = list(SourceRecord.objects.select_for_update().filter(pk__in=merge.source_record_ids, golden=survivor))
        xrefs = list(CrossReference.objects.filter(pk__in=merge.xref_ids, golden=survivor))
        for source in sources:
            source.golden_id = merged.pk
        for xref in xrefs:
            xref.golden_id = merged.pk
        bulk_update_tracked(sources, SourceRecord, ["golden"])
        bulk_update_tracked(xrefs, CrossReference, ["golden"])
        merge_undone.send(sender=GoldenRecord, source_pks=[record.pk for record in sources], golden_pk=merged.pk)
        edges = HierarchyEdge.objects.select_for_update(of=("self",)).select_related("hierarchy")
        moved = edges.in_bulk([move["edge"] for move in merge.moved_edges])
        for move in merge.moved_edges:
            edge = moved.get(move["edge"])
            if edge is not None and getattr(edge, f"{move['end']}_id") == survivor.pk:
                setattr(edge, f"{move['end']}_id", merged.pk)
                _save_moved_edge(edge, move["end"])
        merged.status, merged.merged_into = GoldenStatus.ACTIVE, None
        merged.version += 1
        merged.save(update_fields=["status", "merged_into", "version", "updated_at"])
        OutboxEvent.objects.create(
            golden=merged,
            golden_version=merged.version,
            event_type=OutboxEventType.UNMERGED,
            changed_fields=["status", "merged_into"],
            correlation_id=current_correlation_id(),
        )
        outbox_written.send(sender=OutboxEvent)
        changed = set(golden_records_recompute(entity_type=survivor.entity_type, golden_pks=[survivor.pk, merged.pk]))
        golden_records_touch([golden for golden in (survivor,) if golden.pk not in changed], ["sources"])
        merge.undone_at, merge.undone_by, merge.undo_reason = timezone.now(), actor, reason[:255]
        merge.save(update_fields=["undone_at", "undone_by", "undo_reason"])
        merged.refresh_from_db()
        return merged
