"""Reading golden records over REST: lists with filters and cursors, details, history, as-of, lineage, hierarchies."""

import datetime
import time
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mdm.ingest import ingest
from mdm.models import GoldenRecord, GoldenStatus, System
from tests.records import customer, product

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(client_for: Any, read_key: Any) -> Any:
    return client_for(read_key[1])


def load(system: System, records: list[dict[str, Any]], entity_type: str = "customer") -> list[str]:
    result = ingest(system=system, entity_type=entity_type, records=records, actor=system.service_user)
    return [outcome.golden_id for outcome in result.outcomes]


def test_list_filters_and_searches(reader: Any, salesforce: System) -> None:
    load(
        salesforce,
        [
            customer("A", legal_name="Alpha Mining AG", tax_ids=[], industry="Mining", legal_address={"country": "CH"}),
            customer("B", legal_name="Beta Retail Ltd", tax_ids=[], industry="Retail", legal_address={"country": "GB"}),
        ],
    )
    names = lambda response: [row["legal_name"] for row in response.json()["results"]]  # noqa: E731
    assert names(reader.get("/api/v1/customers/?country=gb")) == ["Beta Retail Ltd"]
    assert names(reader.get("/api/v1/customers/?industry=mining")) == ["Alpha Mining AG"]
    assert names(reader.get("/api/v1/customers/?search=alpha")) == ["Alpha Mining AG"]
    assert reader.get("/api/v1/customers/?status=sleeping").status_code == 400


