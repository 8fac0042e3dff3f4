"""The Salesforce simulator, driven by simple-salesforce exactly as a connector would drive the real API."""

import base64
import csv
import datetime
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from simple_salesforce.login import token_login
from simple_salesforce.util import Usage

from simulators.salesforce import SalesforceFaults, SalesforceSimulator
from simulators.tls import LocalTLS, local_tls

GOLDEN = "MDM_Golden_ID__c"
CLIENT = {"Sforce-Call-Options": "client=mdm-hub"}


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> LocalTLS:
    return local_tls(Path(tmp_path_factory.mktemp("salesforce-tls")))


@pytest.fixture(scope="module")
def keys() -> tuple[bytes, bytes]:
    """An RSA key pair for the JWT bearer flow: (private PEM, public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


@pytest.fixture(scope="module")
def server(tls: LocalTLS, keys: tuple[bytes, bytes]) -> Iterator[SalesforceSimulator]:
    # One server per module: stopping one waits out serve_forever's 0.5 s poll, too slow to pay per test.
    with SalesforceSimulator(tls=tls, jwt_public_key_pem=keys[1]) as simulator:
        yield simulator  # type: ignore[misc]


@pytest.fixture
def sim(server: SalesforceSimulator) -> SalesforceSimulator:
    """The module's simulator as new: no records, counters, sessions or faults left by another test."""
    server.faults = SalesforceFaults()
    server.expire_sessions()
    server.reset()
    return server


@pytest.fixture
def http(tls: LocalTLS) -> requests.Session:
    session = requests.Session()
    session.verify = str(tls.ca_pem)
    session.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would override verify
    return session


def token_for(sim: SalesforceSimulator, http: requests.Session) -> str:
    response = http.post(
        f"{sim.url}/services/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": "mdm-hub", "client_secret": "mdm-hub-secret"},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def connect(sim: SalesforceSimulator, http: requests.Session) -> Salesforce:
    return Salesforce(session_id=token_for(sim, http), instance_url=sim.url, session=http, version="59.0")


@pytest.fixture
def sf(sim: SalesforceSimulator, http: requests.Session) -> Salesforce:
    return connect(sim, http)


def collection(*records: dict[str, Any], all_or_none: bool = False) -> dict[str, Any]:
    return {"allOrNone": all_or_none, "records": [{"attributes": {"type": "Account"}, **r} for r in records]}


# --- OAuth ----------------------------------------------------------------------------------------------


def test_client_credentials_in_the_form_or_basic_auth(sim: SalesforceSimulator, http: requests.Session) -> None:
    url = f"{sim.url}/services/oauth2/token"
    body = http.post(
        url, data={"grant_type": "client_credentials", "client_id": "mdm-hub", "client_secret": "mdm-hub-secret"}
    ).json()
    assert body["instance_url"] == sim.url
    assert body["token_type"] == "Bearer" and body["scope"] == "api" and body["access_token"].startswith("00D")
    assert body["id"].endswith(f"/{sim.org_id}/{sim.integration_user_id}")
    assert "expires_in" not in body
    # simple-salesforce's own token call sends the credentials in HTTP Basic.
    session_id, instance = token_login(
        url,
        {"grant_type": "client_credentials"},
        "acme.my",
        "mdm-hub",
        {"Authorization": _basic("mdm-hub", "mdm-hub-secret")},
        None,
        http,
    )
    assert session_id and instance == f"127.0.0.1:{sim.port}"
    assert sim.api_calls_used() == 0  # the token endpoint is not an API call


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "client_credentials", "client_id": "mdm-hub", "client_secret": "wrong"}, "invalid_client"),
        ({"grant_type": "client_credentials", "client_id": "someone", "client_secret": "x"}, "invalid_client_id"),
        ({"grant_type": "password", "username": "u", "password": "p"}, "unsupported_grant_type"),
        ({}, "unsupported_grant_type"),
    ],
)
def test_token_errors(sim: SalesforceSimulator, http: requests.Session, form: dict[str, str], error: str) -> None:
    response = http.post(f"{sim.url}/services/oauth2/token", data=form)
    assert response.status_code == 400
    assert response.json()["error"] == error and response.json()["error_description"]
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        token_login(f"{sim.url}/services/oauth2/token", form, "acme.my", "mdm-hub", None, None, http)
    assert caught.value.code == error


