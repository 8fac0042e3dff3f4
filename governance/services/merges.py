"""Steward merges without a candidate, their approval policy, and unmerge."""

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from governance.models import (
    ChangeKind,
    ChangeRequest,
    ChangeStatus,
    MergeApproval,
)
from governance.services.approvals import approval_policy, change_file, change_kind_register, impact_of
from governance.services.base import StewardError, require_domain, require_reason
from matching.models import CandidateStatus, MatchCandidate
from mdm.context import acting
from mdm.golden_ids import normalise_golden_id
from mdm.history import bulk_create_tracked
from mdm.merges import MergeError, golden_merge_undo, golden_records_merge
from mdm.models import (
    GoldenMerge,
    GoldenRecord,
    GoldenStatus,
    SourceRecord,
    SystemKind,
)


def merge_apply(survivor: GoldenRecord, merged: GoldenRecord, actor: User, reason: str, **kwargs: Any) -> GoldenMerge:
    try:
        return golden_records_merge(
            survivor=survivor, merged=merged, actor=actor, reason=reason, move_edges=True, **kwargs
        )
    except MergeError as exc:
        raise StewardError(str(exc), "conflict") from exc


def merge_needs_approval(survivor: GoldenRecord, merged: GoldenRecord) -> bool:
    """The approval policy for steward merges: never, always, or when both records have ERP sources."""

    mode = approval_policy(survivor.entity_type).manual_merges
    if mode != MergeApproval.BOTH_ERP:
        return mode == MergeApproval.ALWAYS
    with_erp = SourceRecord.objects.filter(golden_id__in=[survivor.pk, merged.pk], system__kind=SystemKind.ERP)
    return len(set(with_erp.values_list("golden_id", flat=True))) == 2


def merge_request_file(survivor: GoldenRecord, merged: GoldenRecord, actor: User, reason: str) -> Any:
    pending = ChangeRequest.objects.filter(
        kind=ChangeKind.MERGE, golden=merged, survivor=survivor, status=ChangeStatus.PENDING
    ).first()
    if pending is not None:
        raise StewardError(f"this merge already waits for approval (change request {pending.pk})", "conflict")
    return change_file(
        actor,
        reason,
        True,
        kind=ChangeKind.MERGE,
        entity_type=merged.entity_type,
        golden=merged,
        survivor=survivor,
        base_version=merged.version,
        survivor_version=survivor.version,
        changes={"merged_into": {"before": None, "after": survivor.golden_id}},
        impact=impact_of(merged, ["status", "merged_into"]),
    )


def goldens_merge(*, survivor_id: str, merged_id: str, actor: User, reason: str) -> Any:
    """A steward merges two golden records by golden ID (the survivor keeps its ID); or, when the approval
    policy wants a second person, asks for it with a pending merge ChangeRequest."""
    reason = require_reason(reason)
    survivor_id, merged_id = normalise_golden_id(survivor_id), normalise_golden_id(merged_id)
    goldens = {
        golden.golden_id: golden for golden in GoldenRecord.objects.filter(golden_id__in=[survivor_id, merged_id])
    }
    for golden_id in (survivor_id, merged_id):
        if golden_id not in goldens:
            raise StewardError(f"no golden record {golden_id}", "not_found")
    survivor, merged = goldens[survivor_id], goldens[merged_id]
    require_domain(actor, survivor.entity_type)
    require_domain(actor, merged.entity_type)
    if survivor.pk != merged.pk and merge_needs_approval(survivor, merged):
        for golden in (survivor, merged):
            if golden.status != GoldenStatus.ACTIVE:
                raise StewardError(f"{golden.golden_id} is retired (merged into another record)", "conflict")
        with transaction.atomic():
            return merge_request_file(survivor, merged, actor, reason)
    return merge_apply(survivor, merged, actor, reason)


def merge_undo(*, merge_pk: int, actor: User, reason: str) -> GoldenRecord:
    """Unmerge: restore the retired record exactly; the pair is labelled not a match for the matcher."""
    reason = require_reason(reason)
    merge = GoldenMerge.objects.select_related("survivor", "merged").filter(pk=merge_pk).first()
    if merge is None:
        raise StewardError(f"no merge {merge_pk}", "not_found")
    require_domain(actor, merge.survivor.entity_type)
    with acting(actor, reason), transaction.atomic():
        try:
            restored = golden_merge_undo(merge=merge, actor=actor, reason=reason)
        except MergeError as exc:
            raise StewardError(str(exc), "conflict") from exc
        source = SourceRecord.objects.filter(golden=restored).order_by("pk").values_list("pk", flat=True).first()
        if source is not None:
            bulk_create_tracked(
                [
                    MatchCandidate(
                        golden=restored,
                        candidate_id=merge.survivor_id,
                        source_record_id=source,
                        entity_type=restored.entity_type,
                        probability=merge.probability or 0.0,
                        match_weight=0.0,
                        model_version=0,
                        explanation=merge.explanation,
                        status=CandidateStatus.REJECTED,
                        decided_by=actor,
                        decided_at=timezone.now(),
                    )
                ],
                MatchCandidate,
            )
        return restored


def _merge_request_apply(request: ChangeRequest, approver: User) -> None:
    """An approved merge request: the merge is made as its requester asked."""
    if request.survivor is None or request.golden is None:
        raise StewardError("the records of this merge request no longer exist", code="stale")
    merge_apply(
        request.survivor, request.golden, request.requested_by, f"change request {request.pk}: {request.reason}"
    )


change_kind_register(ChangeKind.MERGE, apply=_merge_request_apply)
