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
- `change_propose` / `change_approve` / `change_reject` / `change_withdraw`: four-eyes edits of golden
  attributes. The approval policy (admin) says which edits need a second person; an approved edit
  becomes a steward override that wins survivorship until `override_clear`.
- `hierarchy_change_propose`: add a parent→child edge to a hierarchy, or end one, through the store's
  hierarchy service (no cycles, one parent per hierarchy at a time); `rule_change_propose`: a new order of
  owning systems or a new fallback for an attribute, through the store's rule service (which recomputes the
  golden records). Both are change requests like edits: approved by a second person when the policy says
  so (by default: rule changes always, hierarchy edits never), stale when what they change changed meanwhile.
"""

import copy
import datetime
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from governance.models import (
    ApprovalPolicy,
    Assignment,
    ChangeKind,
    ChangeRequest,
    ChangeStatus,
    EditApproval,
    HierarchyApproval,
    MergeApproval,
    RuleApproval,
)
from matching.models import CandidateStatus, MatchCandidate
from mdm.canonical import standardise
from mdm.context import acting
from mdm.contracts import validate_record
from mdm.golden import golden_records_recompute, golden_values_preview
from mdm.golden_ids import normalise_golden_id
from mdm.hierarchies import check_edge, hierarchy_edge_save
from mdm.history import bulk_create_tracked
from mdm.merges import MergeError, golden_merge_undo, golden_records_merge
from mdm.models import (
    EntityType,
    GoldenMerge,
    GoldenOverride,
    GoldenRecord,
    GoldenStatus,
    HierarchyEdge,
    HierarchyType,
    OwnershipRule,
    SourceRecord,
    System,
    SystemKind,
)
from mdm.publishing.selectors import change_impact, targets_for
from mdm.services import ownership_rule_save


class StewardError(Exception):
    """A steward action that cannot be done as asked; nothing was changed. `code` names the kind for the API,
    `fields` the offending input by path."""

    def __init__(self, message: str, code: str = "invalid", fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.fields = fields or {}


DOMAIN_PERMISSIONS = {"customer": "governance.steward_customer", "product": "governance.steward_product"}


def may_steward(actor: User, entity_type: str) -> bool:
    """May this person act as a steward on records of this entity type?"""
    return bool(actor.is_active and actor.has_perm(DOMAIN_PERMISSIONS[entity_type]))


def _require_domain(actor: User, entity_type: str) -> None:
    if not may_steward(actor, entity_type):
        raise StewardError(f"you may not act on {entity_type} records (not a {entity_type} steward)", "forbidden")


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise StewardError(
            "give a reason: it is kept with the change for the audit trail",
            fields={"reason": "give a reason: it is kept with the change for the audit trail"},
        )
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


def _merge(survivor: GoldenRecord, merged: GoldenRecord, actor: User, reason: str, **kwargs: Any) -> GoldenMerge:
    try:
        return golden_records_merge(
            survivor=survivor, merged=merged, actor=actor, reason=reason, move_edges=True, **kwargs
        )
    except MergeError as exc:
        raise StewardError(str(exc), "conflict") from exc


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
        candidate = _open_candidate(candidate_pk)
        _require_domain(actor, candidate.entity_type)
        survivor, merged = sorted([candidate.golden, candidate.candidate], key=lambda golden: golden.pk)
        note = reason.strip() or f"review candidate {candidate.pk}: same {candidate.entity_type}"
        if _merge_needs_approval(survivor, merged):
            return _merge_request(survivor, merged, actor, note)
        merge = _merge(
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
        candidate.save(update_fields=["status", "decided_by", "decided_at"])
        return candidate


# What a steward may do with a review candidate, by name (the queue page, the candidate page and the API).
CANDIDATE_ACTIONS = {"merge": candidate_merge, "reject": candidate_reject, "defer": candidate_defer}


def goldens_merge(*, survivor_id: str, merged_id: str, actor: User, reason: str) -> Any:
    """A steward merges two golden records by golden ID (the survivor keeps its ID); or, when the approval
    policy wants a second person, asks for it with a pending merge ChangeRequest."""
    reason = _require_reason(reason)
    survivor_id, merged_id = normalise_golden_id(survivor_id), normalise_golden_id(merged_id)
    goldens = {
        golden.golden_id: golden for golden in GoldenRecord.objects.filter(golden_id__in=[survivor_id, merged_id])
    }
    for golden_id in (survivor_id, merged_id):
        if golden_id not in goldens:
            raise StewardError(f"no golden record {golden_id}", "not_found")
    survivor, merged = goldens[survivor_id], goldens[merged_id]
    _require_domain(actor, survivor.entity_type)
    _require_domain(actor, merged.entity_type)
    if survivor.pk != merged.pk and _merge_needs_approval(survivor, merged):
        for golden in (survivor, merged):
            if golden.status != GoldenStatus.ACTIVE:
                raise StewardError(f"{golden.golden_id} is retired (merged into another record)", "conflict")
        with transaction.atomic():
            return _merge_request(survivor, merged, actor, reason)
    return _merge(survivor, merged, actor, reason)


def merge_undo(*, merge_pk: int, actor: User, reason: str) -> GoldenRecord:
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


def candidate_assign(*, candidate_pk: int, steward: User | None, actor: User) -> MatchCandidate:
    """Give an open candidate to a steward of its domain (None: back to the shared queue)."""

    with acting(actor, "assign review candidate"), transaction.atomic():
        candidate = _open_candidate(candidate_pk)
        _require_domain(actor, candidate.entity_type)
        if steward is None:
            Assignment.objects.filter(candidate=candidate).delete()
            return candidate
        if not may_steward(steward, candidate.entity_type):
            message = f"{steward} is not a {candidate.entity_type} steward"
            raise StewardError(message, fields={"steward": message})
        Assignment.objects.update_or_create(candidate=candidate, defaults={"steward": steward, "assigned_by": actor})
        return candidate


# --- Change requests (four eyes) and overrides -------------------------------------------------------------

# What the contract asks of a whole record, so that a few attributes can be checked on their own.
_WHOLE_RECORD = {"customer": {"legal_name": "-"}, "product": {"name": "-"}}
_NAMES = {"legal_name", "trade_name", "first_name", "last_name", "name"}


def _standardised_edit(entity_type: str, attributes: dict[str, Any]) -> dict[str, Any]:
    """The proposed attributes checked by the entity's contract and standardised as a source's would be."""

    if not isinstance(attributes, dict) or not attributes:
        raise StewardError("name at least one attribute to change", fields={"attributes": "an object, not empty"})
    filler = {} if _NAMES & set(attributes) else _WHOLE_RECORD[entity_type]
    data, _, errors = validate_record(entity_type, {"source_id": "steward-edit", **filler, **attributes})
    if errors:
        raise StewardError(
            "the proposed values are invalid", fields={f"attributes.{error.field}": error.message for error in errors}
        )
    result = standardise(entity_type, data or {})
    # A source's doubtful value is kept with an issue; a steward's is refused, with the same message. Errors are
    # FieldErrors, issues dicts: both read as {"field", "message"}.
    problems = {
        f"attributes.{problem['field']}": problem["message"]
        for problem in [*(error.as_dict() for error in result.errors), *result.issues]
        if problem["field"].split("[")[0].split(".")[0] in attributes
    }
    if problems:
        raise StewardError("the proposed values are invalid", fields=problems)
    return {name: result.values.get(name) for name in attributes}


def _policy(entity_type: str) -> ApprovalPolicy:
    """The approval policy of an entity type (its defaults, should the row be missing)."""
    return ApprovalPolicy.objects.filter(entity_type=entity_type).first() or ApprovalPolicy(entity_type=entity_type)


def _needs_approval(golden: GoldenRecord, attributes: list[str]) -> bool:
    mode = _policy(golden.entity_type).edits
    if mode != EditApproval.ERP_OWNED:
        return mode == EditApproval.ALWAYS
    erp = set(System.objects.filter(kind=SystemKind.ERP).values_list("code", flat=True))
    owners = OwnershipRule.objects.filter(entity_type=golden.entity_type, attribute__in=attributes)
    return any(rule.systems and rule.systems[0] in erp for rule in owners)


def _impact(golden: GoldenRecord, fields: list[str], values: dict[str, Any] | None = None) -> dict[str, Any]:
    """Which publishing targets would receive which of their fields if the change applied (the request's diff
    downstream). With proposed `values`, each target's mapping says exactly which of its fields change."""
    if values is not None:
        targets = {row["target"]: row["fields"] for row in change_impact(golden, values) if row["fields"]}
    elif fields and all(name.startswith("parent:") for name in fields):
        codes = {name.split(":", 1)[1] for name in fields}
        targets = {t.code: ["parent"] for t in targets_for([golden.entity_type]) if t.hierarchy in codes}
    else:
        targets = {t.code: fields for t in targets_for([golden.entity_type])}
    return {"fields": fields, "targets": targets}


