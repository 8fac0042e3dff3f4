"""The Salesforce connector against the loopback simulator: upserts, hierarchy, Bulk, faults, limits, pulls."""

import random
import socket
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mdm.publishing.connectors.base import (
    FailureKind,
    OutboundRecord,
    TargetConfig,
    TargetUnavailable,
    TransientError,
)
from mdm.publishing.connectors.salesforce import SalesforceConnector, _levels, _parse_bulk_error
from simulators.salesforce import SalesforceFaults, SalesforceSimulator
from simulators.tls import LocalTLS, local_tls

SECRET = "mdm-hub-secret"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> LocalTLS:
    return local_tls(tmp_path_factory.mktemp("salesforce-tls"))


@pytest.fixture(scope="module")
def sim(tls: LocalTLS) -> Iterator[SalesforceSimulator]:
    """One fault-free org shared by the tests that only add records with their own golden IDs."""
    simulator = SalesforceSimulator(tls=tls)
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def make_sim(tls: LocalTLS) -> Iterator[Callable[..., SalesforceSimulator]]:
    """A fresh org per test, for faults, limits and counters that must start from zero."""
    started: list[SalesforceSimulator] = []

    def make(**kwargs: Any) -> SalesforceSimulator:
        simulator = SalesforceSimulator(tls=tls, **kwargs)
        simulator.start()
        started.append(simulator)
        return simulator

    yield make
    for simulator in started:
        simulator.stop()


def connect(
    simulator: SalesforceSimulator,
    tls: LocalTLS,
    *,
    auth: str = "client_credentials",
    credentials: dict[str, str] | None = None,
    ca_bundle: Path | None = None,
    base_url: str | None = None,
    timeout: float = 10.0,
    **options: Any,
) -> SalesforceConnector:
    return SalesforceConnector(
        TargetConfig(
            code="sf",
            kind="salesforce",
            base_url=base_url or simulator.url,
            auth=auth,
            credentials=credentials if credentials is not None else {"client_id": "mdm-hub", "client_secret": SECRET},
            options=options,
            ca_bundle=str(ca_bundle or tls.ca_pem),
            timeout=timeout,
        )
    )


def prefix() -> str:
    return f"T{uuid.uuid4().hex[:8]}"


def customer(golden_id: str, name: str | None = None, parent: str | None = None, **fields: Any) -> OutboundRecord:
    return OutboundRecord(
        golden_id=golden_id,
        entity_type="customer",
        version=1,
        fields={"Name": name or f"Customer {golden_id}", **fields},
        parent_golden_id=parent,
    )


def product(golden_id: str, price: str | None = None, currency: str | None = None) -> OutboundRecord:
    related = {"list_price": price} if price is not None else {}
    if currency:
        related["currency"] = currency
    return OutboundRecord(
        golden_id=golden_id,
        entity_type="product",
        version=1,
        fields={"Name": f"Product {golden_id}", "IsActive": True},
        related=related,
    )


# --- sObject Collections -----------------------------------------------------------------------------------------


def test_450_customers_take_three_collection_calls_and_are_stored_once(
    make_sim: Callable[..., SalesforceSimulator], tls: LocalTLS
) -> None:
    simulator = make_sim()
    records = [customer(f"C-{n}") for n in range(450)]
    before = simulator.api_calls_used()

    results = connect(simulator, tls).deliver("customer", records)

    assert simulator.api_calls_used() - before == 3
    assert [r.golden_id for r in results] == [r.golden_id for r in records]
    assert all(r.ok and r.created and r.target_id for r in results)
    stored = simulator.records("Account")
    assert len(stored) == 450
    assert len({row["MDM_Golden_ID__c"] for row in stored}) == 450


