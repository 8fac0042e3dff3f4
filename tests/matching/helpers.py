"""Records in match form, built through the hub's own contract and standardisation."""

from typing import Any

from matching.features import Features, features
from mdm.canonical import standardise
from mdm.contracts import validate_record


def match_form(record: dict[str, Any], entity_type: str = "customer") -> Features:
    data, _, errors = validate_record(entity_type, record)
    assert not errors, errors
    return features(entity_type, standardise(entity_type, data).values)


def org(source_id: str = "X", **fields: Any) -> dict[str, Any]:
    """A bare organisation: only what the test gives."""
    return {"source_id": source_id, **fields}