def change_propose(*, golden_id: str, attributes: dict[str, Any], actor: User, reason: str) -> Any:
    """Propose new values for golden attributes; applied at once when the policy needs no second person."""

    reason = _require_reason(reason)
    golden_id = normalise_golden_id(golden_id)
    golden = GoldenRecord.objects.filter(golden_id=golden_id).first()
    if golden is None:
        raise StewardError(f"no golden record {golden_id}", "not_found")
    _require_domain(actor, golden.entity_type)
    if golden.status != GoldenStatus.ACTIVE:
        raise StewardError(f"{golden_id} is retired (merged into another record); edit the survivor", "conflict")
    proposed = _standardised_edit(golden.entity_type, attributes)
    current, _ = golden_values_preview(golden.entity_type, [golden.pk])
    changes = {
        name: {"before": current.get(name), "after": value}
        for name, value in proposed.items()
        if current.get(name) != value
    }
    if not changes:
        raise StewardError("nothing would change: the golden record already says this")
    return _file_change(
        actor,
        reason,
        _needs_approval(golden, sorted(changes)),
        entity_type=golden.entity_type,
        golden=golden,
        base_version=golden.version,
        changes=changes,
        impact=_impact(golden, sorted(changes), {name: change["after"] for name, change in changes.items()}),
    )


