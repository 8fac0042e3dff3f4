"""The matcher's decisions on ingest: auto-link, review, new; never through one weak link; always explained."""

from typing import Any

import pytest

from matching.models import CandidateStatus, MatchCandidate, MatchDecision, MatchSettings
from mdm.ingest import ingest
from mdm.models import GoldenRecord, System
from tests.records import VALID_DE_VAT, VALID_FR_VAT

pytestmark = pytest.mark.django_db

BERLIN = {"line1": "Hauptstraße 5", "city": "Berlin", "postcode": "10115", "country": "DE"}


def company(source_id: str, **fields: Any) -> dict[str, Any]:
    return {"source_id": source_id, **fields}


def send(system: System, *records: dict[str, Any]) -> list[Any]:
    return ingest(system=system, entity_type="customer", records=list(records), actor=system.service_user).outcomes


def test_a_close_variant_is_linked_automatically_and_explained(salesforce: System, netsuite: System) -> None:
    (first,) = send(
        netsuite,
        company("C-1", legal_name="Northwind Traders GmbH", phones=["030 1234567"], legal_address=BERLIN),
    )
    (second,) = send(
        salesforce,
        company("001", legal_name="NORTHWIND TRADERS G.m.b.H.", phones=["+49 30 1234567"], billing_address=BERLIN),
    )
    assert second.match == "auto_linked" and second.golden_id == first.golden_id
    decision = MatchDecision.objects.get(source_record__source_id="001")
    assert decision.outcome == "auto_linked" and decision.probability > 0.97
    assert decision.model_version == 0  # built-in defaults until a model is trained
    levels = {row["attribute"]: row["level"] for row in decision.explanation["attributes"]}
    assert levels["name"] == "exact" and levels["phone"] == "shared"
    assert sum(row["weight"] for row in decision.explanation["attributes"]) + decision.explanation[
        "prior_weight"
    ] == pytest.approx(decision.explanation["match_weight"], abs=0.01)
    assert decision.candidates[0]["golden_id"] == first.golden_id


def test_a_possible_duplicate_goes_to_review_with_its_explanation(salesforce: System, netsuite: System) -> None:
    (first,) = send(netsuite, company("C-1", legal_name="Northwind Traders GmbH", legal_address=BERLIN))
    # Similar name, same city, nothing identifying: worth a steward's look, not an automatic link.
    (second,) = send(
        salesforce,
        company("001", legal_name="Northwind Trading", billing_address={"city": "Berlin", "country": "DE"}),
    )
    assert second.match == "review" and second.golden_id != first.golden_id
    candidate = MatchCandidate.objects.get()
    assert candidate.golden.golden_id == second.golden_id and candidate.candidate.golden_id == first.golden_id
    assert candidate.status == CandidateStatus.OPEN
    assert 0.5 <= candidate.probability < 0.97
    assert {row["attribute"] for row in candidate.explanation["attributes"]} >= {"name", "address"}


def test_an_unrelated_record_gets_a_new_golden_record(salesforce: System, netsuite: System) -> None:
    send(netsuite, company("C-1", legal_name="Northwind Traders GmbH", legal_address=BERLIN))
    (other,) = send(salesforce, company("001", legal_name="Zenith Foods AG", legal_address=BERLIN))
    assert other.match == "new"
    assert GoldenRecord.objects.count() == 2 and not MatchCandidate.objects.exists()


def test_no_chaining_through_one_member_of_a_cluster(salesforce: System, netsuite: System) -> None:
    # One golden record holds two sources that share a tax ID but little else.
    send(
        netsuite,
        company("C-1", legal_name="Acme Logistics GmbH", tax_ids=[{"value": VALID_DE_VAT}], legal_address=BERLIN),
        company(
            "C-2",
            legal_name="Acme Lgstcs Holding GmbH",
            tax_ids=[{"value": VALID_DE_VAT}],
            legal_address={"city": "München", "postcode": "80331", "country": "DE"},
        ),
    )
    assert GoldenRecord.objects.count() == 1
    # A record that matches C-1 strongly but C-2 poorly is not linked through C-1 alone.
    (outcome,) = send(
        salesforce,
        company("001", legal_name="Acme Logistics", phones=["030 9999999"], billing_address=BERLIN),
    )
    decision = MatchDecision.objects.get(source_record__source_id="001")
    assert outcome.match == "review", decision.reason
    assert decision.candidates[0]["cluster_supported"] is False


