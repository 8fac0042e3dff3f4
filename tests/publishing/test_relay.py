"""The relay, end to end against a webhook receiver on loopback: coalescing, zero-call republish, the exception
queue, retries and dead letters, replay, outage pauses, parents before children, and the on-commit nudge."""

import datetime
import hashlib
import hmac
import json
from typing import Any

import pytest
from django.utils import timezone

from mdm.hierarchies import hierarchy_edge_save
from mdm.ingest import ingest
from mdm.models import (
    CrossReference,
    Delivery,
    DeliveryRun,
    DeliveryState,
    GoldenRecord,
    HierarchyEdge,
    HierarchyType,
    OutboxEvent,
    OutboxStatus,
    System,
    Target,
    XrefKind,
)
from mdm.publishing import relay
from mdm.publishing.connectors.webhook import private_address_problem, sign
from mdm.publishing.services import deliveries_replay, field_mapping_publish, target_test_connection
from tests.publishing.conftest import SECRET, Receiver
from tests.records import customer

pytestmark = pytest.mark.django_db


def load(netsuite: System, *records: dict[str, Any]) -> list[GoldenRecord]:
    result = ingest(system=netsuite, entity_type="customer", records=list(records), actor=netsuite.service_user)
    return [GoldenRecord.objects.get(golden_id=o.golden_id) for o in result.outcomes]


def company(n: int, **fields: Any) -> dict[str, Any]:
    return customer(f"C{n}", **{"legal_name": f"Company {n} GmbH", "tax_ids": [], **fields})


def publish(target: Target) -> relay.DeliverySummary:
    relay.outbox_dispatch()
    return relay.target_deliver(target=target, budget_seconds=30)


def test_a_change_is_delivered_once_and_an_unchanged_republish_costs_no_call(
    target: Target, receiver: Receiver, netsuite: System
) -> None:
    goldens = load(netsuite, *(company(n) for n in range(5)))
    summary = publish(target)
    assert summary.delivered == 5 and len(receiver.calls) == 1
    assert all(receiver.versions(g.golden_id) == [g.version] for g in goldens)
    assert not OutboxEvent.objects.filter(status=OutboxStatus.PENDING).exists()

    relay.deliveries_requeue(target=target, states=[DeliveryState.DELIVERED])
    again = relay.target_deliver(target=target)
    assert again.unchanged == 5 and again.delivered == 0
    assert len(receiver.calls) == 1  # nothing changed: no call at all


def test_a_burst_of_changes_is_coalesced_to_the_latest_version(
    target: Target, receiver: Receiver, netsuite: System
) -> None:
    (golden,) = load(netsuite, company(1))
    for city in ("Köln", "Bonn", "Essen"):
        load(netsuite, company(1, legal_address={"line1": "Weg 1", "city": city, "postcode": "50667", "country": "DE"}))
    golden.refresh_from_db()
    publish(target)
    assert receiver.versions(golden.golden_id) == [golden.version]
    assert receiver.events[-1]["data"]["city"] == "Essen"


def test_a_newer_version_arriving_during_delivery_stays_due(target: Target, netsuite: System) -> None:
    (golden,) = load(netsuite, company(1))
    relay.outbox_dispatch()
    Delivery.objects.filter(golden=golden).update(wanted_version=golden.version + 1)  # as if it changed meanwhile
    relay.target_deliver(target=target, max_batches=1)
    delivery = Delivery.objects.get(golden=golden)
    assert delivery.state == DeliveryState.PENDING and delivery.delivered_version == golden.version


def test_a_business_rejection_waits_in_the_exception_queue_until_the_data_changes(
    target: Target, receiver: Receiver, netsuite: System
) -> None:
    good, bad = load(netsuite, company(1), company(2))
    receiver.status_for[bad.golden_id] = 422
    target.options = {"events_per_request": 1}
    target.save()
    publish(target)
    delivery = Delivery.objects.get(golden=bad)
    assert delivery.state == DeliveryState.REJECTED
    assert delivery.error_kind == "business" and delivery.error_code == "HTTP_422"
    assert "Name is not allowed" in delivery.error_message
    assert Delivery.objects.get(golden=good).state == DeliveryState.DELIVERED

    calls = len(receiver.calls)
    relay.deliveries_requeue(target=target, golden_pks=[bad.pk], states=[DeliveryState.REJECTED])
    Delivery.objects.filter(golden=bad).update(attempted_hash=Delivery.objects.get(golden=bad).attempted_hash)
    relay.target_deliver(target=target)
    assert len(receiver.calls) == calls  # the same payload is not sent again

    del receiver.status_for[bad.golden_id]
    load(netsuite, company(2, legal_name="Company 2 AG"))  # a steward fixes the data at the source
    publish(target)
    assert Delivery.objects.get(golden=bad).state == DeliveryState.DELIVERED
    assert receiver.events[-1]["data"]["name"] == "Company 2 AG"


