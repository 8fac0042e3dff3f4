"""Resolving source keys to golden IDs, one at a time and in batches."""

import json
from typing import Any

import pytest
from django.test import override_settings

from mdm.ingest import ingest
from mdm.models import GoldenRecord, GoldenStatus, System
from tests.records import customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(client_for: Any, read_key: Any) -> Any:
    return client_for(read_key[1])


@pytest.fixture
def golden_id(salesforce: System) -> str:
    return (
        ingest(system=salesforce, entity_type="customer", records=[customer("001A")], actor=salesforce.service_user)
        .outcomes[0]
        .golden_id
    )


def test_resolve_one_key_by_get_and_post(reader: Any, golden_id: str) -> None:
    key = {"system": "salesforce", "entity_type": "customer", "source_id": "001A"}
    assert reader.get("/api/v1/resolve/", key).json()["golden_id"] == golden_id
    response = reader.post("/api/v1/resolve/", data=json.dumps(key), content_type="application/json")
    assert response.json() == {**key, "status": "active", "golden_id": golden_id}


def test_unknown_key_is_404_with_the_key(reader: Any, golden_id: str) -> None:
    response = reader.get("/api/v1/resolve/", {"system": "salesforce", "entity_type": "customer", "source_id": "nope"})
    assert response.status_code == 404 and response.json()["status"] == "not_found"


def test_merged_record_resolves_to_its_survivor_and_says_so(reader: Any, golden_id: str, salesforce: System) -> None:
    other = ingest(
        system=salesforce,
        entity_type="customer",
        records=[customer("002", tax_ids=[], legal_name="Other")],
        actor=salesforce.service_user,
    )
    retired = GoldenRecord.objects.get(golden_id=other.outcomes[0].golden_id)
    retired.status, retired.merged_into = GoldenStatus.RETIRED, GoldenRecord.objects.get(golden_id=golden_id)
    retired.save()
    body = reader.get(
        "/api/v1/resolve/", {"system": "salesforce", "entity_type": "customer", "source_id": "002"}
    ).json()
    assert body["status"] == "merged" and body["golden_id"] == golden_id and body["merged_into"] == golden_id


def test_batch_answers_in_input_order(reader: Any, golden_id: str) -> None:
    keys = [
        {"system": "salesforce", "entity_type": "customer", "source_id": "missing"},
        {"system": "salesforce", "entity_type": "customer", "source_id": "001A"},
        {"system": "netsuite", "entity_type": "customer", "source_id": "001A"},
    ]
    response = reader.post("/api/v1/resolve/batch/", data=json.dumps({"keys": keys}), content_type="application/json")
    assert [row["golden_id"] for row in response.json()["results"]] == [None, golden_id, None]


def test_batch_over_the_limit_is_a_400(reader: Any) -> None:
    keys = [{"system": "salesforce", "entity_type": "customer", "source_id": str(index)} for index in range(3)]
    with override_settings(MDM_RESOLVE_MAX_BATCH=2):
        response = reader.post(
            "/api/v1/resolve/batch/", data=json.dumps({"keys": keys}), content_type="application/json"
        )
    assert response.status_code == 400
    assert response.json()["error"]["fields"][0]["field"] == "keys"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"system": "salesforce", "entity_type": "customer"}, "source_id"),
        ({"system": "salesforce", "entity_type": "vendor", "source_id": "1"}, "entity_type"),
        ({"system": "salesforce", "entity_type": "customer", "source_id": "a\x00b"}, "source_id"),
    ],
)
def test_bad_resolve_input_is_a_400(reader: Any, params: dict, field: str) -> None:
    response = reader.get("/api/v1/resolve/", params)
    assert response.status_code == 400
    assert field in [item["field"] for item in response.json()["error"]["fields"]]


def test_batch_items_report_their_index(reader: Any) -> None:
    keys = [{"system": "salesforce", "entity_type": "customer", "source_id": "1"}, {"system": "salesforce"}]
    response = reader.post("/api/v1/resolve/batch/", data=json.dumps({"keys": keys}), content_type="application/json")
    assert response.status_code == 400
    assert {"keys[1].entity_type", "keys[1].source_id"} <= {
        item["field"] for item in response.json()["error"]["fields"]
    }
