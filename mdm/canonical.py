"""The hub's canonical form of a record: standardising a validated contract record, and projecting
surviving values onto the golden entity's columns.

Hard failures (an email that is not one) reject the record; soft ones (an invalid tax ID, a phone
that does not parse) keep the value, flag it, and keep it out of matching keys.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from mdm.contracts import FieldError
from mdm.standardisation import (
    StandardisationError,
    gtin_is_valid,
    normalise_email,
    normalise_phone,
    sku_key,
    split_legal_form,
    validate_tax_id,
    website_domain,
)

ADDRESS_KINDS = ("legal_address", "billing_address", "shipping_address")


@dataclass
class Standardised:
    """A record in canonical form, ready for matching and survivorship."""

    values: dict[str, Any]
    issues: list[dict[str, str]] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)


def payload_hash(payload: dict[str, Any]) -> str:
    """A hash of what the source sent, ignoring its timestamp: equal hashes mean an identical record."""
    content = {key: value for key, value in payload.items() if key not in ("updated_at", "contract_version")}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _address(raw: dict[str, Any] | None) -> dict[str, str]:
    if not raw:
        return {}
    address = {key: value for key, value in raw.items() if value}
    if address.get("postcode"):
        address["postcode"] = " ".join(address["postcode"].upper().split())
    return address


def _standardise_customer(data: dict[str, Any]) -> Standardised:
    result = Standardised(values={})
    values = result.values
    values["kind"] = data.get("kind") or "organisation"
    legal_name = data.get("legal_name") or ""
    if not legal_name and values["kind"] == "person":
        legal_name = f"{data.get('first_name', '')} {data.get('last_name', '')}".strip()
    values["legal_name"] = legal_name
    values["first_name"] = data.get("first_name") or ""
    values["last_name"] = data.get("last_name") or ""
    values["trade_name"] = data.get("trade_name") or ""
    values["date_of_birth"] = _jsonable(data.get("date_of_birth"))
    values["national_id"] = "".join((data.get("national_id") or "").upper().split())
    for kind in ADDRESS_KINDS:
        values[kind] = _address(data.get(kind))
    home_country = next((values[kind]["country"] for kind in ADDRESS_KINDS if values[kind].get("country")), None)

    tax_ids = []
    for index, item in enumerate(data.get("tax_ids") or []):
        tax = validate_tax_id(item["value"], country=item.get("country") or home_country)
        if tax is None:
            continue
        entry = {"value": tax.value, "country": tax.country or "", "scheme": tax.scheme, "valid": tax.valid}
        if not tax.valid:
            entry["error"] = tax.error
            result.issues.append({"field": f"tax_ids[{index}]", "code": "invalid_tax_id", "message": tax.error})
        elif tax.country:
            result.keys.append(f"tax:{tax.country}:{tax.value}")
        tax_ids.append(entry)
    values["tax_ids"] = tax_ids

    phones: list[str] = []
    unverified: list[str] = []  # digits of numbers libphonenumber rejects: flagged, but still compared by matching
    for index, raw in enumerate(data.get("phones") or []):
        phone = normalise_phone(raw, default_country=home_country)
        if phone is None:
            continue
        if phone.e164 and phone.valid:
            if phone.e164 not in phones:
                phones.append(phone.e164)
        else:
            if phone.digits and phone.digits not in unverified:
                unverified.append(phone.digits)
            result.issues.append(
                {
                    "field": f"phones[{index}]",
                    "code": "invalid_phone",
                    "message": f"'{raw}' is not a valid phone number",
                }
            )
    values["phones"] = phones
    values["unverified_phones"] = unverified

    emails: list[str] = []
    for index, raw in enumerate(data.get("emails") or []):
        try:
            email = normalise_email(raw)
        except StandardisationError as exc:
            result.errors.append(FieldError(f"emails[{index}]", str(exc)))
            continue
        if email and email not in emails:
            emails.append(email)
    values["emails"] = emails

    try:
        values["website"] = website_domain(data.get("website")) or ""
    except StandardisationError as exc:
        result.errors.append(FieldError("website", str(exc)))
        values["website"] = ""
    values["industry"] = data.get("industry") or ""
    values["status"] = data.get("status") or ""  # an omitted status must not outvote a system that sent one
    values["payment_terms"] = data.get("payment_terms") or ""
    return result


def _standardise_product(data: dict[str, Any]) -> Standardised:
    result = Standardised(values={})
    values = result.values
    values["sku"] = (data.get("sku") or "").strip()
    gtin = data.get("gtin") or ""
    if gtin:
        gtin = gtin.zfill(14)
        if gtin_is_valid(gtin):
            result.keys.append(f"gtin:{gtin}")
        else:
            result.issues.append(
                {"field": "gtin", "code": "invalid_gtin", "message": f"'{data['gtin']}' has a wrong check digit"}
            )
    values["gtin"] = gtin
    if values["sku"] and sku_key(values["sku"]):
        result.keys.append(f"sku:{sku_key(values['sku'])}")
    values["name"] = data.get("name") or ""
    values["description"] = data.get("description") or ""
    values["unit_of_measure"] = data.get("unit_of_measure") or ""
    values["category"] = data.get("category") or ""
    values["status"] = data.get("status") or ""  # an omitted status must not outvote a system that sent one
    values["list_price"] = _jsonable(data.get("list_price"))
    values["currency"] = data.get("currency") or ""
    return result


def standardise(entity_type: str, data: dict[str, Any]) -> Standardised:
    """A validated contract record in canonical form, with its issues, hard errors and strong keys."""
    if entity_type == "customer":
        return _standardise_customer(data)
    return _standardise_product(data)


# --- Golden columns ------------------------------------------------------------------------------------


def _first(items: list[Any]) -> Any:
    return items[0] if items else ""


def customer_columns(values: dict[str, Any]) -> dict[str, Any]:
    """The Customer model's columns from surviving values, with the derived ones filled in."""
    columns: dict[str, Any] = {name: (value if value is not None else "") for name, value in values.items()}
    for name in ("tax_ids", "phones", "emails"):
        columns[name] = values.get(name) or []
    for name in ADDRESS_KINDS:
        columns[name] = values.get(name) or {}
    columns["date_of_birth"] = date.fromisoformat(values["date_of_birth"]) if values.get("date_of_birth") else None
    columns["kind"] = values.get("kind") or "organisation"
    columns["status"] = values.get("status") or "active"
    if columns["kind"] == "person":
        columns["legal_name_core"], columns["legal_form"] = columns["legal_name"], ""
    else:
        legal = split_legal_form(columns["legal_name"])
        columns["legal_name_core"], columns["legal_form"] = legal.core, legal.legal_form
    tax_ids: list[dict[str, Any]] = columns["tax_ids"]
    primary: dict[str, Any] = next((tax for tax in tax_ids if tax.get("valid")), _first(tax_ids)) or {}
    columns["tax_id"] = primary.get("value", "")
    columns["tax_country"] = primary.get("country", "")
    addresses: list[dict[str, Any]] = [columns[kind] for kind in ADDRESS_KINDS]
    located = next((address for address in addresses if address.get("country")), {})
    columns["country"] = located.get("country", "")
    columns["city"] = located.get("city", "")
    columns["postcode"] = located.get("postcode", "")
    phones: list[str] = columns["phones"]
    emails: list[str] = columns["emails"]
    columns["phone"] = _first(phones)
    columns["email"] = _first(emails)
    return columns


def product_columns(values: dict[str, Any]) -> dict[str, Any]:
    """The Product model's columns from surviving values."""
    columns: dict[str, Any] = {name: (value if value is not None else "") for name, value in values.items()}
    columns["list_price"] = Decimal(values["list_price"]) if values.get("list_price") not in (None, "") else None
    columns["status"] = values.get("status") or "active"
    return columns


def quality_flags(entity_type: str, values: dict[str, Any]) -> list[dict[str, str]]:
    """Problems visible in the golden values themselves (an invalid tax ID that survived)."""
    flags: list[dict[str, str]] = []
    if entity_type == "customer":
        for tax in values.get("tax_ids") or []:
            if not tax.get("valid"):
                flags.append(
                    {
                        "field": "tax_ids",
                        "code": "invalid_tax_id",
                        "message": f"{tax['value']}: {tax.get('error', 'invalid')}",
                    }
                )
    elif values.get("gtin") and not gtin_is_valid(values["gtin"]):
        flags.append({"field": "gtin", "code": "invalid_gtin", "message": f"{values['gtin']}: wrong check digit"})
    return flags
