"""Survivorship: owners win in priority order, fallbacks decide the rest, and source order never matters."""

import datetime

from hypothesis import given
from hypothesis import strategies as st

from mdm.survivorship import MOST_COMPLETE, MOST_FREQUENT, MOST_RECENT, RuleSpec, SourceView, survive

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def view(pk: int, system: str, days: int = 0, **values: object) -> SourceView:
    return SourceView(pk, system, f"{system}-{pk}", values, T0 + datetime.timedelta(days=days))


def test_owning_system_wins_even_when_older() -> None:
    sources = [view(1, "netsuite", 0, legal_name="Acme GmbH"), view(2, "salesforce", 5, legal_name="ACME")]
    result = survive("customer", sources, {"legal_name": RuleSpec(("netsuite", "salesforce"))})
    assert result.survivors["legal_name"].value == "Acme GmbH"
    assert result.lineage()["legal_name"]["rule"] == "owner:netsuite"


def test_next_owner_is_used_when_the_first_has_no_value() -> None:
    sources = [view(1, "netsuite", 0, legal_name=""), view(2, "salesforce", 0, legal_name="ACME")]
    result = survive("customer", sources, {"legal_name": RuleSpec(("netsuite", "salesforce"))})
    assert result.survivors["legal_name"].value == "ACME"


def test_most_recent_fallback() -> None:
    sources = [view(1, "a", 1, industry="Retail"), view(2, "b", 3, industry="Mining")]
    assert survive("customer", sources, {"industry": RuleSpec((), MOST_RECENT)}).values()["industry"] == "Mining"


def test_most_frequent_fallback() -> None:
    sources = [
        view(1, "a", 1, industry="Retail"),
        view(2, "b", 2, industry="Retail"),
        view(3, "c", 9, industry="Mining"),
    ]
    assert survive("customer", sources, {"industry": RuleSpec((), MOST_FREQUENT)}).values()["industry"] == "Retail"


def test_most_complete_fallback_prefers_the_fullest_record() -> None:
    sources = [
        view(1, "a", 9, industry="Retail"),
        view(2, "b", 1, industry="Mining", website="x.example", trade_name="X"),
    ]
    assert survive("customer", sources, {"industry": RuleSpec((), MOST_COMPLETE)}).values()["industry"] == "Mining"


def test_currency_survives_with_its_price() -> None:
    sources = [
        view(1, "netsuite", 0, list_price="10.00", currency="EUR"),
        view(2, "salesforce", 5, list_price="12.00", currency="USD"),
    ]
    values = survive("product", sources, {"list_price": RuleSpec(("netsuite",))}).values()
    assert (values["list_price"], values["currency"]) == ("10.00", "EUR")


def test_steward_override_wins() -> None:
    sources = [view(1, "netsuite", 0, legal_name="Acme GmbH")]
    result = survive("customer", sources, {}, overrides={"legal_name": {"value": "ACME GmbH & Co", "override": 7}})
    assert result.survivors["legal_name"].value == "ACME GmbH & Co"
    assert result.lineage()["legal_name"] == {"rule": "override", "value": "ACME GmbH & Co", "override": 7}


def test_attribute_no_source_fills_is_empty_and_has_no_lineage() -> None:
    result = survive("customer", [view(1, "a", 0, legal_name="Acme")], {})
    assert result.survivors["website"].value is None
    assert "website" not in result.lineage()


_systems = st.sampled_from(["netsuite", "salesforce", "hubspot"])
_values = st.one_of(st.just(""), st.sampled_from(["Retail", "Mining", "Energy"]))
_sources = st.lists(
    st.tuples(_systems, st.integers(0, 5), _values, _values), min_size=1, max_size=6, unique_by=lambda item: item[:2]
)
_rules = st.fixed_dictionaries(
    {
        "industry": st.builds(
            RuleSpec,
            st.lists(_systems, unique=True).map(tuple),
            st.sampled_from([MOST_RECENT, MOST_COMPLETE, MOST_FREQUENT]),
        ),
        "legal_name": st.builds(
            RuleSpec,
            st.lists(_systems, unique=True).map(tuple),
            st.sampled_from([MOST_RECENT, MOST_COMPLETE, MOST_FREQUENT]),
        ),
    }
)


@given(_sources, _rules, st.randoms())
def test_source_order_never_changes_the_result(specs: list, rules: dict, random: object) -> None:
    sources = [
        view(index, system, days, industry=industry, legal_name=name)
        for index, (system, days, industry, name) in enumerate(specs)
    ]
    shuffled = list(sources)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    assert survive("customer", sources, rules).lineage() == survive("customer", shuffled, rules).lineage()
