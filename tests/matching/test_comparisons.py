"""Comparators: what counts as the same name, phone, address or date, and what never decides a match alone."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.comparisons import MISSING, ORGANISATION, PERSON, address, fuzzy_list, shared
from matching.features import blocking_keys
from matching.scoring import DEFAULT_PARAMETERS, Scorer
from tests.matching.helpers import match_form, org

NAME = next(comparison for comparison in ORGANISATION if comparison.name == "name")
DOB = next(comparison for comparison in PERSON if comparison.name == "date_of_birth")
SCORER = Scorer(DEFAULT_PARAMETERS)


def name_level(left: str, right: str) -> str:
    outcome = NAME.compare(match_form(org(legal_name=left)), match_form(org(legal_name=right)))
    return NAME.levels[outcome.level]


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("ACME Intl. Inc", "Acme International Incorporated"),
        ("Acme Inc.", "ACME, Inc"),
        ("Müller Logistik GmbH", "Muller Logistik G.m.b.H."),
        ("Acme Mfg Co", "Acme Manufacturing Company"),
        ("The Acme Company Ltd", "Acme Company Limited"),
    ],
)
def test_legal_forms_abbreviations_and_case_never_make_names_differ(left: str, right: str) -> None:
    assert name_level(left, right) == "exact"


def test_word_order_and_typos_are_close_not_exact() -> None:
    assert name_level("Schmidt Logistik GmbH", "Logistik Schmidt GmbH") in ("very close", "close")
    assert name_level("Northwind Traders", "Nortwind Traders") == "very close"
    assert name_level("Müller Logistik GmbH", "Mueller Logistik GmbH") == "very close"  # transcribed umlaut
    assert name_level("Northwind Traders", "Zenith Foods") == "different"


def test_different_numbers_make_names_different_things() -> None:
    assert name_level("Batch Company 7", "Batch Company 17") == "different"
    assert name_level("Hotel 1 Berlin", "Hotel 2 Berlin") == "different"
    assert name_level("Route 66 Diner", "Route 66 Diner") == "exact"


def test_a_legal_form_alone_does_not_make_names_alike() -> None:
    # Same suffix, different companies: the suffix is gone before the names are compared.
    assert name_level("Alpha GmbH", "Omega GmbH") in ("similar", "different")


def test_missing_values_are_missing_not_different() -> None:
    compare = fuzzy_list("names", (0.9,))
    assert compare({"names": []}, {"names": ["acme"]}).level == MISSING
    assert shared("phones")({"phones": ["+4930123"]}, {"phones": []}).level == MISSING
    assert address({"postcode": "", "city": ""}, {"postcode": "10115", "city": "berlin"}).level == MISSING


def test_shared_identifiers_agree_when_any_value_is_common() -> None:
    compare = shared("phones")
    assert compare({"phones": ["+1", "+2"]}, {"phones": ["+3", "+2"]}).level == 0
    assert compare({"phones": ["+1"]}, {"phones": ["+3"]}).level == 1


def test_address_levels() -> None:
    here = {"street": "hauptstrasse 5", "postcode": "10115", "city": "berlin"}
    assert address(here, {"street": "hauptstr 5", "postcode": "10115", "city": "berlin"}).level in (0, 1)
    assert address(here, {**here, "street": "hauptstrasse 5"}).level == 0
    assert address(here, {"street": "other 9", "postcode": "10115", "city": "berlin"}).level == 1
    assert address(here, {"street": "", "postcode": "10117", "city": "berlin"}).level == 2
    assert address(here, {"street": "", "postcode": "80331", "city": "muenchen"}).level == 3


def test_first_and_last_name_written_the_other_way_round_compare_crosswise() -> None:
    first, last = (next(c for c in PERSON if c.name == name) for name in ("first_name", "last_name"))
    felicity = {"kind": "person", "first": "felicity", "last": "priest"}
    swapped = {"kind": "person", "first": "priest", "last": "felicidy"}
    # Crosswise, the better pair (priest = priest) is the first-name comparison's, the other the last name's.
    assert first.compare(felicity, swapped).level == 0 and first.compare(swapped, felicity).level == 0
    assert last.compare(felicity, swapped).level == 1  # felicity ~ felicidy
    assert (last.compare(felicity, swapped).left, last.compare(felicity, swapped).right) == (
        "felicity",
        "felicidy (last name)",
    )
    assert SCORER.score(felicity, swapped).weight == SCORER.score(swapped, felicity).weight
    # Straight agreement is kept when it is the better reading, and one name alone is never read crosswise.
    assert first.compare(felicity, {**felicity, "last": "felicity"}).level == 0
    assert first.compare({"kind": "person", "first": "priest"}, felicity).level == PERSON[0].levels.index("different")


def test_dates_of_birth_with_day_and_month_swapped_are_close() -> None:
    assert DOB.compare({"dob": "1980-03-04"}, {"dob": "1980-04-03"}).level == 1
    assert DOB.compare({"dob": "1980-03-04"}, {"dob": "1980-03-05"}).level == 1
    assert DOB.compare({"dob": "1980-03-04"}, {"dob": "1975-11-20"}).level == 2


def test_persons_and_organisations_are_never_compared() -> None:
    person = match_form({"source_id": "P", "kind": "person", "first_name": "Ada", "last_name": "Lovelace"})
    company = match_form(org(legal_name="Lovelace Ada Ltd"))
    assert SCORER.score(person, company) is None


def test_a_common_word_is_not_a_blocking_key_but_a_generic_only_name_still_has_one() -> None:
    keys = blocking_keys("customer", match_form(org(legal_name="Global Services GmbH")))
    assert not any(key in ("nt:global", "nt:services") for key in keys)
    assert keys  # a name of generic words only still finds its twins


def test_non_latin_long_and_tiny_names_are_matched_on_what_they_have() -> None:
    for name in ("Газпром нефть", "Αθηναϊκή Ζυθοποιία", "株式会社トヨタ", "X", "A" * 255):
        found = match_form(org(legal_name=name))
        keys = blocking_keys("customer", found)
        assert keys and all(len(key) <= 160 for key in keys)
        assert SCORER.score(found, found).weight > 0


# --- Properties ---------------------------------------------------------------------------------

names = st.sampled_from(["Acme", "Acme Intl", "Northwind", "Nortwind", "Zenith", "Ωmega", "株式会社"])
orgs = st.builds(
    lambda name, form, phone, domain, postcode, city, country: {
        "kind": "organisation",
        "names": [f"{name} {form}".strip().lower()],
        "tax": [],
        "phones": [phone] if phone else [],
        "domains": [domain] if domain else [],
        "postcode": postcode,
        "city": city,
        "street": "",
        "country": country,
    },
    names,
    st.sampled_from(["", "trading", "group"]),
    st.sampled_from(["", "+4930123456", "+442071234567"]),
    st.sampled_from(["", "acme.example", "zenith.example"]),
    st.sampled_from(["", "10115", "10117"]),
    st.sampled_from(["", "berlin", "london"]),
    st.sampled_from(["", "DE", "GB"]),
)


@settings(max_examples=300, deadline=None)
@given(orgs, orgs)
def test_a_score_is_symmetric(left: dict, right: dict) -> None:
    assert SCORER.score(left, right).weight == pytest.approx(SCORER.score(right, left).weight)


@settings(max_examples=300, deadline=None)
@given(orgs, orgs)
def test_a_record_matches_itself_at_least_as_well_as_anything_else(left: dict, right: dict) -> None:
    assert SCORER.score(left, left).weight >= SCORER.score(left, right).weight - 1e-9


def test_a_record_compared_with_itself_is_a_certain_match() -> None:
    found = match_form(
        org(
            legal_name="Northwind Traders GmbH",
            phones=["030 1234567"],
            website="northwind.example",
            legal_address={"line1": "Hauptstraße 5", "postcode": "10115", "city": "Berlin", "country": "DE"},
        )
    )
    assert SCORER.score(found, found).probability > 0.9999


@settings(max_examples=200, deadline=None)
@given(orgs, orgs)
def test_the_screening_weight_is_the_explained_weight(left: dict, right: dict) -> None:
    explained = SCORER.score(left, right)
    assert SCORER.weight(left, right) == pytest.approx(explained.weight)
    parts = sum(row.weight for row in explained.contributions) + explained.prior_weight
    assert parts == pytest.approx(explained.weight)


def test_products_with_other_sizes_or_sequential_skus_are_different() -> None:
    from matching.comparisons import PRODUCT

    name = next(comparison for comparison in PRODUCT if comparison.name == "name")
    sku = next(comparison for comparison in PRODUCT if comparison.name == "sku")
    left = match_form({"source_id": "1", "name": "Multi purpose grease 400 g", "sku": "LUB-10065"}, "product")
    for other, level in [
        ("Multi purpose grease 500 g", "different"),
        ("Multi-purpose grease 400g", "very close"),
        ("Multi purpose grease 400 g cartridge", "very close"),
    ]:
        right = match_form({"source_id": "2", "name": other, "sku": "LUB-10065"}, "product")
        assert name.levels[name.compare(left, right).level] == level, other
    right = match_form({"source_id": "2", "name": "x", "sku": "LUB10035"}, "product")
    assert sku.levels[sku.compare(left, right).level] == "different"
