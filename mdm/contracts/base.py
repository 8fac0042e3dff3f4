"""The envelope every inbound record shares, whatever its entity type and contract version."""

from typing import Any

from rest_framework import serializers

from mdm.contracts.fields import Text


class ContractSerializer(serializers.Serializer):
    """A versioned inbound contract: rejects unknown fields so a misspelt one is an error, not silent loss."""

    source_id = Text(required=True, allow_blank=False, max_length=255)
    contract_version = serializers.IntegerField(required=False, min_value=1)
    updated_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="The source's last-modified time (ISO 8601); older versions are ignored.",
    )
    parent_source_id = Text(max_length=255, help_text="The source's own ID of the parent record.")

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": [f"a record must be a JSON object, not {type(data).__name__}"]}
            )
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["unknown field"] for name in unknown})
        return super().to_internal_value(data)
