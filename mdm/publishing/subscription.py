"""Which golden records a target receives: a small, validated filter over golden values.

    {"require": ["tax_id", "legal_address"], "status_in": ["active"], "country_in": ["GB", "DE"],
     "valid_tax_id": true}

`require` names attributes that must be non-empty; `status_in` and `country_in` restrict values;
`valid_tax_id` asks for a tax ID whose check digits passed. An empty filter takes every record.
"""

from typing import Any

KEYS = {"require", "status_in", "country_in", "valid_tax_id", "kind_in"}


def subscription_errors(subscription: Any) -> list[str]:
    """What is wrong with a filter, or nothing."""
    if not isinstance(subscription, dict):
        return ["a JSON object"]
    problems = [f"unknown key '{key}' (known: {', '.join(sorted(KEYS))})" for key in sorted(set(subscription) - KEYS)]
    for key in ("require", "status_in", "country_in", "kind_in"):
        value = subscription.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            problems.append(f"'{key}' must be a list of strings")
    if "valid_tax_id" in subscription and not isinstance(subscription["valid_tax_id"], bool):
        problems.append("'valid_tax_id' must be true or false")
    return problems


def subscribed(subscription: dict[str, Any], values: dict[str, Any]) -> bool:
    """Whether a golden record with these values passes the filter."""
    for name in subscription.get("require", []):
        if values.get(name) in (None, "", [], {}):
            return False
    for key, attribute in (("status_in", "status"), ("country_in", "country"), ("kind_in", "kind")):
        allowed = subscription.get(key)
        if allowed is not None and values.get(attribute) not in allowed:
            return False
    if subscription.get("valid_tax_id"):
        tax_ids = values.get("tax_ids") or []
        if not any(item.get("valid") and item.get("value") == values.get("tax_id") for item in tax_ids):
            return False
    return True
