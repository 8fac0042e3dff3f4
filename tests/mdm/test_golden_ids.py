"""Golden IDs: prefixed, URL-safe, self-checking."""

from hypothesis import given
from hypothesis import strategies as st

from mdm.golden_ids import ALPHABET, new_golden_id, parse_golden_id


def test_ids_carry_their_type() -> None:
    assert new_golden_id("customer").startswith("CUS-")
    assert parse_golden_id(new_golden_id("product")) == "product"


def test_lower_case_and_spaces_are_accepted() -> None:
    golden_id = new_golden_id("customer")
    assert parse_golden_id(f"  {golden_id.lower()} ") == "customer"


@given(st.integers(min_value=4, max_value=15), st.integers(min_value=1, max_value=31))
def test_any_single_wrong_symbol_is_detected(position: int, shift: int) -> None:
    golden_id = new_golden_id("customer")
    wrong = ALPHABET[(ALPHABET.index(golden_id[position]) + shift) % 32]
    assert parse_golden_id(golden_id[:position] + wrong + golden_id[position + 1 :]) is None


def test_garbage_is_not_an_id() -> None:
    for value in ["", "CUS-", "XYZ-0123456789AB", "CUS-0123456789ABCDEF", "cus_123"]:
        assert parse_golden_id(value) is None