def test_results_carry_ids_created_flags_and_our_client_name(sim: SalesforceSimulator, tls: LocalTLS) -> None:
    tag = prefix()
    connector = connect(sim, tls)
    first = connector.deliver("customer", [customer(f"{tag}-1"), customer(f"{tag}-2")])
    again = connector.deliver("customer", [customer(f"{tag}-1", "Renamed Ltd"), customer(f"{tag}-2")])

    assert [r.created for r in first] == [True, True]
    assert [r.created for r in again] == [False, False]
    assert [r.target_id for r in again] == [r.target_id for r in first]
    stored = sim.by_external_id("Account", f"{tag}-1")
    assert stored is not None
    assert stored["Id"] == first[0].target_id
    assert stored["Name"] == "Renamed Ltd"
    assert stored["_client"] == "mdm-hub"  # Sforce-Call-Options, so the pull can drop our own echoes
    assert connector.api_usage is not None and connector.api_usage[1] == 100_000


def test_children_are_sent_after_their_parents_in_the_same_batch(sim: SalesforceSimulator, tls: LocalTLS) -> None:
    tag = prefix()
    records = [
        customer(f"{tag}-grandchild", parent=f"{tag}-child"),
        customer(f"{tag}-child", parent=f"{tag}-top"),
        customer(f"{tag}-top"),
    ]

    results = connect(sim, tls).deliver("customer", records)

    assert [r.golden_id for r in results] == [r.golden_id for r in records]
    assert all(r.ok for r in results)
    top = sim.by_external_id("Account", f"{tag}-top")
    child = sim.by_external_id("Account", f"{tag}-child")
    grandchild = sim.by_external_id("Account", f"{tag}-grandchild")
    assert top is not None and child is not None and grandchild is not None
    assert child["ParentId"] == top["Id"]
    assert grandchild["ParentId"] == child["Id"]


def test_validation_rule_rejection_is_a_business_failure_with_fields(
    make_sim: Callable[..., SalesforceSimulator], tls: LocalTLS
) -> None:
    simulator = make_sim(faults=SalesforceFaults(reject_names_containing=("TEST",)))

    results = connect(simulator, tls).deliver("customer", [customer("V-1"), customer("V-2", "TEST account")])

    assert results[0].ok
    failure = results[1].failure
    assert not results[1].ok and failure is not None
    assert failure.kind == FailureKind.BUSINESS
    assert failure.code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert failure.fields == ("Name",)
    assert simulator.by_external_id("Account", "V-2") is None


def test_an_unknown_field_rejects_its_chunk_as_business(sim: SalesforceSimulator, tls: LocalTLS) -> None:
    tag = prefix()
    results = connect(sim, tls).deliver("customer", [customer(f"{tag}-1", Nope__c="x"), customer(f"{tag}-2")])

    assert [r.ok for r in results] == [False, False]
    assert {r.failure.code for r in results if r.failure} == {"INVALID_FIELD"}
    assert {r.failure.kind for r in results if r.failure} == {FailureKind.BUSINESS}


def test_lock_errors_are_technical_and_redelivering_them_duplicates_nothing(
    make_sim: Callable[..., SalesforceSimulator], tls: LocalTLS
) -> None:
    simulator = make_sim(faults=SalesforceFaults(error_rate=0.2, seed=7))
    records = [customer(f"L-{n}") for n in range(300)]
    connector = connect(simulator, tls)

    results = connector.deliver("customer", records)
    failed = [record for record, result in zip(records, results, strict=True) if not result.ok]
    assert 20 < len(failed) < 100
    for result in results:
        if not result.ok:
            assert result.failure is not None
            assert (result.failure.kind, result.failure.code) == (FailureKind.TECHNICAL, "UNABLE_TO_LOCK_ROW")

    simulator.faults = SalesforceFaults()
    retried = connector.deliver("customer", failed)

    assert all(r.ok and r.created for r in retried)
    stored = simulator.records("Account")
    assert len(stored) == 300
    assert len({row["MDM_Golden_ID__c"] for row in stored}) == 300


# --- Bulk API 2.0 ------------------------------------------------------------------------------------------------