def _assertion(private: bytes, **changes: Any) -> str:
    # The claims simple-salesforce builds: exp is a string of seconds, about three minutes ahead.
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=3)
    claims = {"iss": "mdm-hub", "sub": "integration@mdm.example", "aud": "https://login.salesforce.com"}
    claims |= {"exp": f"{expires.timestamp():.0f}", **changes}
    return jwt.encode(claims, private, algorithm="RS256")


def test_jwt_bearer_and_its_errors(sim: SalesforceSimulator, http: requests.Session, keys: tuple[bytes, bytes]) -> None:
    url = f"{sim.url}/services/oauth2/token"
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    ok = http.post(url, data={"grant_type": grant, "assertion": _assertion(keys[0])})
    assert ok.status_code == 200 and ok.json()["instance_url"] == sim.url
    sandbox = http.post(
        url, data={"grant_type": grant, "assertion": _assertion(keys[0], aud="https://test.salesforce.com")}
    )
    assert sandbox.status_code == 200
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cases = [
        (_assertion(other_key), "invalid_grant"),
        (_assertion(keys[0], aud="https://example.com"), "invalid_grant"),
        (_assertion(keys[0], exp=int(time.time()) - 60), "invalid_grant"),
        (_assertion(keys[0], iss="someone-else"), "invalid_client_id"),
        (_assertion(keys[0], sub="nobody@mdm.example"), "invalid_grant"),
        ("not-a-jwt", "invalid_grant"),
    ]
    for assertion, error in cases:
        response = http.post(url, data={"grant_type": grant, "assertion": assertion})
        assert (response.status_code, response.json()["error"]) == (400, error), assertion


# --- REST upsert and records ----------------------------------------------------------------------------


def test_upsert_creates_then_updates_and_remembers_the_client(sim: SalesforceSimulator, sf: Salesforce) -> None:
    assert sf.Account.upsert(f"{GOLDEN}/G-1", {"Name": "Northwind", "BillingCity": "Leeds"}, headers=CLIENT) == 201
    first = sim.by_external_id("Account", "G-1")
    assert first is not None and first["Id"].startswith("001") and len(first["Id"]) == 18
    response = sf.Account.upsert(f"{GOLDEN}/G-1", {"BillingCity": "York"}, raw_response=True, headers=CLIENT)
    assert response.status_code == 200
    assert response.json() == {"id": first["Id"], "success": True, "errors": [], "created": False}
    record = sim.get("Account", first["Id"])
    assert record is not None
    assert record["BillingCity"] == "York" and record["Name"] == "Northwind"
    assert record["SystemModstamp"] > first["SystemModstamp"]
    assert record["LastModifiedById"] == sim.integration_user_id and record["_client"] == "mdm-hub"
    assert record["SystemModstamp"].endswith("+0000") and len(record["SystemModstamp"]) == 28
    assert sim.writes("Account") == 2
    fetched = sf.Account.get_by_custom_id(GOLDEN, "G-1")
    assert fetched["Id"] == first["Id"] and fetched["attributes"]["type"] == "Account"


def test_upsert_errors_map_to_simple_salesforce_exceptions(sim: SalesforceSimulator, sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound) as not_external:
        sf.Account.upsert("Name/Acme", {"BillingCity": "Leeds"})
    assert not_external.value.content == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]
    with pytest.raises(SalesforceMalformedRequest) as unknown:
        sf.Account.upsert(f"{GOLDEN}/G-2", {"Name": "Acme", "Colour__c": "red"})
    assert unknown.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert unknown.value.content[0]["message"] == "No such column 'Colour__c' on sobject of type Account"
    with pytest.raises(SalesforceMalformedRequest) as too_long:
        sf.Account.upsert(f"{GOLDEN}/G-2", {"Name": "Acme", "BillingCity": "x" * 41})
    assert too_long.value.content[0]["errorCode"] == "STRING_TOO_LONG"
    assert too_long.value.content[0]["fields"] == ["BillingCity"]
    with pytest.raises(SalesforceMalformedRequest) as missing:
        sf.Account.upsert(f"{GOLDEN}/G-2", {"BillingCity": "Leeds"})
    assert missing.value.content == [
        {"message": "Required fields are missing: [Name]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Name"]}
    ]
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful(
            f"sobjects/Account/{GOLDEN}/G-2", params={"updateOnly": "true"}, method="PATCH", json={"Name": "Acme"}
        )
    assert sim.records("Account") == [] and sim.writes("Account") == 0