def _file_change(actor: User, reason: str, needs_approval: bool, **fields: Any) -> ChangeRequest:
    """Record a proposed change; when the policy needs no second person, apply it at once, under the same locks
    and staleness check an approval takes (what was read to make the proposal must still hold)."""
    with acting(actor, reason), transaction.atomic():
        request = ChangeRequest.objects.create(
            **fields, reason=reason[:255], needs_approval=needs_approval, requested_by=actor
        )
        if not needs_approval:
            why = _stale_because(request)
            if why:
                raise StewardError(f"{why}; try again", "conflict")
            _apply_change(request, actor, "applied directly: the approval policy needs no second person")
    return request


def _merge_needs_approval(survivor: GoldenRecord, merged: GoldenRecord) -> bool:
    """The approval policy for steward merges: never, always, or when both records have ERP sources."""

    mode = _policy(survivor.entity_type).manual_merges
    if mode != MergeApproval.BOTH_ERP:
        return mode == MergeApproval.ALWAYS
    with_erp = SourceRecord.objects.filter(golden_id__in=[survivor.pk, merged.pk], system__kind=SystemKind.ERP)
    return len(set(with_erp.values_list("golden_id", flat=True))) == 2


def _merge_request(survivor: GoldenRecord, merged: GoldenRecord, actor: User, reason: str) -> Any:
    pending = ChangeRequest.objects.filter(
        kind=ChangeKind.MERGE, golden=merged, survivor=survivor, status=ChangeStatus.PENDING
    ).first()
    if pending is not None:
        raise StewardError(f"this merge already waits for approval (change request {pending.pk})", "conflict")
    return _file_change(
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
        impact=_impact(merged, ["status", "merged_into"]),
    )


def _apply_change(request: ChangeRequest, approver: User, comment: str) -> None:
    """An approved request takes effect: a merge is made, an edit becomes steward overrides, a hierarchy edge is
    added or ended, an ownership rule changes (and the golden records it governs are recomputed)."""
    if request.kind == ChangeKind.MERGE:
        if request.survivor is None or request.golden is None:
            raise StewardError("the records of this merge request no longer exist", code="stale")
        _merge(request.survivor, request.golden, request.requested_by, f"change request {request.pk}: {request.reason}")
    elif request.kind == ChangeKind.HIERARCHY:
        _apply_hierarchy_change(request, approver)
    elif request.kind == ChangeKind.OWNERSHIP_RULE:
        _apply_rule_change(request, approver)
    else:
        if request.golden is None:
            raise StewardError("the golden record of this edit no longer exists", code="stale")
        golden = request.golden
        now = timezone.now()
        live = GoldenOverride.objects.filter(
            golden=request.golden, attribute__in=list(request.changes), cleared_at=None
        )
        for override in live:
            override.cleared_at = now
            override.save(update_fields=["cleared_at", "updated_at"])
        for attribute, change in request.changes.items():
            GoldenOverride.objects.create(
                golden=golden,
                attribute=attribute,
                value=change["after"],
                reason=f"change request {request.pk}: {request.reason}"[:255],
                set_by=request.requested_by,
            )
        golden_records_recompute(entity_type=golden.entity_type, golden_pks=[golden.pk])
    _close_change(request, ChangeStatus.APPLIED, approver, comment)


