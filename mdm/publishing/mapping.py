"""Field mappings: how a target's fields are filled from a golden record, and how a pulled record comes back.

A mapping's `fields` (and `related`) map a target field to an expression over the golden values:

    "Name": "legal_name"                          an attribute (dotted paths reach into JSON: "legal_address.city")
    "Name": ["legal_name", "trade_name"]          the first non-empty one
    "subsidiary": {"const": {"id": "1"}}          a constant
    "isPerson": {"attr": "kind", "equals": "person"}               a comparison
    "isInactive": {"attr": "status", "map": {"active": false}, "default": true}   a lookup with a default

The golden values are the entity's attributes plus `golden_id`, `version`, `record_status` ("active" or
"retired") and `survivor_id` (the golden ID a retired record was merged into). Empty values are sent as
null, so a value removed in the hub is removed in the target too.

`inbound` is the source contract's shape with the target's field names as leaves; a list of one name
makes a list of that one value: {"trade_name": "Name", "phones": ["Phone"], "billing_address": {...}}.
"""

import datetime
import decimal
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Model

from mdm.models import Customer, EntityType, FieldMapping, GoldenRecord, GoldenStatus, Product, Target

VIRTUAL = {"golden_id", "version", "record_status", "survivor_id"}
_EXPRESSION_KEYS = {"const", "attr", "equals", "map", "default"}


def attribute_names(entity_type: str) -> set[str]:
    """The names a mapping expression may start with, for an entity type."""
    model = Customer if entity_type == EntityType.CUSTOMER else Product
    return {
        f.name for f in model._meta.concrete_fields if f.name not in {"golden", "lineage", "quality_flags"}
    } | VIRTUAL


def _expression_errors(expression: Any, names: set[str]) -> list[str]:
    if isinstance(expression, str):
        head = expression.split(".", 1)[0]
        return [] if head in names else [f"unknown attribute '{head}'"]
    if isinstance(expression, list):
        if not expression:
            return ["an empty list chooses nothing"]
        return [problem for item in expression for problem in _expression_errors(item, names)]
    if isinstance(expression, dict):
        unknown = sorted(set(expression) - _EXPRESSION_KEYS)
        if unknown:
            return [f"unknown key '{key}' (known: {', '.join(sorted(_EXPRESSION_KEYS))})" for key in unknown]
        if "const" in expression:
            return [] if len(expression) == 1 else ["'const' stands alone"]
        if "attr" not in expression:
            return ["needs 'attr' or 'const'"]
        problems = _expression_errors(expression["attr"], names)
        if "map" in expression and not isinstance(expression["map"], dict):
            problems.append("'map' must be an object")
        return problems
    return ["an attribute name, a list of them, or an object with 'const' or 'attr'"]


def _inbound_errors(template: Any, path: str) -> dict[str, str]:
    if isinstance(template, str):
        return {}
    if isinstance(template, list) and len(template) == 1 and isinstance(template[0], str):
        return {}
    if isinstance(template, dict):
        errors: dict[str, str] = {}
        for key, value in template.items():
            errors.update(_inbound_errors(value, f"{path}.{key}"))
        return errors
    return {path: "a target field name, a list of one name, or an object of them"}


def mapping_errors(entity_type: str, fields: Any, related: Any, inbound: Any) -> dict[str, str]:
    """Problems of a mapping, by field path (fields.Name: unknown attribute 'nme'); empty when valid."""
    if entity_type not in EntityType.values:
        return {"entity_type": f"unknown entity type '{entity_type}'"}
    names = attribute_names(entity_type)
    errors: dict[str, str] = {}
    for label, spec in (("fields", fields), ("related", related)):
        if not isinstance(spec, dict):
            errors[label] = "a JSON object of target field → expression"
            continue
        for target_field, expression in spec.items():
            problems = _expression_errors(expression, names)
            if problems:
                errors[f"{label}.{target_field}"] = "; ".join(problems)
    if isinstance(fields, dict) and not fields:
        errors["fields"] = "map at least one field"
    if isinstance(inbound, dict):
        errors.update(_inbound_errors(inbound, "inbound") if inbound else {})
    else:
        errors["inbound"] = "a JSON object in the source contract's shape"
    return errors