def test_parent_by_external_id(sim: SalesforceSimulator, sf: Salesforce) -> None:
    sf.Account.upsert(f"{GOLDEN}/P-1", {"Name": "Parent Group"})
    assert sf.Account.upsert(f"{GOLDEN}/C-1", {"Name": "Child Ltd", "Parent": {GOLDEN: "P-1"}}) == 201
    parent, child = sim.by_external_id("Account", "P-1"), sim.by_external_id("Account", "C-1")
    assert parent is not None and child is not None and child["ParentId"] == parent["Id"]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Account.upsert(f"{GOLDEN}/C-2", {"Name": "Orphan", "Parent": {GOLDEN: "P-404"}})
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert caught.value.content[0]["message"] == (
        "Foreign key external ID: P-404 not found for field MDM_Golden_ID__c in entity Account"
    )
    rows = sf.query(f"SELECT {GOLDEN}, Parent.{GOLDEN} FROM Account WHERE {GOLDEN} = 'C-1'")["records"]  # noqa: S608
    assert rows[0]["Parent"][GOLDEN] == "P-1" and rows[0]["Parent"]["attributes"]["type"] == "Account"


def test_create_read_update_delete_by_id(sim: SalesforceSimulator, sf: Salesforce) -> None:
    created = sf.Account.create({"Name": "Contoso", GOLDEN: "G-9"})
    assert created["success"] and created["errors"] == [] and created["id"].startswith("001")
    assert sf.Account.update(created["id"], {"Phone": "+44 113 496 0000"}) == 204
    assert sf.Account.get(created["id"][:15])["Phone"] == "+44 113 496 0000"  # 15-character Ids work too
    assert sf.Account.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Account.get(created["id"])
    assert caught.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"
    # A deleted record no longer matches its external ID: the next upsert creates a new one.
    assert sf.Account.upsert(f"{GOLDEN}/G-9", {"Name": "Contoso"}) == 201
    assert len(sf.query_all("SELECT Id FROM Account", include_deleted=True)["records"]) == 2
    assert len(sf.query_all("SELECT Id FROM Account")["records"]) == 1


def test_updated_and_deleted_resources(sim: SalesforceSimulator, sf: Salesforce) -> None:
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
    kept, gone = (sf.Account.create({"Name": name})["id"] for name in ("Kept", "Gone"))
    sf.Account.delete(gone)
    end = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=1)
    assert sf.Account.updated(start, end)["ids"] == [kept]
    deleted = sf.Account.deleted(start, end)["deletedRecords"]
    assert [row["id"] for row in deleted] == [gone] and deleted[0]["deletedDate"].endswith("+0000")


def test_several_matches_answer_300(sim: SalesforceSimulator, sf: Salesforce) -> None:
    for golden in ("G-1", "G-2"):
        sf.Account.upsert(f"{GOLDEN}/{golden}", {"Name": golden, "MDM_Survivor_ID__c": "S-1"})
    with pytest.raises(SalesforceMoreThanOneRecord) as caught:
        sf.Account.upsert("MDM_Survivor_ID__c/S-1", {"Name": "Merged"})
    assert len(caught.value.content) == 2 and all(
        url.startswith("/services/data/v59.0/sobjects/Account/001") for url in caught.value.content
    )


def test_describe_reports_the_external_id_field(sf: Salesforce) -> None:
    fields = {f["name"]: f for f in sf.Account.describe()["fields"]}
    assert fields[GOLDEN]["externalId"] and fields[GOLDEN]["unique"] and fields[GOLDEN]["length"] == 255
    assert fields["BillingCity"]["length"] == 40 and not fields["Name"]["nillable"]
    assert {"MDM_Tax_ID__c", "MDM_Status__c", "MDM_Survivor_ID__c"} <= set(fields)
    product = {f["name"] for f in sf.Product2.describe()["fields"]}
    assert {GOLDEN, "MDM_GTIN__c", "StockKeepingUnit"} <= product


