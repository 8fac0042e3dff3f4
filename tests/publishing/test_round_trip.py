"""Both ways, in process: golden records out to the Salesforce and NetSuite simulators through the real connectors,
changes made by people in those systems back in through the pulls, and no sync loop."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mdm.ingest import ingest
from mdm.models import (
    CrossReference,
    Delivery,
    DeliveryState,
    GoldenRecord,
    OutboxEvent,
    OutboxStatus,
    SourceRecord,
    System,
    Target,
    XrefKind,
)
from mdm.publishing import relay
from mdm.publishing.defaults import MAPPINGS_BY_KIND, SIMULATOR_CREDENTIALS
from mdm.publishing.pulls import target_pull
from mdm.publishing.services import field_mapping_publish
from simulators.netsuite import NetSuiteSimulator
from simulators.salesforce import SalesforceSimulator
from simulators.tls import LocalTLS, local_tls
from tests.records import customer, product

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def tls(tmp_path_factory: Any) -> LocalTLS:
    return local_tls(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture
def sf(tls: LocalTLS) -> Iterator[SalesforceSimulator]:
    with SalesforceSimulator(tls=tls, **SIMULATOR_CREDENTIALS["salesforce"]) as simulator:
        yield simulator  # type: ignore[misc]


@pytest.fixture
def ns(tls: LocalTLS) -> Iterator[NetSuiteSimulator]:
    with NetSuiteSimulator(tls=tls, **SIMULATOR_CREDENTIALS["netsuite"]) as simulator:
        yield simulator  # type: ignore[misc]


def make_target(code: str, url: str, tls: LocalTLS, auth: str, options: dict[str, Any]) -> Target:
    target = Target(
        code=code,
        name=code,
        kind=code,
        system=System.objects.get(code=code),
        base_url=url,
        auth=auth,
        options=options,
        ca_bundle=str(tls.ca_pem),
        entity_types=["customer", "product"],
        pull_enabled=True,
    )
    target.credentials = SIMULATOR_CREDENTIALS[code]
    target.full_clean()
    target.save()
    for entity_type, spec in MAPPINGS_BY_KIND[code].items():
        field_mapping_publish(target=target, entity_type=entity_type, actor=None, **spec)
    return target


@pytest.fixture
def targets(sf: SalesforceSimulator, ns: NetSuiteSimulator, tls: LocalTLS) -> tuple[Target, Target]:
    return (
        make_target("salesforce", sf.url, tls, "client_credentials", {}),
        make_target("netsuite", ns.url, tls, "tba", {"account_id": "1234567"}),
    )


def publish_all() -> None:
    relay.outbox_dispatch()
    for target in Target.objects.all():
        summary = relay.target_deliver(target=target, budget_seconds=30)
        assert not summary.outage, summary.outage


def seed(netsuite: System, salesforce: System) -> list[GoldenRecord]:
    erp = [customer(f"NS-{n}", legal_name=f"Firma {n} GmbH", tax_ids=[]) for n in range(4)]
    ingest(system=netsuite, entity_type="customer", records=erp, actor=netsuite.service_user)
    ingest(
        system=netsuite,
        entity_type="product",
        records=[product("ITEM-1", list_price="12.50", currency="EUR")],
        actor=netsuite.service_user,
    )
    return list(GoldenRecord.objects.all())


def test_golden_records_reach_both_targets_once_with_their_ids_written_back(
    targets: tuple[Target, Target], sf: SalesforceSimulator, ns: NetSuiteSimulator, netsuite: System, salesforce: System
) -> None:
    goldens = seed(netsuite, salesforce)
    publish_all()
    customers = [g for g in goldens if g.entity_type == "customer"]
    assert sorted(a["MDM_Golden_ID__c"] for a in sf.records("Account")) == sorted(g.golden_id for g in customers)
    assert sorted(c["externalId"] for c in ns.records("customer")) == sorted(g.golden_id for g in customers)
    assert len(sf.records("Product2")) == 1 and len(ns.records("inventoryItem")) == 1
    assert {e["UnitPrice"] for e in sf.records("PricebookEntry")} == {12.5}
    assert not Delivery.objects.exclude(state=DeliveryState.DELIVERED).exists()
    sf_ids = set(
        CrossReference.objects.filter(system=salesforce, kind=XrefKind.TARGET).values_list("external_id", flat=True)
    )
    assert sf_ids == {a["Id"] for a in sf.records("Account")} | {p["Id"] for p in sf.records("Product2")}


def test_publish_then_pull_changes_nothing_and_republishes_nothing(
    targets: tuple[Target, Target], sf: SalesforceSimulator, ns: NetSuiteSimulator, netsuite: System, salesforce: System
) -> None:
    seed(netsuite, salesforce)
    publish_all()
    events, calls = OutboxEvent.objects.count(), (sf.api_calls_used(), len(ns.calls))
    for target in targets:
        for entity_type in ("customer", "product"):
            summary = target_pull(target=target, entity_type=entity_type)
            assert summary.ingested == 0 and summary.echoes == summary.read, summary.as_dict()
    assert OutboxEvent.objects.count() == events
    publish_all()
    # The pulls' own queries are the only calls made since.
    assert sf.writes("Account") == 4 and ns.writes("customer") == 4
    assert not OutboxEvent.objects.filter(status=OutboxStatus.PENDING).exists()
    assert calls[0] <= sf.api_calls_used()


def test_a_change_made_in_salesforce_comes_back_and_reaches_netsuite(
    targets: tuple[Target, Target], sf: SalesforceSimulator, ns: NetSuiteSimulator, netsuite: System, salesforce: System
) -> None:
    goldens = seed(netsuite, salesforce)
    publish_all()
    golden = next(g for g in goldens if g.entity_type == "customer")
    account = sf.by_external_id("Account", golden.golden_id)
    sf.user_edit("Account", account["Id"], {"Phone": "+49 30 9999999"})
    summary = target_pull(target=targets[0], entity_type="customer")
    assert summary.ingested == 1 and summary.echoes == 3
    # Salesforce had no source record of its own for it: its copy becomes one, linked without matching.
    source = SourceRecord.objects.get(system=salesforce, golden=golden)
    assert source.source_id == account["Id"] and source.payload["phones"] == ["+49 30 9999999"]
    assert "legal_name" not in source.payload
    publish_all()
    golden.refresh_from_db()
    assert golden.customer.phone == "+49309999999"
    assert ns.by_external_id("customer", golden.golden_id)["phone"] == "+49309999999"


def test_a_record_created_in_salesforce_becomes_a_golden_record(
    targets: tuple[Target, Target], sf: SalesforceSimulator, ns: NetSuiteSimulator, netsuite: System, salesforce: System
) -> None:
    seed(netsuite, salesforce)
    publish_all()
    created = sf.user_create(
        "Account",
        {"Name": "Brand New Ventures", "Phone": "+44 20 7946 0000", "BillingCity": "London", "BillingCountry": "GB"},
    )
    summary = target_pull(target=targets[0], entity_type="customer")
    assert summary.ingested == 1, summary.as_dict()
    source = SourceRecord.objects.get(system=salesforce, source_id=created["Id"])
    publish_all()
    assert ns.by_external_id("customer", source.golden.golden_id)["companyName"] == "Brand New Ventures"
    # Salesforce's own record is updated by its ID (and gets our golden ID): no second account for it.
    assert sf.by_external_id("Account", source.golden.golden_id)["Id"] == created["Id"]
    assert len(sf.records("Account")) == 5