def _close_change(request: ChangeRequest, status: str, actor: User, comment: str = "") -> None:
    """Record who decided a change request, when, how and with what comment."""
    request.status, request.decided_by, request.decided_at = status, actor, timezone.now()
    request.comment = comment[:255]
    request.save(update_fields=["status", "decided_by", "decided_at", "comment"])


def _pending_change(request_pk: int) -> ChangeRequest:
    request = (
        ChangeRequest.objects.select_for_update(of=("self",))
        .select_related("golden", "survivor", "hierarchy", "parent", "requested_by", "decided_by")
        .filter(pk=request_pk)
        .first()
    )
    if request is None:
        raise StewardError(f"no change request {request_pk}", "not_found")
    if request.status != ChangeStatus.PENDING:
        who = f" by {request.decided_by}" if request.decided_by else ""
        raise StewardError(f"this change request is already {request.get_status_display().lower()}{who}", "conflict")
    return request


def change_approve(*, request_pk: int, actor: User, comment: str = "") -> ChangeRequest:
    """A second person approves: an edit becomes steward overrides (a new golden version), a merge is made, a
    hierarchy edge is added or ended, an ownership rule changes."""

    with acting(actor, comment or "change request approved"), transaction.atomic():
        request = _pending_change(request_pk)
        if request.requested_by_id == actor.pk:
            raise StewardError("you cannot approve your own change request: another approver must", "forbidden")
        if not actor.has_perm("governance.approve_changes"):
            raise StewardError("approving change requests needs the approver role", "forbidden")
        _require_domain(actor, request.entity_type)
        why = _stale_because(request)
        if not why:
            _apply_change(request, actor, comment)
            return request
    # What the request changes changed underneath it: it is marked stale (that is kept), and the approver told why.
    with acting(actor, "change request is stale"), transaction.atomic():
        _close_change(_pending_change(request_pk), ChangeStatus.STALE, actor, why)
    raise StewardError(f"{why}: the request is stale; propose it again against the current values", "conflict")


def _stale_because(request: ChangeRequest) -> str:
    """Why a pending request no longer fits what it was made against ('' when it still does); locks what it checks."""
    if request.kind == ChangeKind.HIERARCHY:
        return _hierarchy_stale_because(request)
    if request.kind == ChangeKind.OWNERSHIP_RULE:
        return _rule_stale_because(request)
    expected = {request.golden_id: request.base_version}
    if request.survivor_id:
        expected[request.survivor_id] = request.survivor_version or 0
    locked = GoldenRecord.objects.select_for_update().filter(pk__in=list(expected)).order_by("pk")
    changed = [
        golden for golden in locked if golden.version != expected[golden.pk] or golden.status != GoldenStatus.ACTIVE
    ]
    return "; ".join(
        f"{golden.golden_id} changed since the request (version {expected[golden.pk]}, now {golden.version}"
        f"{', retired' if golden.status != GoldenStatus.ACTIVE else ''})"
        for golden in changed
    )


def change_reject(*, request_pk: int, actor: User, comment: str) -> Any:
    """A second person rejects, saying why."""

    comment = (comment or "").strip()
    if not comment:
        raise StewardError("say why the request is rejected", fields={"comment": "required"})
    with acting(actor, comment), transaction.atomic():
        request = _pending_change(request_pk)
        if request.requested_by_id == actor.pk:
            raise StewardError("withdraw your own request instead of rejecting it", "forbidden")
        if not actor.has_perm("governance.approve_changes"):
            raise StewardError("rejecting change requests needs the approver role", "forbidden")
        _require_domain(actor, request.entity_type)
        _close_change(request, ChangeStatus.REJECTED, actor, comment)
        return request


