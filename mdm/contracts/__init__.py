"""Versioned inbound data contracts: what a source system must send, per entity type and version.

A record names its contract version (`contract_version`); a record without one is read as v1,
forever, so adding v2 never changes what v1 senders get.
"""

import threading
from dataclasses import dataclass
from typing import Any

from rest_framework import serializers

from mdm.contracts.base import ContractSerializer
from mdm.contracts.customer_v1 import CustomerV1
from mdm.contracts.product_v1 import ProductV1

CONTRACTS: dict[tuple[str, int], type[ContractSerializer]] = {
    ("customer", 1): CustomerV1,
    ("product", 1): ProductV1,
}
DEFAULT_VERSION = 1


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of one record; `field` is a path such as `tax_ids[0].country`."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


def supported_versions(entity_type: str) -> list[int]:
    """Contract versions accepted for an entity type."""
    return sorted(version for (entity, version) in CONTRACTS if entity == entity_type)


def flatten_errors(detail: Any, prefix: str = "") -> list[FieldError]:
    """DRF's nested error structure as a flat list of field paths and messages."""
    errors: list[FieldError] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key in ("non_field_errors", "__all__"):
                path = prefix
            elif isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            errors.extend(flatten_errors(value, path))
    elif isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            errors.extend(FieldError(prefix or "record", str(item)) for item in detail)
        else:
            for index, item in enumerate(detail):
                if item:
                    errors.extend(flatten_errors(item, f"{prefix}[{index}]"))
    elif detail:
        errors.append(FieldError(prefix or "record", str(detail)))
    return errors


def validate_record(entity_type: str, data: Any) -> tuple[dict[str, Any] | None, int, list[FieldError]]:
    """Check one record against its contract: (validated data, contract version, errors)."""
    if not isinstance(data, dict):
        return (
            None,
            DEFAULT_VERSION,
            [FieldError("record", f"a record must be a JSON object, not {type(data).__name__}")],
        )
    version = data.get("contract_version", DEFAULT_VERSION)
    if isinstance(version, bool) or not isinstance(version, int):
        return None, DEFAULT_VERSION, [FieldError("contract_version", "must be an integer")]
    contract = CONTRACTS.get((entity_type, version))
    if contract is None:
        supported = ", ".join(str(v) for v in supported_versions(entity_type))
        return (
            None,
            version,
            [
                FieldError(
                    "contract_version", f"unsupported version {version} for {entity_type}; supported: {supported}"
                )
            ],
        )
    try:
        validated = _bound_contract(contract).run_validation(data)
    except serializers.ValidationError as exc:
        return None, version, flatten_errors(exc.detail)
    return dict(validated), version, []


_local = threading.local()


def _bound_contract(contract: type[ContractSerializer]) -> ContractSerializer:
    """One bound serializer per contract and thread: DRF deep-copies every declared field on each
    instantiation, which cost more than the validation itself on the ingest path."""
    cache = _local.__dict__.setdefault("contracts", {})
    if contract not in cache:
        cache[contract] = contract()
    return cache[contract]


__all__ = ["CONTRACTS", "DEFAULT_VERSION", "FieldError", "flatten_errors", "supported_versions", "validate_record"]