def test_cursor_pagination_walks_every_record_once(reader: Any, salesforce: System) -> None:
    names = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf"]
    ids = load(
        salesforce, [customer(f"C{index}", tax_ids=[], legal_name=f"{name} AG") for index, name in enumerate(names)]
    )
    seen: list[str] = []
    url = "/api/v1/customers/?page_size=3"
    while url:
        body = reader.get(url).json()
        seen += [row["golden_id"] for row in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(ids)


def test_list_query_count_does_not_grow_with_rows(reader: Any, salesforce: System) -> None:
    load(salesforce, [customer(f"Q{index}", tax_ids=[]) for index in range(3)])
    reader.get("/api/v1/customers/")  # the key's first use of the minute records last_used_at
    with CaptureQueriesContext(connection) as few:
        reader.get("/api/v1/customers/")
    load(salesforce, [customer(f"R{index}", tax_ids=[]) for index in range(20)])
    with CaptureQueriesContext(connection) as many:
        reader.get("/api/v1/customers/")
    assert len(many) == len(few)


def test_detail_shows_sources_and_lineage(reader: Any, salesforce: System, netsuite: System) -> None:
    golden_id = load(salesforce, [customer("001")])[0]
    load(netsuite, [customer("C-1", legal_name="Northwind Traders GmbH & Co. KG")])
    body = reader.get(f"/api/v1/customers/{golden_id}/").json()
    assert body["legal_name"] == "Northwind Traders GmbH & Co. KG"
    assert {(item["system"], item["source_id"]) for item in body["sources"]} == {
        ("salesforce", "001"),
        ("netsuite", "C-1"),
    }
    assert body["lineage"]["legal_name"]["system"] == "netsuite"


def test_golden_ids_are_case_insensitive_and_typos_are_404(reader: Any, salesforce: System) -> None:
    golden_id = load(salesforce, [customer()])[0]
    assert reader.get(f"/api/v1/customers/{golden_id.lower()}/").status_code == 200
    typo = golden_id[:-2] + ("0" if golden_id[-2] != "0" else "1") + golden_id[-1]
    response = reader.get(f"/api/v1/customers/{typo}/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert reader.get(f"/api/v1/products/{golden_id}/").status_code == 404


def test_retired_golden_id_redirects_to_its_survivor(reader: Any, salesforce: System) -> None:
    survivor_id, merged_id = load(
        salesforce, [customer("A", tax_ids=[]), customer("B", tax_ids=[], legal_name="Other")]
    )
    merged = GoldenRecord.objects.get(golden_id=merged_id)
    merged.status, merged.merged_into = GoldenStatus.RETIRED, GoldenRecord.objects.get(golden_id=survivor_id)
    merged.save()
    response = reader.get(f"/api/v1/customers/{merged_id}/")
    assert response.status_code == 301
    assert response["Location"].endswith(f"/api/v1/customers/{survivor_id}/")


def test_history_and_as_of(reader: Any, salesforce: System) -> None:
    golden_id = load(salesforce, [customer(industry="Retail")])[0]
    between = datetime.datetime.now(datetime.UTC)
    time.sleep(0.01)
    load(salesforce, [customer(industry="Mining")])
    history = reader.get(f"/api/v1/customers/{golden_id}/history/").json()["results"]
    assert [entry["history_type"] for entry in history] == ["Changed", "Created"]
    assert {"field": "industry", "old": "Retail", "new": "Mining"} in history[0]["changes"]
    assert history[0]["user"] == "system:salesforce"
    past = reader.get(f"/api/v1/customers/{golden_id}/as-of/", {"at": between.isoformat()}).json()
    assert past["industry"] == "Retail"
    assert reader.get(f"/api/v1/customers/{golden_id}/as-of/?at=2001-01-01").status_code == 404
    assert reader.get(f"/api/v1/customers/{golden_id}/as-of/?at=soon").status_code == 400
    # A bare date is the end of that day: today's changes are in it.
    today = reader.get(f"/api/v1/customers/{golden_id}/as-of/?at={datetime.date.today().isoformat()}").json()
    assert today["industry"] == "Mining" and today["as_of"].startswith(f"{datetime.date.today().isoformat()}T23:59:59")


def test_lineage_names_the_supplier_of_each_attribute(reader: Any, salesforce: System) -> None:
    golden_id = load(salesforce, [customer("001")])[0]
    body = reader.get(f"/api/v1/customers/{golden_id}/lineage/").json()
    assert body["attributes"]["trade_name"] == {
        "value": "Northwind",
        "rule": "owner:salesforce",
        "system": "salesforce",
        "source_id": "001",
        "source_record": body["attributes"]["trade_name"]["source_record"],
        "source_updated_at": body["attributes"]["trade_name"]["source_updated_at"],
    }


def test_products_list_and_detail(reader: Any, netsuite: System) -> None:
    golden_id = load(netsuite, [product()], "product")[0]
    body = reader.get("/api/v1/products/?gtin=4006381333931").json()
    assert [row["golden_id"] for row in body["results"]] == [golden_id]
    detail = reader.get(f"/api/v1/products/{golden_id}/").json()
    assert detail["list_price"] == "19.9000" and detail["currency"] == "EUR"


def test_hierarchy_relations_as_of_a_date(reader: Any, netsuite: System) -> None:
    top, middle, leaf = load(
        netsuite,
        [
            customer("TOP", tax_ids=[], legal_name="Holding AG"),
            customer("MID", tax_ids=[], legal_name="Mid GmbH", parent_source_id="TOP"),
            customer("LEAF", tax_ids=[], legal_name="Leaf Ltd", parent_source_id="MID"),
        ],
    )
    base = "/api/v1/hierarchies/customer_legal"
    assert [row["parent"] for row in reader.get(f"{base}/{leaf}/parent/").json()["results"]] == [middle]
    assert [row["child"] for row in reader.get(f"{base}/{top}/children/").json()["results"]] == [middle]
    assert [(row["parent"], row["depth"]) for row in reader.get(f"{base}/{leaf}/ancestors/").json()["results"]] == [
        (middle, 1),
        (top, 2),
    ]
    assert [(row["child"], row["depth"]) for row in reader.get(f"{base}/{top}/descendants/").json()["results"]] == [
        (middle, 1),
        (leaf, 2),
    ]
    assert reader.get(f"{base}/{leaf}/parent/?as_of=2001-01-01").json()["results"] == []
    assert reader.get(f"{base}/{leaf}/parent/?as_of=someday").status_code == 400
    assert reader.get(f"/api/v1/hierarchies/org_chart/{leaf}/parent/").status_code == 404


def test_schema_and_docs_are_served(client: Any) -> None:
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200


def test_nul_in_a_query_parameter_is_a_400(reader: Any) -> None:
    response = reader.get("/api/v1/customers/?search=north%00wind")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == [{"field": "search", "message": "must not contain NUL characters"}]
