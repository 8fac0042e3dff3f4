"""Builders of source records as systems send them, with realistic, valid defaults."""

import hashlib
from typing import Any

VALID_DE_VAT = "DE136695976"
VALID_FR_VAT = "FR40303265045"
VALID_GTIN = "4006381333931"


def _contacts_for(name: str) -> dict[str, Any]:
    """Contact data of its own for a company given another name, so it does not look like Northwind's twin."""
    slug = "".join(char for char in name.lower() if char.isalnum())[:20] or "x"
    number = int(hashlib.sha256(name.encode()).hexdigest(), 16) % 9_000_000 + 1_000_000
    return {
        "trade_name": None,
        "phones": [f"030 {number}"],
        "emails": [f"info@{slug}.example"],
        "website": f"https://{slug}.example",
        "legal_address": {"line1": f"Weg {number % 97 + 1}", "city": "Hamburg", "postcode": "20095", "country": "DE"},
    }


def customer(source_id: str = "ACC-1", **fields: Any) -> dict[str, Any]:
    """An organisation as Salesforce or the ERP sends it; given another legal name, other contact data too."""
    record: dict[str, Any] = {
        "source_id": source_id,
        "legal_name": "Northwind Traders GmbH",
        "trade_name": "Northwind",
        "tax_ids": [{"value": VALID_DE_VAT, "country": "DE"}],
        "legal_address": {"line1": "Hauptstraße 5", "city": "Berlin", "postcode": "10115", "country": "Germany"},
        "phones": ["030 1234567"],
        "emails": ["Info@Northwind.example"],
        "website": "https://www.northwind.example/about",
        "industry": "Wholesale",
    }
    if fields.get("legal_name") not in (None, record["legal_name"]):
        record.update(_contacts_for(fields["legal_name"]))
    record.update(fields)
    return {key: value for key, value in record.items() if value is not None}


def product(source_id: str = "ITEM-1", **fields: Any) -> dict[str, Any]:
    """An item as the ERP or Salesforce sends it."""
    record: dict[str, Any] = {
        "source_id": source_id,
        "sku": "NW-1001",
        "gtin": VALID_GTIN,
        "name": "Widget, blue, 10 pack",
        "unit_of_measure": "pcs",
        "category": "Widgets",
        "list_price": "19.90",
        "currency": "eur",
    }
    record.update(fields)
    return {key: value for key, value in record.items() if value is not None}
