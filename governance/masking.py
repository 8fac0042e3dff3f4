"""What a viewer sees of personal and tax data: enough to recognise a value, never the whole of it."""

from typing import Any

MASKED = {"tax_ids", "national_id", "phones", "emails"}


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