def test_a_level_above_the_threshold_goes_through_one_bulk_job(
    make_sim: Callable[..., SalesforceSimulator], tls: LocalTLS
) -> None:
    simulator = make_sim(faults=SalesforceFaults(reject_names_containing=("TEST",)))
    connector = connect(simulator, tls, bulk_threshold=50, bulk_poll_seconds=0.05)
    connector.deliver("customer", [customer("B-parent"), customer("B-3", Phone="0113 496 0000")])
    records = [
        customer(
            f"B-{n}",
            "TEST bulk" if n % 40 == 7 else None,
            parent="B-parent" if n % 2 else None,
            Phone=None,
        )
        for n in range(120)
    ]
    before = simulator.api_calls_used()

    results = connector.deliver("customer", records)

    assert simulator.api_calls_used() - before == 7  # create, upload, close, one poll, three result files
    assert [r.golden_id for r in results] == [r.golden_id for r in records]
    rejected = [r for r in results if not r.ok]
    assert [r.golden_id for r in rejected] == ["B-7", "B-47", "B-87"]
    for result in rejected:
        assert result.failure is not None
        assert result.failure.kind == FailureKind.BUSINESS
        assert result.failure.code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
        assert result.failure.fields == ("Name",)
    created = {r.golden_id: r.created for r in results if r.ok}
    assert created["B-3"] is False and created["B-4"] is True
    parent = simulator.by_external_id("Account", "B-parent")
    odd = simulator.by_external_id("Account", "B-5")
    three = simulator.by_external_id("Account", "B-3")
    assert parent is not None and odd is not None and three is not None
    assert odd["ParentId"] == parent["Id"]
    assert odd["Id"] == results[5].target_id
    assert three["Phone"] is None  # None went out as #N/A, which nulls the field
    assert odd["_client"] == "mdm-hub"


def test_a_bulk_job_with_a_column_salesforce_does_not_know_is_a_business_failure(
    sim: SalesforceSimulator, tls: LocalTLS
) -> None:
    tag = prefix()
    records = [customer(f"{tag}-{n}", Nope__c="x") for n in range(3)]

    results = connect(sim, tls, bulk_threshold=1, bulk_poll_seconds=0.01).deliver("customer", records)

    for result in results:
        assert result.failure is not None
        assert (result.failure.kind, result.failure.code) == (FailureKind.BUSINESS, "INVALID_BATCH")
        assert "Nope__c" in result.failure.message


# --- sessions, limits and outages --------------------------------------------------------------------------------


def test_an_expired_session_is_renewed_once_and_the_call_retried(
    make_sim: Callable[..., SalesforceSimulator], tls: LocalTLS
) -> None:
    simulator = make_sim()
    connector = connect(simulator, tls)
    connector.deliver("customer", [customer("S-1")])
    tokens = len(simulator.calls_to("/services/oauth2/token"))
    simulator.expire_sessions()

    results = connector.deliver("customer", [customer("S-2")])

    assert results[0].ok
    assert len(simulator.calls_to("/services/oauth2/token")) == tokens + 1


def test_a_session_refused_twice_pauses_the_target(make_sim: Callable[..., SalesforceSimulator], tls: LocalTLS) -> None:
    simulator = make_sim(faults=SalesforceFaults(expire_sessions_after_calls=0))

    with pytest.raises(TargetUnavailable) as refused:
        connect(simulator, tls).deliver("customer", [customer("S-1")])

    assert refused.value.code == "INVALID_SESSION_ID"
    assert len(simulator.calls_to("/services/oauth2/token")) == 2


def test_request_limit_exceeded_pauses_the_target(make_sim: Callable[..., SalesforceSimulator], tls: LocalTLS) -> None:
    simulator = make_sim(faults=SalesforceFaults(limit_after_calls=0))

    with pytest.raises(TargetUnavailable) as refused:
        connect(simulator, tls, limit_pause_seconds=1800).deliver("customer", [customer("R-1")])

    assert refused.value.code == "REQUEST_LIMIT_EXCEEDED"
    assert refused.value.resume_after == 1800


