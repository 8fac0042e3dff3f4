"""What every steward action shares: the refusal it raises, the domain and reason checks, golden IDs read from input."""

from django.contrib.auth.models import User

from mdm.golden_ids import normalise_golden_id
from mdm.models import (
    GoldenRecord,
)


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


def require_domain(actor: User, entity_type: str) -> None:
    if not may_steward(actor, entity_type):
        raise StewardError(f"you may not act on {entity_type} records (not a {entity_type} steward)", "forbidden")


def require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise StewardError(
            "give a reason: it is kept with the change for the audit trail",
            fields={"reason": "give a reason: it is kept with the change for the audit trail"},
        )
    return reason


def refused(message: str, errors: dict[str, str], prefix: str) -> StewardError:
    """A refusal whose errors are named by their path in the proposal ('edge.parent', 'rule.systems')."""
    return StewardError(message, fields={f"{prefix}.{name}": text for name, text in errors.items()})


def golden_named(golden_id: str, path: str) -> GoldenRecord:
    golden = GoldenRecord.objects.filter(golden_id=normalise_golden_id(golden_id or "")).first()
    if golden is None:
        raise StewardError(f"no golden record {golden_id}", fields={path: f"no golden record {golden_id}"})
    return golden