def change_withdraw(*, request_pk: int, actor: User, comment: str = "") -> Any:
    """The requester takes a pending request back (saying why, if they like)."""

    with acting(actor, comment or "change request withdrawn"), transaction.atomic():
        request = _pending_change(request_pk)
        if request.requested_by_id != actor.pk:
            raise StewardError("only the requester can withdraw a change request", "forbidden")
        _close_change(request, ChangeStatus.WITHDRAWN, actor, comment)
        return request


# What may be done with a pending change request, by name (the changes page and the API).
CHANGE_ACTIONS: dict[str, Callable[..., Any]] = {
    "approve": change_approve,
    "reject": change_reject,
    "withdraw": change_withdraw,
}


def override_clear(*, golden_id: str, attribute: str, actor: User, reason: str) -> GoldenRecord:
    """Hand an attribute back to survivorship: the steward override stops winning."""

    reason = _require_reason(reason)
    golden_id = normalise_golden_id(golden_id)
    golden = GoldenRecord.objects.filter(golden_id=golden_id).first()
    if golden is None:
        raise StewardError(f"no golden record {golden_id}", "not_found")
    _require_domain(actor, golden.entity_type)
    with acting(actor, reason), transaction.atomic():
        override = (
            GoldenOverride.objects.select_for_update()
            .filter(golden=golden, attribute=attribute, cleared_at=None)
            .first()
        )
        if override is None:
            raise StewardError(f"{golden_id} has no steward override of {attribute}", "not_found")
        override.cleared_at = timezone.now()
        override.save(update_fields=["cleared_at", "updated_at"])
        golden_records_recompute(entity_type=golden.entity_type, golden_pks=[golden.pk])
    golden.refresh_from_db()
    return golden


# --- Hierarchy edges and ownership rules -------------------------------------------------------------------

EDGE_OPERATIONS = ("add", "end")


def _refused(message: str, errors: dict[str, str], prefix: str) -> StewardError:
    """A refusal whose errors are named by their path in the proposal ('edge.parent', 'rule.systems')."""
    return StewardError(message, fields={f"{prefix}.{name}": text for name, text in errors.items()})


def _golden_named(golden_id: str, path: str) -> GoldenRecord:
    golden = GoldenRecord.objects.filter(golden_id=normalise_golden_id(golden_id or "")).first()
    if golden is None:
        raise StewardError(f"no golden record {golden_id}", fields={path: f"no golden record {golden_id}"})
    return golden


def _edge_state(edge: HierarchyEdge) -> dict[str, Any]:
    """An edge as a change request shows it and compares it: hierarchy, both ends by golden ID, validity."""
    return {
        "hierarchy": edge.hierarchy.code,
        "parent": edge.parent.golden_id,
        "child": edge.child.golden_id,
        "valid_from": edge.valid_from.isoformat(),
        "valid_to": edge.valid_to.isoformat() if edge.valid_to else None,
    }


def _pending_conflict(**where: Any) -> None:
    """One pending request per hierarchy position or rule: a second would be decided against a moving target."""
    pending = ChangeRequest.objects.filter(status=ChangeStatus.PENDING, **where).values_list("pk", flat=True).first()
    if pending is not None:
        raise StewardError(f"a change of this already waits for approval (change request {pending})", "conflict")