def test_old_api_versions_answer_an_update_with_204(sim: SalesforceSimulator, http: requests.Session) -> None:
    old = Salesforce(session_id=token_for(sim, http), instance_url=sim.url, session=http, version="45.0")
    assert old.Account.upsert(f"{GOLDEN}/G-1", {"Name": "Acme"}) == 201
    assert old.Account.upsert(f"{GOLDEN}/G-1", {"Name": "Acme"}) == 204


# --- sObject Collections --------------------------------------------------------------------------------


def test_collections_upsert_reports_each_record_in_order(sim: SalesforceSimulator, sf: Salesforce) -> None:
    sf.Account.upsert(f"{GOLDEN}/G-2", {"Name": "Existing"})
    before = sim.api_calls_used()
    results = sf.restful(
        f"composite/sobjects/Account/{GOLDEN}",
        method="PATCH",
        json=collection({GOLDEN: "G-1", "Name": "Acme"}, {GOLDEN: "G-3"}, {GOLDEN: "G-2", "Name": "Renamed"}),
    )
    assert sim.api_calls_used() == before + 1
    assert results[0]["success"] and results[0]["created"] and results[0]["id"].startswith("001")
    assert results[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [Name]",
                "fields": ["Name"],
            }
        ],
    }
    assert results[2]["success"] and results[2]["created"] is False
    assert sim.by_external_id("Account", "G-2")["Name"] == "Renamed"  # type: ignore[index]
    assert sim.by_external_id("Account", "G-3") is None


def test_collections_all_or_none_rolls_everything_back(sim: SalesforceSimulator, sf: Salesforce) -> None:
    sf.Account.upsert(f"{GOLDEN}/G-1", {"Name": "Before"})
    writes = sim.writes("Account")
    results = sf.restful(
        f"composite/sobjects/Account/{GOLDEN}",
        method="PATCH",
        json=collection(
            {GOLDEN: "G-1", "Name": "After"}, {GOLDEN: "G-2", "BillingCity": "x" * 41, "Name": "Long"}, all_or_none=True
        ),
    )
    assert [r["success"] for r in results] == [False, False]
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert sim.by_external_id("Account", "G-1")["Name"] == "Before"  # type: ignore[index]
    assert sim.by_external_id("Account", "G-2") is None
    assert sim.writes("Account") == writes


def test_collections_refuse_more_than_200_records(sf: Salesforce) -> None:
    payload = collection(*({GOLDEN: f"G-{i}", "Name": f"Account {i}"} for i in range(201)))
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful(f"composite/sobjects/Account/{GOLDEN}", method="PATCH", json=payload)
    assert caught.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    with pytest.raises(SalesforceMalformedRequest) as untyped:
        sf.restful(
            f"composite/sobjects/Account/{GOLDEN}", method="PATCH", json={"records": [{GOLDEN: "G-1", "Name": "A"}]}
        )
    assert untyped.value.content[0]["errorCode"] == "INVALID_TYPE"


