"""The NetSuite connector against the NetSuite simulator: delivery, failure classes, auth, test_connection, pull."""

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from mdm.publishing.connectors import netsuite as netsuite_connector
from mdm.publishing.connectors.base import FailureKind, OutboundRecord, TargetConfig, TargetUnavailable, TransientError
from mdm.publishing.connectors.netsuite import NetSuiteConnector
from simulators.netsuite import NetSuiteFaults, NetSuiteSimulator
from simulators.tls import LocalTLS, local_tls

TOKEN = "/services/rest/auth/oauth2/v1/token"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> LocalTLS:
    return local_tls(Path(tmp_path_factory.mktemp("netsuite-tls")))


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def private_pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


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
    server.concurrency_limit = 5
    # Bearer tokens are cached per process; the reset simulator no longer knows them.
    netsuite_connector._TOKENS.clear()
    return server


def tba(sim: NetSuiteSimulator, tls: LocalTLS, **options: Any) -> NetSuiteConnector:
    credentials = {"consumer_key": "ck", "consumer_secret": "cs", "token_id": "tk", "token_secret": "ts"}
    credentials |= options.pop("credentials", {})
    base_url, ca_bundle = options.pop("base_url", sim.url), options.pop("ca_bundle", str(tls.ca_pem))
    config = TargetConfig(
        code="netsuite",
        kind="netsuite",
        base_url=base_url,
        auth="tba",
        credentials=credentials,
        options={"account_id": "1234567", **options},
        ca_bundle=ca_bundle,
        timeout=5.0,
    )
    return NetSuiteConnector(config)


def m2m(sim: NetSuiteSimulator, tls: LocalTLS, key: Any, **options: Any) -> NetSuiteConnector:
    credentials = {"client_id": "mdm-hub", "certificate_id": "cert-1", "private_key_pem": private_pem(key)}
    config = TargetConfig(
        code="netsuite",
        kind="netsuite",
        base_url=sim.url,
        auth="m2m",
        credentials=credentials,
        options=options,
        ca_bundle=str(tls.ca_pem),
        timeout=5.0,
    )
    return NetSuiteConnector(config)


