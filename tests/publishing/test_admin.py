"""The publishing admin: lists and forms render, credentials stay write-only, actions answer in words."""

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from mdm.models import Target
from tests.publishing.conftest import SECRET, Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db: Any) -> Client:
    user = get_user_model().objects.create_superuser("hub.admin", password="correct horse battery")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", ["target", "fieldmapping", "delivery", "deliveryrun", "pullwatermark"])
def test_publishing_lists_render(admin_client: Client, target: Target, model: str) -> None:
    assert admin_client.get(f"/admin/mdm/{model}/").status_code == 200


def test_the_target_form_never_shows_the_secret(admin_client: Client, target: Target) -> None:
    page = admin_client.get(f"/admin/mdm/target/{target.pk}/change/").content.decode()
    assert "Credentials set" in page and "secret" in page and SECRET not in page


def test_new_credentials_are_checked_and_stored_encrypted(admin_client: Client, target: Target) -> None:
    form = admin_client.get(f"/admin/mdm/target/{target.pk}/change/").context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(
        options="{}", entity_types='["customer"]', subscription="{}", new_credentials="{not json", is_active="on"
    )
    bad = admin_client.post(f"/admin/mdm/target/{target.pk}/change/", data)
    assert bad.status_code == 200 and "not JSON" in bad.content.decode()
    data["new_credentials"] = '{"secret": "rotated"}'
    assert admin_client.post(f"/admin/mdm/target/{target.pk}/change/", data).status_code == 302
    target.refresh_from_db()
    assert target.credentials == {"secret": "rotated"} and "rotated" not in target.credentials_encrypted


def test_test_connection_action_says_what_is_wrong(admin_client: Client, target: Target, receiver: Receiver) -> None:
    ok = admin_client.post(
        "/admin/mdm/target/", {"action": "test_connection", "_selected_action": [target.pk]}, follow=True
    )
    assert "connection, credentials and fields are fine" in ok.content.decode()
    receiver.stop()
    down = admin_client.post(
        "/admin/mdm/target/", {"action": "test_connection", "_selected_action": [target.pk]}, follow=True
    )
    assert "unreachable" in down.content.decode()


def test_pull_now_reports_each_entity_type(admin_client: Client, target: Target) -> None:
    page = admin_client.post(
        "/admin/mdm/target/", {"action": "pull_now", "_selected_action": [target.pk]}, follow=True
    ).content.decode()
    assert "Warehouse/customer:" in page and "has no source system to ingest pulled records as" in page
