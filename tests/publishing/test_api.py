"""Publishing over REST and /metrics: status per golden record, the exception queue, replay with permissions."""

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from mdm.ingest import ingest
from mdm.models import Delivery, DeliveryRun, DeliveryState, GoldenRecord, System, Target
from mdm.publishing.services import field_mapping_publish
from tests.records import customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def rejected(netsuite: System) -> Delivery:
    target = Target.objects.create(
        code="erp-hook",
        name="ERP hook",
        kind="webhook",
        base_url="https://hooks.example",
        auth="hmac",
        entity_types=["customer"],
    )
    field_mapping_publish(target=target, entity_type="customer", fields={"name": "legal_name"}, actor=None)
    result = ingest(system=netsuite, entity_type="customer", records=[customer("C1")], actor=netsuite.service_user)
    golden = GoldenRecord.objects.get(golden_id=result.outcomes[0].golden_id)
    return Delivery.objects.create(
        target=target,
        golden=golden,
        state=DeliveryState.REJECTED,
        wanted_version=golden.version,
        error_kind="business",
        error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION",
        error_message="Name is reserved",
        error_fields=["Name"],
        error_at=timezone.now(),
        attempted_hash="abc",
    )


def test_a_golden_records_publish_status_shows_the_last_error(steward_client: Any, rejected: Delivery) -> None:
    response = steward_client.get(f"/api/v1/publishing/status/{rejected.golden.golden_id}/")
    assert response.status_code == 200
    (row,) = response.json()["targets"]
    assert row["target"] == "erp-hook" and row["state"] == "rejected"
    assert row["error"]["code"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION" and row["error"]["fields"] == ["Name"]


def test_unknown_golden_id_is_404(steward_client: Any, db: Any) -> None:
    assert steward_client.get("/api/v1/publishing/status/CUST-NOPE/").status_code == 404


def test_the_exception_queue_lists_rejections_with_the_targets_reason(steward_client: Any, rejected: Delivery) -> None:
    response = steward_client.get("/api/v1/publishing/deliveries/?state=rejected&state=dead")
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["error_message"] == "Name is reserved" and row["target"] == "erp-hook"


def test_a_bad_state_filter_is_a_400_with_the_field(steward_client: Any, db: Any) -> None:
    response = steward_client.get("/api/v1/publishing/deliveries/?state=lost")
    assert response.status_code == 400 and "state" in str(response.json())


def test_replay_needs_the_permission_and_is_idempotent(steward_client: Any, steward: Any, rejected: Delivery) -> None:
    assert steward_client.post("/api/v1/publishing/replay/", {}, format="json").status_code == 403
    steward.user_permissions.add(Permission.objects.get(codename="replay_delivery"))
    first = steward_client.post("/api/v1/publishing/replay/", {"target": "erp-hook"}, format="json")
    assert first.status_code == 200 and first.json() == {"requeued": 1}
    rejected.refresh_from_db()
    assert rejected.state == DeliveryState.PENDING and rejected.attempted_hash == ""
    again = steward_client.post("/api/v1/publishing/replay/", {"target": "erp-hook"}, format="json")
    assert again.json() == {"requeued": 0}


def test_replay_answers_bad_input_with_field_paths(steward_client: Any, steward: Any, rejected: Delivery) -> None:
    steward.user_permissions.add(Permission.objects.get(codename="replay_delivery"))
    response = steward_client.post(
        "/api/v1/publishing/replay/", {"target": "nope", "states": ["lost"], "golden_ids": ["CUST-X"]}, format="json"
    )
    assert response.status_code == 400
    body = str(response.json())
    assert "target" in body and "states" in body
    unknown = steward_client.post("/api/v1/publishing/replay/", {"golden_ids": ["CUST-X"]}, format="json")
    assert unknown.status_code == 400 and "golden_ids" in str(unknown.json())


def test_targets_list_shows_the_backlog(steward_client: Any, rejected: Delivery) -> None:
    body = steward_client.get("/api/v1/publishing/targets/").json()
    (target,) = body["targets"]
    assert target["code"] == "erp-hook" and target["backlog"]["rejected"] == 1
    assert body["outbox"].keys() == {"outbox_pending", "outbox_oldest_seconds"}
    assert body["outbox"]["outbox_pending"] == 1  # the ingest's event, not yet dispatched


def test_metrics_in_prometheus_format(client: Any, rejected: Delivery, settings: Any) -> None:
    DeliveryRun.objects.create(
        target=rejected.target,
        started_at=timezone.now(),
        finished_at=timezone.now(),
        records=3,
        delivered=2,
        business=1,
        latency_sum=1.5,
        latency_buckets={"0.25": 0, "0.5": 1, "1.0": 2, "+Inf": 2},
    )
    text = client.get("/metrics").content.decode()
    assert 'mdm_deliveries_total{outcome="delivered",target="erp-hook"} 2.0' in text
    assert 'mdm_delivery_exceptions{state="rejected",target="erp-hook"} 1.0' in text
    assert 'mdm_publish_latency_seconds_bucket{le="1.0",target="erp-hook"} 2.0' in text
    assert "mdm_outbox_pending_events" in text
    settings.MDM_METRICS_TOKEN = "s3cret"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200
