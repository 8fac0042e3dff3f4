"""Customer contract v1: a customer (organisation or person) as a source system sends it."""

from typing import Any

from rest_framework import serializers

from mdm.contracts.base import ContractSerializer
from mdm.contracts.fields import Country, StrictListField, Text
from mdm.models import CustomerKind, CustomerStatus


class StrictObject(serializers.Serializer):
    """A nested object that names its unknown fields instead of dropping them."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["unknown field"] for name in unknown})
        return super().to_internal_value(data)


class AddressV1(StrictObject):
    """A postal address; the country is required so phones and tax IDs can be read in context."""

    line1 = Text(max_length=255)
    line2 = Text(max_length=255)
    city = Text(max_length=120)
    postcode = Text(max_length=20)
    region = Text(max_length=120)
    country = Country(required=True)


class TaxIdV1(StrictObject):
    """A tax or VAT number and the country that issued it (taken from a VAT prefix when omitted)."""

    value = Text(required=True, allow_blank=False, max_length=64)
    country = Country(required=False, allow_blank=True)


class CustomerV1(ContractSerializer):
    """Customer v1. Organisations need a legal or trade name; persons a name or first and last name."""

    kind = serializers.ChoiceField(choices=CustomerKind.choices, required=False, default=CustomerKind.ORGANISATION)
    legal_name = Text(max_length=255)
    trade_name = Text(max_length=255)
    first_name = Text(max_length=120)
    last_name = Text(max_length=120)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    national_id = Text(max_length=64)
    tax_ids = StrictListField(child=TaxIdV1(), required=False, max_length=10)
    legal_address = AddressV1(required=False, allow_null=True)
    billing_address = AddressV1(required=False, allow_null=True)
    shipping_address = AddressV1(required=False, allow_null=True)
    phones = StrictListField(child=Text(allow_blank=False, max_length=40), required=False, max_length=10)
    emails = StrictListField(child=Text(allow_blank=False, max_length=254), required=False, max_length=10)
    website = Text(max_length=255)
    industry = Text(max_length=120)
    status = serializers.ChoiceField(
        choices=CustomerStatus.choices, required=False, help_text="Omitted: the record says nothing about status."
    )
    payment_terms = Text(max_length=40)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("kind") == CustomerKind.PERSON:
            if not (attrs.get("legal_name") or (attrs.get("first_name") and attrs.get("last_name"))):
                raise serializers.ValidationError(
                    {"legal_name": ["a person needs legal_name, or first_name and last_name"]}
                )
        elif not (attrs.get("legal_name") or attrs.get("trade_name")):
            raise serializers.ValidationError({"legal_name": ["an organisation needs legal_name or trade_name"]})
        if attrs.get("kind") != CustomerKind.PERSON and (attrs.get("date_of_birth") or attrs.get("national_id")):
            raise serializers.ValidationError({"kind": ["date_of_birth and national_id are only for persons"]})
        return attrs
