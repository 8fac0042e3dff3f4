"""Serializer fields shared by the inbound data contracts."""

from typing import Any

from rest_framework import serializers

from mdm.standardisation import StandardisationError, clean_text, country_code


class Text(serializers.CharField):
    """A trimmed text field: control characters stripped and internal whitespace collapsed; NUL rejected."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("trim_whitespace", True)
        super().__init__(**kwargs)

    default_error_messages = {"invalid": "Expected a string.", "null_characters": "Must not contain NUL characters."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        if "\x00" in data:
            self.fail("null_characters")
        value = super().to_internal_value(data)
        return clean_text(value)


class Country(serializers.CharField):
    """A country as ISO 3166-1 alpha-2; accepts codes and common names ("Germany", "UK", "DEU")."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 80)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        value = super().to_internal_value(data)
        try:
            code = country_code(value)
        except StandardisationError as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return code or ""


class StrictListField(serializers.ListField):
    """A list that must be a JSON array (not a string, which DRF would otherwise iterate)."""

    def to_internal_value(self, data: Any) -> list[Any]:
        if isinstance(data, str | dict) or not hasattr(data, "__iter__"):
            self.fail("not_a_list", input_type=type(data).__name__)
        return super().to_internal_value(data)