def test_a_limit_reached_mid_batch_keeps_what_was_sent(
    make_sim: Callable[..., SalesforceSimulator], tls: LocalTLS
) -> None:
    simulator = make_sim(faults=SalesforceFaults(limit_after_calls=1))

    results = connect(simulator, tls).deliver("customer", [customer(f"R-{n}") for n in range(450)])

    assert all(r.ok for r in results[:200])
    for result in results[200:]:
        assert result.failure is not None
        assert (result.failure.kind, result.failure.code) == (FailureKind.OUTAGE, "REQUEST_LIMIT_EXCEEDED")
    assert len(simulator.records("Account")) == 200


def test_unavailable_before_anything_was_sent_is_transient(
    make_sim: Callable[..., SalesforceSimulator], tls: LocalTLS
) -> None:
    simulator = make_sim(faults=SalesforceFaults(unavailable_rate=1.0))

    with pytest.raises(TransientError) as unavailable:
        connect(simulator, tls).deliver("customer", [customer("U-1")])

    assert unavailable.value.code == "SERVER_UNAVAILABLE"


def test_unavailable_mid_batch_returns_technical_failures_for_the_rest(
    make_sim: Callable[..., SalesforceSimulator], tls: LocalTLS
) -> None:
    # A seed whose first draw lets the first call through and whose second answers 503.
    seed = next(s for s in range(1000) if (draws := random.Random(s)) and draws.random() >= 0.5 > draws.random())
    simulator = make_sim(faults=SalesforceFaults(unavailable_rate=0.5, seed=seed))

    results = connect(simulator, tls).deliver("customer", [customer(f"U-{n}") for n in range(450)])

    assert all(r.ok for r in results[:200])
    for result in results[200:]:
        assert result.failure is not None
        assert (result.failure.kind, result.failure.code) == (FailureKind.TECHNICAL, "SERVER_UNAVAILABLE")


def test_a_token_endpoint_that_does_not_answer_in_time_is_transient(
    make_sim: Callable[..., SalesforceSimulator], tls: LocalTLS
) -> None:
    simulator = make_sim(faults=SalesforceFaults(latency_ms=300))

    with pytest.raises(TransientError) as slow:
        connect(simulator, tls, timeout=0.1).deliver("customer", [customer("T-1")])

    assert slow.value.code == "TIMEOUT"


def test_the_connector_slows_down_and_then_stops_by_the_limit_info_header(
    make_sim: Callable[..., SalesforceSimulator], tls: LocalTLS
) -> None:
    simulator = make_sim(daily_limit=10)
    connector = connect(simulator, tls, limit_slowdown_fraction=0.2, limit_pause_fraction=0.5, slowdown_seconds=0.25)
    slept: list[float] = []
    connector.sleep = slept.append

    results = connector.deliver("customer", [customer(f"Q-{n}") for n in range(1400)])

    assert simulator.api_calls_used() == 5  # the sixth call would pass half the daily allocation
    assert connector.api_usage == (5, 10)
    assert slept == [0.25, 0.25, 0.25]  # before calls 3, 4 and 5
    assert all(r.ok for r in results[:1000])
    for result in results[1000:]:
        assert result.failure is not None
        assert (result.failure.kind, result.failure.code) == (FailureKind.OUTAGE, "REQUEST_LIMIT_EXCEEDED")
    with pytest.raises(TargetUnavailable) as paused:
        connector.deliver("customer", [customer("Q-late")])
    assert paused.value.code == "REQUEST_LIMIT_EXCEEDED"
    assert simulator.api_calls_used() == 5


# --- products and the standard price book ------------------------------------------------------------------------