def hierarchy_change_propose(
    *,
    operation: str,
    hierarchy: str,
    parent_id: str,
    child_id: str,
    actor: User,
    reason: str,
    valid_from: datetime.date | None = None,
    valid_to: datetime.date | None = None,
) -> ChangeRequest:
    """Propose adding a parent→child edge (from `valid_from`, today by default, until `valid_to` or open-ended), or
    ending the child's edge to that parent on `valid_to`; applied at once when the policy needs no second person.

    The edge is checked now (types, one parent at a time, no cycle) and again when it is applied.
    """
    reason = _require_reason(reason)
    if operation not in EDGE_OPERATIONS:
        raise StewardError("unknown operation", fields={"edge.operation": f"one of {', '.join(EDGE_OPERATIONS)}"})
    hierarchy_type = HierarchyType.objects.filter(code=hierarchy).first()
    if hierarchy_type is None:
        codes = ", ".join(HierarchyType.objects.order_by("code").values_list("code", flat=True))
        raise StewardError(f"no hierarchy {hierarchy}", fields={"edge.hierarchy": f"one of {codes}"})
    _require_domain(actor, hierarchy_type.entity_type)
    parent = _golden_named(parent_id, "edge.parent")
    child = _golden_named(child_id, "edge.child")
    if operation == "add":
        edge = HierarchyEdge(
            hierarchy=hierarchy_type,
            parent=parent,
            child=child,
            valid_from=valid_from or timezone.localdate(),
            valid_to=valid_to,
        )
        errors = check_edge(edge)
        if errors:
            raise _refused("the edge would break a rule of the hierarchy", errors, "edge")
        changes = {"edge": {"before": None, "after": _edge_state(edge)}}
        ending = None
    else:
        if valid_to is None:
            message = "the first day the edge no longer holds"
            raise StewardError("say when the edge ends", fields={"edge.valid_to": message})
        ending = (
            HierarchyEdge.objects.filter(hierarchy=hierarchy_type, parent=parent, child=child, valid_from__lt=valid_to)
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=valid_to))
            .select_related("hierarchy", "parent", "child")
            .first()
        )
        if ending is None:
            message = (
                f"{child.golden_id} has no edge to {parent.golden_id} in {hierarchy_type.name} that starts before "
                f"and runs past {valid_to.isoformat()}"
            )
            raise StewardError(message, fields={"edge.valid_to": message})
        before = _edge_state(ending)
        changes = {"edge": {"before": before, "after": {**before, "valid_to": valid_to.isoformat()}}}
    _pending_conflict(kind=ChangeKind.HIERARCHY, hierarchy=hierarchy_type, golden=child)
    return _file_change(
        actor,
        reason,
        _policy(hierarchy_type.entity_type).hierarchy_edits == HierarchyApproval.ALWAYS,
        kind=ChangeKind.HIERARCHY,
        entity_type=hierarchy_type.entity_type,
        golden=child,
        parent=parent,
        hierarchy=hierarchy_type,
        edge=ending,
        changes=changes,
        impact=_impact(child, [f"parent:{hierarchy_type.code}"]),
    )


def _proposed_edge(request: ChangeRequest) -> HierarchyEdge:
    """The edge a hierarchy request adds, or the edge it ends with its new end date (not saved)."""
    after = request.changes["edge"]["after"]
    if request.changes["edge"]["before"] is None:
        return HierarchyEdge(
            hierarchy=request.hierarchy,
            parent=request.parent,
            child=request.golden,
            valid_from=datetime.date.fromisoformat(after["valid_from"]),
            valid_to=datetime.date.fromisoformat(after["valid_to"]) if after["valid_to"] else None,
            origin=f"steward:{request.requested_by.get_username()}"[:60],
        )
    if request.edge_id is None:
        raise StewardError("the edge this request ends no longer exists", code="stale")
    edge = HierarchyEdge.objects.select_related("hierarchy", "parent", "child").get(pk=request.edge_id)
    edge.valid_to = datetime.date.fromisoformat(after["valid_to"])
    return edge


def _hierarchy_stale_because(request: ChangeRequest) -> str:
    """An added edge must still fit the hierarchy; an edge to end must still be as it was proposed."""
    if request.golden_id is not None:  # locked as every hierarchy write does
        GoldenRecord.objects.select_for_update().filter(pk=request.golden_id).first()
    before = request.changes["edge"]["before"]
    if before is not None:
        edges = HierarchyEdge.objects.select_related("hierarchy", "parent", "child")
        current = edges.filter(pk=request.edge_id).first() if request.edge_id is not None else None
        if current is None:
            return "the edge was removed since the request"
        if _edge_state(current) != before:
            now = _edge_state(current)
            return (
                f"the edge changed since the request (now {now['parent']} → {now['child']} from {now['valid_from']}"
                f" until {now['valid_to'] or 'open-ended'})"
            )
        return ""
    errors = check_edge(_proposed_edge(request))
    return "; ".join(f"{name}: {message}" for name, message in errors.items())


