"""What a viewer sees of personal and tax data: enough to recognise a value, never the whole of it.

The primitive lives in the store so that the REST API (mdm/api/) and the steward pages (governance) mask
alike; who may see values in full is the `governance.view_unmasked` permission, named here as a string so
the store never imports stewardship.
"""

import re
from typing import Any

UNMASKED_PERMISSION = "governance.view_unmasked"

# Golden attributes and matcher comparisons that hold tax IDs, national IDs, phones or emails.
MASKED = frozenset({"tax_ids", "tax_id", "national_id", "phones", "phone", "emails", "email"})

_QUOTED = re.compile(r"'([^']*)'")


def mask_text(text: str) -> str:
    """Keep the first two and last two characters (an email keeps its domain): 'DE•••••76', 'j•••@acme.example'."""
    if "@" in text:
        local, _, domain = text.partition("@")
        return f"{local[:1]}•••@{domain}"
    if len(text) <= 4:
        return "•" * len(text)
    return f"{text[:2]}{'•' * (len(text) - 4)}{text[-2:]}"


def masked_values(name: str, value: Any, unmasked: bool) -> Any:
    """The value of attribute `name` as this person may see it (masked unless `unmasked`)."""
    if unmasked or name not in MASKED or value in (None, "", []):
        return value
    if isinstance(value, list):
        return [masked_values(name, item, unmasked) for item in value]
    if isinstance(value, dict):  # a tax ID: {"country", "value", "valid"}
        return {**value, "value": mask_text(str(value.get("value", "")))}
    return mask_text(str(value))


def _field_name(path: str) -> str:
    """The attribute a field path is about: 'tax_ids[0].value' → 'tax_ids'."""
    return path.split("[", 1)[0].split(".", 1)[0]


def masked_issue(issue: Any) -> Any:
    """A quality flag or standardisation issue whose message quotes a masked value, with that value masked."""
    if not isinstance(issue, dict) or _field_name(str(issue.get("field", ""))) not in MASKED:
        return issue
    message = str(issue.get("message", ""))
    if _QUOTED.search(message):  # "'call me' is not a valid phone number"
        message = _QUOTED.sub(lambda found: f"'{mask_text(found[1])}'", message)
    elif ": " in message:  # "DE136695975: invalid checksum"
        value, _, rest = message.partition(": ")
        message = f"{mask_text(value)}: {rest}"
    return {**issue, "message": message}


def masked_record(data: dict[str, Any]) -> dict[str, Any]:
    """A serialised golden record as a viewer sees it: masked attributes, flags and its sources' issues."""
    shown = {name: masked_values(name, value, False) for name, value in data.items()}
    if isinstance(shown.get("quality_flags"), list):
        shown["quality_flags"] = [masked_issue(flag) for flag in shown["quality_flags"]]
    if isinstance(shown.get("sources"), list):
        shown["sources"] = [
            {**source, "issues": [masked_issue(issue) for issue in source.get("issues") or []]}
            if isinstance(source, dict)
            else source
            for source in shown["sources"]
        ]
    return shown


def masked_change(field: str, value: Any) -> Any:
    """One side of a recorded change (history, audit) of column `field` as a viewer sees it."""
    if field in ("quality_flags", "issues") and isinstance(value, list):
        return [masked_issue(flag) for flag in value]
    return masked_values(field, value, False)


def masked_explanation(explanation: Any) -> Any:
    """A matcher's explanation whose compared values of masked attributes (tax ID, phone, email) are masked."""
    if not isinstance(explanation, dict) or not isinstance(explanation.get("attributes"), list):
        return explanation
    rows = []
    for row in explanation["attributes"]:
        if isinstance(row, dict) and row.get("attribute") in MASKED:
            row = {**row, **{side: masked_values(row["attribute"], row.get(side), False) for side in ("left", "right")}}
        rows.append(row)
    return {**explanation, "attributes": rows}
