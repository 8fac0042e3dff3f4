"""The contract's text field takes a fast path for ordinary strings; it must answer exactly as DRF's full path."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from mdm.contracts.fields import Text


def _outcome(field: Text, value: object) -> tuple[str, object]:
    try:
        return "ok", field.run_validation(value)
    except serializers.ValidationError as exc:
        return "error", [str(message) for message in exc.detail]


def _pair(**kwargs: object) -> tuple[Text, Text]:
    fast = Text(**kwargs)
    full = Text(validators=[], **kwargs)  # given validators, the field always takes DRF's path
    assert fast._fast and not full._fast
    return fast, full


@pytest.mark.parametrize(
    "value",
    ["Acme", "  Acme   GmbH ", "", "   ", "x" * 12, "x" * 13, "a\x00b", "\ud800", "line\nbreak", "Müller", 12, None],
)
@pytest.mark.parametrize("allow_blank", [True, False])
def test_fast_path_answers_like_drf(value: object, allow_blank: bool) -> None:
    fast, full = _pair(max_length=12, allow_blank=allow_blank)
    assert _outcome(fast, value) == _outcome(full, value)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20), st.booleans())
def test_fast_path_answers_like_drf_for_any_text(value: str, allow_blank: bool) -> None:
    fast, full = _pair(max_length=10, min_length=2, allow_blank=allow_blank)
    assert _outcome(fast, value) == _outcome(full, value)