def _apply_hierarchy_change(request: ChangeRequest, actor: User) -> None:
    """Add or end the edge through the store's hierarchy service (it checks again under the child's lock)."""
    edge = _proposed_edge(request)
    try:
        hierarchy_edge_save(edge=edge, actor=actor, reason=f"change request {request.pk}: {request.reason}")
    except ValidationError as exc:
        raise StewardError(f"the hierarchy changed meanwhile: {'; '.join(exc.messages)}", "conflict") from exc
    if request.edge_id != edge.pk:
        request.edge = edge
        request.save(update_fields=["edge"])


def _rule_state(rule: OwnershipRule | None) -> dict[str, Any]:
    """What an ownership rule says (None, None when the attribute has no rule: the default applies)."""
    return {"systems": list(rule.systems), "fallback": rule.fallback} if rule else {"systems": None, "fallback": None}


def rule_change_propose(
    *,
    entity_type: str,
    attribute: str,
    actor: User,
    reason: str,
    systems: list[str] | None = None,
    fallback: str | None = None,
) -> ChangeRequest:
    """Propose a new order of owning systems and/or fallback for an attribute's ownership rule; applied at once
    (every golden record of the type recomputed) when the policy needs no second person."""
    reason = _require_reason(reason)
    if entity_type not in EntityType.values:
        raise StewardError("unknown entity type", fields={"rule.entity_type": f"one of {', '.join(EntityType.values)}"})
    _require_domain(actor, entity_type)
    if systems is None and fallback is None:
        message = "give the owning systems in order, a fallback, or both"
        raise StewardError(message, fields={"rule": message})
    current = OwnershipRule.objects.filter(entity_type=entity_type, attribute=attribute).first()
    proposed = copy.copy(current) if current else OwnershipRule(entity_type=entity_type, attribute=attribute)
    if systems is not None:
        proposed.systems = systems
    proposed.fallback = fallback or proposed.fallback
    try:
        proposed.full_clean()
    except ValidationError as exc:
        raise _refused(
            "the proposed rule is invalid", {name: " ".join(texts) for name, texts in exc.message_dict.items()}, "rule"
        ) from exc
    before, after = _rule_state(current), _rule_state(proposed)
    if before == after:
        raise StewardError("nothing would change: the rule already says this")
    _pending_conflict(kind=ChangeKind.OWNERSHIP_RULE, entity_type=entity_type, attribute=attribute)
    governed = GoldenRecord.objects.filter(entity_type=entity_type, status=GoldenStatus.ACTIVE).count()
    return _file_change(
        actor,
        reason,
        _policy(entity_type).ownership_rules == RuleApproval.ALWAYS,
        kind=ChangeKind.OWNERSHIP_RULE,
        entity_type=entity_type,
        attribute=attribute,
        changes={name: {"before": before[name], "after": after[name]} for name in ("systems", "fallback")},
        impact={"fields": [attribute], "records": governed},
    )


def _rule_stale_because(request: ChangeRequest) -> str:
    """The rule must still say what it said when the change was proposed."""
    rule = (
        OwnershipRule.objects.select_for_update()
        .filter(entity_type=request.entity_type, attribute=request.attribute)
        .first()
    )
    now = _rule_state(rule)
    if now == {name: change["before"] for name, change in request.changes.items()}:
        return ""
    owners = " > ".join(now["systems"] or []) or "no owner"
    said = f"{owners}, then {now['fallback']}" if rule else "no rule"
    return f"the ownership rule of {request.entity_type}.{request.attribute} changed since the request (now {said})"


def _apply_rule_change(request: ChangeRequest, actor: User) -> None:
    """Save the rule through the store's rule service, which recomputes the golden records it governs."""
    rule = OwnershipRule.objects.filter(entity_type=request.entity_type, attribute=request.attribute).first()
    rule = rule or OwnershipRule(entity_type=request.entity_type, attribute=request.attribute)
    rule.systems = request.changes["systems"]["after"]
    rule.fallback = request.changes["fallback"]["after"]
    try:
        plan = ownership_rule_save(rule=rule, actor=actor, reason=f"change request {request.pk}: {request.reason}")
    except ValidationError as exc:
        raise StewardError(f"the rule can no longer be saved: {'; '.join(exc.messages)}", "conflict") from exc
    request.impact = {**request.impact, "recomputed": plan.changed if plan.inline else None, "records": plan.affected}
    request.save(update_fields=["impact"])