def test_technical_failures_retry_with_backoff_then_become_dead_letters_and_replay_is_idempotent(
    target: Target, receiver: Receiver, netsuite: System
) -> None:
    (golden,) = load(netsuite, company(1))
    receiver.status = 503
    publish(target)
    delivery = Delivery.objects.get(golden=golden)
    assert delivery.state == DeliveryState.RETRYING and delivery.attempts == 1
    assert delivery.next_attempt_at > timezone.now()
    for _ in range(2):
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        relay.target_deliver(target=target)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DEAD and delivery.attempts == 3 and delivery.error_code == "HTTP_503"

    receiver.status = 200
    assert deliveries_replay(actor=None, target=target) == 1
    assert deliveries_replay(actor=None, target=target) == 0  # already queued: a second replay adds nothing
    relay.target_deliver(target=target)
    assert Delivery.objects.get(golden=golden).state == DeliveryState.DELIVERED
    assert receiver.versions(golden.golden_id) == [golden.version]


def test_backoff_grows_and_is_capped() -> None:
    assert 1.0 <= relay.backoff_seconds(1) <= 2.0
    assert 4.0 <= relay.backoff_seconds(3) <= 8.0
    assert relay.backoff_seconds(30) <= relay.BACKOFF_CAP


def test_refused_credentials_pause_the_target_which_resumes_by_itself(
    target: Target, receiver: Receiver, netsuite: System
) -> None:
    load(netsuite, company(1))
    target.credentials = {"secret": "wrong"}
    target.save()
    summary = publish(target)
    target.refresh_from_db()
    assert summary.outage.startswith("HTTP_401") and target.paused_until > timezone.now()
    assert Delivery.objects.get().state == DeliveryState.PENDING  # not counted as an attempt
    assert DeliveryRun.objects.get().outage == 1  # the run says one record was held back by the outage
    assert relay.target_deliver(target=target).status == "paused"

    target.credentials = {"secret": SECRET}
    target.save()
    Target.objects.filter(pk=target.pk).update(paused_until=timezone.now() - datetime.timedelta(seconds=1))
    assert relay.target_deliver(target=target).delivered == 1


def test_repeated_failed_batches_pause_the_target(target: Target, receiver: Receiver, netsuite: System) -> None:
    load(netsuite, company(1))
    receiver.stop()
    for _ in range(relay.OUTAGE_AFTER_TRANSIENT_BATCHES):
        Delivery.objects.update(next_attempt_at=timezone.now())
        publish(target)
    target.refresh_from_db()
    assert target.paused_until is not None and "failed batches in a row" in target.pause_reason


def test_parents_are_delivered_before_children_and_children_get_their_parent(
    target: Target, receiver: Receiver, netsuite: System, steward: Any
) -> None:
    parent, child = load(netsuite, company(1), company(2))
    legal = HierarchyType.objects.get(code="customer_legal")
    hierarchy_edge_save(
        edge=HierarchyEdge(hierarchy=legal, parent=parent, child=child, valid_from=datetime.date(2020, 1, 1)),
        actor=steward,
    )
    # The child is due first; its parent travels with it, ahead of it.
    relay.outbox_dispatch()
    Delivery.objects.filter(golden=parent).update(next_attempt_at=timezone.now() + datetime.timedelta(hours=1))
    relay.target_deliver(target=target)
    order = [e["golden_id"] for e in receiver.events]
    assert order.index(parent.golden_id) < order.index(child.golden_id)
    assert receiver.events[order.index(child.golden_id)]["parent_golden_id"] == parent.golden_id


def test_subscription_filter_skips_records_without_a_call(target: Target, receiver: Receiver, netsuite: System) -> None:
    target.subscription = {"require": ["tax_id"]}
    target.save()
    load(netsuite, company(1))
    summary = publish(target)
    assert summary.skipped == 1 and not receiver.calls
    assert Delivery.objects.get().state == DeliveryState.SKIPPED


