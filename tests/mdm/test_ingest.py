"""The write path: idempotent upserts, per-record outcomes, linking, golden values, outbox and history."""

import datetime
from typing import Any

import pytest
from django.test import override_settings

from matching.models import BlockingKey, MatchDecision, MatchProfile
from mdm.context import correlation
from mdm.ingest import IngestError, ingest
from mdm.models import (
    CrossReference,
    Customer,
    GoldenRecord,
    HierarchyEdge,
    OutboxEvent,
    Product,
    SourceRecord,
    System,
)
from tests.records import VALID_FR_VAT, customer, product

pytestmark = pytest.mark.django_db


def send(system: System, records: list[dict[str, Any]], entity_type: str = "customer") -> Any:
    return ingest(system=system, entity_type=entity_type, records=records, actor=system.service_user)


def test_new_record_creates_source_golden_xref_and_event(salesforce: System) -> None:
    result = send(salesforce, [customer()])
    outcome = result.outcomes[0]
    assert outcome.status == "created"
    golden = GoldenRecord.objects.get(golden_id=outcome.golden_id)
    assert golden.entity_type == "customer" and golden.version == 1
    assert SourceRecord.objects.get().golden == golden
    assert CrossReference.objects.get().external_id == "ACC-1"
    event = OutboxEvent.objects.get()
    assert (event.golden, event.golden_version) == (golden, 1)


def test_golden_values_are_standardised(salesforce: System) -> None:
    send(salesforce, [customer()])
    golden = Customer.objects.get()
    assert golden.legal_name_core == "Northwind Traders"
    assert golden.legal_form == "GmbH"
    assert golden.country == "DE"
    assert golden.phone == "+49301234567"
    assert golden.email == "info@northwind.example"
    assert golden.website == "northwind.example"
    assert golden.tax_id == "DE136695976" and golden.tax_country == "DE"


def test_identical_record_sent_twice_changes_nothing(salesforce: System) -> None:
    send(salesforce, [customer()])
    history_rows = Customer.history.count()
    again = send(salesforce, [customer()])
    assert again.outcomes[0].status == "unchanged"
    assert SourceRecord.objects.count() == 1 and GoldenRecord.objects.count() == 1
    assert OutboxEvent.objects.count() == 1
    assert Customer.history.count() == history_rows


def test_older_version_is_ignored(salesforce: System) -> None:
    send(salesforce, [customer(updated_at="2026-05-01T10:00:00Z", industry="Retail")])
    result = send(salesforce, [customer(updated_at="2026-04-01T10:00:00Z", industry="Mining")])
    assert result.outcomes[0].status == "unchanged"
    assert Customer.objects.get().industry == "Retail"


def test_changed_record_updates_golden_and_writes_one_event(salesforce: System) -> None:
    first = send(salesforce, [customer()])
    result = send(salesforce, [customer(industry="Retail")])
    assert result.outcomes[0].status == "updated"
    assert result.outcomes[0].golden_id == first.outcomes[0].golden_id
    golden = GoldenRecord.objects.get()
    assert golden.version == 2
    event = OutboxEvent.objects.latest("id")
    assert event.golden_version == 2 and event.changed_fields == ["industry"]


def test_source_change_that_does_not_change_golden_values_writes_no_event(salesforce: System) -> None:
    send(salesforce, [customer(phones=["030 1234567"])])
    result = send(salesforce, [customer(phones=["+49 30 1234567"])])
    assert result.outcomes[0].status == "updated"
    assert OutboxEvent.objects.count() == 1
    assert GoldenRecord.objects.get().version == 1


def test_rejected_record_leaves_nothing_and_does_not_block_its_neighbours(salesforce: System) -> None:
    records = [
        customer("A-1"),
        customer("A-2", legal_address={"city": "Paris", "country": "Atlantis"}),
        customer("A-3", tax_ids=[]),
    ]
    result = send(salesforce, records)
    assert [outcome.status for outcome in result.outcomes] == ["created", "rejected", "created"]
    assert result.outcomes[1].errors[0].field == "legal_address.country"
    assert "Atlantis" in result.outcomes[1].errors[0].message
    assert set(SourceRecord.objects.values_list("source_id", flat=True)) == {"A-1", "A-3"}


def test_rejection_reports_every_field_path(salesforce: System) -> None:
    bad = customer("B-1", legal_name="", trade_name="", tax_ids=[{"value": 12}], emails="not-a-list", colour="blue")
    outcome = send(salesforce, [bad]).outcomes[0]
    fields = {error.field for error in outcome.errors}
    assert outcome.status == "rejected"
    assert {"colour"} <= fields  # unknown fields are named first and alone
    outcome = send(
        salesforce, [customer("B-2", legal_name="", trade_name="", tax_ids=[{"value": ""}], emails="x")]
    ).outcomes[0]
    assert {"tax_ids[0].value", "emails"} <= {error.field for error in outcome.errors}


