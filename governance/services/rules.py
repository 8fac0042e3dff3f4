"""Ownership-rule change requests: a new order of owning systems or a new fallback for an attribute."""

import copy
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from governance.models import (
    ChangeKind,
    ChangeRequest,
    RuleApproval,
)
from governance.services.approvals import (
    approval_policy,
    change_file,
    change_kind_register,
    pending_conflict,
)
from governance.services.base import StewardError, refused, require_domain, require_reason
from mdm.models import (
    EntityType,
    GoldenRecord,
    GoldenStatus,
    OwnershipRule,
)
from mdm.services import ownership_rule_save


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
    reason = require_reason(reason)
    if entity_type not in EntityType.values:
        raise StewardError("unknown entity type", fields={"rule.entity_type": f"one of {', '.join(EntityType.values)}"})
    require_domain(actor, entity_type)
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
        raise refused(
            "the proposed rule is invalid", {name: " ".join(texts) for name, texts in exc.message_dict.items()}, "rule"
        ) from exc
    before, after = _rule_state(current), _rule_state(proposed)
    if before == after:
        raise StewardError("nothing would change: the rule already says this")
    pending_conflict(kind=ChangeKind.OWNERSHIP_RULE, entity_type=entity_type, attribute=attribute)
    governed = GoldenRecord.objects.filter(entity_type=entity_type, status=GoldenStatus.ACTIVE).count()
    return change_file(
        actor,
        reason,
        approval_policy(entity_type).ownership_rules == RuleApproval.ALWAYS,
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


change_kind_register(ChangeKind.OWNERSHIP_RULE, apply=_apply_rule_change, stale=_rule_stale_because)
