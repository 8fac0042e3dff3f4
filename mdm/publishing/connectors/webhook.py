"""Webhook target: golden-record events as signed JSON, for warehouses, chat relays and everything else.

One POST carries up to `events_per_request` events (default 100):

    {"events": [{"id": "CUST-…:v7", "type": "golden.upserted", "entity_type": "customer",
                 "golden_id": "CUST-…", "version": 7, "parent_golden_id": null, "data": {…}}]}

Headers: `X-MDM-Timestamp` (Unix seconds), `X-MDM-Signature: sha256=<hex HMAC-SHA256 of
"<timestamp>.<body>" keyed with the target's secret>`, and `X-MDM-Delivery` (a hash of the events' IDs).
Each event's `id` is its golden ID and version, so a receiver deduplicates a resend by it.

A URL whose host resolves to a private, loopback, link-local or reserved address is refused (no
request is made) unless settings.MDM_WEBHOOK_ALLOW_PRIVATE is on: a webhook is configured by people in
the admin and must not become a way to reach the hub's own network.
"""

import hashlib
import hmac
import ipaddress
import json
import socket
import time
from collections.abc import Iterator
from datetime import datetime
from urllib.parse import urlsplit

import requests
from django.conf import settings

from mdm.publishing.connectors.base import (
    DeliveryResult,
    Failure,
    FailureKind,
    OutboundRecord,
    PulledRecord,
    TargetConfig,
    TargetUnavailable,
    TransientError,
    failed,
)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for a body sent at a timestamp."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def private_address_problem(url: str) -> str | None:
    """Why the URL may not be called (it resolves to a private or loopback address), or None."""
    host = urlsplit(url).hostname
    if not host:
        return f"'{url}' has no host"
    if getattr(settings, "MDM_WEBHOOK_ALLOW_PRIVATE", False):
        return None
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror as exc:
        return f"the host '{host}' does not resolve: {exc.strerror}"
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_private or address.is_loopback or address.is_link_local or address.is_reserved:
            return (
                f"'{host}' resolves to {address}, a private or loopback address; webhooks may only call public "
                "addresses unless MDM_WEBHOOK_ALLOW_PRIVATE is set"
            )
    return None


class WebhookConnector:
    """Posts signed batches of golden-record events to one URL."""

    def __init__(self, config: TargetConfig):
        self.config = config
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = config.ca_bundle or True
        self.calls = 0

    @property
    def _secret(self) -> str:
        return self.config.credentials.get("secret", "")

    def _post(self, events: list[dict]) -> requests.Response:
        body = json.dumps({"events": events}, separators=(",", ":"), default=str).encode()
        timestamp = str(int(time.time()))
        delivery = hashlib.sha256("|".join(event["id"] for event in events).encode()).hexdigest()[:32]
        headers = {
            "Content-Type": "application/json",
            "X-MDM-Timestamp": timestamp,
            "X-MDM-Signature": sign(self._secret, timestamp, body),
            "X-MDM-Delivery": delivery,
            "User-Agent": self.config.client_name,
        }
        self.calls += 1
        return self.session.post(self.config.base_url, data=body, headers=headers, timeout=self.config.timeout)

    def deliver(self, entity_type: str, records: list[OutboundRecord]) -> list[DeliveryResult]:
        """Post the records as events, `events_per_request` per call; parents come first in the list."""
        problem = private_address_problem(self.config.base_url)
        if problem:
            raise TargetUnavailable(problem, code="ADDRESS_NOT_ALLOWED", resume_after=3600)
        # At least one: 0 would fail in range(), and a negative size would silently post nothing and return no results.
        size = max(1, int(self.config.options.get("events_per_request", 100)))
        results: list[DeliveryResult] = []
        for start in range(0, len(records), size):
            chunk = records[start : start + size]
            events = [
                {
                    "id": f"{r.golden_id}:v{r.version}",
                    "type": "golden.upserted",
                    "entity_type": r.entity_type,
                    "golden_id": r.golden_id,
                    "version": r.version,
                    "parent_golden_id": r.parent_golden_id,
                    "data": dict(r.fields),
                    **({"related": dict(r.related)} if r.related else {}),
                }
                for r in chunk
            ]
            try:
                response = self._post(events)
            except requests.RequestException as exc:
                if not results:
                    raise TransientError(f"{type(exc).__name__}: {exc}", code="CONNECTION_ERROR") from exc
                results += failed(chunk, Failure(FailureKind.TECHNICAL, "CONNECTION_ERROR", str(exc)))
                continue
            results += self._results(chunk, response)
        return results

    def _results(self, chunk: list[OutboundRecord], response: requests.Response) -> list[DeliveryResult]:
        status = response.status_code
        if 200 <= status < 300:
            return [DeliveryResult(golden_id=r.golden_id, ok=True) for r in chunk]
        message = f"HTTP {status}: {response.text[:500]}"
        if status in (401, 403):
            raise TargetUnavailable(f"the receiver refused our signature ({message})", code=f"HTTP_{status}")
        if status in (408, 425, 429) or status >= 500:
            return failed(chunk, Failure(FailureKind.TECHNICAL, f"HTTP_{status}", message))
        return failed(chunk, Failure(FailureKind.BUSINESS, f"HTTP_{status}", message))

    def test_connection(self) -> list[str]:
        """Whether the URL may be called and answers a signed, empty batch with 2xx."""
        problem = private_address_problem(self.config.base_url)
        if problem:
            return [problem]
        if not self._secret:
            return ['no signing secret is configured (credentials: {"secret": …})']
        try:
            response = self._post([])
        except requests.exceptions.SSLError as exc:
            return [f"the TLS certificate of {self.config.base_url} is not trusted: {exc}"]
        except requests.RequestException as exc:
            return [f"{self.config.base_url} is unreachable: {type(exc).__name__}: {exc}"]
        if not 200 <= response.status_code < 300:
            return [f"{self.config.base_url} answered HTTP {response.status_code}: {response.text[:200]}"]
        return []

    def pull(self, entity_type: str, since: datetime) -> Iterator[PulledRecord]:
        """Webhooks only receive; there is nothing to pull."""
        return iter(())
