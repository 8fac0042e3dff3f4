"""The NetSuite simulator against plain requests: auth both ways, the record API, errors, limits, SuiteQL, control."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from requests_oauthlib import OAuth1

from simulators.netsuite import NetSuiteFaults, NetSuiteSimulator
from simulators.tls import LocalTLS, local_tls

RECORDS = "/services/rest/record/v1"
SUITEQL = "/services/rest/query/v1/suiteql"
TOKEN = "/services/rest/auth/oauth2/v1/token"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ISO = "'YYYY-MM-DD\"T\"HH24:MI:SS'"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> LocalTLS:
    return local_tls(Path(tmp_path_factory.mktemp("netsuite-tls")))


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: Any) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture(scope="module")
def server(tls: LocalTLS, ec_key: ec.EllipticCurvePrivateKey) -> Iterator[NetSuiteSimulator]:
    # One server for the module: stopping one takes up to half a second (serve_forever's poll interval).
    with NetSuiteSimulator(tls=tls, m2m_public_key_pem=public_pem(ec_key)) as simulator:
        yield simulator


@pytest.fixture
def sim(server: NetSuiteSimulator) -> NetSuiteSimulator:
    server.reset()
    return server


def session(tls: LocalTLS, auth: Any = None) -> requests.Session:
    s = requests.Session()
    s.verify, s.trust_env, s.auth = str(tls.ca_pem), False, auth
    return s


def tba(realm: str = "1234567", consumer_secret: str = "cs", **kwargs: Any) -> OAuth1:  # noqa: S107
    return OAuth1("ck", consumer_secret, "tk", "ts", signature_method="HMAC-SHA256", realm=realm, **kwargs)


@pytest.fixture
def api(sim: NetSuiteSimulator, tls: LocalTLS) -> requests.Session:
    return session(tls, tba())


def assertion(sim: NetSuiteSimulator, key: Any, alg: str = "ES256", **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": "mdm-hub", "scope": "rest_webservices", "aud": sim.url + TOKEN, "iat": now, "exp": now + 300}
    return jwt.encode({**payload, **claims}, key, algorithm=alg, headers={"typ": "JWT", "kid": "cert-1"})


def token_request(sim: NetSuiteSimulator, tls: LocalTLS, client_assertion: str) -> requests.Response:
    form = {"grant_type": "client_credentials", "client_assertion_type": JWT_BEARER}
    return session(tls).post(sim.url + TOKEN, data={**form, "client_assertion": client_assertion})


def error_detail(response: requests.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"type", "title", "status", "o:errorDetails"}
    assert body["status"] == response.status_code
    assert len(body["o:errorDetails"]) == 1
    return body["o:errorDetails"][0]


def customer(name: str = "Northwind Traders", **extra: Any) -> dict[str, Any]:
    return {"companyName": name, "subsidiary": {"id": "1"}, "isPerson": False, **extra}


def suiteql(api: requests.Session, sim: NetSuiteSimulator, q: str, **params: Any) -> requests.Response:
    return api.post(sim.url + SUITEQL, params=params, json={"q": q}, headers={"Prefer": "transient"})


# ---- auth ------------------------------------------------------------------------------------------------------


def test_tba_signed_request_is_accepted(sim: NetSuiteSimulator, api: requests.Session) -> None:
    response = api.get(sim.url + f"{RECORDS}/subsidiary/1", params={"fields": "name"})
    assert response.status_code == 200
    assert response.json()["id"] == "1" and response.json()["name"] == "Parent Company"


def test_tba_with_a_wrong_secret_gets_invalid_login_in_netsuites_shape(sim: NetSuiteSimulator, tls: LocalTLS) -> None:
    response = session(tls, tba(consumer_secret="wrong")).get(sim.url + f"{RECORDS}/subsidiary/1")
    assert response.status_code == 401
    assert response.json()["type"] == "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.2"
    assert response.json()["title"] == "Unauthorized"
    assert error_detail(response)["o:errorCode"] == "INVALID_LOGIN"
    assert error_detail(response)["detail"].startswith("Invalid login attempt.")
    assert sim.login_audit_trail == ["signature does not match"]


def test_tba_signature_covers_the_query_string(sim: NetSuiteSimulator, tls: LocalTLS) -> None:
    s = session(tls)
    prepared = s.prepare_request(requests.Request("GET", sim.url + f"{RECORDS}/subsidiary/1?fields=name", auth=tba()))
    prepared.url = prepared.url.replace("fields=name", "fields=id")  # tampered after signing
    assert s.send(prepared).status_code == 401
    assert sim.login_audit_trail == ["signature does not match"]


def test_tba_reused_nonce_is_refused(sim: NetSuiteSimulator, tls: LocalTLS) -> None:
    url = sim.url + f"{RECORDS}/subsidiary/1"
    assert session(tls, tba(nonce="fixednonce42")).get(url).status_code == 200
    assert session(tls, tba(nonce="fixednonce42")).get(url).status_code == 401
    assert sim.login_audit_trail == ["nonce already used"]


@pytest.mark.parametrize(
    ("auth", "reason"),
    [
        (tba(nonce="abc12"), "nonce shorter than 6 characters"),
        (tba(realm="7654321"), "realm '7654321' is not this account"),
        (OAuth1("ck", "cs", "tk", "ts", realm="1234567"), "signature method HMAC-SHA1 (only HMAC-SHA256 is supported)"),
        (tba(timestamp=str(int(time.time()) - 3600)), "timestamp "),  # the shared server's clock may have moved on
    ],
)
def test_tba_refusals_are_logged_with_their_reason(
    sim: NetSuiteSimulator, tls: LocalTLS, auth: OAuth1, reason: str
) -> None:
    assert session(tls, auth).get(sim.url + f"{RECORDS}/subsidiary/1").status_code == 401
    assert sim.login_audit_trail[0].startswith(reason)


def test_sandbox_realm_uses_an_underscore_and_capitals(tls: LocalTLS) -> None:
    with NetSuiteSimulator(tls=tls, account_id="1234567-sb1") as sandbox:
        assert session(tls, tba(realm="1234567_SB1")).get(sandbox.url + f"{RECORDS}/subsidiary/1").status_code == 200


def test_requests_without_oauth_or_bearer_are_refused(sim: NetSuiteSimulator, tls: LocalTLS) -> None:
    response = session(tls, ("admin", "password")).get(sim.url + f"{RECORDS}/subsidiary/1")
    assert response.status_code == 401
    assert error_detail(response)["o:errorCode"] == "INVALID_LOGIN"


def test_m2m_client_assertion_gets_a_bearer_token_that_works(
    sim: NetSuiteSimulator, tls: LocalTLS, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    response = token_request(sim, tls, assertion(sim, ec_key))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "token_type"}
    assert body["expires_in"] == "3600" and body["token_type"] == "bearer"
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert session(tls).get(sim.url + f"{RECORDS}/subsidiary/1", headers=headers).status_code == 200
    assert (
        session(tls).get(sim.url + f"{RECORDS}/subsidiary/1", headers={"Authorization": "Bearer nope"}).status_code
        == 401
    )


def test_m2m_accepts_ps256_with_an_rsa_certificate_key(tls: LocalTLS, rsa_key: rsa.RSAPrivateKey) -> None:
    with NetSuiteSimulator(tls=tls, m2m_public_key_pem=public_pem(rsa_key)) as rsa_sim:
        assert token_request(rsa_sim, tls, assertion(rsa_sim, rsa_key, alg="PS256")).status_code == 200


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"exp_minutes": 61}, 400, "invalid_grant"),
        ({"aud": "https://elsewhere.example/services/rest/auth/oauth2/v1/token"}, 400, "invalid_grant"),
        ({"iss": "someone-else"}, 401, "invalid_client"),
        ({"scope": "restlets"}, 400, "invalid_scope"),
        ({"other_key": True}, 401, "invalid_client"),
        ({"alg": "RS256"}, 400, "invalid_request"),
    ],
)
def test_m2m_refuses_bad_client_assertions(
    sim: NetSuiteSimulator,
    tls: LocalTLS,
    ec_key: ec.EllipticCurvePrivateKey,
    rsa_key: rsa.RSAPrivateKey,
    change: dict[str, Any],
    status: int,
    error: str,
) -> None:
    change = dict(change)
    key: Any = ec.generate_private_key(ec.SECP256R1()) if change.pop("other_key", False) else ec_key
    alg = change.pop("alg", "ES256")
    if alg == "RS256":
        key = rsa_key
    if "exp_minutes" in change:
        change["exp"] = int(time.time()) + 60 * change.pop("exp_minutes")
    response = token_request(sim, tls, assertion(sim, key, alg=alg, **change))
    assert response.status_code == status
    assert response.json()["error"] == error


def test_expired_tokens_fault_refuses_bearer_and_tba(
    sim: NetSuiteSimulator, tls: LocalTLS, api: requests.Session, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    access_token = token_request(sim, tls, assertion(sim, ec_key)).json()["access_token"]
    sim.faults.expire_tokens = True
    bearer = {"Authorization": f"Bearer {access_token}"}
    assert session(tls).get(sim.url + f"{RECORDS}/subsidiary/1", headers=bearer).status_code == 401
    assert api.get(sim.url + f"{RECORDS}/subsidiary/1").status_code == 401
    sim.faults.expire_tokens = False
    assert session(tls).get(sim.url + f"{RECORDS}/subsidiary/1", headers=bearer).status_code == 200
    sim.revoke_tokens()
    assert session(tls).get(sim.url + f"{RECORDS}/subsidiary/1", headers=bearer).status_code == 401


# ---- record API ------------------------------------------------------------------------------------------------


def test_upsert_by_external_id_creates_then_updates_the_same_record(
    sim: NetSuiteSimulator, api: requests.Session
) -> None:
    url = sim.url + f"{RECORDS}/customer/eid:CUST-000123"
    created = api.put(url, json=customer(email="ap@northwind.example"))
    assert created.status_code == 204 and created.content == b""
    location = created.headers["Location"]
    assert location.startswith(sim.url + f"{RECORDS}/customer/")
    first = sim.by_external_id("customer", "CUST-000123")
    assert first is not None and location.endswith("/" + first["id"])

    updated = api.put(url, json={"phone": "+1 555 0100"})
    assert updated.status_code == 204 and updated.headers["Location"] == location
    record = sim.by_external_id("customer", "CUST-000123")
    assert record is not None
    assert record["email"] == "ap@northwind.example" and record["phone"] == "+1 555 0100"  # PUT merges
    assert record["lastModifiedDate"] > first["lastModifiedDate"]
    assert sim.writes("customer") == 2 and len(sim.records("customer")) == 1


def test_put_works_only_with_an_external_id(sim: NetSuiteSimulator, api: requests.Session) -> None:
    location = api.post(sim.url + f"{RECORDS}/customer", json=customer()).headers["Location"]
    response = api.put(location, json={"phone": "1"})
    assert response.status_code == 400
    assert error_detail(response)["o:errorCode"] == "INVALID_PARAMETER"


def test_post_get_patch_delete(sim: NetSuiteSimulator, api: requests.Session) -> None:
    created = api.post(sim.url + f"{RECORDS}/customer", json=customer(externalId="C-1"))
    assert created.status_code == 204
    location = created.headers["Location"]
    internal_id = location.rsplit("/", 1)[1]
    assert api.get(location).json()["companyName"] == "Northwind Traders"
    assert api.get(sim.url + f"{RECORDS}/customer/eid:C-1").json()["id"] == internal_id
    assert api.patch(location, json={"companyName": "Northwind Ltd"}).status_code == 204
    assert sim.records("customer")[0]["companyName"] == "Northwind Ltd"
    assert api.delete(location).status_code == 204
    gone = api.get(location)
    assert gone.status_code == 404
    assert gone.json()["title"] == "Not Found"
    assert error_detail(gone)["o:errorCode"] == "NONEXISTENT_ID"
    assert api.patch(location, json={"phone": "1"}).status_code == 404


def test_missing_subsidiary_is_the_documented_error_body(sim: NetSuiteSimulator, api: requests.Session) -> None:
    response = api.put(sim.url + f"{RECORDS}/customer/eid:CUST-1", json={"companyName": "Northwind"})
    assert response.status_code == 400
    assert response.json() == {
        "type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.1",
        "title": "Bad Request",
        "status": 400,
        "o:errorDetails": [
            {
                "detail": "Error while accessing resource: Please enter value(s) for: Subsidiary",
                "o:errorCode": "USER_ERROR",
                "o:errorPath": "subsidiary",
            }
        ],
    }
    assert sim.writes("customer") == 0


@pytest.mark.parametrize(
    ("body", "code", "path"),
    [
        ({"subsidiary": {"id": "1"}}, "USER_ERROR", "companyName"),
        (customer(favouriteColour="teal"), "INVALID_CONTENT", "favouriteColour"),
        (customer(parent={"id": "999"}), "USER_ERROR", "parent"),
        (customer(subsidiary={"id": "42"}), "USER_ERROR", "subsidiary"),
        (customer(subsidiary="1"), "INVALID_CONTENT", "subsidiary"),
        (customer(isPerson="no"), "INVALID_CONTENT", "isPerson"),
        (customer(email="not-an-email"), "USER_ERROR", "email"),
        (customer(externalId="OTHER-ID"), "INVALID_CONTENT", "externalId"),
    ],
)
def test_customer_validation(
    sim: NetSuiteSimulator, api: requests.Session, body: dict[str, Any], code: str, path: str
) -> None:
    response = api.put(sim.url + f"{RECORDS}/customer/eid:CUST-1", json=body)
    assert response.status_code == 400
    detail = error_detail(response)
    assert (detail["o:errorCode"], detail["o:errorPath"]) == (code, path)
    assert sim.records("customer") == []


def test_a_person_needs_no_company_name(sim: NetSuiteSimulator, api: requests.Session) -> None:
    body = {"isPerson": True, "firstName": "Ada", "lastName": "Lovelace", "subsidiary": {"id": "1"}}
    assert api.put(sim.url + f"{RECORDS}/customer/eid:P-1", json=body).status_code == 204
    assert sim.by_external_id("customer", "P-1")["entityId"] == "Ada Lovelace"


def test_external_ids_in_urls_allow_only_letters_digits_underscore_hyphen(
    sim: NetSuiteSimulator, api: requests.Session
) -> None:
    response = api.put(sim.url + f"{RECORDS}/customer/eid:CUST.1", json=customer())
    assert response.status_code == 400
    assert error_detail(response)["o:errorCode"] == "INVALID_PARAMETER"
    response = api.post(sim.url + f"{RECORDS}/customer", json=customer(externalId="CUST 1"))
    assert (error_detail(response)["o:errorCode"], error_detail(response)["o:errorPath"]) == (
        "USER_ERROR",
        "externalId",
    )


def test_unknown_fields_pass_when_property_name_validation_is_relaxed(
    sim: NetSuiteSimulator, api: requests.Session
) -> None:
    headers = {"X-NetSuite-PropertyNameValidation": "Ignore"}
    response = api.put(sim.url + f"{RECORDS}/customer/eid:C-1", json=customer(favouriteColour="teal"), headers=headers)
    assert response.status_code == 204
    assert "favouriteColour" not in sim.by_external_id("customer", "C-1")


def test_parent_sets_a_sub_customer_and_protects_it_from_deletion(
    sim: NetSuiteSimulator, api: requests.Session
) -> None:
    parent_url = api.put(sim.url + f"{RECORDS}/customer/eid:PARENT", json=customer("Group")).headers["Location"]
    parent_id = parent_url.rsplit("/", 1)[1]
    child = api.put(sim.url + f"{RECORDS}/customer/eid:CHILD", json=customer("Branch", parent={"id": parent_id}))
    assert child.status_code == 204
    assert sim.by_external_id("customer", "CHILD")["parent"] == {"id": parent_id}
    child_id = child.headers["Location"].rsplit("/", 1)[1]
    cycle = api.put(sim.url + f"{RECORDS}/customer/eid:PARENT", json={"parent": {"id": child_id}})
    assert error_detail(cycle)["o:errorPath"] == "parent"
    assert error_detail(api.delete(parent_url))["o:errorCode"] == "USER_ERROR"


def test_inventory_items_take_a_subsidiary_collection(sim: NetSuiteSimulator, api: requests.Session) -> None:
    body = {"itemId": "WIDGET-1", "displayName": "Widget", "subsidiary": {"items": [{"id": "1"}]}, "basePrice": 12.5}
    assert api.put(sim.url + f"{RECORDS}/inventoryItem/eid:PROD-1", json=body).status_code == 204
    missing = api.put(sim.url + f"{RECORDS}/inventoryItem/eid:PROD-2", json={"displayName": "Nameless"})
    assert (error_detail(missing)["o:errorCode"], error_detail(missing)["o:errorPath"]) == ("USER_ERROR", "itemId")


def test_rejected_names_fault_is_a_user_error_on_the_name_field(sim: NetSuiteSimulator, api: requests.Session) -> None:
    sim.faults.reject_names_containing = ("BLOCKED",)
    response = api.put(sim.url + f"{RECORDS}/customer/eid:C-1", json=customer("BLOCKED Ltd"))
    assert (error_detail(response)["o:errorCode"], error_detail(response)["o:errorPath"]) == (
        "USER_ERROR",
        "companyName",
    )
    item = {"itemId": "X-1", "displayName": "A BLOCKED widget"}
    response = api.put(sim.url + f"{RECORDS}/inventoryItem/eid:P-1", json=item)
    assert error_detail(response)["o:errorPath"] == "displayName"


def test_last_modified_date_strictly_increases_with_every_write(sim: NetSuiteSimulator, api: requests.Session) -> None:
    for n in range(20):
        assert api.put(sim.url + f"{RECORDS}/customer/eid:C-{n}", json=customer(f"Company {n}")).status_code == 204
    stamps = [record["lastModifiedDate"] for record in sim.records("customer")]
    assert stamps == sorted(stamps) and len(set(stamps)) == 20


# ---- faults and limits -----------------------------------------------------------------------------------------


def test_more_requests_in_flight_than_the_limit_get_429(tls: LocalTLS) -> None:
    faults = NetSuiteFaults(latency_ms=400)
    with NetSuiteSimulator(tls=tls, concurrency_limit=2, faults=faults) as limited:
        barrier = threading.Barrier(5)
        answers: list[requests.Response] = []

        def call() -> None:
            s = session(tls, tba())
            barrier.wait()
            answers.append(s.get(limited.url + f"{RECORDS}/subsidiary/1"))

        threads = [threading.Thread(target=call) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses.count(200) == 2 and statuses.count(429) == 3
        refused = next(answer for answer in answers if answer.status_code == 429)
        assert refused.json()["title"] == "Too Many Requests"
        assert error_detail(refused)["o:errorCode"] == "CONCURRENCY_LIMIT_EXCEEDED"
        assert limited.max_concurrency_seen() == 3  # two held, the third refused at once, and so on


def test_error_rate_answers_writes_503_repeatably_and_leaves_reads_alone(
    sim: NetSuiteSimulator, api: requests.Session
) -> None:
    def statuses() -> list[int]:
        return [api.put(sim.url + f"{RECORDS}/customer/eid:C-{n}", json=customer()).status_code for n in range(20)]

    sim.faults = NetSuiteFaults(error_rate=0.5, seed=7)
    first = statuses()
    assert set(first) == {204, 503}
    assert sim.writes("customer") == first.count(204)
    sim.faults = NetSuiteFaults(error_rate=0.5, seed=7)  # the same seed again repeats the same answers
    assert statuses() == first
    sim.faults.seed = 8
    assert statuses() != first
    sim.faults.error_rate = 1.0
    assert api.get(sim.url + f"{RECORDS}/subsidiary/1").status_code == 200
    failed = api.put(sim.url + f"{RECORDS}/customer/eid:C-0", json=customer())
    assert failed.status_code == 503 and error_detail(failed)["o:errorCode"] == "UNEXPECTED_ERROR"


# ---- SuiteQL ---------------------------------------------------------------------------------------------------


def test_suiteql_pages_through_results_in_order(sim: NetSuiteSimulator, api: requests.Session) -> None:
    for n in range(25):
        sim.user_create("customer", {"companyName": f"Company {n:02d}", "externalId": f"C-{n:02d}"})
    # SuiteQL for the simulator, built from constants: not an injection risk.
    q = (
        f"SELECT id, externalid, companyname, isperson, parent, TO_CHAR(lastmodifieddate, {ISO}) AS modified "  # noqa: S608
        "FROM customer WHERE lastmodifieddate >= TO_DATE('2000-01-01 00:00:00','YYYY-MM-DD HH24:MI:SS') "
        "ORDER BY lastmodifieddate, id"
    )
    pages, url = [], sim.url + SUITEQL + "?limit=10&offset=0"
    while url:
        page = api.post(url, json={"q": q}, headers={"Prefer": "transient"}).json()
        pages.append(page)
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    assert [page["count"] for page in pages] == [10, 10, 5]
    assert [page["offset"] for page in pages] == [0, 10, 20]
    assert [page["hasMore"] for page in pages] == [True, True, False]
    assert {page["totalResults"] for page in pages} == {25}
    rows = [row for page in pages for row in page["items"]]
    assert [row["externalid"] for row in rows] == [f"C-{n:02d}" for n in range(25)]
    first = rows[0]
    assert set(first) == {"links", "id", "externalid", "companyname", "isperson", "modified"}  # NULL parent left out
    assert first["isperson"] == "F" and first["id"].isdigit()
    assert first["modified"] == sim.records("customer")[0]["lastModifiedDate"][:19]


def test_suiteql_since_returns_only_later_edits(sim: NetSuiteSimulator, api: requests.Session) -> None:
    old = [sim.user_create("customer", {"companyName": f"Old {n}"}) for n in range(3)]
    sim.advance_clock(120)
    edited = sim.user_edit("customer", old[1]["id"], {"phone": "+44 20 7946 0000"})
    since = edited["lastModifiedDate"][:19].replace("T", " ")
    q = (
        "SELECT id, phone FROM customer "  # noqa: S608 (SuiteQL for the simulator, from constants)
        f"WHERE lastmodifieddate >= TO_DATE('{since}','YYYY-MM-DD HH24:MI:SS') ORDER BY lastmodifieddate, id"
    )
    assert [row["id"] for row in suiteql(api, sim, q).json()["items"]] == [old[1]["id"]]


def test_suiteql_items_are_inventory_items(sim: NetSuiteSimulator, api: requests.Session) -> None:
    sim.user_create("inventoryItem", {"itemId": "W-1", "displayName": "Widget", "isInactive": True})
    rows = suiteql(api, sim, "SELECT id, itemid, itemtype, isinactive FROM item WHERE itemtype = 'InvtPart'").json()
    assert [(r["itemid"], r["itemtype"], r["isinactive"]) for r in rows["items"]] == [("W-1", "InvtPart", "T")]


@pytest.mark.parametrize(
    ("q", "params", "where"),
    [
        ("SELECT nosuchcolumn FROM customer", {}, ("o:errorQueryParam", "q")),
        ("SELECT id FROM nosuchtable", {}, ("o:errorQueryParam", "q")),
        ("DELETE FROM customer", {}, ("o:errorQueryParam", "q")),
        ("SELECT id FROM customer WHERE", {}, ("o:errorQueryParam", "q")),
        ("SELECT id FROM customer", {"limit": 1001}, ("o:errorQueryParam", "limit")),
        ("SELECT id FROM customer", {"limit": 10, "offset": 5}, ("o:errorQueryParam", "offset")),
    ],
)
def test_suiteql_errors_are_invalid_parameter(
    sim: NetSuiteSimulator, api: requests.Session, q: str, params: dict[str, int], where: tuple[str, str]
) -> None:
    response = suiteql(api, sim, q, **params)
    assert response.status_code == 400
    detail = error_detail(response)
    assert detail["o:errorCode"] == "INVALID_PARAMETER"
    assert detail[where[0]] == where[1]


def test_suiteql_needs_prefer_transient(sim: NetSuiteSimulator, api: requests.Session) -> None:
    response = api.post(sim.url + SUITEQL, json={"q": "SELECT id FROM customer"})
    assert response.status_code == 400
    assert error_detail(response)["o:errorHeader"] == "Prefer"


# ---- control API -----------------------------------------------------------------------------------------------


def test_control_api_reads_records_and_stats_sets_faults_and_resets(
    sim: NetSuiteSimulator, api: requests.Session, tls: LocalTLS
) -> None:
    control = session(tls)
    assert api.put(sim.url + f"{RECORDS}/customer/eid:C-1", json=customer()).status_code == 204
    records = control.get(sim.url + "/__simulator__/records/customer").json()
    assert [r["externalId"] for r in records] == ["C-1"]
    stats = control.get(sim.url + "/__simulator__/stats").json()
    assert stats["writes"] == {"customer": 1} and stats["max_concurrency_seen"] == 1

    faults = control.post(sim.url + "/__simulator__/faults", json={"error_rate": 1, "reject_names_containing": ["X"]})
    assert faults.json()["error_rate"] == 1.0 and sim.faults.reject_names_containing == ("X",)
    assert api.put(sim.url + f"{RECORDS}/customer/eid:C-2", json=customer()).status_code == 503
    assert control.post(sim.url + "/__simulator__/faults", json={"error_rat": 1}).status_code == 400
    assert control.post(sim.url + "/__simulator__/faults", json={"error_rate": 2}).status_code == 400

    assert control.post(sim.url + "/__simulator__/reset").status_code == 204
    assert sim.records("customer") == [] and sim.faults == NetSuiteFaults() and sim.writes("customer") == 0
    assert [r["id"] for r in sim.records("subsidiary")] == ["1"]
