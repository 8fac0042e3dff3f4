"""The API permission matrix: every endpoint × every kind of caller → the expected status."""

import json
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from mdm.ingest import ingest
from mdm.services import api_key_create
from tests.records import customer

pytestmark = pytest.mark.django_db

READ, INGEST_SF, INGEST_ERP = "read", "ingest-salesforce", "ingest-netsuite"
EXPECTED = {
    #              anonymous  read-only  salesforce  erp   steward
    READ: (401, 200, 200, 200, 200),
    INGEST_SF: (401, 403, "ok", 403, 403),
    INGEST_ERP: (401, 403, 403, "ok", 403),
}
CALLERS = ("anonymous", "read_only", "salesforce", "erp", "steward")


@pytest.fixture
def world(salesforce: Any, netsuite: Any, netsuite_record: Any = None) -> dict[str, str]:
    """One golden customer in a hierarchy, so every read endpoint has something to show."""
    result = ingest(
        system=netsuite,
        entity_type="customer",
        records=[
            customer("P", tax_ids=[], legal_name="Parent AG"),
            customer("C", legal_name="Child GmbH", parent_source_id="P"),
        ],
        actor=netsuite.service_user,
    )
    return {"golden_id": result.outcomes[1].golden_id}


def endpoints(golden_id: str) -> list[tuple[str, str, str, Any]]:
    key = {"system": "netsuite", "entity_type": "customer", "source_id": "C"}
    return [
        (READ, "get", "/api/v1/customers/", None),
        (READ, "get", f"/api/v1/customers/{golden_id}/", None),
        (READ, "get", f"/api/v1/customers/{golden_id}/history/", None),
        (READ, "get", f"/api/v1/customers/{golden_id}/as-of/?at=2100-01-01", None),
        (READ, "get", f"/api/v1/customers/{golden_id}/lineage/", None),
        (READ, "get", "/api/v1/products/", None),
        (READ, "get", "/api/v1/resolve/?system=netsuite&entity_type=customer&source_id=C", None),
        (READ, "post", "/api/v1/resolve/", key),
        (READ, "post", "/api/v1/resolve/batch/", {"keys": [key]}),
        (READ, "get", "/api/v1/hierarchies/", None),
        (READ, "get", f"/api/v1/hierarchies/customer_legal/{golden_id}/parent/", None),
        (READ, "get", f"/api/v1/hierarchies/customer_legal/{golden_id}/children/", None),
        (READ, "get", f"/api/v1/hierarchies/customer_legal/{golden_id}/ancestors/", None),
        (READ, "get", f"/api/v1/hierarchies/customer_legal/{golden_id}/descendants/", None),
        (READ, "get", "/api/v1/systems/", None),
        (READ, "get", f"/api/v1/customers/{golden_id}/matches/", None),
        (READ, "post", "/api/v1/match/", {"entity_type": "customer", "record": customer("Q")}),
        (
            INGEST_SF,
            "post",
            "/api/v1/ingest/",
            {"system": "salesforce", "entity_type": "customer", "record": customer("N1")},
        ),
        (
            INGEST_SF,
            "post",
            "/api/v1/ingest/batch/",
            {"system": "salesforce", "entity_type": "customer", "records": [customer("N2")]},
        ),
        (
            INGEST_ERP,
            "post",
            "/api/v1/ingest/",
            {"system": "netsuite", "entity_type": "customer", "record": customer("N3")},
        ),
        (
            INGEST_ERP,
            "post",
            "/api/v1/ingest/batch/",
            {"system": "netsuite", "entity_type": "customer", "records": [customer("N4")]},
        ),
    ]


@pytest.fixture
def clients(
    client_for: Any, read_key: Any, salesforce_key: Any, erp_key: Any, steward_client: APIClient
) -> dict[str, APIClient]:
    return {
        "anonymous": client_for(None),
        "read_only": client_for(read_key[1]),
        "salesforce": client_for(salesforce_key[1]),
        "erp": client_for(erp_key[1]),
        "steward": steward_client,
    }


def test_permission_matrix(world: dict[str, str], clients: dict[str, APIClient]) -> None:
    failures = []
    for kind, method, url, body in endpoints(world["golden_id"]):
        for index, caller in enumerate(CALLERS):
            expected = EXPECTED[kind][index]
            kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body is not None else {}
            response = getattr(clients[caller], method)(url, **kwargs)
            ok = response.status_code in (200, 201) if expected == "ok" else response.status_code == expected
            if not ok:
                failures.append(f"{caller} {method.upper()} {url}: {response.status_code}, expected {expected}")
            if response.status_code >= 400:
                assert "error" in response.json(), (
                    f"{caller} {url} answered {response.status_code} without a JSON error"
                )
    assert not failures, "\n".join(failures)