def test_collections_create_update_and_delete_by_id(sim: SalesforceSimulator, sf: Salesforce) -> None:
    [book] = sf.query("SELECT Id FROM Pricebook2 WHERE IsStandard = true")["records"]
    sf.Product2.upsert(f"{GOLDEN}/P-1", {"Name": "Widget"})
    product = sim.by_external_id("Product2", "P-1")
    assert product is not None
    entry = {"attributes": {"type": "PricebookEntry"}, "Pricebook2Id": book["Id"], "Product2Id": product["Id"]}
    created = sf.restful(
        "composite/sobjects",
        method="POST",
        json={"allOrNone": False, "records": [{**entry, "UnitPrice": 9.5}, {**entry, "UnitPrice": 10}]},
    )
    assert created[0]["success"] and created[0]["id"].startswith("01u") and "created" not in created[0]
    assert created[1]["errors"][0]["statusCode"] == "DUPLICATE_VALUE"  # one standard price per product
    # Field names ignore case, as the connector's lowercase "id" relies on.
    update = {"attributes": {"type": "PricebookEntry"}, "id": created[0]["id"], "UnitPrice": 12, "IsActive": True}
    updated = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": [update]})
    assert updated == [{"id": created[0]["id"], "success": True, "errors": []}]
    assert sim.get("PricebookEntry", created[0]["id"])["UnitPrice"] == 12.0  # type: ignore[index]
    no_id = {"attributes": {"type": "PricebookEntry"}, "UnitPrice": 1}
    [missing] = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": [no_id]})
    assert missing["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    deleted = sf.restful("composite/sobjects", method="DELETE", params={"ids": created[0]["id"]})
    assert deleted == [{"id": created[0]["id"], "success": True, "errors": []}]
    assert sim.get("PricebookEntry", created[0]["id"])["IsDeleted"] is True  # type: ignore[index]


# --- Bulk API 2.0 ---------------------------------------------------------------------------------------


def test_bulk2_upsert_with_results(sim: SalesforceSimulator, sf: Salesforce) -> None:
    sf.Account.upsert(f"{GOLDEN}/B-0", {"Name": "Group", "Phone": "0113 496 0000"})
    records = [
        {GOLDEN: "B-0", "Name": "Group", "Phone": "#N/A"},  # `#N/A` clears the phone
        {GOLDEN: "B-1", "Name": "Acme", "Phone": "", "Parent.MDM_Golden_ID__c": "B-0"},
        {GOLDEN: "B-2", "Name": "", "Phone": "", "Parent.MDM_Golden_ID__c": ""},  # no name: fails
        {GOLDEN: "B-3", "Name": "Long", "Phone": "9" * 41, "Parent.MDM_Golden_ID__c": ""},  # too long: fails
    ]
    [summary] = sf.bulk2.Account.upsert(records=records, external_id_field=GOLDEN, wait=0)
    assert (summary["numberRecordsProcessed"], summary["numberRecordsFailed"], summary["numberRecordsTotal"]) == (
        4,
        2,
        4,
    )
    assert summary["job_id"].startswith("750")
    successful = list(csv.DictReader(io.StringIO(sf.bulk2.Account.get_successful_records(summary["job_id"]))))
    assert {row[GOLDEN]: row["sf__Created"] for row in successful} == {"B-0": "false", "B-1": "true"}
    failed = {
        row[GOLDEN]: row["sf__Error"]
        for row in csv.DictReader(io.StringIO(sf.bulk2.Account.get_failed_records(summary["job_id"])))
    }
    assert failed["B-2"] == "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"
    assert failed["B-3"].startswith("STRING_TOO_LONG:")
    everything = sf.bulk2.Account.get_all_ingest_records(summary["job_id"])
    assert everything["unprocessedRecords"] == [] and len(everything["failedRecords"]) == 2
    group, child = sim.by_external_id("Account", "B-0"), sim.by_external_id("Account", "B-1")
    assert group is not None and child is not None
    assert group["Phone"] is None and child["ParentId"] == group["Id"]


def test_bulk2_job_lifecycle_over_plain_http(sim: SalesforceSimulator, sf: Salesforce, http: requests.Session) -> None:
    base = f"{sim.url}/services/data/v59.0/jobs/ingest"
    headers = {"Authorization": f"Bearer {sf.session_id}"}
    job = http.post(
        base,
        json={
            "object": "Account",
            "operation": "upsert",
            "externalIdFieldName": GOLDEN,
            "contentType": "CSV",
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
        },
        headers=headers,
    ).json()
    assert job["state"] == "Open" and job["contentUrl"] == f"services/data/v59.0/jobs/ingest/{job['id']}/batches"
    upload = http.put(
        f"{base}/{job['id']}/batches",
        data=f"{GOLDEN},Nonsense__c\nX-1,1\n",
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert (upload.status_code, upload.content) == (201, b"")
    assert (
        http.patch(f"{base}/{job['id']}", json={"state": "UploadComplete"}, headers=headers).json()["state"]
        == "UploadComplete"
    )
    info = http.get(f"{base}/{job['id']}", headers=headers).json()
    assert info["state"] == "Failed" and "Nonsense__c" in info["errorMessage"]
    unprocessed = http.get(f"{base}/{job['id']}/unprocessedrecords/", headers=headers).text
    assert unprocessed.splitlines() == [f'"{GOLDEN}","Nonsense__c"', '"X-1","1"']
    listed = http.get(base, headers=headers).json()
    assert [info["id"] for info in listed["records"]] == [job["id"]] and listed["done"]
    assert http.delete(f"{base}/{job['id']}", headers=headers).status_code == 204
    assert http.get(f"{base}/{job['id']}", headers=headers).status_code == 404


# --- Queries --------------------------------------------------------------------------------------------


def test_query_all_iter_pages_with_batch_size(sim: SalesforceSimulator, sf: Salesforce) -> None:
    for number in range(450):
        sim.user_create("Account", {"Name": f"Account {number:03d}", GOLDEN: f"G-{number:03d}"})
    start = sim.api_calls_used()
    query = (
        f"SELECT Id, {GOLDEN}, Name, SystemModstamp FROM Account "  # noqa: S608 - SOQL to the simulator
        "WHERE SystemModstamp >= 2024-05-01T00:00:00Z ORDER BY SystemModstamp, Id"
    )
    rows = list(sf.query_all_iter(query, headers={"Sforce-Query-Options": "batchSize=200"}))
    assert sim.api_calls_used() - start == 3  # 200 + 200 + 50
    assert [row[GOLDEN] for row in rows] == [f"G-{n:03d}" for n in range(450)]
    assert rows[0]["attributes"] == {"type": "Account", "url": f"/services/data/v59.0/sobjects/Account/{rows[0]['Id']}"}
    first = sf.query(query, headers={"Sforce-Query-Options": "batchSize=200"})
    assert first["totalSize"] == 450 and not first["done"]
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g") and first["nextRecordsUrl"].endswith(
        "-200"
    )
    with pytest.raises(SalesforceMalformedRequest) as stale:
        sf.query_more("01g8d0000000999AAA-200")
    assert stale.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
    middle = rows[225]["SystemModstamp"]
    later = sf.query(f"SELECT Id FROM Account WHERE SystemModstamp > {middle} AND Name != null LIMIT 10")  # noqa: S608
    assert later["totalSize"] == 10
    counted = sf.query(f"SELECT COUNT() FROM Account WHERE {GOLDEN} IN ('G-001', 'G-002', 'nope')")  # noqa: S608
    assert counted["totalSize"] == 2 and counted["records"] == []
    assert sf.query("SELECT Id FROM Account WHERE Name = 'account 007'")["totalSize"] == 1  # text ignores case


def test_price_book_queries(sim: SalesforceSimulator, sf: Salesforce) -> None:
    [standard] = sf.query("SELECT Id FROM Pricebook2 WHERE IsStandard = true")["records"]
    assert standard["Id"].startswith("01s")
    sf.Product2.upsert(f"{GOLDEN}/P-1", {"Name": "Widget", "IsActive": True, "MDM_GTIN__c": "05012345678900"})
    product = sim.by_external_id("Product2", "P-1")
    assert product is not None and product["Id"].startswith("01t")
    entry = sf.PricebookEntry.create(
        {"Pricebook2Id": standard["Id"], "Product2Id": product["Id"], "UnitPrice": 9.5, "IsActive": True}
    )
    assert entry["id"].startswith("01u")
    found = sf.query(
        f"SELECT Id, UnitPrice FROM PricebookEntry WHERE Product2Id = '{product['Id']}' "  # noqa: S608
        f"AND Pricebook2Id = '{standard['Id']}'"
    )
    assert found["records"][0]["UnitPrice"] == 9.5
    with pytest.raises(SalesforceMalformedRequest) as duplicate:
        sf.PricebookEntry.create({"Pricebook2Id": standard["Id"], "Product2Id": product["Id"], "UnitPrice": 10})
    assert duplicate.value.content[0]["errorCode"] == "DUPLICATE_VALUE"
    with pytest.raises(SalesforceMalformedRequest) as fixed:
        sf.PricebookEntry.update(
            entry["id"], {"Product2Id": sim.by_external_id("Product2", "P-1")["Id"][:3] + "8d0000000099"}
        )  # type: ignore[index]
    assert fixed.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("SELECT Id FROM", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE Name ~ 'x'", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE SystemModstamp > '2024-05-01'", "MALFORMED_QUERY"),
        ("SELECT Colour__c FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM Contact", "INVALID_TYPE"),
    ],
)
def test_bad_queries(sf: Salesforce, query: str, code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query(query)
    assert caught.value.content[0]["errorCode"] == code


def test_user_edits_show_in_a_pull_with_a_ui_user(sim: SalesforceSimulator, sf: Salesforce) -> None:
    sf.Account.upsert(f"{GOLDEN}/G-1", {"Name": "Acme"}, headers=CLIENT)
    ours = sim.by_external_id("Account", "G-1")
    assert ours is not None
    edited = sim.user_edit("Account", ours["Id"], {"Phone": "0113 496 0001"})
    assert edited["SystemModstamp"] > ours["SystemModstamp"] and edited["LastModifiedById"] == sim.ui_user_id
    assert edited["_client"] is None and sim.writes("Account") == 1
    made = sim.user_create("Account", {"Name": "Typed in by hand"})
    rows = sf.query(
        f"SELECT Id, LastModifiedById FROM Account "  # noqa: S608 - SOQL to the simulator
        f"WHERE SystemModstamp > {ours['SystemModstamp']} ORDER BY SystemModstamp"
    )["records"]
    assert [(r["Id"], r["LastModifiedById"]) for r in rows] == [
        (ours["Id"], sim.ui_user_id),
        (made["Id"], sim.ui_user_id),
    ]
    with pytest.raises(ValueError, match="REQUIRED_FIELD_MISSING"):
        sim.user_create("Account", {"Phone": "1"})


# --- Limits and faults ----------------------------------------------------------------------------------


def test_limits_and_the_usage_header(sim: SalesforceSimulator, sf: Salesforce, http: requests.Session) -> None:
    limits = sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 100_000, "Remaining": 99_999}
    assert sf.api_usage["api-usage"] == Usage(used=1, total=100_000)
    sf.query("SELECT Id FROM Account")
    assert sf.api_usage["api-usage"] == Usage(used=2, total=100_000)
    versions = http.get(f"{sim.url}/services/data/")
    assert "Sforce-Limit-Info" not in versions.headers
    assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in versions.json()