def test_standard_price_entries_are_created_once_and_updated_on_a_price_change(
    make_sim: Callable[..., SalesforceSimulator], tls: LocalTLS
) -> None:
    simulator = make_sim()
    connector = connect(simulator, tls)

    def entries() -> dict[str, dict[str, Any]]:
        golden_ids = {row["Id"]: row["MDM_Golden_ID__c"] for row in simulator.records("Product2")}
        return {golden_ids[e["Product2Id"]]: e for e in simulator.records("PricebookEntry")}

    before = simulator.api_calls_used()
    first = connector.deliver("product", [product("P-1", "10.00"), product("P-2", "5", "EUR"), product("P-3")])
    # The upsert, the standard book, the existing entries of the batch, one create for both entries.
    assert simulator.api_calls_used() - before == 4
    assert all(r.ok for r in first)
    created = entries()
    assert {key: (e["UnitPrice"], e["IsActive"], e["CurrencyIsoCode"]) for key, e in created.items()} == {
        "P-1": (10.0, True, "USD"),
        "P-2": (5.0, True, "EUR"),
    }

    writes, before = simulator.writes("PricebookEntry"), simulator.api_calls_used()
    assert all(r.ok for r in connector.deliver("product", [product("P-1", "10.0"), product("P-2", "5", "EUR")]))
    assert simulator.writes("PricebookEntry") == writes  # unchanged prices cost no write
    assert simulator.api_calls_used() - before == 2  # the upsert and the entries: the standard book is known

    changed = connector.deliver("product", [product("P-1", "12.50")])
    assert changed[0].ok
    after = entries()
    assert len(after) == 2
    assert after["P-1"]["UnitPrice"] == 12.5
    assert after["P-1"]["Id"] == created["P-1"]["Id"]


def test_a_refused_price_entry_fails_its_product_with_the_target_code(
    make_sim: Callable[..., SalesforceSimulator], tls: LocalTLS
) -> None:
    simulator = make_sim()

    results = connect(simulator, tls).deliver("product", [product("P-1", "abc"), product("P-2", "3", "NOPE")])

    assert results[0].failure is not None and results[0].target_id is not None
    assert (results[0].failure.kind, results[0].failure.code) == (FailureKind.BUSINESS, "INVALID_LIST_PRICE")
    assert results[1].failure is not None and not results[1].ok
    assert (results[1].failure.kind, results[1].failure.code) == (FailureKind.BUSINESS, "STRING_TOO_LONG")
    assert results[1].failure.fields == ("CurrencyIsoCode",)
    stored = simulator.by_external_id("Product2", "P-2")
    assert stored is not None and stored["Id"] == results[1].target_id  # the product itself is in Salesforce


# --- authentication and test_connection --------------------------------------------------------------------------


