"""Hierarchy change requests: add a parent-child edge or end one, through the store's hierarchy service."""

import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from governance.models import (
    ChangeKind,
    ChangeRequest,
    HierarchyApproval,
)
from governance.services.approvals import (
    approval_policy,
    change_file,
    change_kind_register,
    impact_of,
    pending_conflict,
)
from governance.services.base import StewardError, golden_named, refused, require_domain, require_reason
from mdm.hierarchies import check_edge, hierarchy_edge_save
from mdm.models import (
    GoldenRecord,
    HierarchyEdge,
    HierarchyType,
)

EDGE_OPERATIONS = ("add", "end")


def _edge_state(edge: HierarchyEdge) -> dict[str, Any]:
    """An edge as a change request shows it and compares it: hierarchy, both ends by golden ID, validity."""
    return {
        "hierarchy": edge.hierarchy.code,
        "parent": edge.parent.golden_id,
        "child": edge.child.golden_id,
        "valid_from": edge.valid_from.isoformat(),
        "valid_to": edge.valid_to.isoformat() if edge.valid_to else None,
    }


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
    reason = require_reason(reason)
    if operation not in EDGE_OPERATIONS:
        raise StewardError("unknown operation", fields={"edge.operation": f"one of {', '.join(EDGE_OPERATIONS)}"})
    hierarchy_type = HierarchyType.objects.filter(code=hierarchy).first()
    if hierarchy_type is None:
        codes = ", ".join(HierarchyType.objects.order_by("code").values_list("code", flat=True))
        raise StewardError(f"no hierarchy {hierarchy}", fields={"edge.hierarchy": f"one of {codes}"})
    require_domain(actor, hierarchy_type.entity_type)
    parent = golden_named(parent_id, "edge.parent")
    child = golden_named(child_id, "edge.child")
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
            raise refused("the edge would break a rule of the hierarchy", errors, "edge")
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
    pending_conflict(kind=ChangeKind.HIERARCHY, hierarchy=hierarchy_type, golden=child)
    return change_file(
        actor,
        reason,
        approval_policy(hierarchy_type.entity_type).hierarchy_edits == HierarchyApproval.ALWAYS,
        kind=ChangeKind.HIERARCHY,
        entity_type=hierarchy_type.entity_type,
        golden=child,
        parent=parent,
        hierarchy=hierarchy_type,
        edge=ending,
        changes=changes,
        impact=impact_of(child, [f"parent:{hierarchy_type.code}"]),
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


change_kind_register(ChangeKind.HIERARCHY, apply=_apply_hierarchy_change, stale=_hierarchy_stale_because)
