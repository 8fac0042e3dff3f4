"""Shared fixtures of the publishing tests: a signed-webhook receiver on loopback and a target pointing at it."""

import hashlib
import hmac
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from mdm.models import System, Target
from mdm.publishing.services import field_mapping_publish
from simulators.base import Request, Response, SimulatorServer

SECRET = "webhook-secret"


class Receiver(SimulatorServer):
    """A webhook receiver that checks signatures, keeps events, and fails on request."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []
        self.status_for: dict[str, int] = {}  # golden ID -> status to answer when a batch holds it
        self.status = 200
        self.bad_signatures = 0
        self.lock = threading.Lock()

    def handle(self, request: Request) -> Response:
        timestamp = request.headers["X-MDM-Timestamp"]
        expected = (
            "sha256=" + hmac.new(SECRET.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256).hexdigest()
        )
        if not hmac.compare_digest(expected, request.headers["X-MDM-Signature"]):
            self.bad_signatures += 1
            return Response.text(401, "bad signature")
        events = request.json()["events"]
        for event in events:
            if event["golden_id"] in self.status_for:
                return Response.text(self.status_for[event["golden_id"]], "refused: Name is not allowed")
        if self.status != 200:
            return Response.text(self.status, "unavailable")
        with self.lock:
            self.events += events
        return Response.json(200, {"received": len(events)})

    def versions(self, golden_id: str) -> list[int]:
        return [e["version"] for e in self.events if e["golden_id"] == golden_id]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def target(receiver: Receiver, settings: Any, netsuite: System) -> Target:
    settings.MDM_WEBHOOK_ALLOW_PRIVATE = True
    target = Target(
        code="warehouse",
        name="Data warehouse",
        kind="webhook",
        base_url=f"{receiver.url}/hook",
        auth="hmac",
        entity_types=["customer"],
        hierarchy="customer_legal",
        max_attempts=3,
    )
    target.credentials = {"secret": SECRET}
    target.full_clean()
    target.save()
    field_mapping_publish(
        target=target,
        entity_type="customer",
        fields={"name": ["legal_name", "trade_name"], "city": "legal_address.city", "status": "record_status"},
        actor=None,
    )
    return target