def latest_mappings(target: Target) -> dict[str, FieldMapping]:
    """The mapping in force for each entity type of a target: its newest version."""
    latest: dict[str, FieldMapping] = {}
    for mapping in FieldMapping.objects.filter(target=target).order_by("entity_type", "-version"):
        latest.setdefault(mapping.entity_type, mapping)
    return latest


def _lookup(values: Mapping[str, Any], path: str) -> Any:
    current: Any = values
    for part in path.split("."):
        if isinstance(current, Mapping):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit():
            index = int(part)
            current = current[index] if index < len(current) else None
        else:
            return None
    return current


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def evaluate(expression: Any, values: Mapping[str, Any]) -> Any:
    """The value of one mapping expression for one golden record."""
    if isinstance(expression, str):
        return _plain(_lookup(values, expression))
    if isinstance(expression, list):
        for item in expression:
            value = evaluate(item, values)
            if not _empty(value):
                return value
        return None
    if "const" in expression:
        return expression["const"]
    value = evaluate(expression["attr"], values)
    if "equals" in expression:
        return value == expression["equals"]
    if "map" in expression:
        return (
            expression["map"].get(value, expression.get("default"))
            if isinstance(value, str)
            else expression.get("default")
        )
    return expression.get("default") if _empty(value) else value


def _plain(value: Any) -> Any:
    """JSON-ready: decimals as numbers, dates as ISO strings, empty as null."""
    if _empty(value):
        return None
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    return value


def golden_values(goldens: Iterable[GoldenRecord]) -> dict[int, dict[str, Any]]:
    """The values mapping expressions read, for many golden records in two queries (`merged_into` preloaded)."""
    goldens = list(goldens)
    by_type: dict[str, list[int]] = {}
    for golden in goldens:
        by_type.setdefault(golden.entity_type, []).append(golden.pk)
    rows: dict[int, Model] = {}
    for entity_type, pks in by_type.items():
        model = Customer if entity_type == EntityType.CUSTOMER else Product
        # Lineage and quality flags are the heaviest columns and no mapping reads them.
        rows.update({row.pk: row for row in model.objects.filter(pk__in=pks).defer("lineage", "quality_flags")})
    result: dict[int, dict[str, Any]] = {}
    for golden in goldens:
        row = rows.get(golden.pk)
        values: dict[str, Any] = {}
        if row is not None:
            for field in row._meta.concrete_fields:
                if field.name not in {"golden", "lineage", "quality_flags"}:
                    values[field.name] = getattr(row, field.attname)
        values.update(
            golden_id=golden.golden_id,
            version=golden.version,
            record_status="retired" if golden.status == GoldenStatus.RETIRED else "active",
            survivor_id=golden.merged_into.golden_id if golden.merged_into else None,
        )
        result[golden.pk] = values
    return result


def apply_mapping(spec: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A target record (or its related values) from golden values."""
    return {target_field: evaluate(expression, values) for target_field, expression in spec.items()}


def payload_hash(fields: Mapping[str, Any], related: Mapping[str, Any], parent: str | None) -> str:
    """What identifies a payload: the same hash means the target already has exactly this."""
    blob = json.dumps({"f": fields, "r": related, "p": parent}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def inbound_payload(template: Mapping[str, Any], pulled: Mapping[str, Any], only: set[str] | None = None) -> dict:
    """A source-contract payload from a pulled record; `only` limits it to those target fields."""
    result: dict[str, Any] = {}
    for key, leaf in template.items():
        if isinstance(leaf, str):
            if only is None or leaf in only:
                value = pulled.get(leaf)
                if not _empty(value):
                    result[key] = value
        elif isinstance(leaf, list):
            if only is None or leaf[0] in only:
                value = pulled.get(leaf[0])
                if not _empty(value):
                    result[key] = [value]
        else:
            nested = inbound_payload(leaf, pulled, only)
            if nested:
                result[key] = nested
    return result


def inbound_fields(template: Mapping[str, Any]) -> set[str]:
    """The target fields an inbound template reads."""
    names: set[str] = set()
    for leaf in template.values():
        if isinstance(leaf, str):
            names.add(leaf)
        elif isinstance(leaf, list):
            names.add(leaf[0])
        else:
            names |= inbound_fields(leaf)
    return names
