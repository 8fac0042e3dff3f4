"""Review candidates: merge, reject, defer, assign."""

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from governance.models import (
    Assignment,
)
from governance.services.base import StewardError, may_steward, require_domain
from governance.services.merges import merge_apply, merge_needs_approval, merge_request_file
from matching.models import CandidateStatus, MatchCandidate
from mdm.context import acting
from mdm.models import (
    GoldenRecord,
    GoldenStatus,
)


def open_candidate(candidate_pk: int) -> MatchCandidate:
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


def candidate_merge(*, candidate_pk: int, actor: User, reason: str = "") -> Any:
    """The two golden records of a review candidate are one: merge the newer into the older. Returns the
    GoldenMerge, or a pending merge ChangeRequest when the approval policy wants a second person."""
    with transaction.atomic():
        # The golden records are locked before the candidate, in primary-key order, as every merge locks them:
        # the merge also closes other candidates of these records, which must not be waiting on us.
        pair = MatchCandidate.objects.filter(pk=candidate_pk).values_list("golden_id", "candidate_id").first()
        if pair is None:
            raise StewardError(f"no review candidate {candidate_pk}", "not_found")
        list(GoldenRecord.objects.select_for_update().filter(pk__in=pair).order_by("pk").values_list("pk"))
        candidate = open_candidate(candidate_pk)
        require_domain(actor, candidate.entity_type)
        survivor, merged = sorted([candidate.golden, candidate.candidate], key=lambda golden: golden.pk)
        note = reason.strip() or f"review candidate {candidate.pk}: same {candidate.entity_type}"
        if merge_needs_approval(survivor, merged):
            return merge_request_file(survivor, merged, actor, note)
        merge = merge_apply(
            survivor, merged, actor, note, probability=candidate.probability, explanation=candidate.explanation
        )
        return merge  # the merge closes the candidate as merged, decided by this steward (mdm.merges)


def candidate_reject(*, candidate_pk: int, actor: User, reason: str = "") -> MatchCandidate:
    """Not a match: the pair is remembered and never proposed or merged automatically again."""
    return _decide(candidate_pk, actor, CandidateStatus.REJECTED, reason.strip() or "not a match")


def candidate_defer(*, candidate_pk: int, actor: User, reason: str = "") -> MatchCandidate:
    """Not now: the candidate leaves the open queue (deferred candidates can still be merged or rejected)."""
    return _decide(candidate_pk, actor, CandidateStatus.DEFERRED, reason.strip() or "deferred")


def _decide(candidate_pk: int, actor: User, status: str, reason: str) -> MatchCandidate:
    with acting(actor, reason), transaction.atomic():
        candidate = open_candidate(candidate_pk)
        require_domain(actor, candidate.entity_type)
        if status == CandidateStatus.DEFERRED and candidate.status == CandidateStatus.DEFERRED:
            raise StewardError("this candidate is already deferred", "conflict")
        for golden in (candidate.golden, candidate.candidate):
            if golden.status != GoldenStatus.ACTIVE:
                raise StewardError(
                    f"{golden.golden_id} was merged since this candidate was proposed; the pair no longer exists",
                    "conflict",
                )
        candidate.status, candidate.decided_by, candidate.decided_at = status, actor, timezone.now()
        candidate.save(update_fields=["status", "decided_by", "decided_at"])
        return candidate


# What a steward may do with a review candidate, by name (the queue page, the candidate page and the API).
CANDIDATE_ACTIONS = {"merge": candidate_merge, "reject": candidate_reject, "defer": candidate_defer}


def candidate_assign(*, candidate_pk: int, steward: User | None, actor: User) -> MatchCandidate:
    """Give an open candidate to a steward of its domain (None: back to the shared queue)."""

    with acting(actor, "assign review candidate"), transaction.atomic():
        candidate = open_candidate(candidate_pk)
        require_domain(actor, candidate.entity_type)
        if steward is None:
            Assignment.objects.filter(candidate=candidate).delete()
            return candidate
        if not may_steward(steward, candidate.entity_type):
            message = f"{steward} is not a {candidate.entity_type} steward"
            raise StewardError(message, fields={"steward": message})
        Assignment.objects.update_or_create(candidate=candidate, defaults={"steward": steward, "assigned_by": actor})
        return candidate
