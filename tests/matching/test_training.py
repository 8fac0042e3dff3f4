"""manage.py train_matcher: a new model version estimated from the hub's own records, used by new decisions."""

import copy
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from stdnum.iso7064 import mod_11_10

from matching.models import MatchDecision, MatchModel
from matching.scoring import DEFAULT_PARAMETERS
from matching.training import match_model_train_if_due, sanity_failures
from mdm.ingest import ingest
from mdm.models import System

pytestmark = pytest.mark.django_db

CITIES = [("Berlin", "10115"), ("Hamburg", "20095"), ("München", "80331"), ("Köln", "50667")]
WORDS = ["Nord", "Rhein", "Alpen", "Berg", "Sonnen", "Elbe", "Weber", "Becker", "Kaiser", "Linden", "Falken"]


def de_vat(number: int) -> str:
    body = f"{number + 10_000_000:08d}"
    return f"DE{body}{mod_11_10.calc_check_digit(body)}"


def company(index: int, *, crowded: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ERP and the CRM record of one company: a shared VAT number, names and addresses that vary. `crowded`
    puts every company in one of four postcodes, where names starting alike are many companies, not one."""
    name = f"{WORDS[index % len(WORDS)]}{WORDS[(index // len(WORDS)) % len(WORDS)].lower()} {index}"
    city, postcode = CITIES[index % len(CITIES)]
    if not crowded:
        postcode = f"{int(postcode) + index * 7:05d}"
    erp = {
        "source_id": f"E{index}",
        "legal_name": f"{name} GmbH",
        "tax_ids": [{"value": de_vat(index)}],
        "legal_address": {
            "line1": f"Hauptstraße {index % 90 + 1}",
            "city": city,
            "postcode": postcode,
            "country": "DE",
        },
    }
    crm = {
        "source_id": f"S{index}",
        "trade_name": name.upper() if index % 3 == 0 else name,
        "tax_ids": [{"value": de_vat(index)}],
        "billing_address": {"city": city, "postcode": postcode if index % 4 else "", "country": "DE"},
    }
    return erp, crm


def load(salesforce: System, netsuite: System, *, crowded: bool = False) -> None:
    pairs = [company(index, crowded=crowded) for index in range(240)]
    ingest(system=netsuite, entity_type="customer", records=[erp for erp, _ in pairs], actor=netsuite.service_user)
    ingest(system=salesforce, entity_type="customer", records=[crm for _, crm in pairs], actor=salesforce.service_user)


@pytest.fixture
def loaded(salesforce: System, netsuite: System) -> None:
    load(salesforce, netsuite)


def test_training_stores_an_active_version_that_new_decisions_name(loaded: None, salesforce: System) -> None:
    out = StringIO()
    call_command("train_matcher", "--entity", "customer", "--activate", stdout=out, stderr=StringIO())
    model = MatchModel.objects.get(entity_type="customer")
    assert model.version == 1 and model.is_active and model.source == "trained"
    organisation = model.training_report["kinds"]["organisation"]
    assert organisation["trained"] and organisation["sessions"][0]["pairs"] >= 200
    assert 0 < model.parameters["organisation"]["lambda"] < 0.5
    assert "customer matcher v1 learnt from 480 records: active" in out.getvalue()
    ingest(system=salesforce, entity_type="customer", records=[company(500)[1]], actor=salesforce.service_user)
    assert MatchDecision.objects.get(source_record__source_id="S500").model_version == 1


def test_a_version_is_stored_without_being_used_unless_asked(loaded: None) -> None:
    call_command("train_matcher", "--entity", "customer", "--activate", stdout=StringIO(), stderr=StringIO())
    call_command("train_matcher", "--entity", "customer", stdout=StringIO(), stderr=StringIO())
    assert list(MatchModel.objects.order_by("version").values_list("version", "is_active")) == [(1, True), (2, False)]


def test_training_an_empty_entity_type_is_refused_with_a_clear_message(db: Any) -> None:
    with pytest.raises(CommandError, match="product records hold 0 match profiles; training needs at least 100"):
        call_command("train_matcher", "--entity", "product", stdout=StringIO(), stderr=StringIO())
    assert not MatchModel.objects.exists()


def test_a_model_that_fails_its_sanity_check_is_stored_reported_and_not_activated(
    salesforce: System, netsuite: System
) -> None:
    # Four postcodes for 240 companies: pairs sharing a name's first letters and a postcode are mostly different
    # companies, so the session learning the identifiers from them learns that duplicates differ in tax ID.
    load(salesforce, netsuite, crowded=True)
    out = StringIO()
    call_command("train_matcher", "--entity", "customer", "--activate", stdout=out, stderr=StringIO())
    model = MatchModel.objects.get(entity_type="customer")
    assert not model.is_active
    failures = model.training_report["sanity"]["failures"]
    assert not model.training_report["sanity"]["passed"] and failures
    assert any(failure.startswith("organisation.tax_id") for failure in failures), failures
    assert "stored, not active; its sanity check failed: organisation." in out.getvalue()
    ingest(system=salesforce, entity_type="customer", records=[company(500)[1]], actor=salesforce.service_user)
    assert MatchDecision.objects.get(source_record__source_id="S500").model_version == 0  # still the built-in one


def test_the_sanity_check_names_what_is_wrong() -> None:
    parameters = copy.deepcopy({"product": DEFAULT_PARAMETERS["product"]})
    assert sanity_failures(parameters) == []
    parameters["product"]["comparisons"]["gtin"] = {"m": [0.5, 0.1, 0.1, 0.3], "u": [0.5, 0.1, 0.1, 0.3]}
    parameters["product"]["comparisons"]["unit"] = {"m": [0.5, 0.5], "u": [0.4, 0.6]}
    parameters["product"]["lambda"] = 0.7
    assert sanity_failures(parameters) == [
        "product: lambda 0.7 is not between 0 and 0.5",
        "product.gtin: 'same' weighs 0.00, not > 0",
        "product.gtin: 'different' weighs 0.00, not < 0",
        "product.gtin: agreeing weighs 0.00 bits, under 5.0",
    ]


def test_a_first_load_learns_its_model_once_and_again_after_growing_by_a_quarter(
    loaded: None, salesforce: System
) -> None:
    first = match_model_train_if_due(entity_type="customer")
    assert first is not None and first.is_active and first.training_report["population"] == 480
    assert match_model_train_if_due(entity_type="customer") is None  # not grown since
    records = [company(1000 + index)[1] for index in range(119)]
    ingest(system=salesforce, entity_type="customer", records=records, actor=salesforce.service_user)
    assert match_model_train_if_due(entity_type="customer") is None  # 599 < 480 x 1.25
    ingest(system=salesforce, entity_type="customer", records=[company(2000)[1]], actor=salesforce.service_user)
    second = match_model_train_if_due(entity_type="customer")
    assert second is not None and second.version == 2 and second.is_active
    assert list(MatchModel.objects.filter(is_active=True).values_list("version", flat=True)) == [2]


def test_import_records_learns_the_model_of_a_first_load(salesforce: System, netsuite: System, tmp_path: Path) -> None:
    path = tmp_path / "erp.jsonl"
    path.write_text("".join(json.dumps(erp) + "\n" for erp, _ in (company(index) for index in range(150))))
    out = StringIO()
    call_command("import_records", str(path), "--system", "netsuite", "--entity", "customer", "--quiet", stdout=out)
    model = MatchModel.objects.get(entity_type="customer")
    assert f"{model} learnt from 150 records: active" in out.getvalue()
    call_command("import_records", str(path), "--system", "netsuite", "--entity", "customer", "--quiet", stdout=out)
    assert MatchModel.objects.count() == 1  # nothing new: not due again


def test_bad_arguments_are_clear_errors(db: Any) -> None:
    with pytest.raises(CommandError, match="at least 1"):
        call_command("train_matcher", "--entity", "customer", "--sample", "0", stdout=StringIO())


def test_a_first_load_matched_as_it_arrives_is_matched_with_its_own_model_once_its_first_records_are_in(
    netsuite: System, tmp_path: Path
) -> None:
    pairs = [company(index) for index in range(1200)]
    path = tmp_path / "first-load.jsonl"
    lines = [erp for erp, _ in pairs] + [{**crm, "source_id": f"E-CRM-{crm['source_id']}"} for _, crm in pairs]
    path.write_text("".join(json.dumps(record) + "\n" for record in lines))
    out = StringIO()
    call_command("import_records", str(path), "--system", "netsuite", "--entity", "customer", "--quiet", stdout=out)
    first = MatchModel.objects.order_by("version").first()
    assert first is not None and first.training_report["population"] == 2000 and first.is_active
    versions = dict(MatchDecision.objects.values_list("source_record__source_id", "model_version"))
    assert versions["E0"] == 0 and versions["E-CRM-S1199"] == first.version  # the last batch used it
    assert f"{first} learnt from 2,000 records: active" in out.getvalue()
