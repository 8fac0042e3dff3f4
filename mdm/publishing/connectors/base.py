"""What every connector offers the relay, and the words for what can go wrong.

A connector knows one kind of target's API and nothing of the hub's database: the relay gives it a
TargetConfig (decrypted credentials, options) and OutboundRecords already mapped to the target's field
names, and gets back one DeliveryResult per record, in order. Failures are classified here, once:

- business: the target rejected the data (validation rule, required field, bad value). Not retried
  until the data or the mapping changes; a steward sees it in the exception queue.
- technical: a timeout, a 5xx, a lock error. Retried with backoff and jitter.
- outage: the whole target cannot take calls now (auth refused, daily limit reached, repeated 5xx).
  The connector raises TargetUnavailable; the relay pauses the target and resumes it by itself.
"""

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class FailureKind(enum.StrEnum):
    BUSINESS = "business"
    TECHNICAL = "technical"
    OUTAGE = "outage"


@dataclass(frozen=True)
class TargetConfig:
    """A target as a connector needs it: where, how to authenticate, and its options."""

    code: str
    kind: str  # "salesforce" | "netsuite" | "webhook"
    base_url: str  # e.g. https://acme.my.salesforce.com, https://1234567.suitetalk.api.netsuite.com
    auth: str  # e.g. "client_credentials", "jwt_bearer", "tba", "m2m", "hmac"
    credentials: Mapping[str, str] = field(default_factory=dict)  # decrypted: ids, secrets, keys
    options: Mapping[str, Any] = field(default_factory=dict)  # connector-specific settings
    ca_bundle: str | None = None  # a CA file to trust (the simulators' local CA); None: the system's CAs
    timeout: float = 30.0
    client_name: str = "mdm-hub"  # how our writes identify themselves (Sforce-Call-Options: client=…)


@dataclass(frozen=True)
class OutboundRecord:
    """One golden record at one version, in the target's field names, ready to upsert."""

    golden_id: str  # the external ID the record is upserted by
    entity_type: str  # "customer" | "product"
    version: int
    fields: Mapping[str, Any]
    parent_golden_id: str | None = None  # hierarchy parent (delivered before its children)
    parent_target_id: str | None = None  # the parent's ID in this target, when known (NetSuite needs it)
    # Set when the target holds this record but may not know it by our golden ID yet (a person created it
    # there and the pull brought it in): the connector addresses it by this ID, never creating a second one.
    target_id: str | None = None
    # Values that belong to companion records rather than the main object, e.g. {"list_price": "12.50",
    # "currency": "EUR"} for a product's entry in Salesforce's standard price book.
    related: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Failure:
    """Why a target did not take a record, in the target's own words."""

    kind: FailureKind
    code: str  # the target's error code, e.g. REQUIRED_FIELD_MISSING, USER_ERROR, HTTP_503
    message: str
    fields: tuple[str, ...] = ()  # the offending fields, in the target's names
    resume_after: float | None = None  # for OUTAGE: when the target may be called again, in seconds


@dataclass(frozen=True)
class DeliveryResult:
    """What happened to one OutboundRecord."""

    golden_id: str
    ok: bool
    target_id: str | None = None  # the target's ID for the record (Salesforce Id, NetSuite internal id)
    created: bool = False
    failure: Failure | None = None


@dataclass(frozen=True)
class PulledRecord:
    """A record changed on the target side, for the inbound pull."""

    target_id: str
    modified_at: datetime
    fields: Mapping[str, Any]  # in the target's field names
    golden_id: str | None = None  # the external-ID field's value, when the record carries ours
    deleted: bool = False


class TargetUnavailable(Exception):
    """The whole target cannot take calls now: pause it and try again after `resume_after` seconds."""

    def __init__(self, message: str, *, code: str, resume_after: float = 300.0):
        super().__init__(message)
        self.code = code
        self.message = message
        self.resume_after = resume_after


class TransientError(Exception):
    """A whole call failed for a technical reason (timeout, connection refused, 5xx): retry the batch later."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code
        self.message = message


class Connector(Protocol):
    """The interface the relay uses. Connectors are built per delivery run: `Connector(config)`."""

    config: TargetConfig

    def deliver(self, entity_type: str, records: list[OutboundRecord]) -> list[DeliveryResult]:
        """Upsert the records (parents come before children in the list); one result per record, in order.
        Raises TargetUnavailable or TransientError when the target took none of them."""
        ...

    def test_connection(self) -> list[str]:
        """What is wrong with the configuration, in words a person can act on; empty when all is well."""
        ...

    def pull(self, entity_type: str, since: datetime) -> Iterator[PulledRecord]:
        """Records changed on the target at or after `since`, oldest first, following the target's paging."""
        ...


def failed(records: list[OutboundRecord], failure: Failure) -> list[DeliveryResult]:
    """The same failure for every record of a batch."""
    return [DeliveryResult(golden_id=r.golden_id, ok=False, failure=failure) for r in records]
