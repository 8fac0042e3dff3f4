"""The publishing commands: publish (the relay once), replay (idempotent), pull; bad input gets a clear message."""

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from mdm.ingest import ingest
from mdm.models import Delivery, DeliveryState, System, Target
from tests.publishing.conftest import Receiver
from tests.records import customer

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_publish_delivers_and_replay_requeues_once(target: Target, receiver: Receiver, netsuite: System) -> None:
    records = [customer(f"C{n}", legal_name=f"Firma {n} GmbH", tax_ids=[]) for n in range(3)]
    ingest(system=netsuite, entity_type="customer", records=records, actor=netsuite.service_user)
    receiver.status = 422
    output = run("publish", "--target", "warehouse")
    assert "rejected 3" in output
    receiver.status = 200
    assert "queued 3 deliveries again" in run("replay", "--target", "warehouse")
    assert "queued 0 deliveries again" in run("replay", "--target", "warehouse")
    assert "delivered 3" in run("publish")
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.DELIVERED}


def test_bad_input_is_a_clear_message(target: Target) -> None:
    with pytest.raises(CommandError, match="no active target named nope"):
        run("publish", "--target", "nope")
    with pytest.raises(CommandError, match="no target named 'nope'"):
        run("replay", "--target", "nope")
    with pytest.raises(CommandError, match="golden_ids: unknown golden IDs: CUST-X"):
        run("replay", "--golden-id", "CUST-X")
    with pytest.raises(CommandError, match="no source system"):
        run("pull", "--target", "warehouse")


def test_pull_needs_an_inbound_mapping(target: Target, netsuite: System, settings: Any) -> None:
    target.system = netsuite
    target.save()
    with pytest.raises(CommandError, match="no inbound mapping for customer"):
        run("pull", "--target", "warehouse")


def test_setup_targets_points_both_systems_at_the_simulators_once(db: None, tmp_path: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    from mdm.models import FieldMapping, Target

    out = StringIO()
    call_command("setup_targets", "--simulators", "--pull", "--tls-dir", str(tmp_path), stdout=out)
    assert "Created target salesforce" in out.getvalue() and "Created target netsuite" in out.getvalue()
    salesforce, netsuite = Target.objects.get(code="salesforce"), Target.objects.get(code="netsuite")
    assert (salesforce.auth, salesforce.hierarchy, salesforce.pull_enabled) == (
        "client_credentials",
        "customer_sales",
        True,
    )
    assert netsuite.options["account_id"] == "1234567" and netsuite.credentials["token_id"] == "tk"
    assert FieldMapping.objects.filter(target__in=[salesforce, netsuite]).count() == 4  # customer and product each
    call_command("setup_targets", "--simulators", "--tls-dir", str(tmp_path), stdout=(again := StringIO()))
    assert "Kept target salesforce" in again.getvalue() and FieldMapping.objects.count() == 4
