"""Builders of source records as systems send them, with realistic, valid defaults."""

from typing import Any

VALID_DE_VAT = "DE136695976"
VALID_FR_VAT = "FR40303265045"
VALID_GTIN = "4006381333931"


def customer(source_id: str = "ACC-1", **fields: Any) -> dict[str, Any]:
    """An organisation as Salesforce or the ERP sends it."""
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