def test_invalid_email_rejects_the_record(salesforce: System) -> None:
    outcome = send(salesforce, [customer(emails=["nobody at example"])]).outcomes[0]
    assert outcome.status == "rejected"
    assert outcome.errors[0].field == "emails[0]"


def test_invalid_tax_id_is_kept_and_flagged_but_never_links(salesforce: System, netsuite: System) -> None:
    bad_vat = [{"value": "DE136695970", "country": "DE"}]
    # Two different companies that both carry the same mistyped VAT number: it is no evidence of anything.
    first = send(salesforce, [customer("S-1", legal_name="Alpha Handel GmbH", tax_ids=bad_vat)]).outcomes[0]
    second = send(netsuite, [customer("N-1", legal_name="Beta Bau AG", tax_ids=bad_vat)]).outcomes[0]
    assert first.status == second.status == "created"
    assert first.issues[0]["code"] == "invalid_tax_id"
    assert first.golden_id != second.golden_id
    assert not BlockingKey.objects.filter(key__startswith="tax:").exists()
    golden = Customer.objects.get(golden__golden_id=first.golden_id)
    assert golden.tax_ids[0]["valid"] is False and golden.quality_flags[0]["code"] == "invalid_tax_id"


def test_same_valid_tax_id_from_two_systems_links_to_one_golden_record(salesforce: System, netsuite: System) -> None:
    crm = send(salesforce, [customer("001A", legal_name="Northwind Traders", trade_name="Northwind")]).outcomes[0]
    erp = send(netsuite, [customer("C-77", legal_name="Northwind Traders GmbH", trade_name="NW Trading")]).outcomes[0]
    assert crm.golden_id == erp.golden_id
    assert erp.match == "auto_linked"
    decision = MatchDecision.objects.get(source_record__source_id="C-77")
    by_attribute = {row["attribute"]: row for row in decision.explanation["attributes"]}
    assert by_attribute["tax_id"]["level"] == "same valid number" and by_attribute["tax_id"]["left"] == "DE136695976"
    golden = Customer.objects.get()
    # ERP owns the legal name, Salesforce the trade name (default ownership rules).
    assert golden.legal_name == "Northwind Traders GmbH"
    assert golden.trade_name == "Northwind"
    assert golden.lineage["legal_name"]["system"] == "netsuite"
    assert golden.lineage["trade_name"]["system"] == "salesforce"


def test_records_sharing_a_key_within_one_batch_share_a_new_golden_record(netsuite: System) -> None:
    result = send(netsuite, [customer("C-1"), customer("C-2", trade_name="Other")])
    assert result.outcomes[0].golden_id == result.outcomes[1].golden_id
    assert GoldenRecord.objects.count() == 1


def test_products_link_on_gtin_and_on_sku(salesforce: System, netsuite: System) -> None:
    erp = send(netsuite, [product("I-1")], "product").outcomes[0]
    by_gtin = send(salesforce, [product("01t-1", sku="OTHER-SKU")], "product").outcomes[0]
    by_sku = send(salesforce, [product("01t-2", gtin=None, sku="nw 1001")], "product").outcomes[0]
    assert erp.golden_id == by_gtin.golden_id == by_sku.golden_id
    golden = Product.objects.get()
    assert golden.unit_of_measure == "EA" and golden.currency == "EUR" and str(golden.list_price) == "19.9000"


def test_same_source_id_twice_in_a_batch_is_applied_in_order(salesforce: System) -> None:
    result = send(salesforce, [customer(industry="Retail"), customer(industry="Mining")])
    assert [outcome.status for outcome in result.outcomes] == ["created", "updated"]
    assert Customer.objects.get().industry == "Mining"


def test_batch_over_the_limit_is_refused_whole(salesforce: System) -> None:
    with override_settings(MDM_INGEST_MAX_BATCH=2), pytest.raises(IngestError) as error:
        send(salesforce, [customer("X-1"), customer("X-2"), customer("X-3")])
    assert error.value.field == "records"
    assert SourceRecord.objects.count() == 0


def test_unknown_entity_type_is_refused(salesforce: System) -> None:
    with pytest.raises(IngestError):
        ingest(system=salesforce, entity_type="supplier", records=[customer()], actor=salesforce.service_user)


def test_history_rows_carry_actor_reason_and_correlation_id(salesforce: System) -> None:
    with correlation("req-abc-123"):
        send(salesforce, [customer()])
    row = Customer.history.get()
    assert row.history_user == salesforce.service_user
    assert row.correlation_id == "req-abc-123"
    assert row.history_change_reason == "ingest from salesforce"
    assert OutboxEvent.objects.get().correlation_id == "req-abc-123"
    assert SourceRecord.history.get().correlation_id == "req-abc-123"


