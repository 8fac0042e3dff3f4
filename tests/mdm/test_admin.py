"""The admin as stewards use it: golden pages with sources, lineage and history; rules; API keys."""

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from mdm.ingest import ingest
from mdm.models import ApiKey, Customer, OwnershipRule, System
from tests.records import customer, product

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(db: Any) -> Client:
    user = get_user_model().objects.create_superuser("ada.admin", "ada@example.com", "correct horse battery")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def golden(salesforce: System, netsuite: System) -> Customer:
    ingest(system=salesforce, entity_type="customer", records=[customer("001")], actor=salesforce.service_user)
    ingest(system=netsuite, entity_type="customer", records=[customer("C-1")], actor=netsuite.service_user)
    return Customer.objects.get()


def test_golden_customer_page_shows_sources_and_lineage(admin_client_: Client, golden: Customer) -> None:
    page = admin_client_.get(f"/admin/mdm/customer/{golden.pk}/change/").content.decode()
    assert golden.golden.golden_id in page
    assert "C-1" in page and "001" in page
    assert "owner:netsuite" in page


def test_golden_customer_history_page(admin_client_: Client, golden: Customer) -> None:
    response = admin_client_.get(f"/admin/mdm/customer/{golden.pk}/history/")
    assert response.status_code == 200
    assert "system:netsuite" in response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/admin/mdm/customer/?q=northwind",
        "/admin/mdm/product/",
        "/admin/mdm/sourcerecord/?q=001",
        "/admin/mdm/crossreference/",
        "/admin/mdm/hierarchyedge/",
        "/admin/mdm/ownershiprule/",
        "/admin/mdm/apikey/",
        "/admin/mdm/outboxevent/",
        "/admin/mdm/system/",
        "/admin/matching/matchsettings/",
        "/admin/matching/matchmodel/",
        "/admin/matching/matchdecision/",
        "/admin/matching/matchdecision/?outcome=new",
        "/admin/matching/matchcandidate/",
    ],
)
def test_admin_lists_render(admin_client_: Client, golden: Customer, netsuite: System, path: str) -> None:
    ingest(system=netsuite, entity_type="product", records=[product()], actor=netsuite.service_user)
    assert admin_client_.get(path).status_code == 200


def test_golden_records_cannot_be_edited_by_hand(admin_client_: Client, golden: Customer) -> None:
    response = admin_client_.post(f"/admin/mdm/customer/{golden.pk}/change/", {"legal_name": "Hacked"})
    assert response.status_code == 403
    golden.refresh_from_db()
    assert golden.legal_name != "Hacked"


def test_rule_change_in_admin_recomputes(admin_client_: Client, golden: Customer) -> None:
    rule = OwnershipRule.objects.get(entity_type="customer", attribute="trade_name")
    response = admin_client_.post(
        f"/admin/mdm/ownershiprule/{rule.pk}/change/",
        {
            "entity_type": "customer",
            "attribute": "trade_name",
            "systems": '["netsuite"]',
            "fallback": "most_recent",
            "note": "",
        },
        follow=True,
    )
    assert "Recomputed 1 golden customer records" in response.content.decode()


def test_new_api_key_is_shown_once(admin_client_: Client) -> None:
    response = admin_client_.post(
        "/admin/mdm/apikey/add/",
        {"name": "Data warehouse", "can_read": "on", "rate": "", "write_system": ""},
        follow=True,
    )
    page = response.content.decode()
    key = ApiKey.objects.get(name="Data warehouse")
    assert f"mdm_{key.prefix}_" in page
    assert admin_client_.get(f"/admin/mdm/apikey/{key.pk}/change/").content.decode().count(f"mdm_{key.prefix}_") == 0


def test_a_match_decision_page_shows_its_explanation(admin_client_: Client, golden: Customer, netsuite: System) -> None:
    from matching.models import MatchDecision

    ingest(system=netsuite, entity_type="customer", records=[customer("N-9")], actor=netsuite.service_user)
    decision = MatchDecision.objects.get(source_record__source_id="N-9")
    assert decision.outcome == "auto_linked"
    page = admin_client_.get(f"/admin/matching/matchdecision/{decision.pk}/change/").content.decode()
    assert "Match weight" in page and "Tax ID (as sent: valid or not)" in page