def test_a_new_mapping_version_republishes_only_what_changes(
    target: Target, receiver: Receiver, netsuite: System
) -> None:
    load(netsuite, company(1), company(2))
    publish(target)
    field_mapping_publish(
        target=target,
        entity_type="customer",
        fields={"name": ["legal_name", "trade_name"], "city": "legal_address.city", "status": "record_status"},
        actor=None,
        note="same fields",
    )
    assert relay.target_deliver(target=target).unchanged == 2
    field_mapping_publish(
        target=target, entity_type="customer", fields={"name": "legal_name", "vat": "tax_id"}, actor=None
    )
    assert relay.target_deliver(target=target).delivered == 2
    assert receiver.events[-1]["data"].keys() == {"name", "vat"}


def test_target_ids_become_cross_references(netsuite: System, target: Target, receiver: Receiver) -> None:
    (golden,) = load(netsuite, company(1))
    publish(target)
    # Webhooks return no IDs; a connector that does fills the delivery and the cross-reference.
    delivery = Delivery.objects.get(golden=golden)
    delivery.target_record_id = "T-1"
    target.system = netsuite
    target.save()
    relay._write_xrefs(target, [delivery])
    assert CrossReference.objects.filter(golden=golden, kind=XrefKind.TARGET, external_id="T-1").exists()


def test_each_batch_is_logged_as_a_run(target: Target, receiver: Receiver, netsuite: System) -> None:
    load(netsuite, company(1), company(2))
    publish(target)
    run = DeliveryRun.objects.get()
    assert (run.records, run.delivered) == (2, 2) and run.latency_p50 is not None


def test_signature_is_verifiable() -> None:
    body = json.dumps({"events": []}).encode()
    expected = "sha256=" + hmac.new(b"s", b"100." + body, hashlib.sha256).hexdigest()
    assert sign("s", "100", body) == expected


def test_private_addresses_are_refused_unless_allowed(settings: Any) -> None:
    settings.MDM_WEBHOOK_ALLOW_PRIVATE = False
    assert "private or loopback" in private_address_problem("http://127.0.0.1:9/hook")
    assert "private or loopback" in private_address_problem("http://10.1.2.3/hook")
    settings.MDM_WEBHOOK_ALLOW_PRIVATE = True
    assert private_address_problem("http://127.0.0.1:9/hook") is None


def test_test_connection_says_what_is_wrong(target: Target, receiver: Receiver, settings: Any) -> None:
    assert target_test_connection(target=target) == []
    target.base_url = "http://127.0.0.1:9/hook"
    assert "unreachable" in target_test_connection(target=target)[0]
    settings.MDM_WEBHOOK_ALLOW_PRIVATE = False
    assert "private or loopback" in target_test_connection(target=target)[0]


@pytest.mark.nudge
def test_a_commit_nudges_the_relay_which_publishes_at_once(
    target: Target, receiver: Receiver, netsuite: System, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        (golden,) = load(netsuite, company(1))
    assert len(callbacks) == 1  # one nudge per transaction
    assert receiver.versions(golden.golden_id) == [golden.version]


def test_records_waiting_for_a_mapping_go_out_once_it_exists(
    target: Target, receiver: Receiver, netsuite: System
) -> None:
    target.entity_types = ["customer", "product"]
    target.save()
    ingest(
        system=netsuite,
        entity_type="product",
        records=[{"source_id": "P1", "sku": "SKU-1", "name": "Widget"}],
        actor=netsuite.service_user,
    )
    publish(target)
    delivery = Delivery.objects.get(golden__entity_type="product")
    assert delivery.state == DeliveryState.REJECTED and delivery.error_code == "NO_MAPPING"
    field_mapping_publish(target=target, entity_type="product", fields={"name": "name", "sku": "sku"}, actor=None)
    relay.target_deliver(target=target)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED and receiver.events[-1]["data"] == {
        "name": "Widget",
        "sku": "SKU-1",
    }


def test_a_broken_configuration_pauses_the_target_with_the_reason(target: Target, netsuite: System) -> None:
    load(netsuite, company(1))
    Target.objects.filter(pk=target.pk).update(credentials_encrypted="not-a-fernet-token")
    target.refresh_from_db()
    summary = publish(target)
    target.refresh_from_db()
    assert summary.outage.startswith("CONFIGURATION: ImproperlyConfigured")
    assert "MDM_CREDENTIALS_KEYS" in target.pause_reason and target.paused_until > timezone.now()
    assert Delivery.objects.get().state == DeliveryState.PENDING
