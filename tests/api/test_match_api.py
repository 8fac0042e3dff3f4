"""Match-on-entry and a golden record's match decisions over REST."""

from typing import Any

import pytest

from matching.models import MatchCandidate, MatchDecision
from mdm.ingest import ingest
from mdm.models import GoldenRecord, SourceRecord, System

pytestmark = pytest.mark.django_db

BERLIN = {"line1": "Hauptstraße 5", "city": "Berlin", "postcode": "10115", "country": "DE"}


@pytest.fixture
def reader(client_for: Any, read_key: Any) -> Any:
    return client_for(read_key[1])


@pytest.fixture
def northwind(netsuite: System) -> str:
    result = ingest(
        system=netsuite,
        entity_type="customer",
        records=[
            {
                "source_id": "C-1",
                "legal_name": "Northwind Traders GmbH",
                "phones": ["030 1234567"],
                "legal_address": BERLIN,
            }
        ],
        actor=netsuite.service_user,
    )
    return result.outcomes[0].golden_id


def test_match_on_entry_finds_the_existing_record_and_writes_nothing(reader: Any, northwind: str) -> None:
    before = (GoldenRecord.objects.count(), SourceRecord.objects.count(), MatchDecision.objects.count())
    response = reader.post(
        "/api/v1/match/",
        {
            "entity_type": "customer",
            "record": {
                "source_id": "form",
                "legal_name": "Northwind Traders",
                "phones": ["+49 30 1234567"],
                "billing_address": BERLIN,
            },
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["outcome"] == "auto_linked" and body["golden_id"] == northwind
    best = body["candidates"][0]
    assert best["golden_id"] == northwind and best["probability"] > 0.97
    assert {row["attribute"]: row["level"] for row in best["explanation"]["attributes"]}["phone"] == "shared"
    after = (GoldenRecord.objects.count(), SourceRecord.objects.count(), MatchDecision.objects.count())
    assert before == after and not MatchCandidate.objects.exists()


def test_match_on_entry_of_something_new_says_so(reader: Any, northwind: str) -> None:
    response = reader.post(
        "/api/v1/match/",
        {
            "entity_type": "customer",
            "record": {"source_id": "form", "legal_name": "Zenith Foods AG", "legal_address": {"country": "FR"}},
        },
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["outcome"] == "new" and response.json()["golden_id"] is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"entity_type": "customer", "record": {"source_id": "x", "legal_name": 5}}, "record.legal_name"),
        ({"entity_type": "customer", "record": {"source_id": "x", "legal_name": "A", "bogus": 1}}, "record.bogus"),
        (
            {"entity_type": "customer", "record": {"source_id": "x", "legal_name": "A", "emails": ["nope"]}},
            "record.emails[0]",
        ),
        ({"entity_type": "customer", "record": ["not", "an", "object"]}, "record"),
        ({"entity_type": "planet", "record": {}}, "entity_type"),
        ({"record": {}}, "entity_type"),
        ({"entity_type": "customer", "record": {"source_id": "x", "legal_name": "A"}, "limit": 0}, "limit"),
    ],
)
def test_match_on_entry_answers_bad_input_with_field_paths(reader: Any, payload: dict, field: str) -> None:
    response = reader.post("/api/v1/match/", payload, format="json")
    assert response.status_code == 400
    assert field in [item["field"] for item in response.json()["error"]["fields"]], response.json()


def test_a_golden_record_shows_its_decisions_and_open_candidates(
    reader: Any, northwind: str, salesforce: System
) -> None:
    outcome = ingest(
        system=salesforce,
        entity_type="customer",
        records=[
            {
                "source_id": "001",
                "legal_name": "Northwind Trading",
                "billing_address": {"city": "Berlin", "country": "DE"},
            }
        ],
        actor=salesforce.service_user,
    ).outcomes[0]
    assert outcome.match == "review"
    body = reader.get(f"/api/v1/customers/{northwind}/matches/").json()
    assert [decision["outcome"] for decision in body["decisions"]] == ["new"]
    (candidate,) = body["open_candidates"]
    assert candidate["golden_id"] == outcome.golden_id and candidate["candidate_golden_id"] == northwind
    assert candidate["explanation"]["attributes"][0]["attribute"] == "name"
    mine = reader.get(f"/api/v1/customers/{outcome.golden_id}/matches/").json()
    assert mine["decisions"][0]["outcome"] == "review" and mine["decisions"][0]["explanation"]["probability"] >= 0.5
