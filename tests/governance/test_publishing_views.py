"""Publishing on the steward's screens: a golden record's page shows it per target, the dashboard charts the
backlog and exceptions per target, and the roles may see the exception queue and replay it."""

from typing import Any

import pytest
from django.utils import timezone

from mdm.models import Delivery, DeliveryState, System, Target
from mdm.publishing.services import field_mapping_publish
from tests.governance.conftest import goldens, logged_in, person_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def rejected(salesforce: System) -> Delivery:
    target = Target.objects.create(
        code="erp", name="ERP", kind="webhook", base_url="https://hooks.example", auth="hmac", entity_types=["customer"]
    )
    field_mapping_publish(target=target, entity_type="customer", fields={"companyName": "legal_name"}, actor=None)
    golden = goldens(salesforce)[0]
    return Delivery.objects.create(
        target=target,
        golden=golden,
        state=DeliveryState.REJECTED,
        wanted_version=golden.version,
        error_kind="business",
        error_code="USER_ERROR",
        error_message="Please enter value(s) for: Subsidiary",
        error_fields=["subsidiary"],
        error_at=timezone.now(),
    )


def test_the_golden_page_shows_each_targets_state_and_last_error(customer_steward: Any, rejected: Delivery) -> None:
    page = logged_in(customer_steward).get(f"/admin/steward/goldens/{rejected.golden.golden_id}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Publishing" in text and "USER_ERROR [subsidiary]: Please enter value(s) for: Subsidiary" in text


def test_the_dashboard_charts_publishing_by_target(customer_steward: Any, rejected: Delivery) -> None:
    text = logged_in(customer_steward).get("/admin/steward/dashboard/").content.decode()
    assert 'aria-label="erp: 0 waiting, 1 rejected, 0 dead letters"' in text
    assert "state__exact=rejected" in text


def test_stewards_see_the_exception_queue_and_may_replay(db: Any) -> None:
    steward = person_in("Stewards", "rita")
    viewer = person_in("Viewers", "vic")
    assert steward.has_perm("mdm.view_delivery") and steward.has_perm("mdm.replay_delivery")
    assert viewer.has_perm("mdm.view_delivery") and not viewer.has_perm("mdm.replay_delivery")
