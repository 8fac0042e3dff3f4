"""Merging golden records: the store's primitive, used by the matcher's batch run and by steward merges.

`golden_records_merge` retires one golden record into another: its source records and
cross-references move to the survivor, the survivor is recomputed by survivorship (new version,
outbox event when its values change), the retired record gets a `merged` outbox event, and its
golden ID keeps resolving to the survivor. A GoldenMerge row records exactly what moved, which is
what an unmerge needs to put it back. Hierarchy edges are not moved here: a record with edges is
refused, and its merge is a steward's (governance), where the edges' effect can be reviewed.

`golden_records_merge_many` does the same for many pairs in one transaction with a fixed number of
statements (the batch matcher merges hundreds of thousands of records after a large first load).
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from mdm.context import acting, current_correlation_id
from mdm.db import reassign
from mdm.golden import golden_records_recompute, golden_records_touch
from mdm.history import bulk_create_tracked, bulk_update_tracked
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


@dataclass(frozen=True)
class MergeRequest:
    """Retire `merged_pk` into `survivor_pk`, for this reason (kept on the GoldenMerge row)."""

    survivor_pk: int
    merged_pk: int
    reason: str
    probability: float | None = None
    explanation: dict = field(default_factory=dict)


@dataclass
class MergeOutcome:
    """What a merge_many call did: the merges made, and each refused request with why."""

    merges: list[GoldenMerge] = field(default_factory=list)
    refused: list[tuple[MergeRequest, str]] = field(default_factory=list)


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
    request = MergeRequest(survivor.pk, merged.pk, reason, probability, explanation or {})
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


def golden_records_merge_many(requests: Sequence[MergeRequest], *, actor: AbstractBaseUser) -> MergeOutcome:
    """Apply these merges, in order, in the caller's transaction (or one of its own); refused requests are
    returned with the reason and change nothing. A record retired by an earlier request cannot be merged
    into, and a record that received others cannot itself be merged away in the same call."""
    from matching.models import BlockingKey, MatchProfile  # derived data that follows the source records

    outcome = MergeOutcome()
    if not requests:
        return outcome
    with transaction.atomic():
        involved = sorted({pk for request in requests for pk in (request.survivor_pk, request.merged_pk)})
        locked = GoldenRecord.objects.select_for_update().in_bulk(involved)
        with_edges = set(
            HierarchyEdge.objects.filter(Q(parent_id__in=involved) | Q(child_id__in=involved)).values_list(
                "parent_id", "child_id"
            )
        )
        has_edges = {pk for edge in with_edges for pk in edge}
        retired: set[int] = set()
        grown: set[int] = set()
        accepted: list[MergeRequest] = []
        for request in requests:
            why = _refusal(request, locked, retired, grown)
            if not why and request.merged_pk in has_edges:
                why = f"{locked[request.merged_pk].golden_id} has hierarchy edges; merge it as a steward to move them"
            if why:
                outcome.refused.append((request, why))
                continue
            accepted.append(request)
            retired.add(request.merged_pk)
            grown.add(request.survivor_pk)
        if not accepted:
            return outcome
        into = {request.merged_pk: request.survivor_pk for request in accepted}
        merged_pks = list(into)

        sources = list(SourceRecord.objects.select_for_update().filter(golden_id__in=merged_pks).order_by("pk"))
        xrefs = list(CrossReference.objects.filter(golden_id__in=merged_pks).order_by("pk"))
        moved_sources: dict[int, list[int]] = defaultdict(list)
        moved_xrefs: dict[int, list[int]] = defaultdict(list)
        for record in sources:
            moved_sources[record.golden_id].append(record.pk)
            record.golden_id = into[record.golden_id]
        for xref in xrefs:
            moved_xrefs[xref.golden_id].append(xref.pk)
            xref.golden_id = into[xref.golden_id]
        bulk_update_tracked(sources, SourceRecord, ["golden"])
        bulk_update_tracked(xrefs, CrossReference, ["golden"])
        reassign(BlockingKey, "golden", into)
        reassign(MatchProfile, "golden", into)

        _carry_candidates(into, actor)

        retiring = [locked[pk] for pk in merged_pks]
        now = timezone.now()
        for golden in retiring:
            golden.status, golden.merged_into_id = GoldenStatus.RETIRED, into[golden.pk]
            golden.version, golden.updated_at = golden.version + 1, now
        bulk_update_tracked(retiring, GoldenRecord, ["status", "merged_into", "version", "updated_at"])
        correlation_id = current_correlation_id()
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
        survivors = sorted({request.survivor_pk for request in accepted})
        entity_type = locked[survivors[0]].entity_type
        changed = set(golden_records_recompute(entity_type=entity_type, golden_pks=survivors))
        # Same values, new sources: targets still learn that the survivor now stands for the merged record.
        golden_records_touch([locked[pk] for pk in survivors if pk not in changed], ["sources"])
        outcome.merges = GoldenMerge.objects.bulk_create(
            [
                GoldenMerge(
                    survivor_id=request.survivor_pk,
                    merged_id=request.merged_pk,
                    source_record_ids=moved_sources.get(request.merged_pk, []),
                    xref_ids=moved_xrefs.get(request.merged_pk, []),
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


def _carry_candidates(into: dict[int, int], actor: AbstractBaseUser) -> None:
    """Review pairs follow a merge: an open pair the merge settles is closed as merged, an open pair with a third
    record is superseded (the batch run proposes the survivor instead), and a pair a steward rejected holds for
    the survivor too (if the merged record is not that record, neither is the cluster that now contains it)."""
    from matching.models import CandidateStatus, MatchCandidate

    rows = MatchCandidate.objects.filter(
        Q(golden_id__in=list(into)) | Q(candidate_id__in=list(into)),
        status__in=[CandidateStatus.OPEN, CandidateStatus.REJECTED],
    )
    now = timezone.now()
    closed: list[MatchCandidate] = []
    carried: dict[frozenset[int], MatchCandidate] = {}
    for row in rows:
        left, right = into.get(row.golden_id, row.golden_id), into.get(row.candidate_id, row.candidate_id)
        if row.status == CandidateStatus.OPEN:
            row.status = CandidateStatus.MERGED if left == right else CandidateStatus.SUPERSEDED
            row.decided_at, row.decided_by = now, actor
            closed.append(row)
        elif left != right:
            carried.setdefault(
                frozenset((left, right)),
                MatchCandidate(
                    golden_id=left,
                    candidate_id=right,
                    source_record_id=row.source_record_id,
                    entity_type=row.entity_type,
                    probability=row.probability,
                    match_weight=row.match_weight,
                    model_version=row.model_version,
                    explanation=row.explanation,
                    status=CandidateStatus.REJECTED,
                    decided_at=row.decided_at,
                    decided_by_id=row.decided_by_id,
                ),
            )
    bulk_update_tracked(closed, MatchCandidate, ["status", "decided_at", "decided_by"])
    existing = set(
        MatchCandidate.objects.filter(
            golden_id__in={pk for pair in carried for pk in pair}, status=CandidateStatus.REJECTED
        ).values_list("golden_id", "candidate_id")
    )
    bulk_create_tracked(
        [row for pair, row in carried.items() if (row.golden_id, row.candidate_id) not in existing], MatchCandidate
    )
