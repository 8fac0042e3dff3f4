"""manage.py train_matcher: a new model version estimated from the hub's own records, used by new decisions."""

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from stdnum.iso7064 import mod_11_10

from matching.models import MatchDecision, MatchModel
from mdm.ingest import ingest
from mdm.models import System

pytestmark = pytest.mark.django_db

CITIES = [("Berlin", "10115"), ("Hamburg", "20095"), ("München", "80331"), ("Köln", "50667")]
WORDS = ["Nord", "Rhein", "Alpen", "Berg", "Sonnen", "Elbe", "Weber", "Becker", "Kaiser", "Linden", "Falken"]


def de_vat(number: int) -> str:
    body = f"{number + 10_000_000:08d}"
    return f"DE{body}{mod_11_10.calc_check_digit(body)}"


def company(index: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ERP and the CRM record of one company: a shared VAT number, names and addresses that vary."""
    name = f"{WORDS[index % len(WORDS)]}{WORDS[(index // len(WORDS)) % len(WORDS)].lower()} {index}"
    city, postcode = CITIES[index % len(CITIES)]
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


@pytest.fixture
def loaded(salesforce: System, netsuite: System) -> None:
    pairs = [company(index) for index in range(240)]
    ingest(system=netsuite, entity_type="customer", records=[erp for erp, _ in pairs], actor=netsuite.service_user)
    ingest(system=salesforce, entity_type="customer", records=[crm for _, crm in pairs], actor=salesforce.service_user)


def test_training_stores_an_active_version_that_new_decisions_name(loaded: None, salesforce: System) -> None:
    out = StringIO()
    call_command("train_matcher", "--entity", "customer", "--activate", stdout=out, stderr=StringIO())
    model = MatchModel.objects.get(entity_type="customer")
    assert model.version == 1 and model.is_active and model.source == "trained"
    organisation = model.training_report["kinds"]["organisation"]
    assert organisation["trained"] and organisation["sessions"][0]["pairs"] >= 200
    assert 0 < model.parameters["organisation"]["lambda"] < 0.5
    assert "customer matcher v1 (active)" in out.getvalue()
    ingest(system=salesforce, entity_type="customer", records=[company(500)[1]], actor=salesforce.service_user)
    assert MatchDecision.objects.get(source_record__source_id="S500").model_version == 1


def test_a_version_is_stored_without_being_used_unless_asked(loaded: None) -> None:
    call_command("train_matcher", "--entity", "customer", "--activate", stdout=StringIO(), stderr=StringIO())
    call_command("train_matcher", "--entity", "customer", stdout=StringIO(), stderr=StringIO())
    assert list(MatchModel.objects.order_by("version").values_list("version", "is_active")) == [(1, True), (2, False)]


def test_too_little_data_keeps_the_starting_values(db: Any) -> None:
    call_command("train_matcher", "--entity", "product", stdout=StringIO(), stderr=StringIO())
    model = MatchModel.objects.get(entity_type="product")
    assert model.training_report["kinds"]["product"]["trained"] is False


def test_bad_arguments_are_clear_errors(db: Any) -> None:
    with pytest.raises(CommandError, match="at least 1"):
        call_command("train_matcher", "--entity", "customer", "--sample", "0", stdout=StringIO())