def test_blocking_keys_follow_the_source_record(salesforce: System) -> None:
    send(salesforce, [customer()])
    keys = set(BlockingKey.objects.values_list("key", flat=True))
    assert {"tax:DE:DE136695976", "tel:301234567", "dom:northwind.example", "nt:northwind"} <= keys
    send(salesforce, [customer(tax_ids=[{"value": "FR40303265045"}])])
    keys = set(BlockingKey.objects.values_list("key", flat=True))
    assert f"tax:FR:{VALID_FR_VAT}" in keys and "tax:DE:DE136695976" not in keys
    assert MatchProfile.objects.get().features["tax"] == [f"FR:{VALID_FR_VAT}"]


def test_parent_link_becomes_a_hierarchy_edge_even_when_the_parent_arrives_later(netsuite: System) -> None:
    send(netsuite, [customer("CHILD", tax_ids=[], legal_name="Northwind Logistics Ltd", parent_source_id="PARENT")])
    assert HierarchyEdge.objects.count() == 0
    send(netsuite, [customer("PARENT", tax_ids=[], legal_name="Northwind Holding AG")])
    edge = HierarchyEdge.objects.select_related("hierarchy", "parent", "child").get()
    assert edge.hierarchy.code == "customer_legal"  # the ERP states legal ownership
    assert edge.parent.source_records.get().source_id == "PARENT"
    assert edge.child.source_records.get().source_id == "CHILD"
    assert edge.valid_from == datetime.date.today() and edge.valid_to is None
    child_events = OutboxEvent.objects.filter(golden=edge.child).order_by("golden_version")
    assert child_events.last().changed_fields == ["parent:customer_legal"]


def test_parent_link_that_would_close_a_cycle_is_refused_but_the_record_is_kept(netsuite: System) -> None:
    send(netsuite, [customer("A", tax_ids=[], legal_name="Alpha AG")])
    send(netsuite, [customer("B", tax_ids=[], legal_name="Beta AG", parent_source_id="A")])
    result = send(netsuite, [customer("A", tax_ids=[], legal_name="Alpha AG", parent_source_id="B")])
    assert result.outcomes[0].status == "updated"
    assert result.outcomes[0].issues[0]["code"] == "parent_refused"
    assert "cycle" in result.outcomes[0].issues[0]["message"]
    assert HierarchyEdge.objects.count() == 1
    assert SourceRecord.objects.get(source_id="A").parent_source_id == "B"


def test_a_record_that_omits_status_does_not_unblock_a_customer(salesforce: System, netsuite: System) -> None:
    send(netsuite, [customer("C-9", status="blocked", updated_at="2026-01-01T00:00:00Z")])
    send(salesforce, [customer("001-9", updated_at="2026-06-01T00:00:00Z")])
    golden = Customer.objects.get()
    assert golden.status == "blocked"
    assert golden.lineage["status"]["system"] == "netsuite"


def test_an_unchanged_replay_still_reports_the_flags(salesforce: System) -> None:
    bad_vat = [{"value": "DE136695970", "country": "DE"}]
    send(salesforce, [customer(tax_ids=bad_vat)])
    outcome = send(salesforce, [customer(tax_ids=bad_vat)]).outcomes[0]
    assert outcome.status == "unchanged" and outcome.issues[0]["code"] == "invalid_tax_id"


def test_a_delayed_older_version_loses_to_a_newer_identical_resend(salesforce: System) -> None:
    send(salesforce, [customer(industry="Retail", updated_at="2026-01-10T00:00:00Z")])
    assert (
        send(salesforce, [customer(industry="Retail", updated_at="2026-01-20T00:00:00Z")]).outcomes[0].status
        == "unchanged"
    )
    late = send(salesforce, [customer(industry="Mining", updated_at="2026-01-15T00:00:00Z")]).outcomes[0]
    assert late.status == "unchanged" and Customer.objects.get().industry == "Retail"


def test_unknown_fields_inside_a_tax_id_are_named(salesforce: System) -> None:
    outcome = send(salesforce, [customer(tax_ids=[{"value": "DE136695976", "cntry": "FR"}])]).outcomes[0]
    assert outcome.status == "rejected" and outcome.errors[0].field == "tax_ids[0].cntry"


def test_bulk_history_rows_equal_the_rows_written(salesforce: System, steward: Any) -> None:
    with correlation("bulk-1"):
        send(salesforce, [customer("H-1"), customer("H-2", tax_ids=[], legal_name="Other Ltd")])
    for golden in Customer.objects.all():
        row = golden.history.get()
        assert row.history_type == "+" and row.correlation_id == "bulk-1"
        assert row.history_user == salesforce.service_user and row.history_change_reason == "ingest from salesforce"
        assert (row.legal_name, row.tax_ids, row.lineage) == (golden.legal_name, golden.tax_ids, golden.lineage)
