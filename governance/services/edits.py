"""Edits of golden attributes (four-eyes when the policy says so) and clearing a steward override."""

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from governance.models import (
    ChangeKind,
    ChangeRequest,
    EditApproval,
)
from governance.services.approvals import approval_policy, change_file, change_kind_register, impact_of
from governance.services.base import StewardError, require_domain, require_reason
from mdm.canonical import standardise
from mdm.context import acting
from mdm.contracts import validate_record
from mdm.golden import golden_records_recompute, golden_values_preview
from mdm.golden_ids import normalise_golden_id
from mdm.models import (
    GoldenOverride,
    GoldenRecord,
    GoldenStatus,
    OwnershipRule,
    System,
    SystemKind,
)

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


def _needs_approval(golden: GoldenRecord, attributes: list[str]) -> bool:
    mode = approval_policy(golden.entity_type).edits
    if mode != EditApproval.ERP_OWNED:
        return mode == EditApproval.ALWAYS
    erp = set(System.objects.filter(kind=SystemKind.ERP).values_list("code", flat=True))
    owners = OwnershipRule.objects.filter(entity_type=golden.entity_type, attribute__in=attributes)
    return any(rule.systems and rule.systems[0] in erp for rule in owners)


def change_propose(*, golden_id: str, attributes: dict[str, Any], actor: User, reason: str) -> Any:
    """Propose new values for golden attributes; applied at once when the policy needs no second person."""

    reason = require_reason(reason)
    golden_id = normalise_golden_id(golden_id)
    golden = GoldenRecord.objects.filter(golden_id=golden_id).first()
    if golden is None:
        raise StewardError(f"no golden record {golden_id}", "not_found")
    require_domain(actor, golden.entity_type)
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
    return change_file(
        actor,
        reason,
        _needs_approval(golden, sorted(changes)),
        entity_type=golden.entity_type,
        golden=golden,
        base_version=golden.version,
        changes=changes,
        impact=impact_of(golden, sorted(changes), {name: change["after"] for name, change in changes.items()}),
    )


def override_clear(*, golden_id: str, attribute: str, actor: User, reason: str) -> GoldenRecord:
    """Hand an attribute back to survivorship: the steward override stops winning."""

    reason = require_reason(reason)
    golden_id = normalise_golden_id(golden_id)
    golden = GoldenRecord.objects.filter(golden_id=golden_id).first()
    if golden is None:
        raise StewardError(f"no golden record {golden_id}", "not_found")
    require_domain(actor, golden.entity_type)
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


def _edit_apply(request: ChangeRequest, approver: User) -> None:
    """An approved edit becomes steward overrides, which win survivorship until cleared."""
    if request.golden is None:
        raise StewardError("the golden record of this edit no longer exists", code="stale")
    golden = request.golden
    now = timezone.now()
    live = GoldenOverride.objects.filter(golden=golden, attribute__in=list(request.changes), cleared_at=None)
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


change_kind_register(ChangeKind.EDIT, apply=_edit_apply)
