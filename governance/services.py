"""Steward actions: the one place the admin UI and the steward REST API change golden records by hand.

Every action checks the steward's domain (`governance.steward_customer` / `steward_product`), locks
what it changes, refuses what cannot be done with a message that says why (StewardError, nothing
changed), and leaves a history row with the steward, the reason and the correlation ID.

- `candidate_merge`: a review candidate is a duplicate; the older golden record survives and keeps its ID.
- `candidate_reject`: not a match; the pair is never proposed (or merged by the batch run) again.
- `candidate_defer`: not now; the candidate leaves the open queue until it is reopened.
- `goldens_merge`: merge two golden records a steward found without a candidate.
- `merge_undo`: unmerge; the retired record comes back exactly as it was, and the pair is remembered as
  not a match so the matcher does not merge it again.
"""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from matching.models import CandidateStatus, MatchCandidate
from mdm.context import acting
from mdm.history import bulk_create_tracked
from mdm.merges import MergeError, golden_merge_undo, golden_records_merge
from mdm.models import GoldenMerge, GoldenRecord, GoldenStatus, SourceRecord


class StewardError(Exception):
    """A steward action that cannot be done as asked; nothing was changed. `code` names the kind for the API."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


DOMAIN_PERMISSIONS = {"customer": "governance.steward_customer", "product": "governance.steward_product"}


def may_steward(actor: AbstractBaseUser, entity_type: str) -> bool:
    """May this person act as a steward on records of this entity type?"""
    return bool(actor.is_active and actor.has_perm(DOMAIN_PERMISSIONS[entity_type]))


def _require_domain(actor: AbstractBaseUser, entity_type: str) -> None:
    if not may_steward(actor, entity_type):
        raise StewardError(f"you may not act on {entity_type} records (not a {entity_type} steward)", "forbidden")


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise StewardError("give a reason: it is kept with the change for the audit trail")
    return reason


def _open_candidate(candidate_pk: int) -> MatchCandidate:
    candidate = (
        MatchCandidate.objects.select_for_update(of=("self",))
        .select_related("golden", "candidate", "decided_by")
        .filter(pk=candidate_pk)
        .first()
    )
    if candidate is None:
        raise StewardError(f"no review candidate {candidate_pk}", "not_found")
    if candidate.status not in (CandidateStatus.OPEN, CandidateStatus.DEFERRED):
        who = f" by {candidate.decided_by}" if candidate.decided_by else ""
        when = f" on {candidate.decided_at:%Y-%m-%d %H:%M}" if candidate.decided_at else ""
        raise StewardError(
            f"this candidate was already decided ({candidate.get_status_display().lower()}{who}{when})", "conflict"
        )
    return candidate


def _merge(
    survivor: GoldenRecord, merged: GoldenRecord, actor: AbstractBaseUser, reason: str, **kwargs: Any
) -> GoldenMerge:
    try:
        return golden_records_merge(
            survivor=survivor, merged=merged, actor=actor, reason=reason, move_edges=True, **kwargs
        )
    except MergeError as exc:
        raise StewardError(str(exc), "conflict") from exc


def candidate_merge(*, candidate_pk: int, actor: AbstractBaseUser, reason: str = "") -> GoldenMerge:
    """The two golden records of a review candidate are one: merge the newer into the older."""
    with transaction.atomic():
        # The golden records are locked before the candidate, in primary-key order, as every merge locks them:
        # the merge also closes other candidates of these records, which must not be waiting on us.
        pair = MatchCandidate.objects.filter(pk=candidate_pk).values_list("golden_id", "candidate_id").first()
        if pair is None:
            raise StewardError(f"no review candidate {candidate_pk}", "not_found")
        list(GoldenRecord.objects.select_for_update().filter(pk__in=pair).order_by("pk").values_list("pk"))
        candidate = _open_candidate(candidate_pk)
        _require_domain(actor, candidate.entity_type)
        survivor, merged = sorted([candidate.golden, candidate.candidate], key=lambda golden: golden.pk)
        note = reason.strip() or f"review candidate {candidate.pk}: same {candidate.entity_type}"
        merge = _merge(
            survivor, merged, actor, note, probability=candidate.probability, explanation=candidate.explanation
        )
        # The merge closes the candidate as merged (mdm.merges); record who decided it, as a steward did.
        candidate.refresh_from_db()
        return merge


def candidate_reject(*, candidate_pk: int, actor: AbstractBaseUser, reason: str = "") -> MatchCandidate:
    """Not a match: the pair is remembered and never proposed or merged automatically again."""
    return _decide(candidate_pk, actor, CandidateStatus.REJECTED, reason.strip() or "not a match")


def candidate_defer(*, candidate_pk: int, actor: AbstractBaseUser, reason: str = "") -> MatchCandidate:
    """Not now: the candidate leaves the open queue (deferred candidates can still be merged or rejected)."""
    return _decide(candidate_pk, actor, CandidateStatus.DEFERRED, reason.strip() or "deferred")


def _decide(candidate_pk: int, actor: AbstractBaseUser, status: str, reason: str) -> MatchCandidate:
    with acting(actor, reason), transaction.atomic():
        candidate = _open_candidate(candidate_pk)
        _require_domain(actor, candidate.entity_type)
        if status == CandidateStatus.DEFERRED and candidate.status == CandidateStatus.DEFERRED:
            raise StewardError("this candidate is already deferred", "conflict")
        for golden in (candidate.golden, candidate.candidate):
            if golden.status != GoldenStatus.ACTIVE:
                raise StewardError(
                    f"{golden.golden_id} was merged since this candidate was proposed; the pair no longer exists",
                    "conflict",
                )
        candidate.status, candidate.decided_by, candidate.decided_at = status, actor, timezone.now()
        candidate._change_reason = reason  # simple-history keeps it with the row's history
        candidate.save(update_fields=["status", "decided_by", "decided_at"])
        return candidate


def goldens_merge(*, survivor_id: str, merged_id: str, actor: AbstractBaseUser, reason: str) -> GoldenMerge:
    """A steward merges two golden records by golden ID (the survivor keeps its ID)."""
    reason = _require_reason(reason)
    goldens = {
        golden.golden_id: golden for golden in GoldenRecord.objects.filter(golden_id__in=[survivor_id, merged_id])
    }
    for golden_id in (survivor_id, merged_id):
        if golden_id not in goldens:
            raise StewardError(f"no golden record {golden_id}", "not_found")
    survivor, merged = goldens[survivor_id], goldens[merged_id]
    for golden in {survivor.entity_type: survivor, merged.entity_type: merged}.values():
        _require_domain(actor, golden.entity_type)
    return _merge(survivor, merged, actor, reason)


def merge_undo(*, merge_pk: int, actor: AbstractBaseUser, reason: str) -> GoldenRecord:
    """Unmerge: restore the retired record exactly; the pair is labelled not a match for the matcher."""
    reason = _require_reason(reason)
    merge = GoldenMerge.objects.select_related("survivor", "merged").filter(pk=merge_pk).first()
    if merge is None:
        raise StewardError(f"no merge {merge_pk}", "not_found")
    _require_domain(actor, merge.survivor.entity_type)
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


def candidate_assign(*, candidate_pk: int, steward: AbstractBaseUser | None, actor: AbstractBaseUser) -> MatchCandidate:
    """Give an open candidate to a steward of its domain (None: back to the shared queue)."""
    from governance.models import Assignment

    with acting(actor, "assign review candidate"), transaction.atomic():
        candidate = _open_candidate(candidate_pk)
        _require_domain(actor, candidate.entity_type)
        if steward is None:
            Assignment.objects.filter(candidate=candidate).delete()
            return candidate
        if not may_steward(steward, candidate.entity_type):
            raise StewardError(f"{steward} is not a {candidate.entity_type} steward")
        Assignment.objects.update_or_create(candidate=candidate, defaults={"steward": steward, "assigned_by": actor})
        return candidate