def test_request_limit_exceeded(
    sim: SalesforceSimulator, sf: Salesforce, tls: LocalTLS, http: requests.Session
) -> None:
    sim.faults.limit_after_calls = 2
    sf.limits()
    sf.limits()
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.limits()
    assert caught.value.content == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    with SalesforceSimulator(tls=tls, daily_limit=1) as small:
        client = connect(small, http)
        client.query("SELECT Id FROM Account")
        with pytest.raises(SalesforceRefusedRequest):
            client.query("SELECT Id FROM Account")


def test_expired_sessions(sim: SalesforceSimulator, sf: Salesforce, http: requests.Session) -> None:
    sf.limits()
    sim.expire_sessions()
    with pytest.raises(SalesforceExpiredSession) as caught:
        sf.limits()
    assert caught.value.content == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    sim.faults.expire_sessions_after_calls = 2
    fresh = connect(sim, http)
    fresh.limits()
    fresh.limits()
    with pytest.raises(SalesforceExpiredSession):
        fresh.limits()
    connect(sim, http).limits()  # a new token works again


def _lock_pattern(tls: LocalTLS, http: requests.Session) -> list[bool]:
    with SalesforceSimulator(tls=tls, faults=SalesforceFaults(error_rate=0.3, seed=7)) as simulator:
        client = connect(simulator, http)
        results = client.restful(
            f"composite/sobjects/Account/{GOLDEN}",
            method="PATCH",
            json=collection(*({GOLDEN: f"G-{i}", "Name": "A"} for i in range(30))),
        )
        failures = [r["errors"][0] for r in results if not r["success"]]
        assert failures and all(
            e
            == {
                "statusCode": "UNABLE_TO_LOCK_ROW",
                "message": "unable to obtain exclusive access to this record",
                "fields": [],
            }
            for e in failures
        )
        return [r["success"] for r in results]