def customers(count: int, prefix: str = "CUST", **fields: Any) -> list[OutboundRecord]:
    return [
        OutboundRecord(
            golden_id=f"{prefix}-{n:06d}",
            entity_type="customer",
            version=1,
            fields={"companyName": f"Company {n}", "isPerson": False, **fields},
        )
        for n in range(count)
    ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---- deliver ---------------------------------------------------------------------------------------------------


def test_500_customers_arrive_exactly_once_within_the_concurrency_pool(sim: NetSuiteSimulator, tls: LocalTLS) -> None:
    records = customers(500)
    results = tba(sim, tls, max_concurrency=4).deliver("customer", records)

    assert [r.golden_id for r in results] == [r.golden_id for r in records]
    assert all(r.ok for r in results)
    assert sim.writes("customer") == 500
    stored = {record["externalId"]: record for record in sim.records("customer")}
    assert len(stored) == 500
    assert all(stored[r.golden_id]["id"] == r.target_id for r in results)
    assert stored["CUST-000007"]["subsidiary"] == {"id": "1"}  # added when the record has none
    assert sim.max_concurrency_seen() <= 5
    assert not any(r.created for r in results)  # a 204 does not say whether the upsert created the record


def test_delivering_again_updates_the_same_records(sim: NetSuiteSimulator, tls: LocalTLS) -> None:
    connector = tba(sim, tls)
    first = connector.deliver("customer", customers(10))
    second = connector.deliver("customer", customers(10, email="ap@example.com"))
    assert [r.target_id for r in second] == [r.target_id for r in first]
    assert len(sim.records("customer")) == 10 and sim.writes("customer") == 20
    assert {record["email"] for record in sim.records("customer")} == {"ap@example.com"}


def test_a_record_known_by_its_internal_id_is_updated_in_place_not_duplicated(
    sim: NetSuiteSimulator, tls: LocalTLS
) -> None:
    typed_in = sim.user_create("customer", {"companyName": "Typed in by hand"})  # no external ID
    known = OutboundRecord("CUST-9", "customer", 1, {"companyName": "Northwind"}, target_id=typed_in["id"])
    gone = OutboundRecord("CUST-10", "customer", 1, {"companyName": "Gone"}, target_id="99999")
    results = tba(sim, tls).deliver("customer", [known, gone])

    assert all(r.ok for r in results)
    assert results[0].target_id == typed_in["id"]
    assert sim.by_external_id("customer", "CUST-9")["id"] == typed_in["id"]
    assert sim.by_external_id("customer", "CUST-9")["companyName"] == "Northwind"
    assert sim.by_external_id("customer", "CUST-10") is not None  # its id was stale: upserted by external ID
    assert len(sim.records("customer")) == 2


def test_products_go_to_inventory_items_with_a_subsidiary_collection(sim: NetSuiteSimulator, tls: LocalTLS) -> None:
    product = OutboundRecord("PROD-1", "product", 1, {"itemId": "WIDGET-1", "displayName": "Widget"})
    [result] = tba(sim, tls).deliver("product", [product])
    assert result.ok
    assert sim.by_external_id("inventoryItem", "PROD-1")["subsidiary"] == {"items": [{"id": "1"}]}


def test_parents_are_delivered_before_children_which_name_them(sim: NetSuiteSimulator, tls: LocalTLS) -> None:
    group = OutboundRecord("GROUP", "customer", 1, {"companyName": "Group"})
    branches = [
        OutboundRecord(f"BRANCH-{n}", "customer", 1, {"companyName": f"Branch {n}"}, parent_golden_id="GROUP")
        for n in range(6)
    ]
    shop = OutboundRecord("SHOP", "customer", 1, {"companyName": "Shop"}, parent_golden_id="BRANCH-0")
    results = tba(sim, tls, max_concurrency=4).deliver("customer", [group, *branches, shop])

    assert all(r.ok for r in results)
    group_id = sim.by_external_id("customer", "GROUP")["id"]
    assert all(sim.by_external_id("customer", b.golden_id)["parent"] == {"id": group_id} for b in branches)
    assert sim.by_external_id("customer", "SHOP")["parent"] == {"id": results[1].target_id}
    puts = [call.path.rsplit("eid:", 1)[1] for call in sim.calls_to("/record/v1/customer/eid:", method="PUT")]
    assert puts[0] == "GROUP" and puts[-1] == "SHOP"
    assert sim.calls_to("/record/v1/customer/eid:", method="GET") == []  # ids came from this run's Locations


def test_a_parent_already_in_netsuite_is_looked_up_once(sim: NetSuiteSimulator, tls: LocalTLS) -> None:
    tba(sim, tls).deliver("customer", [OutboundRecord("GROUP", "customer", 1, {"companyName": "Group"})])
    group_id = sim.by_external_id("customer", "GROUP")["id"]
    children = [
        OutboundRecord(f"KID-{n}", "customer", 1, {"companyName": f"Kid {n}"}, parent_golden_id="GROUP")
        for n in range(8)
    ]
    known = OutboundRecord("KNOWN", "customer", 1, {"companyName": "K"}, parent_target_id=group_id)
    results = tba(sim, tls, max_concurrency=4).deliver("customer", [*children, known])

    assert all(r.ok for r in results)
    assert len(sim.calls_to("/record/v1/customer/eid:GROUP", method="GET")) == 1
    assert {sim.by_external_id("customer", r.golden_id)["parent"]["id"] for r in results} == {group_id}


def test_a_child_whose_parent_is_not_in_netsuite_fails_technically_unsent(
    sim: NetSuiteSimulator, tls: LocalTLS
) -> None:
    orphan = OutboundRecord("ORPHAN", "customer", 1, {"companyName": "Orphan"}, parent_golden_id="NOWHERE")
    [result] = tba(sim, tls).deliver("customer", [orphan])
    assert not result.ok and result.failure is not None
    assert (result.failure.kind, result.failure.code, result.failure.fields) == (
        FailureKind.TECHNICAL,
        "PARENT_NOT_DELIVERED",
        ("parent",),
    )
    assert sim.writes("customer") == 0


def test_rejections_are_business_failures_with_netsuites_code_message_and_fields(
    sim: NetSuiteSimulator, tls: LocalTLS
) -> None:
    sim.faults.reject_names_containing = ("BLOCKED",)
    records = [
        *customers(3),
        OutboundRecord("BAD-NAME", "customer", 1, {"companyName": "BLOCKED Trading"}),
        OutboundRecord("NO-NAME", "customer", 1, {"isPerson": False}),
        OutboundRecord("ODD-FIELD", "customer", 1, {"companyName": "Odd", "favouriteColour": "teal"}),
    ]
    results = tba(sim, tls).deliver("customer", records)

    assert [r.ok for r in results] == [True, True, True, False, False, False]
    failures = [r.failure for r in results[3:]]
    assert all(f is not None and f.kind is FailureKind.BUSINESS for f in failures)
    assert [(f.code, f.fields) for f in failures if f] == [
        ("USER_ERROR", ("companyName",)),
        ("USER_ERROR", ("companyName",)),
        ("INVALID_CONTENT", ("favouriteColour",)),
    ]
    assert failures[1] is not None
    assert failures[1].message == "Error while accessing resource: Please enter value(s) for: Company Name"


def test_503s_are_technical_failures_and_a_second_delivery_of_them_succeeds(
    sim: NetSuiteSimulator, tls: LocalTLS
) -> None:
    sim.faults = NetSuiteFaults(error_rate=0.2, seed=11)
    records = customers(100)
    results = tba(sim, tls).deliver("customer", records)

    failed = [r for r in results if not r.ok]
    assert 5 <= len(failed) <= 40
    assert {(r.failure.kind, r.failure.code) for r in failed if r.failure} == {
        (FailureKind.TECHNICAL, "UNEXPECTED_ERROR")
    }
    sim.faults.error_rate = 0.0
    again = [record for record in records if record.golden_id in {r.golden_id for r in failed}]
    assert all(r.ok for r in tba(sim, tls).deliver("customer", again))
    assert len(sim.records("customer")) == 100 and sim.writes("customer") == 100


def test_429s_are_retried_with_backoff_until_they_pass(sim: NetSuiteSimulator, tls: LocalTLS) -> None:
    # A pool of 3 for a connector configured for 4: other integrations hold the rest of the account's pool.
    sim.concurrency_limit, sim.faults.latency_ms = 3, 20
    results = tba(sim, tls, max_concurrency=4, backoff_seconds=0.05).deliver("customer", customers(40))
    assert all(r.ok for r in results)
    assert sim.stats()["rejected_for_concurrency"] > 0
    assert sim.writes("customer") == 40


def test_429s_past_the_retry_budget_are_technical_failures(sim: NetSuiteSimulator, tls: LocalTLS) -> None:
    sim.concurrency_limit, sim.faults.latency_ms = 1, 30
    results = tba(sim, tls, max_concurrency=4, retries_on_429=0).deliver("customer", customers(8))
    refused = [r.failure for r in results if not r.ok]
    assert refused and {(f.kind, f.code) for f in refused if f} == {
        (FailureKind.TECHNICAL, "CONCURRENCY_LIMIT_EXCEEDED")
    }


def test_expired_tba_token_makes_the_target_unavailable(sim: NetSuiteSimulator, tls: LocalTLS) -> None:
    sim.faults.expire_tokens = True
    with pytest.raises(TargetUnavailable) as raised:
        tba(sim, tls).deliver("customer", customers(20))
    assert raised.value.code == "INVALID_LOGIN"
    assert sim.writes("customer") == 0
    assert len(sim.calls_to("/record/v1/")) <= 4  # the other records were not sent once the login was refused


def test_m2m_fetches_one_token_for_many_deliveries_and_reauthenticates_once(
    sim: NetSuiteSimulator, tls: LocalTLS, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    assert all(r.ok for r in m2m(sim, tls, ec_key).deliver("customer", customers(30)))
    assert all(r.ok for r in m2m(sim, tls, ec_key).deliver("customer", customers(30, prefix="MORE")))
    assert len(sim.calls_to(TOKEN)) == 1

    sim.revoke_tokens()
    assert all(r.ok for r in m2m(sim, tls, ec_key, max_concurrency=4).deliver("customer", customers(30)))
    assert len(sim.calls_to(TOKEN)) == 2
    assert sim.writes("customer") == 90


def test_m2m_expired_tokens_make_the_target_unavailable_after_one_reauth(
    sim: NetSuiteSimulator, tls: LocalTLS, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    sim.faults.expire_tokens = True
    with pytest.raises(TargetUnavailable) as raised:
        m2m(sim, tls, ec_key).deliver("customer", customers(1))
    assert raised.value.code == "INVALID_LOGIN"
    assert len(sim.calls_to(TOKEN)) == 2


def test_m2m_with_an_rsa_key_signs_ps256(tls: LocalTLS) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    netsuite_connector._TOKENS.clear()
    with NetSuiteSimulator(tls=tls, m2m_public_key_pem=public_pem(key), m2m_certificate_id="cert-1") as rsa_sim:
        assert m2m(rsa_sim, tls, key).test_connection() == []


def test_a_closed_port_raises_transient_error_quickly(sim: NetSuiteSimulator, tls: LocalTLS) -> None:
    started = time.monotonic()
    with pytest.raises(TransientError) as raised:
        tba(sim, tls, base_url=f"https://127.0.0.1:{free_port()}").deliver("customer", customers(50))
    assert raised.value.code == "CONNECTION_ERROR"
    assert time.monotonic() - started < 3


def test_an_untrusted_certificate_makes_the_target_unavailable(sim: NetSuiteSimulator, tls: LocalTLS) -> None:
    with pytest.raises(TargetUnavailable) as raised:
        tba(sim, tls, ca_bundle=None).deliver("customer", customers(5))
    assert raised.value.code == "TLS_ERROR"


def test_an_unmapped_entity_type_is_a_configuration_outage(sim: NetSuiteSimulator, tls: LocalTLS) -> None:
    with pytest.raises(TargetUnavailable) as raised:
        tba(sim, tls).deliver("supplier", customers(1))
    assert raised.value.code == "CONFIGURATION"
    assert tba(sim, tls).deliver("customer", []) == []


# ---- test_connection -------------------------------------------------------------------------------------------


def test_connection_is_clean_when_suiteql_answers(
    sim: NetSuiteSimulator, tls: LocalTLS, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    assert tba(sim, tls).test_connection() == []
    assert m2m(sim, tls, ec_key).test_connection() == []
    assert sim.calls_to("/query/v1/suiteql")


def test_connection_names_an_unreachable_url(sim: NetSuiteSimulator, tls: LocalTLS) -> None:
    port = free_port()
    [problem] = tba(sim, tls, base_url=f"https://127.0.0.1:{port}").test_connection()
    assert f"Cannot reach https://127.0.0.1:{port}/services/rest/query/v1/suiteql" in problem
    assert "Connection refused" in problem


def test_connection_names_refused_credentials_and_the_auth_mode(
    sim: NetSuiteSimulator, tls: LocalTLS, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    [problem] = tba(sim, tls, credentials={"consumer_secret": "wrong"}).test_connection()
    assert "INVALID_LOGIN" in problem and "token-based authentication (TBA)" in problem
    [problem] = m2m(sim, tls, ec.generate_private_key(ec.SECP256R1())).test_connection()
    assert "INVALID_LOGIN" in problem and "machine-to-machine (M2M)" in problem and "invalid_client" in problem


def test_connection_says_when_the_certificate_is_not_trusted(sim: NetSuiteSimulator, tls: LocalTLS) -> None:
    [problem] = tba(sim, tls, ca_bundle=None).test_connection()
    assert "not trusted" in problem and "certificate verify failed" in problem and "CA bundle" in problem


def test_connection_lists_missing_settings(sim: NetSuiteSimulator, tls: LocalTLS) -> None:
    connector = tba(sim, tls, credentials={"token_secret": ""}, account_id="")
    assert connector.test_connection() == [
        "Missing credentials for token-based authentication (TBA): token_secret.",
        "Set the option account_id (the TBA realm): the base URL does not name the account.",
    ]
    with pytest.raises(TargetUnavailable):
        connector.deliver("customer", customers(1))
    credentials = {"client_id": "mdm-hub", "certificate_id": "cert-1", "private_key_pem": "not a key"}
    config = TargetConfig("ns", "netsuite", sim.url, "m2m", credentials, {"account_timezone": "Mars/Olympus_Mons"})
    first, second = NetSuiteConnector(config).test_connection()
    assert first == "Unknown time zone 'Mars/Olympus_Mons' (option account_timezone)."
    assert second.startswith("The M2M private key cannot be read:")


# ---- pull ------------------------------------------------------------------------------------------------------


def test_pull_returns_edits_after_since_in_order_across_pages(sim: NetSuiteSimulator, tls: LocalTLS) -> None:
    connector = tba(sim, tls, page_size=2)
    results = connector.deliver("customer", customers(6))
    sim.advance_clock(60)
    since = datetime.now(UTC) + timedelta(seconds=30)  # after every delivery, before every edit
    edited = []
    for result in (results[4], results[1], results[3]):
        sim.advance_clock(1)
        edited.append(sim.user_edit("customer", result.target_id, {"phone": f"+1 555 01{result.target_id[-2:]}"}))
    sim.advance_clock(1)
    made_in_netsuite = sim.user_create("customer", {"companyName": "Typed in by hand"})

    pulled = list(connector.pull("customer", since))

    assert [p.target_id for p in pulled] == [*(e["id"] for e in edited), made_in_netsuite["id"]]
    assert [p.golden_id for p in pulled] == [results[4].golden_id, results[1].golden_id, results[3].golden_id, None]
    assert pulled[0].fields["phone"] == edited[0]["phone"] and pulled[0].fields["isperson"] == "F"
    assert pulled[0].fields["parent"] is None  # SuiteQL leaves NULL columns out
    assert all(p.modified_at.tzinfo is not None for p in pulled)
    assert [p.modified_at for p in pulled] == sorted(p.modified_at for p in pulled)
    assert pulled[0].modified_at == datetime.fromisoformat(edited[0]["lastModifiedDate"]).replace(microsecond=0)
    assert len(sim.calls_to("/query/v1/suiteql")) == 2  # two pages of two


def test_pull_of_products_reads_inventory_items(sim: NetSuiteSimulator, tls: LocalTLS) -> None:
    sim.user_create("inventoryItem", {"itemId": "W-1", "displayName": "Widget", "externalId": "PROD-1"})
    pulled = list(tba(sim, tls).pull("product", datetime(2000, 1, 1, tzinfo=UTC)))
    assert [(p.golden_id, p.fields["itemid"], p.fields["displayname"]) for p in pulled] == [("PROD-1", "W-1", "Widget")]


def test_pull_with_a_bad_column_is_a_configuration_problem(sim: NetSuiteSimulator, tls: LocalTLS) -> None:
    with pytest.raises(TargetUnavailable) as raised:
        list(tba(sim, tls, pull_columns={"customer": ["nosuchcolumn"]}).pull("customer", datetime.now(UTC)))
    assert raised.value.code == "INVALID_PARAMETER"
    with pytest.raises(TargetUnavailable) as raised:
        list(tba(sim, tls, pull_columns={"customer": ["id; DROP"]}).pull("customer", datetime.now(UTC)))
    assert raised.value.code == "CONFIGURATION"
