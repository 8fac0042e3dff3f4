"""Ingest over REST: single and batch, written as the key's own system, with field-path errors."""

import json
from typing import Any

import pytest
from django.test import override_settings

from mdm.models import SourceRecord
from tests.records import customer, product

pytestmark = pytest.mark.django_db


def post(client: Any, url: str, body: Any, **headers: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


def test_single_record_is_created_then_unchanged(client_for: Any, salesforce_key: Any) -> None:
    client = client_for(salesforce_key[1])
    body = {"system": "salesforce", "entity_type": "customer", "record": customer()}
    first = post(client, "/api/v1/ingest/", body)
    assert first.status_code == 201, first.json()
    assert first.json()["status"] == "created" and first.json()["golden_id"].startswith("CUS-")
    again = post(client, "/api/v1/ingest/", body)
    assert again.status_code == 200 and again.json()["status"] == "unchanged"


def test_single_rejected_record_answers_400_with_field_paths(client_for: Any, salesforce_key: Any) -> None:
    body = {
        "system": "salesforce",
        "entity_type": "customer",
        "record": customer(tax_ids=[{"value": "DE1", "country": "Narnia"}]),
    }
    response = post(client_for(salesforce_key[1]), "/api/v1/ingest/", body)
    assert response.status_code == 400
    assert response.json()["error"]["fields"][0]["field"] == "tax_ids[0].country"
    assert SourceRecord.objects.count() == 0


def test_batch_reports_each_record(client_for: Any, erp_key: Any) -> None:
    records = [product("I-1"), product("I-2", name=""), product("I-3", sku="X-3", gtin=None)]
    response = post(
        client_for(erp_key[1]),
        "/api/v1/ingest/batch/",
        {"system": "netsuite", "entity_type": "product", "records": records},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 1}
    assert body["outcomes"][1]["errors"] == [{"field": "name", "message": "This field may not be blank."}]


def test_oversized_batch_is_refused_and_writes_nothing(client_for: Any, erp_key: Any) -> None:
    records = [product(f"I-{index}") for index in range(3)]
    with override_settings(MDM_INGEST_MAX_BATCH=2):
        response = post(
            client_for(erp_key[1]),
            "/api/v1/ingest/batch/",
            {"system": "netsuite", "entity_type": "product", "records": records},
        )
    assert response.status_code == 400
    assert response.json()["error"]["fields"][0]["field"] == "records"
    assert SourceRecord.objects.count() == 0


def test_salesforce_key_can_never_write_erp_records(client_for: Any, salesforce_key: Any) -> None:
    body = {"system": "netsuite", "entity_type": "customer", "record": customer()}
    response = post(client_for(salesforce_key[1]), "/api/v1/ingest/", body)
    assert response.status_code == 403
    assert "may not write 'netsuite'" in response.json()["error"]["message"]
    assert SourceRecord.objects.count() == 0


def test_unknown_system_is_a_400(client_for: Any, salesforce_key: Any) -> None:
    response = post(
        client_for(salesforce_key[1]),
        "/api/v1/ingest/",
        {"system": "sap", "entity_type": "customer", "record": customer()},
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == [{"field": "system", "message": "unknown system 'sap'"}]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"entity_type": "customer", "record": {}}, "system"),
        ({"system": "salesforce", "entity_type": "vendor", "record": {}}, "entity_type"),
        ({"system": "salesforce", "entity_type": "customer"}, "record"),
        ({"system": ["salesforce"], "entity_type": "customer", "record": {}}, "system"),
        ({"system": "sales\u0000force", "entity_type": "customer", "record": {}}, "system"),
    ],
)
def test_malformed_envelopes_answer_400_with_the_field(
    client_for: Any, salesforce_key: Any, body: dict, field: str
) -> None:
    response = post(client_for(salesforce_key[1]), "/api/v1/ingest/", body)
    assert response.status_code == 400
    assert field in [item["field"] for item in response.json()["error"]["fields"]]


@pytest.mark.parametrize(
    "record",
    [
        "a string",
        [1, 2],
        {"source_id": 5, "legal_name": "X"},
        {"source_id": "A\u0000B", "legal_name": "X"},
        {"source_id": "A", "legal_name": {"nested": True}},
        {"source_id": "A", "legal_name": "X", "tax_ids": "DE1"},
        {"source_id": "A", "legal_name": "X" * 300},
        {"source_id": "A", "legal_name": "X", "updated_at": "yesterday"},
        {"source_id": "A", "legal_name": "X", "contract_version": 9},
        {"source_id": "A", "legal_name": "X", "contract_version": "1"},
    ],
)
def test_bad_records_are_rejected_never_a_500(client_for: Any, salesforce_key: Any, record: Any) -> None:
    body = {"system": "salesforce", "entity_type": "customer", "record": record}
    response = post(client_for(salesforce_key[1]), "/api/v1/ingest/", body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"]
    assert SourceRecord.objects.count() == 0


def test_malformed_json_is_a_400(client_for: Any, salesforce_key: Any) -> None:
    response = client_for(salesforce_key[1]).post(
        "/api/v1/ingest/", data='{"system": "salesforce",', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_batch_records_must_be_an_array(client_for: Any, salesforce_key: Any) -> None:
    body = {"system": "salesforce", "entity_type": "customer", "records": {"source_id": "A"}}
    response = post(client_for(salesforce_key[1]), "/api/v1/ingest/batch/", body)
    assert response.status_code == 400
    assert response.json()["error"]["fields"][0]["field"] == "records"


def test_correlation_id_is_echoed_and_stored(client_for: Any, salesforce_key: Any) -> None:
    body = {"system": "salesforce", "entity_type": "customer", "record": customer()}
    response = post(client_for(salesforce_key[1]), "/api/v1/ingest/", body, HTTP_X_CORRELATION_ID="crm-sync-42")
    assert response["X-Correlation-ID"] == "crm-sync-42"
    assert SourceRecord.history.get().correlation_id == "crm-sync-42"


def test_a_correlation_id_is_generated_when_none_is_sent(client_for: Any, read_key: Any) -> None:
    response = client_for(read_key[1]).get("/api/v1/customers/")
    assert len(response["X-Correlation-ID"]) == 32