def test_error_rate_gives_repeatable_lock_errors(
    sim: SalesforceSimulator, sf: Salesforce, tls: LocalTLS, http: requests.Session
) -> None:
    assert _lock_pattern(tls, http) == _lock_pattern(tls, http)
    sim.faults = SalesforceFaults(error_rate=1.0)
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Account.upsert(f"{GOLDEN}/G-1", {"Name": "Acme"})
    assert caught.value.content[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"


def test_unavailable_and_latency(sim: SalesforceSimulator, sf: Salesforce) -> None:
    sim.faults = SalesforceFaults(unavailable_rate=1.0)
    with pytest.raises(SalesforceGeneralError) as caught:
        sf.limits()
    assert caught.value.status == 503 and caught.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    sim.faults = SalesforceFaults(latency_ms=100)
    started = time.monotonic()
    sf.limits()
    assert time.monotonic() - started >= 0.1


def test_validation_rule(sim: SalesforceSimulator, sf: Salesforce) -> None:
    sim.faults.reject_names_containing = ("TEST",)
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Account.upsert(f"{GOLDEN}/G-1", {"Name": "Acme test account"})
    assert caught.value.content[0]["errorCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert caught.value.content[0]["fields"] == ["Name"]
    assert sf.Account.upsert(f"{GOLDEN}/G-1", {"Name": "Acme"}) == 201


def test_concurrent_upserts_are_all_kept(sim: SalesforceSimulator, sf: Salesforce) -> None:
    def publish(worker: int) -> None:
        for number in range(10):
            sf.Account.upsert(f"{GOLDEN}/W{worker}-{number}", {"Name": f"Worker {worker} #{number}"})

    threads = [threading.Thread(target=publish, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = sim.records("Account")
    assert len(records) == 60 == len({r["Id"] for r in records}) == sim.writes("Account")
    stamps = sorted(r["SystemModstamp"] for r in records)
    assert len(set(stamps)) == 60


# --- /__simulator__/ ------------------------------------------------------------------------------------


def test_control_api(sim: SalesforceSimulator, sf: Salesforce, http: requests.Session) -> None:
    sf.Account.upsert(f"{GOLDEN}/G-1", {"Name": "Acme"})
    used = sim.api_calls_used()
    control = f"{sim.url}/__simulator__"
    [account] = http.get(f"{control}/records/Account").json()
    assert account[GOLDEN] == "G-1"
    stats = http.get(f"{control}/stats").json()
    assert stats["api_calls_used"] == used and stats["writes"]["Account"] == 1 and stats["records"]["Account"] == 1
    faults = http.post(f"{control}/faults", json={"error_rate": 1, "reject_names_containing": ["X"]}).json()
    assert faults["error_rate"] == 1.0 and sim.faults.reject_names_containing == ("X",)
    assert http.post(f"{control}/faults", json={"colour": 1}).status_code == 400
    # Values are checked by type and range, not coerced: a rate above 1 or a dict for a list is refused.
    assert http.post(f"{control}/faults", json={"unavailable_rate": 2}).status_code == 400
    assert http.post(f"{control}/faults", json={"reject_names_containing": {"X": 1}}).status_code == 400
    assert sim.faults.unavailable_rate == 0.0 and sim.faults.reject_names_containing == ("X",)
    with pytest.raises(SalesforceMalformedRequest):
        sf.Account.upsert(f"{GOLDEN}/G-2", {"Name": "Acme"})
    http.post(f"{control}/faults", json={"error_rate": 0})
    edited = http.patch(f"{control}/records/Account/{account['Id']}", json={"Phone": "1"}).json()
    assert edited["LastModifiedById"] == sim.ui_user_id
    assert http.post(f"{control}/records/Account", json={"Name": "Hand made"}).status_code == 201
    reset = http.post(f"{control}/reset").json()
    assert reset["api_calls_used"] == 0 and reset["records"]["Account"] == 0 and reset["records"]["Pricebook2"] == 1
    assert sim.api_calls_used() == 0 and sim.writes("Account") == 0