def test_two_golden_records_above_auto_link_go_to_review(salesforce: System, netsuite: System) -> None:
    send(netsuite, company("C-1", legal_name="Acme GmbH", tax_ids=[{"value": VALID_DE_VAT}], legal_address=BERLIN))
    paris = {"line1": "1 rue de Rivoli", "city": "Paris", "postcode": "75001", "country": "FR"}
    send(netsuite, company("C-2", legal_name="Acme SARL", tax_ids=[{"value": VALID_FR_VAT}], legal_address=paris))
    assert GoldenRecord.objects.count() == 2
    (outcome,) = send(
        salesforce,
        company(
            "001",
            legal_name="Acme",
            tax_ids=[{"value": VALID_DE_VAT}, {"value": VALID_FR_VAT}],
            billing_address=BERLIN,
        ),
    )
    assert outcome.match == "review"
    assert MatchCandidate.objects.filter(golden__golden_id=outcome.golden_id).count() == 2


def test_duplicates_inside_one_batch_make_one_golden_record(salesforce: System) -> None:
    outcomes = send(
        salesforce,
        company("001", legal_name="Northwind Traders GmbH", phones=["030 1234567"], legal_address=BERLIN),
        company("002", legal_name="Northwind Traders", phones=["030 1234567"], billing_address=BERLIN),
    )
    assert outcomes[0].golden_id == outcomes[1].golden_id
    assert [outcome.match for outcome in outcomes] == ["new", "auto_linked"]


def test_thresholds_come_from_the_settings(salesforce: System, netsuite: System) -> None:
    MatchSettings.objects.filter(entity_type="customer").update(
        review_threshold=0.999999, auto_link_threshold=0.9999999
    )
    send(netsuite, company("C-1", legal_name="Northwind Traders GmbH", legal_address=BERLIN))
    (second,) = send(salesforce, company("001", legal_name="Northwind Trading", billing_address=BERLIN))
    assert second.match == "new"


def test_two_different_vat_numbers_of_one_country_are_never_linked_automatically() -> None:
    from matching.engine import identifiers_conflict

    de_1, de_2, fr = {"tax": ["DE:DE111"]}, {"tax": ["DE:DE222"]}, {"tax": ["FR:FR333"]}
    assert identifiers_conflict([de_1], [de_2])
    assert not identifiers_conflict([de_1], [fr])  # a company may hold VAT numbers of several countries
    assert not identifiers_conflict([de_1], [{}, {"tax": ["DE:DE111", "FR:FR333"]}])
    assert not identifiers_conflict([{}], [de_2])
    assert identifiers_conflict([{"gtin": "04012345000016"}], [{"gtin": "04012345000023"}])


def test_a_record_with_another_vat_number_of_one_country_is_never_linked_on_entry(
    salesforce: System, netsuite: System
) -> None:
    other_de_vat = "DE123456788"  # valid, and not VALID_DE_VAT
    same = {"legal_name": "Northwind Traders GmbH", "phones": ["030 1234567"]}
    (first,) = send(netsuite, company("C-1", **same, tax_ids=[{"value": VALID_DE_VAT}], legal_address=BERLIN))
    (second,) = send(salesforce, company("001", **same, tax_ids=[{"value": other_de_vat}], billing_address=BERLIN))
    assert second.match != "auto_linked" and second.golden_id != first.golden_id
    decision = MatchDecision.objects.get(source_record__source_id="001")
    assert all(candidate["cluster_supported"] is False for candidate in decision.candidates)
