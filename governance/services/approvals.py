"""The life of a change request: filed (and applied at once when the approval policy needs no second person),
approved, rejected or withdrawn, or found stale; the approval policy and the downstream impact shown with it."""

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from governance.models import (
    ApprovalPolicy,
    ChangeRequest,
    ChangeStatus,
)
from governance.services.base import StewardError, require_domain
from mdm.context import acting
from mdm.models import (
    GoldenRecord,
    GoldenStatus,
)
from mdm.publishing.selectors import change_impact, targets_for


def approval_policy(entity_type: str) -> ApprovalPolicy:
    """The approval policy of an entity type (its defaults, should the row be missing)."""
    return ApprovalPolicy.objects.filter(entity_type=entity_type).first() or ApprovalPolicy(entity_type=entity_type)


def impact_of(golden: GoldenRecord, fields: list[str], values: dict[str, Any] | None = None) -> dict[str, Any]:
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


def change_file(actor: User, reason: str, needs_approval: bool, **fields: Any) -> ChangeRequest:
    """Record a proposed change; when the policy needs no second person, apply it at once, under the same locks
    and staleness check an approval takes (what was read to make the proposal must still hold)."""
    with acting(actor, reason), transaction.atomic():
        request = ChangeRequest.objects.create(
            **fields, reason=reason[:255], needs_approval=needs_approval, requested_by=actor
        )
        if not needs_approval:
            why = stale_because(request)
            if why:
                raise StewardError(f"{why}; try again", "conflict")
            change_apply(request, actor, "applied directly: the approval policy needs no second person")
    return request


def change_close(request: ChangeRequest, status: str, actor: User, comment: str = "") -> None:
    """Record who decided a change request, when, how and with what comment."""
    request.status, request.decided_by, request.decided_at = status, actor, timezone.now()
    request.comment = comment[:255]
    request.save(update_fields=["status", "decided_by", "decided_at", "comment"])


def pending_change(request_pk: int) -> ChangeRequest:
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
        request = pending_change(request_pk)
        if request.requested_by_id == actor.pk:
            raise StewardError("you cannot approve your own change request: another approver must", "forbidden")
        if not actor.has_perm("governance.approve_changes"):
            raise StewardError("approving change requests needs the approver role", "forbidden")
        require_domain(actor, request.entity_type)
        why = stale_because(request)
        if not why:
            change_apply(request, actor, comment)
            return request
    # What the request changes changed underneath it: it is marked stale (that is kept), and the approver told why.
    with acting(actor, "change request is stale"), transaction.atomic():
        change_close(pending_change(request_pk), ChangeStatus.STALE, actor, why)
    raise StewardError(f"{why}: the request is stale; propose it again against the current values", "conflict")


def change_reject(*, request_pk: int, actor: User, comment: str) -> Any:
    """A second person rejects, saying why."""

    comment = (comment or "").strip()
    if not comment:
        raise StewardError("say why the request is rejected", fields={"comment": "required"})
    with acting(actor, comment), transaction.atomic():
        request = pending_change(request_pk)
        if request.requested_by_id == actor.pk:
            raise StewardError("withdraw your own request instead of rejecting it", "forbidden")
        if not actor.has_perm("governance.approve_changes"):
            raise StewardError("rejecting change requests needs the approver role", "forbidden")
        require_domain(actor, request.entity_type)
        change_close(request, ChangeStatus.REJECTED, actor, comment)
        return request


def change_withdraw(*, request_pk: int, actor: User, comment: str = "") -> Any:
    """The requester takes a pending request back (saying why, if they like)."""

    with acting(actor, comment or "change request withdrawn"), transaction.atomic():
        request = pending_change(request_pk)
        if request.requested_by_id != actor.pk:
            raise StewardError("only the requester can withdraw a change request", "forbidden")
        change_close(request, ChangeStatus.WITHDRAWN, actor, comment)
        return request


# What may be done with a pending change request, by name (the changes page and the API).
CHANGE_ACTIONS: dict[str, Callable[..., Any]] = {
    "approve": change_approve,
    "reject": change_reject,
    "withdraw": change_withdraw,
}


def pending_conflict(**where: Any) -> None:
    """One pending request per hierarchy position or rule: a second would be decided against a moving target."""
    pending = ChangeRequest.objects.filter(status=ChangeStatus.PENDING, **where).values_list("pk", flat=True).first()
    if pending is not None:
        raise StewardError(f"a change of this already waits for approval (change request {pending})", "conflict")


# How each kind of change request takes effect, and why it may have gone stale: registered by the module of the kind
# (edits, merges, hierarchies, rules), so this lifecycle needs none of them.
_APPLY: dict[str, Callable[[ChangeRequest, User], None]] = {}
_STALE: dict[str, Callable[[ChangeRequest], str]] = {}


def change_kind_register(
    kind: str, *, apply: Callable[[ChangeRequest, User], None], stale: Callable[[ChangeRequest], str] | None = None
) -> None:
    """Say how a kind of change request is applied once approved, and (unless the golden versions it was made
    against tell) why it may no longer fit."""
    _APPLY[kind] = apply
    if stale is not None:
        _STALE[kind] = stale


def change_apply(request: ChangeRequest, approver: User, comment: str) -> None:
    """An approved request takes effect (a merge is made, an edit becomes steward overrides, a hierarchy edge is
    added or ended, an ownership rule changes) and is closed as applied."""
    _APPLY[request.kind](request, approver)
    change_close(request, ChangeStatus.APPLIED, approver, comment)


def stale_because(request: ChangeRequest) -> str:
    """Why a pending request no longer fits what it was made against ('' when it still does); locks what it checks."""
    if request.kind in _STALE:
        return _STALE[request.kind](request)
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
