"""Product contract v1: an item as a source system sends it."""

from typing import Any

from rest_framework import serializers

from mdm.contracts.base import ContractSerializer
from mdm.contracts.fields import Text
from mdm.models import ProductStatus
from mdm.standardisation import StandardisationError, currency_code, unit_of_measure


class ProductV1(ContractSerializer):
    """Product v1: a name is required; a list price needs its currency."""

    sku = Text(max_length=64)
    gtin = Text(max_length=20, help_text="GTIN-8/12/13/14; a wrong check digit is kept and flagged.")
    name = Text(required=True, allow_blank=False, max_length=255)
    description = Text(max_length=4000)
    unit_of_measure = Text(max_length=20)
    category = Text(max_length=120)
    status = serializers.ChoiceField(
        choices=ProductStatus.choices, required=False, help_text="Omitted: the record says nothing about status."
    )
    list_price = serializers.DecimalField(
        max_digits=14, decimal_places=4, min_value=0, required=False, allow_null=True, coerce_to_string=False
    )
    currency = Text(max_length=3)

    def validate_unit_of_measure(self, value: str) -> str:
        try:
            return unit_of_measure(value) if value else ""
        except StandardisationError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate_currency(self, value: str) -> str:
        try:
            return currency_code(value) if value else ""
        except StandardisationError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate_gtin(self, value: str) -> str:
        digits = value.replace(" ", "").replace("-", "")
        if digits and (not digits.isdigit() or len(digits) not in (8, 12, 13, 14)):
            raise serializers.ValidationError("a GTIN has 8, 12, 13 or 14 digits")
        return digits

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("list_price") is not None and not attrs.get("currency"):
            raise serializers.ValidationError({"currency": ["required when list_price is given"]})
        return attrs