def test_jwt_bearer_flow_signs_in_with_the_uploaded_certificate_key(
    make_sim: Callable[..., SalesforceSimulator], tls: LocalTLS
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    simulator = make_sim(jwt_public_key_pem=public_pem)
    credentials = {"consumer_key": "mdm-hub", "username": "integration@mdm.example", "private_key_pem": private_pem}

    connector = connect(simulator, tls, auth="jwt_bearer", credentials=credentials)

    assert connector.test_connection() == []
    assert connector.deliver("customer", [customer("J-1")])[0].ok
    stranger = connect(simulator, tls, auth="jwt_bearer", credentials={**credentials, "username": "someone@else"})
    assert stranger.test_connection() == [
        f"Salesforce refused the credentials at {simulator.url}/services/oauth2/token: invalid_grant: "
        "user hasn't approved this consumer"
    ]


def test_connection_is_clean_when_all_is_well(sim: SalesforceSimulator, tls: LocalTLS) -> None:
    assert connect(sim, tls).test_connection() == []


def test_connection_names_the_unreachable_token_url(sim: SalesforceSimulator, tls: LocalTLS) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    problems = connect(sim, tls, base_url=f"https://127.0.0.1:{port}").test_connection()

    assert len(problems) == 1
    assert problems[0].startswith(f"Cannot reach the token URL https://127.0.0.1:{port}/services/oauth2/token: ")
    assert "refused" in problems[0].lower()


def test_connection_reports_refused_credentials(sim: SalesforceSimulator, tls: LocalTLS) -> None:
    problems = connect(sim, tls, credentials={"client_id": "mdm-hub", "client_secret": "wrong"}).test_connection()

    assert problems == [
        f"Salesforce refused the credentials at {sim.url}/services/oauth2/token: invalid_client: "
        "invalid client credentials"
    ]


def test_connection_reports_an_untrusted_certificate(sim: SalesforceSimulator, tls: LocalTLS, tmp_path: Path) -> None:
    other_ca = local_tls(tmp_path / "other-ca").ca_pem

    problems = connect(sim, tls, ca_bundle=other_ca).test_connection()

    assert len(problems) == 1
    assert problems[0].startswith(f"The TLS certificate of {sim.url}/services/oauth2/token is not trusted")
    assert "certificate verify failed" in problems[0]


def test_connection_reports_a_missing_or_unflagged_external_id_field(sim: SalesforceSimulator, tls: LocalTLS) -> None:
    assert connect(sim, tls, external_id_field="Nope__c").test_connection() == [
        "Account has no field Nope__c",
        "Product2 has no field Nope__c",
    ]
    assert connect(sim, tls, external_id_field="AccountNumber", sobjects={"customer": "Account"}).test_connection() == [
        "Account.AccountNumber is not marked External ID"
    ]


# --- pull --------------------------------------------------------------------------------------------------------


def test_pull_returns_user_edits_oldest_first_across_pages(
    make_sim: Callable[..., SalesforceSimulator], tls: LocalTLS
) -> None:
    simulator = make_sim()
    connector = connect(simulator, tls, query_batch_size=200)
    delivered = connector.deliver("customer", [customer(f"P-{n}") for n in range(300)])
    since = datetime.now(UTC)
    edited = [result.target_id for result in reversed(delivered[:250])]
    for n, target_id in enumerate(edited):
        assert target_id is not None
        simulator.user_edit("Account", target_id, {"BillingCity": f"City {n}"})
    queries = len(simulator.calls_to("/query"))

    pulled = list(connector.pull("customer", since))

    assert len(simulator.calls_to("/query")) - queries >= 2  # pages of 200 followed through nextRecordsUrl
    assert [p.modified_at for p in pulled] == sorted(p.modified_at for p in pulled)
    tail = pulled[-250:]
    assert [p.target_id for p in tail] == edited
    assert [p.fields["BillingCity"] for p in tail] == [f"City {n}" for n in range(250)]
    assert tail[0].golden_id == "P-249"
    assert all(p.modified_at.tzinfo == UTC and p.modified_at >= since.replace(microsecond=0) for p in pulled)
    assert "attributes" not in tail[0].fields


# --- pure helpers ------------------------------------------------------------------------------------------------


def test_an_entity_type_without_an_sobject_is_a_business_failure(sim: SalesforceSimulator, tls: LocalTLS) -> None:
    results = connect(sim, tls).deliver("supplier", [customer("X-1")])

    assert results[0].failure is not None
    assert (results[0].failure.kind, results[0].failure.code) == (FailureKind.BUSINESS, "NO_SOBJECT")


def test_levels_put_parents_first_keep_input_order_and_survive_cycles() -> None:
    records = [
        customer("c", parent="b"),
        customer("b", parent="a"),
        customer("a"),
        customer("x", parent="outside"),
        customer("p", parent="q"),
        customer("q", parent="p"),
    ]

    assert _levels(records) == [[2, 3, 5], [1, 4], [0]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",
            ("REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", ("Name",)),
        ),
        (
            "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--",
            ("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", ()),
        ),
        ("STRING_TOO_LONG:too long:Phone,Fax --", ("STRING_TOO_LONG", "too long", ("Phone", "Fax"))),
    ],
)
def test_bulk_error_text_splits_into_code_message_and_fields(text: str, expected: tuple[Any, ...]) -> None:
    assert _parse_bulk_error(text) == expected
