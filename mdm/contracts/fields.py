"""Serializer fields shared by the inbound data contracts."""

import re
from typing import Any

from rest_framework import serializers
from rest_framework.fields import empty

from mdm.standardisation import StandardisationError, clean_text, country_code

_NEEDS_FULL_CHECK = re.compile("[\x00\ud800-\udfff]")


class Text(serializers.CharField):
    """A trimmed text field: control characters stripped and internal whitespace collapsed; NUL rejected."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("trim_whitespace", True)
        # The fast path below knows only the length checks; a field given other validators takes DRF's path.
        self._fast = "validators" not in kwargs
        super().__init__(**kwargs)

    def run_validation(self, data: Any = empty) -> Any:
        # Most values are ordinary strings that pass: check them directly. DRF's general path (empty and
        # null handling, a validator object per length limit, NUL and surrogate validators) cost more than
        # the rest of ingest's per-record work; anything unusual, and every failure, still goes through it.
        if self._fast and type(data) is str and not _NEEDS_FULL_CHECK.search(data):
            value = clean_text(data)
            if (
                value
                and (self.max_length is None or len(value) <= self.max_length)
                and (self.min_length is None or len(value) >= self.min_length)
            ):
                return value
        return super().run_validation(data)

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
