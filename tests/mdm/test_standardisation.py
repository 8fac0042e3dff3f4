"""Standardisers: canonical forms and match keys for names, countries, phones, tax IDs and contact details."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdm.standardisation import (
    FREE_MAIL_DOMAINS,
    LegalName,
    Phone,
    StandardisationError,
    TaxId,
    clean_text,
    country_code,
    email_domain,
    fold,
    normalise_email,
    normalise_phone,
    split_legal_form,
    validate_tax_id,
    website_domain,
)
from mdm.standardisation.legal_forms import LEGAL_FORMS

COUNTRIES = st.sampled_from(
    [None, "DE", "FR", "GR", "NL", "GB", "US", "CH", "NO", "AU", "CA", "IN", "BR", "JP", "MX", "ZW"]
)
# Text that looks like the data: Latin letters with diacritics, digits, separators, a few other scripts.
DATA_TEXT = st.text(alphabet="aAeEéÉßøæŁ İıΣσςдД東が0123456789 .,-&'/()+@:\t\n\x00")
ANY_TEXT = st.one_of(st.text(), DATA_TEXT)
LEGAL_SPELLINGS = st.sampled_from(
    [spelling for canonical, variants in LEGAL_FORMS.items() for spelling in (canonical, *variants)]
)


# fold


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Crème Brûlée", "creme brulee"),
        ("Straße", "strasse"),
        ("Ørsted", "orsted"),
        ("Æon", "aeon"),
        ("Łódź", "lodz"),
        ("Procter & Gamble", "procter and gamble"),
        ("  A.C.M.E.,   Widgets!  ", "a c m e widgets"),
        ("McDonald's", "mcdonalds"),
        ("ＡＣＭＥ", "acme"),
    ],
)
def test_latin_text_folds_to_plain_lowercase_words(raw: str, folded: str) -> None:
    assert fold(raw) == folded


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("ООО Ромашка", "ооо ромашка"),
        ("ΑΘΉΝΑ", "αθήνα"),
        ("東京株式会社", "東京株式会社"),
        ("がぎ", "がぎ"),
        ("हिन्दी", "हिन्दी"),
    ],
)
def test_non_latin_scripts_are_case_folded_but_kept(raw: str, folded: str) -> None:
    assert fold(raw) == folded


@pytest.mark.parametrize("raw", [None, "", "   ", "!!!"])
def test_empty_or_punctuation_only_text_folds_to_empty(raw: str | None) -> None:
    assert fold(raw) == ""


# clean_text


def test_clean_text_removes_control_characters_and_collapses_whitespace() -> None:
    assert clean_text("  Acme\x00 \t Widgets\r\n Ltd ") == "Acme Widgets Ltd"


def test_clean_text_keeps_case_and_composes_accents() -> None:
    assert clean_text("Cafe\u0301 MÜLLER") == "Café MÜLLER"


def test_clean_text_truncates_to_max_length_without_a_trailing_space() -> None:
    assert clean_text("Acme Widgets", max_length=5) == "Acme"


@pytest.mark.parametrize("raw", [None, "", " \t\n "])
def test_clean_text_of_nothing_is_empty(raw: str | None) -> None:
    assert clean_text(raw) == ""


# split_legal_form


@pytest.mark.parametrize(
    ("name", "core", "legal_form"),
    [
        ("Acme Inc.", "Acme", "Inc"),
        ("Acme, Incorporated", "Acme", "Inc"),
        ("ACME INC", "ACME", "Inc"),
        ("Müller GmbH & Co. KG", "Müller", "GmbH & Co KG"),
        ("Müller GmbH und Co. KG", "Müller", "GmbH & Co KG"),
        ("Société Générale S.A.", "Société Générale", "SA"),
        ("Northwind Traders Ltd", "Northwind Traders", "Ltd"),
        ("Northwind Traders Limited", "Northwind Traders", "Ltd"),
        ("Fromagerie S.A.S.", "Fromagerie", "SAS"),
        ("Fromagerie SAS", "Fromagerie", "SAS"),
        ("Outback Pty. Ltd.", "Outback", "Pty Ltd"),
        ("Samsung Electronics Co., Ltd.", "Samsung Electronics", "Co Ltd"),
        ("Kowalski Sp. z o.o.", "Kowalski", "Sp z oo"),
        ("Carlsberg A/S", "Carlsberg", "A/S"),
        ("Equinor AS", "Equinor", "AS"),
        ("Start UG (haftungsbeschränkt)", "Start", "UG"),
        ("Grupo Bimbo S.A. de C.V.", "Grupo Bimbo", "SA de CV"),
        ("Ромашка ООО", "Ромашка", "OOO"),
    ],
)
def test_trailing_legal_form_is_split_off_in_canonical_spelling(name: str, core: str, legal_form: str) -> None:
    result = split_legal_form(name)
    assert (result.core, result.legal_form) == (core, legal_form)


def test_a_name_that_is_only_a_legal_form_keeps_it_as_its_core() -> None:
    assert split_legal_form("Limited") == LegalName(core="Limited", legal_form="", core_key="limited")


def test_a_legal_form_inside_the_name_is_not_split() -> None:
    assert split_legal_form("Ltd Holdings").legal_form == ""


def test_ampersand_company_is_part_of_the_name() -> None:
    result = split_legal_form("Smith & Co")
    assert (result.core, result.legal_form, result.core_key) == ("Smith & Co", "", "smith and company")


def test_core_key_expands_abbreviations_in_word_order() -> None:
    result = split_legal_form("Acme Int'l Mfg Corp Svcs & Bros Ltd")
    assert result.legal_form == "Ltd"
    assert result.core_key == "acme international manufacturing corporation services and brothers"


def test_spellings_of_one_company_share_a_core_key() -> None:
    keys = {split_legal_form(name).core_key for name in ("The Acme Company", "ACME Co.", "Acme, Inc.")}
    assert keys == {"acme"}


def test_no_legal_form_spelling_belongs_to_two_canonical_forms() -> None:
    for canonical, variants in LEGAL_FORMS.items():
        for spelling in (canonical, *variants):
            assert split_legal_form(f"Acme {spelling}").legal_form == canonical, spelling


@pytest.mark.parametrize("name", [None, ""])
def test_no_name_splits_into_empty_parts(name: str | None) -> None:
    assert split_legal_form(name) == LegalName(core="", legal_form="", core_key="")


# country_code


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("de", "DE"),
        ("DE", "DE"),
        ("DEU", "DE"),
        ("276", "DE"),
        ("Germany", "DE"),
        ("Deutschland", "DE"),
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("Great Britain", "GB"),
        ("USA", "US"),
        ("U.S.A.", "US"),
        ("United States of America", "US"),
        ("Russia", "RU"),
        ("South Korea", "KR"),
        ("Czech Republic", "CZ"),
        ("Türkiye", "TR"),
        ("Turkey", "TR"),
        ("Ivory Coast", "CI"),
        ("Côte d'Ivoire", "CI"),
        ("Holland", "NL"),
        ("The Netherlands", "NL"),
        ("76", "BR"),
    ],
)
def test_country_codes_names_and_aliases_resolve_to_alpha_2(value: str, code: str) -> None:
    assert country_code(value) == code


def test_unknown_country_is_refused_with_a_readable_message() -> None:
    with pytest.raises(StandardisationError, match=r"^unknown country 'Atlantis'$"):
        country_code("Atlantis")


def test_ambiguous_country_name_is_refused_rather_than_guessed() -> None:
    with pytest.raises(StandardisationError):
        country_code("Korea")


@pytest.mark.parametrize("value", [None, "", "  "])
def test_no_country_is_none(value: str | None) -> None:
    assert country_code(value) is None


def test_every_alpha_2_code_resolves_to_itself() -> None:
    import pycountry

    assert all(country_code(country.alpha_2) == country.alpha_2 for country in pycountry.countries)


# normalise_phone


@pytest.mark.parametrize(
    ("raw", "default_country", "e164"),
    [
        ("030 123456", "DE", "+4930123456"),
        ("+1 (415) 555-2671", None, "+14155552671"),
        ("0044 20 7946 0958", None, "+442079460958"),
        ("0044 20 7946 0958", "US", "+442079460958"),
        ("tel:+44-20-7946-0958", None, "+442079460958"),
        ("+44 (0)20 7946 0958", None, "+442079460958"),
        ("030 123456", "Germany", "+4930123456"),
    ],
)
def test_phone_is_formatted_to_e164(raw: str, default_country: str | None, e164: str) -> None:
    phone = normalise_phone(raw, default_country=default_country)
    assert phone == Phone(e164=e164, valid=True, raw=raw, digits=phone.digits)
    assert phone.digits and e164.endswith(phone.digits)  # the national significant number


def test_phone_extension_is_dropped() -> None:
    assert normalise_phone("+1 415 555 2671 ext. 123").e164 == "+14155552671"


def test_national_phone_without_a_country_is_kept_as_unparsable_with_its_national_digits() -> None:
    # No country to read it in: not a phone number libphonenumber accepts, but its digits (trunk zero dropped) are
    # what matching compares it by, so it still agrees with "+49 30 123456".
    assert normalise_phone("030 123456") == Phone(e164=None, valid=False, raw="030 123456", digits="30123456")
    assert normalise_phone("+49 30 123456", default_country=None).digits == "30123456"


@pytest.mark.parametrize("raw", ["call reception", "n/a", "000000", "0", "12", "1111111"])
def test_garbage_phone_is_kept_as_unparsable_without_digits(raw: str) -> None:
    assert normalise_phone(raw) == Phone(e164=None, valid=False, raw=raw, digits=None)


def test_parsable_but_unassigned_phone_is_flagged_invalid() -> None:
    phone = normalise_phone("+1 555 000 0000")
    assert phone.e164 == "+15550000000"
    assert not phone.valid


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_no_phone_is_none(raw: str | None) -> None:
    assert normalise_phone(raw, default_country="DE") is None


# validate_tax_id


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("DE136695976", None, TaxId("DE136695976", "DE", "eu.vat", True, "")),
        ("136 695 976", "DE", TaxId("DE136695976", "DE", "eu.vat", True, "")),
        ("de136695976", "Germany", TaxId("DE136695976", "DE", "eu.vat", True, "")),
        ("FR 40 303 265 045", None, TaxId("FR40303265045", "FR", "eu.vat", True, "")),
        ("NL004495445B01", None, TaxId("NL004495445B01", "NL", "eu.vat", True, "")),
        ("094259216", "GR", TaxId("EL094259216", "GR", "eu.vat", True, "")),
        ("GB 980 7806 84", None, TaxId("GB980780684", "GB", "gb.vat", True, "")),
        ("980780684", "GB", TaxId("GB980780684", "GB", "gb.vat", True, "")),
        ("XI980780684", None, TaxId("XI980780684", "GB", "eu.vat", True, "")),
        ("04-2103594", "US", TaxId("042103594", "US", "us.ein", True, "")),
        ("CHE-116.281.710", "CH", TaxId("CHE116281710", "CH", "ch.uid", True, "")),
        ("CHE-116.281.710 MWST", None, TaxId("CHE116281710MWST", "CH", "ch.vat", True, "")),
        ("NO 995 525 828 MVA", None, TaxId("NO995525828MVA", "NO", "no.mva", True, "")),
        ("995 525 828", "NO", TaxId("995525828", "NO", "no.orgnr", True, "")),
        ("83 914 571 673", "AU", TaxId("83914571673", "AU", "au.abn", True, "")),
        ("12302 6635", "CA", TaxId("123026635", "CA", "ca.bn", True, "")),
        ("27AAPFU0939F1ZV", "IN", TaxId("27AAPFU0939F1ZV", "IN", "in.gstin", True, "")),
        ("16.727.230/0001-97", "BR", TaxId("16727230000197", "BR", "br.cnpj", True, "")),
        ("5-8356-7825-6246", "JP", TaxId("5835678256246", "JP", "jp.cn", True, "")),
        ("GODE561231GR8", "MX", TaxId("GODE561231GR8", "MX", "mx.rfc", True, "")),
    ],
)
def test_valid_tax_id_is_compacted_and_attributed_to_its_scheme(raw: str, country: str | None, expected: TaxId) -> None:
    assert validate_tax_id(raw, country=country) == expected


def test_vat_prefix_in_the_value_wins_over_the_records_country() -> None:
    assert validate_tax_id("FR40303265045", country="CH") == TaxId("FR40303265045", "FR", "eu.vat", True, "")


def test_invalid_tax_id_is_returned_with_the_reason() -> None:
    assert validate_tax_id("DE 136 695 977") == TaxId("DE136695977", "DE", "eu.vat", False, "invalid checksum")


def test_short_tax_id_is_returned_with_invalid_length() -> None:
    assert validate_tax_id("136 695 97", country="DE") == TaxId("DE13669597", "DE", "eu.vat", False, "invalid length")


def test_malformed_tax_id_is_compacted_but_not_reformatted() -> None:
    assert validate_tax_id("04-21035", country="US") == TaxId("0421035", "US", "us.ein", False, "invalid format")


def test_tax_id_for_a_country_without_a_validator_is_kept_unchecked() -> None:
    assert validate_tax_id("12-345", country="ZW") == TaxId(
        "12345", "ZW", "unknown", False, "no validator for country ZW"
    )


def test_unprefixed_tax_id_without_a_country_is_kept_unchecked() -> None:
    assert validate_tax_id("136695976") == TaxId("136695976", None, "unknown", False, "no country and no VAT prefix")


def test_tax_id_with_an_unknown_country_is_kept_unchecked() -> None:
    result = validate_tax_id("136695976", country="Atlantis")
    assert (result.value, result.valid, result.error) == ("136695976", False, "unknown country 'Atlantis'")


@pytest.mark.parametrize("raw", [None, "", " - "])
def test_no_tax_id_is_none(raw: str | None) -> None:
    assert validate_tax_id(raw, country="DE") is None


# emails, websites


def test_email_is_trimmed_and_lower_cased() -> None:
    assert normalise_email("  John.Doe@Example.COM ") == "john.doe@example.com"


@pytest.mark.parametrize(
    "raw", ["john", "john@localhost", "john doe@acme.com", "a@@acme.com", "@acme.com", "a@acme..com"]
)
def test_implausible_email_is_refused_with_a_readable_message(raw: str) -> None:
    with pytest.raises(StandardisationError, match=r"^invalid email address '"):
        normalise_email(raw)


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_no_email_is_none(raw: str | None) -> None:
    assert normalise_email(raw) is None


def test_email_domain_is_the_part_after_the_at_sign() -> None:
    assert email_domain("Jane@Acme.CO.UK") == "acme.co.uk"


@pytest.mark.parametrize("raw", [None, "", "not an email"])
def test_email_domain_of_no_address_is_none(raw: str | None) -> None:
    assert email_domain(raw) is None


def test_consumer_mailbox_domains_are_listed_as_free_mail() -> None:
    assert {"gmail.com", "googlemail.com", "outlook.com", "gmx.de", "web.de", "yahoo.co.uk"} <= FREE_MAIL_DOMAINS
    assert "acme.com" not in FREE_MAIL_DOMAINS


@pytest.mark.parametrize(
    ("raw", "domain"),
    [
        ("https://www.Acme.com/about?x=1", "acme.com"),
        ("acme.co.uk", "acme.co.uk"),
        ("http://shop.acme.de:8080", "shop.acme.de"),
        ("www2.acme.com/contact", "acme.com"),
        ("WWW.ACME.COM.", "acme.com"),
        ("//acme.com", "acme.com"),
        ("münchen.de", "münchen.de"),
    ],
)
def test_website_is_reduced_to_its_domain(raw: str, domain: str) -> None:
    assert website_domain(raw) == domain


@pytest.mark.parametrize("raw", ["not a url", "http://", "localhost", "http://192.168.0.1/", "http://[::1"])
def test_garbage_website_is_refused(raw: str) -> None:
    with pytest.raises(StandardisationError, match=r"^invalid website '"):
        website_domain(raw)


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_no_website_is_none(raw: str | None) -> None:
    assert website_domain(raw) is None


# Properties: every standardiser is idempotent and fails only in the documented way.


@given(ANY_TEXT)
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(ANY_TEXT, st.none() | st.integers(min_value=0, max_value=40))
def test_clean_text_is_idempotent(text: str, max_length: int | None) -> None:
    cleaned = clean_text(text, max_length=max_length)
    assert clean_text(cleaned, max_length=max_length) == cleaned
    assert max_length is None or len(cleaned) <= max_length


@given(st.lists(st.one_of(DATA_TEXT, LEGAL_SPELLINGS), max_size=5).map(" ".join))
def test_splitting_a_rejoined_legal_name_gives_the_same_split(name: str) -> None:
    result = split_legal_form(name)
    rejoined = f"{result.core} {result.legal_form}".strip()
    assert split_legal_form(rejoined) == result


@given(ANY_TEXT)
def test_country_code_of_its_own_output_is_the_same(value: str) -> None:
    try:
        code = country_code(value)
    except StandardisationError:
        return
    assert code is None or country_code(code) == code


@given(st.one_of(st.text(alphabet="+0123456789 ()-.x"), ANY_TEXT), COUNTRIES)
def test_normalising_a_normalised_phone_changes_nothing(raw: str, default_country: str | None) -> None:
    phone = normalise_phone(raw, default_country=default_country)
    if phone is not None and phone.e164 is not None:
        again = normalise_phone(phone.e164, default_country=default_country)
        assert (again.e164, again.valid) == (phone.e164, phone.valid)


@given(st.one_of(st.text(alphabet="ABCDEGILNORSUXZ0123456789 .-/"), ANY_TEXT), COUNTRIES)
def test_validating_a_validated_tax_id_changes_nothing(raw: str, country: str | None) -> None:
    result = validate_tax_id(raw, country=country)
    if result is not None:
        assert validate_tax_id(result.value, country=result.country) == result


@given(st.one_of(st.emails().map(str.upper), ANY_TEXT))
def test_normalising_a_normalised_email_changes_nothing(raw: str) -> None:
    try:
        email = normalise_email(raw)
    except StandardisationError:
        return
    assert email is None or normalise_email(email) == email
    assert email_domain(email) == (email.rpartition("@")[2] if email else None)


@given(st.one_of(st.emails().map(lambda email: f"https://www.{email.rpartition('@')[2]}:80/x"), ANY_TEXT))
def test_reducing_a_domain_again_changes_nothing(raw: str) -> None:
    try:
        domain = website_domain(raw)
    except StandardisationError:
        return
    assert domain is None or website_domain(domain) == domain