def test_logged_in_non_steward_cannot_read(outsider: Any, world: dict[str, str]) -> None:
    client = APIClient()
    client.force_login(outsider)
    assert client.get("/api/v1/customers/").status_code == 403


def test_revoked_expired_and_unknown_keys_are_401(client_for: Any, read_key: Any) -> None:
    key, secret = read_key
    assert client_for("mdm_deadbeef_nothing").get("/api/v1/customers/").status_code == 401
    assert client_for("garbage").get("/api/v1/customers/").status_code == 401
    key.revoked_at = timezone.now()
    key.save()
    response = client_for(secret).get("/api/v1/customers/")
    assert response.status_code == 401 and "revoked" in response.json()["error"]["message"]
    _, expired = api_key_create(name="old", created_by=None, expires_at=timezone.now() - timezone.timedelta(days=1))
    assert client_for(expired).get("/api/v1/customers/").status_code == 401


def test_key_without_read_scope_cannot_read(client_for: Any, salesforce: Any) -> None:
    _, secret = api_key_create(name="writer only", created_by=None, can_read=False, write_system=salesforce)
    assert client_for(secret).get("/api/v1/customers/").status_code == 403


def test_x_api_key_header_is_accepted(read_key: Any) -> None:
    assert APIClient().get("/api/v1/customers/", HTTP_X_API_KEY=read_key[1]).status_code == 200


def test_keys_are_stored_hashed(read_key: Any) -> None:
    key, secret = read_key
    assert secret not in key.key_hash and key.prefix in secret


def test_each_key_is_throttled_at_its_own_rate(client_for: Any) -> None:
    _, slow = api_key_create(name="slow", created_by=None, rate="2/min")
    _, other = api_key_create(name="other", created_by=None, rate="2/min")
    client = client_for(slow)
    assert [client.get("/api/v1/systems/").status_code for _ in range(3)] == [200, 200, 429]
    assert client.get("/api/v1/systems/").json()["error"]["code"] == "throttled"
    assert client_for(other).get("/api/v1/systems/").status_code == 200


def test_unknown_api_path_is_json_404(client_for: Any, read_key: Any) -> None:
    response = client_for(read_key[1]).get("/api/v1/nothing-here/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_a_malformed_rate_is_refused() -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        api_key_create(name="odd", created_by=None, rate="lots")
    assert "rate" in error.value.message_dict


def test_the_throttle_keeps_one_number_per_key_whatever_its_rate(client_for: Any) -> None:
    """A key at 100,000/min: DRF's throttle kept every request's timestamp in the cache, read and written whole on each
    request (the dearest part of a golden-ID lookup at high rates); the hub keeps one number per key."""
    from django.core.cache import cache

    record, fast = api_key_create(name="fast", created_by=None, rate="100000/min")
    client = client_for(fast)
    assert all(client.get("/api/v1/systems/").status_code == 200 for _ in range(30))
    assert isinstance(cache.get(f"throttle:gcra:api_key:{record.prefix}"), float)


@pytest.mark.redis
def test_on_redis_the_throttle_is_one_atomic_step_so_racing_requests_never_exceed_the_rate(settings: Any) -> None:
    """Twenty threads spend one key's allowance of five at once: exactly five get through (a read and a write in
    two calls would let racing requests through on the same reading)."""
    import os
    import threading
    from urllib.parse import urlsplit, urlunsplit

    from django.core.cache import caches

    parts = urlsplit(os.environ["CELERY_BROKER_URL"])
    location = urlunsplit((parts.scheme, parts.netloc, "/12", "", ""))
    settings.CACHES = {"default": {"BACKEND": "mdm.cache.RedisCache", "LOCATION": location}}
    cache = caches["default"]
    cache.clear()
    answers: list[float | None] = []
    lock = threading.Lock()

    def spend() -> None:
        wait = cache.throttle("throttle:test", now=1000.0, interval=12.0, tolerance=48.0, period=60)
        with lock:
            answers.append(wait)

    threads = [threading.Thread(target=spend) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers.count(None) == 5
    assert min(wait for wait in answers if wait is not None) == pytest.approx(12.0)


def test_a_kept_key_saves_its_read_and_a_revoked_one_stops_at_once(client_for: Any, settings: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    settings.MDM_API_KEY_CACHE_SECONDS = 5
    record, secret = api_key_create(name="kept", created_by=None, rate="1000/min")
    client = client_for(secret)
    assert client.get("/api/v1/systems/").status_code == 200
    with CaptureQueriesContext(connection) as kept:
        assert client.get("/api/v1/systems/").status_code == 200
    assert not any("mdm_apikey" in query["sql"] for query in kept.captured_queries), "the key was read again"
    record.revoked_at = timezone.now()
    record.save(update_fields=["revoked_at"])  # as the admin's revoke action does
    assert client.get("/api/v1/systems/").status_code == 401
