"""A viewer never sees tax IDs, national IDs, emails or phones in full: not on the general REST API either.

Sessions follow the person's `governance.view_unmasked` permission; a system's API key keeps seeing values in
full, unless it acts for a steward (`ApiKey.steward`) who may not see them.
"""

import datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from mdm.ingest import ingest
from mdm.masking import masked_explanation, masked_issue, masked_record
from mdm.models import GoldenRecord, System
from mdm.services import api_key_create
from tests.governance.conftest import logged_in, person_in
from tests.records import VALID_DE_VAT, customer

pytestmark = pytest.mark.django_db

FULL = [VALID_DE_VAT, "+49301234567", "info@northwind.example"]


@pytest.fixture
def golden(salesforce: System, netsuite: System) -> GoldenRecord:
    """A customer with a tax ID, phone and email, and a second source whose tax ID has a wrong check digit."""
    ingest(system=salesforce, entity_type="customer", records=[customer("SF-1")], actor=salesforce.service_user)
    bad = customer("NS-1", tax_ids=[{"value": "DE136695975", "country": "DE"}])
    ingest(system=netsuite, entity_type="customer", records=[bad], actor=netsuite.service_user)
    return GoldenRecord.objects.get()


def keyed(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


def shows_in_full(body: Any, *values: str) -> bool:
    text = str(body)
    return any(value in text for value in values)


def test_a_viewer_session_sees_customers_masked(golden: GoldenRecord, viewer: Any) -> None:
    listed = logged_in(viewer).get("/api/v1/customers/").json()["results"][0]
    assert listed["tax_id"] == "DE•••••••75" and listed["tax_ids"][0]["value"] == "DE•••••••75"
    assert listed["tax_ids"][0]["country"] == "DE" and listed["tax_ids"][0]["valid"] is False  # the rest stays
    assert listed["phone"] == "+4••••••••67" and listed["phones"] == ["+4••••••••67"]
    assert listed["email"] == "i•••@northwind.example" and listed["emails"] == ["i•••@northwind.example"]
    assert listed["quality_flags"] == [
        {"field": "tax_ids", "code": "invalid_tax_id", "message": "DE•••••••75: invalid checksum"}
    ]
    assert listed["legal_name"] == "Northwind Traders GmbH" and listed["golden_id"] == golden.golden_id
    assert not shows_in_full(listed, "DE136695975", *FULL)


def test_a_steward_who_may_see_values_sees_them_in_full(golden: GoldenRecord, customer_steward: Any) -> None:
    listed = logged_in(customer_steward).get("/api/v1/customers/").json()["results"][0]
    assert listed["tax_id"] == "DE136695975" and listed["phones"] == ["+49301234567"]
    assert listed["email"] == "info@northwind.example"
    assert listed["quality_flags"][0]["message"] == "DE136695975: invalid checksum"


def test_every_golden_endpoint_masks_for_a_viewer(golden: GoldenRecord, viewer: Any) -> None:
    client = logged_in(viewer)
    base = f"/api/v1/customers/{golden.golden_id}"
    detail = client.get(f"{base}/").json()
    assert detail["phones"] == ["+4••••••••67"]
    netsuite = next(source for source in detail["sources"] if source["system"] == "netsuite")
    assert netsuite["issues"] == [{"field": "tax_ids[0]", "code": "invalid_tax_id", "message": "invalid checksum"}]
    now = (timezone.now() + datetime.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for path in ("/", "/history/", "/lineage/", "/matches/", f"/as-of/?at={now}"):
        response = client.get(f"{base}{path}")
        assert response.status_code == 200, (path, response.json())
        assert not shows_in_full(response.json(), "DE136695975", *FULL), path
    history = client.get(f"{base}/history/").json()["results"]
    tax_change = next(c for entry in history for c in entry["changes"] if c["field"] == "tax_id")
    assert tax_change["old"] == VALID_DE_VAT[:2] + "•" * 7 + VALID_DE_VAT[-2:] and tax_change["new"] == "DE•••••••75"
    assert client.get(f"{base}/lineage/").json()["attributes"]["phones"]["value"] == ["+4••••••••67"]
    searched = client.get("/api/v1/customers/?search=info@northwind.example").json()["results"]
    assert [row["golden_id"] for row in searched] == [golden.golden_id] and searched[0]["email"].startswith("i•••@")


def test_match_on_entry_masks_the_compared_values_for_a_viewer(golden: GoldenRecord, viewer: Any) -> None:
    body = {"entity_type": "customer", "record": customer("Q-1")}
    answer = logged_in(viewer).post("/api/v1/match/", body, format="json").json()
    phone = next(row for row in answer["candidates"][0]["explanation"]["attributes"] if row["attribute"] == "phone")
    assert phone["left"] == "+4••••••••67" and phone["right"] == "+4••••••••67"
    assert not shows_in_full(answer, *FULL)


def test_api_keys_see_values_unless_they_act_for_a_steward_who_may_not(
    golden: GoldenRecord, read_key: Any, customer_steward: Any
) -> None:
    assert keyed(read_key[1]).get("/api/v1/customers/").json()["results"][0]["tax_id"] == "DE136695975"
    viewer = person_in("Viewers", "vic.viewer")
    for person, tax_id in ((viewer, "DE•••••••75"), (customer_steward, "DE136695975")):
        key, secret = api_key_create(name=f"for {person}", created_by=None)
        key.steward = person
        key.save()
        client = keyed(secret)
        assert client.get("/api/v1/customers/").json()["results"][0]["tax_id"] == tax_id
        assert client.get(f"/api/v1/customers/{golden.golden_id}/").json()["tax_id"] == tax_id


def test_masking_costs_the_same_queries_for_one_or_many_customers(
    salesforce: System, golden: GoldenRecord, viewer: Any
) -> None:
    client = logged_in(viewer)
    client.get("/api/v1/customers/")  # the session and permissions are warm after a first call
    with CaptureQueriesContext(connection) as one:
        client.get("/api/v1/customers/")
    records = [customer(f"SF-{n}", legal_name=f"Company {n} GmbH") for n in range(2, 12)]
    ingest(
        system=salesforce, entity_type="customer", records=records, actor=salesforce.service_user, defer_matching=True
    )
    with CaptureQueriesContext(connection) as many:
        listed = client.get("/api/v1/customers/").json()["results"]
    assert len(listed) == 11 and all("•" in row["phone"] for row in listed)
    assert len(many.captured_queries) == len(one.captured_queries)


def test_the_masking_primitive() -> None:
    assert masked_issue({"field": "phones[1]", "code": "x", "message": "'call me' is not a valid phone number"}) == {
        "field": "phones[1]",
        "code": "x",
        "message": "'ca•••me' is not a valid phone number",
    }
    assert masked_issue({"field": "gtin", "message": "4006381333930: wrong check digit"})["message"].startswith("4006")
    record = masked_record({"national_id": "1234567", "website": "acme.example", "sources": [{"issues": []}]})
    assert record == {"national_id": "12•••67", "website": "acme.example", "sources": [{"issues": []}]}
    explanation = {"attributes": [{"attribute": "tax_id", "left": ["DE:DE136695976"], "right": None}]}
    assert masked_explanation(explanation)["attributes"][0]["left"] == ["DE••••••••••76"]
    assert masked_explanation(None) is None


def test_the_steward_api_masks_for_a_steward_who_may_not_see_values(
    salesforce: System, golden: GoldenRecord, customer_steward: Any
) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    from tests.governance.conftest import candidate, goldens

    limited = get_user_model().objects.create_user("lena.limited", is_staff=True)
    limited.user_permissions.add(Permission.objects.get(codename="steward_customer"))
    body = {"golden_id": golden.golden_id, "attributes": {"phones": ["+49 30 7654321"]}, "reason": "new line"}
    proposed = logged_in(limited).post("/api/v1/steward/changes/", body, format="json").json()
    assert proposed["changes"]["phones"] == {"before": ["+4••••••••67"], "after": ["+4••••••••21"]}
    assert logged_in(customer_steward).get("/api/v1/steward/changes/").json()["results"][0]["changes"]["phones"][
        "after"
    ] == ["+49307654321"]
    older, newer, *_ = goldens(salesforce)
    pair = candidate(newer, older)
    pair.explanation = {"attributes": [{"attribute": "phone", "left": "+49301234567", "right": "+49301234567"}]}
    pair.save()
    shown = logged_in(limited).get(f"/api/v1/steward/candidates/{pair.pk}/").json()["explanation"]["attributes"][0]
    assert shown["left"] == "+4••••••••67"
    full = logged_in(customer_steward).get(f"/api/v1/steward/candidates/{pair.pk}/").json()
    assert full["explanation"]["attributes"][0]["left"] == "+49301234567"
