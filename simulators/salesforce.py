"""A loopback Salesforce that simple-salesforce works against unchanged (reference/integration-contracts.md §0-§8).

It serves the OAuth token endpoint (client credentials and JWT bearer), the REST sObject resources
(create, read, update, delete, upsert by external ID, describe), sObject Collections upsert, Bulk API
2.0 ingest jobs, SOQL query/queryAll with cursors, and limits, with Salesforce's status codes, error
bodies and `Sforce-Limit-Info` header. Faults (lock errors, 503s, latency, the daily limit, expired
sessions, a validation rule) are drawn from a seeded random generator so runs repeat. Tests inspect
the store directly (`records`, `writes`, `api_calls_used`); another process uses `/__simulator__/`.
"""

import base64
import csv
import datetime
import hashlib
import hmac
import io
import json
import random
import re
import secrets
import string
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import unquote

import jwt

from . import soql
from .base import FaultDice, Request, Response, SimulatorServer, fault_changes
from .soql import parse_datetime, sf_datetime
from .tls import LocalTLS

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
COLLECTION_LIMIT = 200
QUERY_BATCH = (200, 2000)  # Sforce-Query-Options batchSize is clamped to this range; 2000 is the default
CURSORS_PER_USER = 10  # Salesforce keeps at most 10 open query cursors per user and drops the oldest
OLDEST_VERSION = 31
TEXT_TYPES = {"string", "textarea", "phone", "url", "picklist", "email"}
NOT_FOUND_MESSAGE = "The requested resource does not exist"
LOCK_MESSAGE = "unable to obtain exclusive access to this record"
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}
DELIMITERS = {"BACKQUOTE": "`", "CARET": "^", "COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "TAB": "\t"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
BULK_OPERATIONS = {"insert", "update", "upsert", "delete", "hardDelete"}
FAILED_RESULTS, SUCCESSFUL_RESULTS = "failedResults", "successfulResults"
UNPROCESSED_RESULTS = ("unprocessedrecords", "unprocessedRecords")  # the docs' spelling and simple-salesforce's
LABELS = {"Account": "Account", "Product2": "Product", "Pricebook2": "Price Book", "PricebookEntry": "Price Book Entry"}
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


# --- Ids ------------------------------------------------------------------------------------------------


def case_safe_id(short: str) -> str:
    """The 18-character form of a 15-character Id: three suffix letters encode where the capitals are."""
    suffix = ""
    for chunk in range(3):
        bits = sum(1 << i for i, char in enumerate(short[chunk * 5 : chunk * 5 + 5]) if char.isupper())
        suffix += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[bits]
    return short + suffix


def salesforce_id(prefix: str, number: int) -> str:
    """An 18-character Id: the object's key prefix, a pod, a base-62 counter and the case-safe suffix."""
    body = ""
    for _ in range(6):
        number, digit = divmod(number, 62)
        body = _BASE62[digit] + body
    return case_safe_id(f"{prefix}8d0000{body}")


def normalize_id(value: str) -> str:
    """15-character Ids become their 18-character form; anything else is returned as it is."""
    return case_safe_id(value) if len(value) == 15 and value.isalnum() else value


# --- Schema ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """One field of a simulated sObject, with what describe reports about it."""

    name: str
    type: str  # describe types: id, string, textarea, phone, url, picklist, boolean, int, double, currency, ...
    length: int = 0
    required: bool = False
    external_id: bool = False
    unique: bool = False
    createable: bool = True
    updateable: bool = True
    reference_to: str | None = None
    default: Any = None

    @property
    def relationship(self) -> str | None:
        """The relationship name of a lookup (ParentId -> Parent)."""
        return self.name[:-2] if self.type == "reference" and self.name.endswith("Id") else None

    @property
    def kind(self) -> str:
        """How SOQL compares the field."""
        if self.type in ("id", "reference"):
            return soql.ID
        if self.type in ("int", "double", "currency"):
            return soql.NUMBER
        if self.type in ("boolean", "datetime"):
            return soql.BOOLEAN if self.type == "boolean" else soql.DATETIME
        return soql.STRING


@dataclass(frozen=True)
class SObjectSpec:
    """A simulated sObject type: its name, key prefix and fields."""

    name: str
    key_prefix: str
    fields: tuple[FieldSpec, ...]

    @cached_property
    def _by_name(self) -> dict[str, FieldSpec]:
        return {spec.name.lower(): spec for spec in self.fields}

    @cached_property
    def _by_relationship(self) -> dict[str, FieldSpec]:
        return {spec.relationship.lower(): spec for spec in self.fields if spec.relationship}

    def field(self, name: str) -> FieldSpec | None:
        """A field by name, ignoring case as Salesforce does."""
        return self._by_name.get(name.lower())

    def relationship(self, name: str) -> FieldSpec | None:
        """The lookup field behind a relationship name (Parent -> ParentId)."""
        return self._by_relationship.get(name.lower())

    @property
    def external_ids(self) -> list[FieldSpec]:
        """The fields flagged External ID (upsert and relationship keys)."""
        return [spec for spec in self.fields if spec.external_id]


def _system_fields() -> tuple[FieldSpec, ...]:
    read_only: dict[str, Any] = {"createable": False, "updateable": False}
    return (
        FieldSpec("IsDeleted", "boolean", default=False, **read_only),
        FieldSpec("CreatedDate", "datetime", **read_only),
        FieldSpec("CreatedById", "reference", 18, reference_to="User", **read_only),
        FieldSpec("LastModifiedDate", "datetime", **read_only),
        FieldSpec("LastModifiedById", "reference", 18, reference_to="User", **read_only),
        FieldSpec("SystemModstamp", "datetime", **read_only),
    )


def build_schema(external_id_field: str) -> dict[str, SObjectSpec]:
    """Account, Product2, Pricebook2 and PricebookEntry, with the hub's external ID and custom fields."""
    ident = FieldSpec("Id", "id", 18, createable=False, updateable=False)
    golden = FieldSpec(external_id_field, "string", 255, external_id=True, unique=True)
    system = _system_fields()

    def address(prefix: str) -> tuple[FieldSpec, ...]:
        return (
            FieldSpec(f"{prefix}Street", "textarea", 255),
            FieldSpec(f"{prefix}City", "string", 40),
            FieldSpec(f"{prefix}State", "string", 80),
            FieldSpec(f"{prefix}PostalCode", "string", 20),
            FieldSpec(f"{prefix}Country", "string", 80),
        )

    account = (
        ident,
        FieldSpec("Name", "string", 255, required=True),
        FieldSpec("AccountNumber", "string", 40),
        FieldSpec("Phone", "phone", 40),
        FieldSpec("Fax", "phone", 40),
        FieldSpec("Website", "url", 255),
        *address("Billing"),
        *address("Shipping"),
        FieldSpec("Description", "textarea", 32000),
        FieldSpec("Industry", "picklist", 255),
        FieldSpec("Type", "picklist", 255),
        FieldSpec("NumberOfEmployees", "int"),
        FieldSpec("AnnualRevenue", "currency"),
        FieldSpec("ParentId", "reference", 18, reference_to="Account"),
        golden,
        FieldSpec("MDM_Tax_ID__c", "string", 40),
        FieldSpec("MDM_Status__c", "string", 40),
        # Not unique: after merges several accounts name the same survivor, so an upsert on it can match many (300).
        FieldSpec("MDM_Survivor_ID__c", "string", 255, external_id=True),
        *system,
    )
    product = (
        ident,
        FieldSpec("Name", "string", 255, required=True),
        FieldSpec("ProductCode", "string", 255),
        FieldSpec("Description", "textarea", 4000),
        FieldSpec("IsActive", "boolean", default=False),
        FieldSpec("Family", "picklist", 255),
        FieldSpec("StockKeepingUnit", "string", 180),
        FieldSpec("QuantityUnitOfMeasure", "picklist", 255),
        golden,
        FieldSpec("MDM_GTIN__c", "string", 14),
        *system,
    )
    pricebook = (
        ident,
        FieldSpec("Name", "string", 255, required=True),
        FieldSpec("IsActive", "boolean", default=False),
        FieldSpec("IsStandard", "boolean", default=False, createable=False, updateable=False),
        FieldSpec("Description", "string", 255),
        *system,
    )
    entry = (
        ident,
        FieldSpec("Pricebook2Id", "reference", 18, required=True, updateable=False, reference_to="Pricebook2"),
        FieldSpec("Product2Id", "reference", 18, required=True, updateable=False, reference_to="Product2"),
        FieldSpec("UnitPrice", "currency", required=True),
        FieldSpec("IsActive", "boolean", default=False),
        FieldSpec("UseStandardPrice", "boolean", default=False),
        FieldSpec("CurrencyIsoCode", "picklist", 3, default="USD"),
        *system,
    )
    specs = [
        SObjectSpec("Account", "001", account),
        SObjectSpec("Product2", "01t", product),
        SObjectSpec("Pricebook2", "01s", pricebook),
        SObjectSpec("PricebookEntry", "01u", entry),
    ]
    return {spec.name: spec for spec in specs}


# --- Faults, errors and small records -------------------------------------------------------------------


@dataclass
class SalesforceFaults:
    """Faults the simulator injects; every knob is off by default, and draws come from random.Random(seed)."""

    error_rate: float = 0.0  # record writes failing with UNABLE_TO_LOCK_ROW
    unavailable_rate: float = 0.0  # API calls answered 503 SERVER_UNAVAILABLE
    latency_ms: float = 0.0  # added to every call
    limit_after_calls: int | None = None  # then 403 REQUEST_LIMIT_EXCEEDED, as if others used up the org's limit
    expire_sessions_after_calls: int | None = None  # each token then answers 401 INVALID_SESSION_ID
    seed: int = 0
    reject_names_containing: tuple[str, ...] = ()  # a validation rule on Account and Product2 Name


class _ApiError(Exception):
    """A request Salesforce refuses as a whole (the body is the usual error array)."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields

    def response(self) -> Response:
        return _errors(self.status, self.code, self.message, self.fields)


class _RecordError(Exception):
    """One record refused by DML: a 400 on single-record calls, a per-record result in batches."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.fields, self.status = code, message, fields or [], status

    def response(self) -> Response:
        return _errors(self.status, self.code, self.message, self.fields)

    def collection_error(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}

    def bulk_text(self) -> str:
        return f"{self.code}:{self.message}:{','.join(self.fields)} --"


class _Multiple(_RecordError):
    """An external ID value that matches several records: 300 on a single upsert, a record error in batches."""

    def __init__(self, record_ids: list[str]):
        super().__init__(
            "DUPLICATE_EXTERNAL_ID", "A user-specified external ID matches more than one record during an upsert."
        )
        self.record_ids = record_ids


class _JobFailed(Exception):
    """A Bulk job that fails as a whole (bad header, bad external ID field)."""


@dataclass
class _Session:
    user_id: str
    calls: int = 0


@dataclass(frozen=True)
class _Writer:
    """Who writes: the user, the Sforce-Call-Options client, and whether it counts as an API write."""

    user_id: str
    client: str | None
    api: bool


@dataclass
class _Payload:
    """Field values of one record as received, plus lookups given by the parent's external ID."""

    values: dict[str, Any]
    refs: dict[str, tuple[str, str]] = field(default_factory=dict)  # ParentId -> (MDM_Golden_ID__c, "G-1")


@dataclass
class _Job:
    """A Bulk API 2.0 ingest job."""

    info: dict[str, Any]
    user_id: str
    client: str | None
    data: str | None = None
    header: list[str] = field(default_factory=list)
    successful: list[list[str]] = field(default_factory=list)
    failed: list[list[str]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)


def _errors(status: int, code: str, message: str, fields: list[str] | None = None) -> Response:
    item: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        item["fields"] = fields
    return Response.json(status, [item])


def _oauth_error(error: str, description: str) -> Response:
    return Response.json(400, {"error": error, "error_description": description})


def _coerce(spec: FieldSpec, raw: Any) -> Any:
    """A JSON or CSV value as the field stores it; raises ValueError when it cannot be one."""
    if raw is None or raw == "":  # Salesforce keeps no difference between an empty text and null
        return None
    if isinstance(raw, dict | list):
        raise ValueError(raw)
    if spec.type == "boolean":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false", "1", "0"):
            return raw.lower() in ("true", "1")
        raise ValueError(raw)
    if isinstance(raw, bool):
        raise ValueError(raw)
    if spec.type == "int":
        number = float(raw)
        if not number.is_integer():
            raise ValueError(raw)
        return int(number)
    if spec.type in ("double", "currency"):
        return float(raw)
    if spec.type == "datetime":
        return sf_datetime(parse_datetime(str(raw)))
    text = raw if isinstance(raw, str) else json.dumps(raw)
    return normalize_id(text) if spec.type in ("id", "reference") else text


def _call_client(request: Request) -> str | None:
    """The `client=` value of Sforce-Call-Options, which Salesforce records as the change's origin."""
    for part in (request.headers.get("Sforce-Call-Options") or "").split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "client":
            return value.strip() or None
    return None


def _release(version: int) -> str:
    """The release name of an API version: 59.0 is Winter '24, and there are three releases a year."""
    steps = version - 59
    return f"{('Winter', 'Spring', 'Summer')[steps % 3]} '{24 + steps // 3}"


# --- The simulator --------------------------------------------------------------------------------------


class SalesforceSimulator(SimulatorServer):
    """A loopback Salesforce org over TLS: OAuth, REST sObjects, Collections, Bulk 2.0 ingest and SOQL."""

    name = "salesforce-simulator"

    def __init__(
        self,
        *,
        tls: LocalTLS,
        host: str = "127.0.0.1",
        port: int = 0,
        client_id: str = "mdm-hub",
        client_secret: str = "mdm-hub-secret",  # noqa: S107 - the simulator's own made-up credential
        jwt_consumer_key: str = "mdm-hub",
        jwt_public_key_pem: bytes | None = None,
        jwt_username: str = "integration@mdm.example",
        daily_limit: int = 100_000,
        external_id_field: str = "MDM_Golden_ID__c",
        faults: SalesforceFaults | None = None,
        api_version: str = "59.0",
    ):
        super().__init__(host=host, port=port, ssl_context=tls.server_context())
        self.tls = tls
        self.client_id, self.client_secret = client_id, client_secret
        self.jwt_consumer_key = jwt_consumer_key
        self.jwt_public_key_pem = jwt_public_key_pem  # None: no certificate uploaded, so JWT logins fail
        self.jwt_username = jwt_username
        self.daily_limit = daily_limit
        self.external_id_field = external_id_field
        self.api_version = api_version
        self.schema = build_schema(external_id_field)
        self.org_id = case_safe_id("00D8d0000000001")
        self.integration_user_id = salesforce_id("005", 1)  # the run-as user of both token flows
        self.ui_user_id = salesforce_id("005", 2)  # a person editing in the Salesforce UI
        self._state = threading.RLock()  # one lock around the store, sessions, jobs, cursors and counters
        self._faults = faults or SalesforceFaults()
        self._dice = FaultDice()
        self._sessions: dict[str, _Session] = {}
        self._reset_state()

    # -- faults and state ---------------------------------------------------------------------------------

    @property
    def faults(self) -> SalesforceFaults:
        """The faults in force; change them in place or assign a new SalesforceFaults (which reseeds)."""
        return self._faults

    @faults.setter
    def faults(self, value: SalesforceFaults) -> None:
        with self._state:
            self._faults = value
            self._dice.restart()  # a new fault set repeats from its seed

    def _draw(self, rate: float) -> bool:
        return self._dice.draw(rate, self._faults.seed)

    def _reset_state(self) -> None:
        with self._state:
            self._records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in self.schema}
            self._ext_index: dict[tuple[str, str], dict[str, set[str]]] = {
                (spec.name, ext.name): {} for spec in self.schema.values() for ext in spec.external_ids
            }
            self._id_counters: Counter[str] = Counter()
            self._writes: Counter[str] = Counter()
            self._api_calls = 0
            self._bulk_batches = 0
            self._jobs: dict[str, _Job] = {}
            self._cursors: OrderedDict[str, tuple[str, list[dict[str, Any]], int]] = OrderedDict()
            self._last_stamp: datetime.datetime | None = None
            for session in self._sessions.values():
                session.calls = 0
            self._dice.restart()
            stamp = self._stamp()
            standard = {spec.name: spec.default for spec in self.schema["Pricebook2"].fields}
            standard.update(
                Id=self._new_id("01s"),
                Name="Standard Price Book",
                IsActive=True,
                IsStandard=True,
                CreatedDate=stamp,
                LastModifiedDate=stamp,
                SystemModstamp=stamp,
                CreatedById=self.ui_user_id,
                LastModifiedById=self.ui_user_id,
                _client=None,
            )
            self._records["Pricebook2"][standard["Id"]] = standard

    def _stamp(self) -> str:
        """Now in milliseconds, and always after the previous write: SystemModstamp strictly increases."""
        now = datetime.datetime.now(datetime.UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if self._last_stamp is not None and now <= self._last_stamp:
            now = self._last_stamp + datetime.timedelta(milliseconds=1)
        self._last_stamp = now
        return sf_datetime(now)

    def _new_id(self, prefix: str) -> str:
        self._id_counters[prefix] += 1
        return salesforce_id(prefix, self._id_counters[prefix])

    # -- inspection and control (in process) --------------------------------------------------------------

    def _spec(self, sobject: str) -> SObjectSpec:
        for name, spec in self.schema.items():
            if name.lower() == sobject.lower():
                return spec
        raise KeyError(f"the simulator has no sObject {sobject!r}")

    @staticmethod
    def _inspect(record: dict[str, Any]) -> dict[str, Any]:
        return dict(record)  # `_client` is the Sforce-Call-Options client of the last write (None for people)

    def records(self, sobject: str) -> list[dict[str, Any]]:
        """Copies of every stored record of the sObject, deleted ones included, in creation order."""
        with self._state:
            return [self._inspect(record) for record in self._records[self._spec(sobject).name].values()]

    def by_external_id(self, sobject: str, value: str) -> dict[str, Any] | None:
        """The live record whose external ID field holds the value."""
        with self._state:
            spec = self._spec(sobject)
            ids = self._ext_index.get((spec.name, self.external_id_field), {}).get(value)
            return self._inspect(self._records[spec.name][next(iter(ids))]) if ids else None

    def get(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        """A record by Id (15 or 18 characters), deleted or not."""
        with self._state:
            record = self._records[self._spec(sobject).name].get(normalize_id(record_id))
            return self._inspect(record) if record else None

    def user_edit(self, sobject: str, record_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """A person edits a record in Salesforce; raises ValueError when Salesforce would refuse the edit."""
        with self._state:
            spec = self._spec(sobject)
            existing = self._records[spec.name].get(normalize_id(record_id))
            if existing is None:
                raise ValueError(f"NOT_FOUND: no {spec.name} {record_id}")
            return self._inspect(self._user_save(spec, fields, existing))

    def user_create(self, sobject: str, fields: dict[str, Any]) -> dict[str, Any]:
        """A person creates a record in Salesforce; raises ValueError when Salesforce would refuse it."""
        with self._state:
            return self._inspect(self._user_save(self._spec(sobject), fields, None))

    def _user_save(self, spec: SObjectSpec, fields: dict[str, Any], existing: dict[str, Any] | None) -> dict[str, Any]:
        writer = _Writer(self.ui_user_id, None, api=False)
        try:
            return self._save(spec, self._payload_from_json(spec, fields), existing, writer, None)
        except (_ApiError, _RecordError) as error:
            raise ValueError(f"{error.code}: {error.message}") from error

    def expire_sessions(self) -> None:
        """Every token issued so far becomes invalid now."""
        with self._state:
            self._sessions.clear()

    def api_calls_used(self) -> int:
        """API calls counted against the daily limit: all but the token endpoint, /__simulator__/ and 401s."""
        with self._state:
            return self._api_calls

    def writes(self, sobject: str) -> int:
        """How many times records of the sObject were created or updated through the API."""
        with self._state:
            return self._writes[self._spec(sobject).name]

    def reset(self) -> None:
        """Forget records, jobs, cursors and counters (tokens stay valid; faults stay as set)."""
        self._reset_state()

    def stats(self) -> dict[str, Any]:
        """API calls used, writes and records per sObject."""
        with self._state:
            return {
                "api_calls_used": self._api_calls,
                "daily_limit": self.daily_limit,
                "writes": {name: self._writes[name] for name in self.schema},
                "records": {
                    name: sum(not r["IsDeleted"] for r in rows.values()) for name, rows in self._records.items()
                },
                "deleted": {name: sum(r["IsDeleted"] for r in rows.values()) for name, rows in self._records.items()},
                "bulk_jobs": len(self._jobs),
            }

    # -- HTTP entry ---------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Route one request: control API, token endpoint, versions, then the versioned REST API."""
        if request.path.startswith("/__simulator__/"):
            return self._control(request)
        if self._faults.latency_ms > 0:
            time.sleep(self._faults.latency_ms / 1000)
        if request.path.rstrip("/") == "/services/oauth2/token":
            return self._token(request)
        if request.path.rstrip("/") == "/services/data":
            with self._state:
                self._api_calls += 1
            versions = range(OLDEST_VERSION, int(float(self.api_version)) + 1)
            return Response.json(
                200, [{"label": _release(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"} for v in versions]
            )
        match = re.fullmatch(r"/services/data/v(\d+\.\d)(?:/(.*))?", request.path)
        if match is None:
            return _errors(404, "NOT_FOUND", NOT_FOUND_MESSAGE)
        return self._api(request, match.group(1), (match.group(2) or "").strip("/"))

    def _usage(self) -> str:
        return f"api-usage={self._api_calls}/{self.daily_limit}"

    def _api(self, request: Request, version: str, path: str) -> Response:
        with self._state:
            session = self._authenticate(request)
            if session is None:
                response = _errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
            elif self._api_calls >= self.daily_limit or (
                self._faults.limit_after_calls is not None and self._api_calls >= self._faults.limit_after_calls
            ):
                response = _errors(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            else:
                self._api_calls += 1
                session.calls += 1
                if self._draw(self._faults.unavailable_rate):
                    response = _errors(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable")
                elif not OLDEST_VERSION <= float(version) <= float(self.api_version):
                    response = _errors(404, "NOT_FOUND", NOT_FOUND_MESSAGE)
                else:
                    try:
                        response = self._route(request, version, path, session)
                    except (_ApiError, _RecordError) as error:
                        response = error.response()
            response.headers["Sforce-Limit-Info"] = self._usage()
            return response

    def _authenticate(self, request: Request) -> _Session | None:
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() not in ("bearer", "oauth"):
            return None
        session = self._sessions.get(token.strip())
        limit = self._faults.expire_sessions_after_calls
        if session is not None and limit is not None and session.calls >= limit:
            del self._sessions[token.strip()]
            return None
        return session

    def _route(self, request: Request, version: str, path: str, session: _Session) -> Response:
        parts = [unquote(part) for part in path.split("/")] if path else []
        writer = _Writer(session.user_id, _call_client(request), api=True)
        head = parts[0] if parts else ""
        if not parts:
            _allow(request, "GET")
            base = f"/services/data/v{version}"
            names = ("sobjects", "query", "queryAll", "limits", "composite", "jobs")
            return Response.json(200, {name: f"{base}/{name}" for name in names})
        if head == "limits" and len(parts) == 1:
            _allow(request, "GET")
            return Response.json(200, self._limits())
        if head == "sobjects":
            return self._sobjects(request, version, parts[1:], writer)
        if head in ("query", "queryAll") and len(parts) <= 2:
            _allow(request, "GET")
            return self._query(request, version, head, parts[1] if len(parts) == 2 else None, session)
        if parts[:2] == ["composite", "sobjects"] and len(parts) in (2, 4):
            return self._collections(request, parts[2:], writer)
        if parts[:2] == ["jobs", "ingest"]:
            return self._bulk(request, version, parts[2:], writer)
        raise _ApiError(404, "NOT_FOUND", NOT_FOUND_MESSAGE)

    def _known(self, sobject: str) -> SObjectSpec:
        try:
            return self._spec(sobject)
        except KeyError:
            raise _ApiError(404, "NOT_FOUND", NOT_FOUND_MESSAGE) from None

    def _limits(self) -> dict[str, Any]:
        def pair(maximum: int, used: int) -> dict[str, int]:
            return {"Max": maximum, "Remaining": max(0, maximum - used)}

        return {
            "DailyApiRequests": pair(self.daily_limit, self._api_calls),
            "DailyBulkApiBatches": pair(15_000, self._bulk_batches),
            "DailyBulkV2QueryJobs": pair(10_000, 0),
            "DailyBulkV2QueryFileStorageMB": pair(1_000_000, 0),
            "ConcurrentPerOrgLongTxn": pair(10, 0),
        }

    # -- OAuth --------------------------------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        if request.method != "POST":
            return _oauth_error("invalid_request", "must use HTTP POST")
        form = request.form()
        grant = form.get("grant_type")
        if grant == "client_credentials":
            client_id, secret = form.get("client_id"), form.get("client_secret")
            scheme, _, encoded = (request.headers.get("Authorization") or "").partition(" ")
            if scheme.lower() == "basic":  # simple-salesforce sends the credentials this way
                try:
                    client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
                except ValueError:
                    return _oauth_error("invalid_client", "invalid client credentials")
            if client_id != self.client_id:
                return _oauth_error("invalid_client_id", "client identifier invalid")
            if not hmac.compare_digest((secret or "").encode(), self.client_secret.encode()):
                return _oauth_error("invalid_client", "invalid client credentials")
            return self._issue_token()
        if grant == JWT_GRANT:
            return self._jwt_bearer(form.get("assertion") or "")
        return _oauth_error("unsupported_grant_type", "grant type not supported")

    def _jwt_bearer(self, assertion: str) -> Response:
        if self.jwt_public_key_pem is None:  # no certificate uploaded to the connected app
            return _oauth_error("invalid_grant", "invalid assertion")
        try:
            claims = jwt.decode(
                assertion,
                self.jwt_public_key_pem,
                algorithms=["RS256"],
                audience=list(JWT_AUDIENCES),
                options={"require": ["exp", "iss", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            return _oauth_error("invalid_grant", "expired assertion")
        except jwt.InvalidAudienceError:
            return _oauth_error("invalid_grant", "audience is invalid")
        except jwt.PyJWTError:
            return _oauth_error("invalid_grant", "invalid assertion")
        if claims["iss"] != self.jwt_consumer_key:
            return _oauth_error("invalid_client_id", "client identifier invalid")
        if claims["sub"] != self.jwt_username:
            return _oauth_error("invalid_grant", "user hasn't approved this consumer")
        return self._issue_token()

    def _issue_token(self) -> Response:
        token = f"{self.org_id[:15]}!{secrets.token_urlsafe(48)}"
        issued_at = str(int(time.time() * 1000))
        user_id = self.integration_user_id
        with self._state:
            self._sessions[token] = _Session(user_id)
        signature = hmac.new(self.client_secret.encode(), f"{user_id}{issued_at}".encode(), hashlib.sha256).digest()
        return Response.json(
            200,
            {
                "access_token": token,
                "signature": base64.b64encode(signature).decode(),
                "scope": "api",
                "instance_url": self.url,
                "id": f"https://login.salesforce.com/id/{self.org_id}/{user_id}",
                "token_type": "Bearer",
                "issued_at": issued_at,
            },
        )

    # -- payloads -----------------------------------------------------------------------------------------

    @staticmethod
    def _json_body(request: Request) -> Any:
        try:
            return request.json()
        except ValueError as exc:
            raise _ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}") from None

    def _payload_from_json(self, spec: SObjectSpec, body: Any) -> _Payload:
        """Deserialize a JSON record; unknown fields and values of the wrong type fail the whole request."""
        if not isinstance(body, dict):
            raise _ApiError(400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of {spec.name} from this value")
        payload = _Payload({})
        for key, raw in body.items():
            if key == "attributes":
                continue
            target = spec.field(key)
            if target is not None:
                try:
                    payload.values[target.name] = _coerce(target, raw)
                except (ValueError, TypeError):
                    raise _ApiError(
                        400,
                        "JSON_PARSER_ERROR",
                        f"Cannot deserialize instance of {target.type} from value {raw!r} "
                        "or request may be missing a required field",
                    ) from None
                continue
            lookup = spec.relationship(key)
            if lookup is None:
                raise _ApiError(400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {spec.name}")
            if raw is None:
                payload.values[lookup.name] = None
                continue
            keys = [name for name in raw if name != "attributes"] if isinstance(raw, dict) else []
            if len(keys) != 1:
                raise _ApiError(400, "JSON_PARSER_ERROR", f"{key} must name exactly one external ID field and value")
            payload.refs[lookup.name] = self._reference(lookup, keys[0], raw[keys[0]])
        return payload

    def _reference(self, lookup: FieldSpec, field_name: str, value: Any) -> tuple[str, str]:
        target = self.schema.get(lookup.reference_to or "")
        ext = target.field(field_name) if target else None
        if target is None or ext is None or not ext.external_id:
            raise _ApiError(
                400, "INVALID_FIELD", f"Field name provided, {field_name} is not an External ID or indexed field"
            )
        return ext.name, str(value)

    # -- the write path -----------------------------------------------------------------------------------

    def _index(self, spec: SObjectSpec, record: dict[str, Any], add: bool) -> None:
        if record["IsDeleted"]:
            return  # deleted records match no external ID
        for ext in spec.external_ids:
            value = record.get(ext.name)
            if value is None:
                continue
            ids = self._ext_index[(spec.name, ext.name)].setdefault(value, set())
            if add:
                ids.add(record["Id"])
            else:
                ids.discard(record["Id"])
                if not ids:
                    del self._ext_index[(spec.name, ext.name)][value]

    def _put(
        self,
        spec: SObjectSpec,
        record: dict[str, Any],
        previous: dict[str, Any] | None,
        counted: bool,
        undo: list[tuple[SObjectSpec, str, dict[str, Any] | None, bool]] | None,
    ) -> None:
        if previous is not None:
            self._index(spec, previous, add=False)
        self._records[spec.name][record["Id"]] = record
        self._index(spec, record, add=True)
        if counted:
            self._writes[spec.name] += 1
        if undo is not None:
            undo.append((spec, record["Id"], previous, counted))

    def _rollback(self, undo: list[tuple[SObjectSpec, str, dict[str, Any] | None, bool]]) -> None:
        """Undo writes in reverse order (allOrNone)."""
        for spec, record_id, previous, counted in reversed(undo):
            self._index(spec, self._records[spec.name][record_id], add=False)
            if previous is None:
                del self._records[spec.name][record_id]
            else:
                self._records[spec.name][record_id] = previous
                self._index(spec, previous, add=True)
            if counted:
                self._writes[spec.name] -= 1

    def _matching(self, spec: SObjectSpec, field_name: str, value: str) -> list[str]:
        if field_name == "Id":
            record = self._records[spec.name].get(normalize_id(value))
            return [record["Id"]] if record and not record["IsDeleted"] else []
        return sorted(self._ext_index.get((spec.name, field_name), {}).get(value, ()))

    def _upsert(
        self,
        spec: SObjectSpec,
        ext_name: str,
        value: str,
        payload: _Payload,
        writer: _Writer,
        undo: list[Any] | None,
        update_only: bool = False,
    ) -> tuple[dict[str, Any], bool]:
        """Create or update the record whose external ID field holds the value; returns (record, created)."""
        given = payload.values.get(ext_name)
        if given is not None and given != value:
            raise _RecordError("INVALID_FIELD", f"{ext_name} in the record does not match the value {value}")
        matches = self._matching(spec, ext_name, value)
        if len(matches) > 1:
            raise _Multiple(matches)
        if not matches and (update_only or ext_name == "Id"):
            raise _RecordError("NOT_FOUND", NOT_FOUND_MESSAGE, status=404)
        existing = self._records[spec.name][matches[0]] if matches else None
        if existing is None:
            payload.values[ext_name] = value
        return self._save(spec, payload, existing, writer, undo), existing is None

    def _save(
        self,
        spec: SObjectSpec,
        payload: _Payload,
        existing: dict[str, Any] | None,
        writer: _Writer,
        undo: list[Any] | None,
    ) -> dict[str, Any]:
        """Validate and write one record (create when existing is None); raises _RecordError."""
        if writer.api and self._draw(self._faults.error_rate):
            raise _RecordError("UNABLE_TO_LOCK_ROW", LOCK_MESSAGE)
        if existing is not None and existing["IsDeleted"]:
            raise _RecordError("ENTITY_IS_DELETED", "entity is deleted")
        values = dict(payload.values)
        if "Id" in values:
            given = values.pop("Id")
            if existing is None:
                raise _RecordError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
            if given != existing["Id"]:
                raise _RecordError("INVALID_FIELD", f"Id {given} does not match the record being updated", ["Id"])
        blocked = []
        for name, value in values.items():
            spec_field = spec.field(name)
            assert spec_field is not None  # payloads hold only the sObject's fields
            if existing is None:
                allowed = spec_field.createable
            else:  # a create-only field may be repeated unchanged (a PricebookEntry's Product2Id)
                allowed = spec_field.updateable or (spec_field.createable and existing.get(name) == value)
            if not allowed:
                blocked.append(name)
        if blocked:
            raise _RecordError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(blocked)}. Please check the security settings of this "
                "field and verify that it is read/write for your profile or permission set.",
                blocked,
            )
        for lookup_name, (target_field, target_value) in payload.refs.items():
            lookup = spec.field(lookup_name)
            assert lookup is not None and lookup.reference_to is not None  # _payload_from_json made the pair
            if lookup_name in values:
                raise _RecordError(
                    "INVALID_FIELD",
                    f"Cannot specify both an external ID reference {lookup.relationship} and a salesforce id, "
                    f"{lookup_name}",
                )
            found = self._matching(self.schema[lookup.reference_to], target_field, target_value)
            if len(found) != 1:
                verb = "not found" if not found else "matches more than one record"
                raise _RecordError(
                    "INVALID_FIELD",
                    f"Foreign key external ID: {target_value} {verb} for field {target_field} in entity "
                    f"{lookup.reference_to}",
                )
            values[lookup_name] = found[0]
        merged = dict(existing) if existing is not None else {f.name: f.default for f in spec.fields}
        merged.update(values)
        self._validate(spec, values, merged, existing)
        stamp = self._stamp()
        if existing is None:
            merged.update(Id=self._new_id(spec.key_prefix), CreatedDate=stamp, CreatedById=writer.user_id)
        merged.update(
            LastModifiedDate=stamp, SystemModstamp=stamp, LastModifiedById=writer.user_id, _client=writer.client
        )
        self._put(spec, merged, existing, writer.api, undo)
        return merged

    def _validate(
        self, spec: SObjectSpec, values: dict[str, Any], merged: dict[str, Any], existing: dict[str, Any] | None
    ) -> None:
        """Required fields, lengths, lookups, unique values, the validation rule and price-book rules."""
        missing = [f.name for f in spec.fields if f.required and merged.get(f.name) is None]
        if missing:
            raise _RecordError(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
            )
        for name, value in values.items():
            spec_field = spec.field(name)
            assert spec_field is not None
            if spec_field.type in TEXT_TYPES and value is not None and spec_field.length < len(value):
                raise _RecordError(
                    "STRING_TOO_LONG",
                    f"{name}: data value too large: {value} (max length={spec_field.length})",
                    [name],
                )
            if spec_field.type == "reference" and value is not None and spec_field.reference_to in self.schema:
                target = self.schema[spec_field.reference_to]
                if not (len(value) == 18 and value.isalnum() and value.startswith(target.key_prefix)):
                    raise _RecordError(
                        "FIELD_INTEGRITY_EXCEPTION", f"{name}: id value of incorrect type: {value}", [name]
                    )
                found = self._records[target.name].get(value)
                if found is None or found["IsDeleted"]:
                    raise _RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [name])
            if spec_field.unique and value is not None:
                others = self._ext_index[(spec.name, name)].get(value, set()) - {merged.get("Id")}
                if others:
                    raise _RecordError(
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {name} duplicates value on record with id: {min(others)}",
                        [name],
                    )
        if spec.name in ("Account", "Product2"):
            for term in self._faults.reject_names_containing:
                if term and term.casefold() in (merged.get("Name") or "").casefold():
                    raise _RecordError("FIELD_CUSTOM_VALIDATION_EXCEPTION", f"Name must not contain '{term}'", ["Name"])
        if spec.name == "PricebookEntry" and existing is None:
            self._validate_price(merged)

    def _validate_price(self, entry: dict[str, Any]) -> None:
        live = [e for e in self._records["PricebookEntry"].values() if not e["IsDeleted"]]
        if any(e["Product2Id"] == entry["Product2Id"] and e["Pricebook2Id"] == entry["Pricebook2Id"] for e in live):
            raise _RecordError("DUPLICATE_VALUE", "This price definition already exists in this price book")
        if not self._records["Pricebook2"][entry["Pricebook2Id"]]["IsStandard"]:
            standard = {b["Id"] for b in self._records["Pricebook2"].values() if b["IsStandard"]}
            if not any(e["Product2Id"] == entry["Product2Id"] and e["Pricebook2Id"] in standard for e in live):
                raise _RecordError("STANDARD_PRICE_NOT_DEFINED", "No standard price defined for this product")

    def _delete(
        self, spec: SObjectSpec, record: dict[str, Any], writer: _Writer, undo: list[Any] | None = None
    ) -> None:
        if record["IsDeleted"]:
            raise _RecordError("ENTITY_IS_DELETED", "entity is deleted", status=404)
        stamp = self._stamp()
        deleted = {**record, "IsDeleted": True, "LastModifiedDate": stamp, "SystemModstamp": stamp}
        deleted.update(LastModifiedById=writer.user_id, _client=writer.client)
        self._put(spec, deleted, record, counted=False, undo=undo)

    # -- REST sObject resources ---------------------------------------------------------------------------

    def _sobjects(self, request: Request, version: str, parts: list[str], writer: _Writer) -> Response:
        if not parts:
            _allow(request, "GET")
            described = [self._describe(spec, version, brief=True) for spec in self.schema.values()]
            return Response.json(200, {"encoding": "UTF-8", "maxBatchSize": COLLECTION_LIMIT, "sobjects": described})
        spec = self._known(parts[0])
        rest = parts[1:]
        if not rest:
            _allow(request, "GET", "POST")
            if request.method == "POST":
                record = self._save(spec, self._payload_from_json(spec, self._json_body(request)), None, writer, None)
                return Response.json(201, {"id": record["Id"], "success": True, "errors": []})
            return Response.json(200, {"objectDescribe": self._describe(spec, version, brief=True), "recentItems": []})
        if rest == ["describe"]:
            _allow(request, "GET")
            return Response.json(200, self._describe(spec, version))
        if rest[0] in ("updated", "deleted") and len(rest) == 1:
            _allow(request, "GET")
            return self._changes(request, spec, rest[0])
        if len(rest) == 1:
            return self._by_id(request, version, spec, rest[0], writer)
        if len(rest) == 2:
            return self._by_external_id(request, version, spec, rest[0], rest[1], writer)
        raise _ApiError(404, "NOT_FOUND", NOT_FOUND_MESSAGE)

    def _describe(self, spec: SObjectSpec, version: str, brief: bool = False) -> dict[str, Any]:
        base = f"/services/data/v{version}/sobjects/{spec.name}"
        info: dict[str, Any] = {
            "name": spec.name,
            "label": LABELS[spec.name],
            "keyPrefix": spec.key_prefix,
            "custom": False,
            "createable": True,
            "updateable": True,
            "deletable": True,
            "queryable": True,
            "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"},
        }
        if not brief:
            system = {f.name for f in _system_fields()} | {"Id"}
            info["fields"] = [
                {
                    "name": f.name,
                    "label": f.name.removesuffix("__c").replace("_", " "),
                    "type": f.type,
                    "length": f.length,
                    "externalId": f.external_id,
                    "unique": f.unique,
                    "nillable": not (f.required or f.type == "boolean" or f.name in system),
                    "createable": f.createable,
                    "updateable": f.updateable,
                    "custom": f.name.endswith("__c"),
                    "idLookup": f.name == "Id" or f.external_id,
                    "referenceTo": [f.reference_to] if f.reference_to else [],
                    "relationshipName": f.relationship,
                    "defaultValue": f.default,
                }
                for f in spec.fields
            ]
        return info

    def _row(self, spec: SObjectSpec, record: dict[str, Any], version: str, names: list[str]) -> dict[str, Any]:
        """A record as the API shows it: attributes first, then the fields asked for."""
        row: dict[str, Any] = {"attributes": _attributes(spec.name, record["Id"], version)}
        for name in names:
            relationship, _, sub = name.partition(".")
            if not sub:
                row[name] = record.get(name)
                continue
            lookup = spec.relationship(relationship)
            assert lookup is not None and lookup.reference_to is not None  # checked when the query was bound
            parent = self._records[lookup.reference_to].get(record.get(lookup.name) or "")
            if parent is None:
                row[relationship] = None
            else:
                nested = row.get(relationship) or {
                    "attributes": _attributes(lookup.reference_to, parent["Id"], version)
                }
                nested[sub] = parent.get(sub)
                row[relationship] = nested
        return row

    def _by_id(self, request: Request, version: str, spec: SObjectSpec, record_id: str, writer: _Writer) -> Response:
        _allow(request, "GET", "PATCH", "DELETE")
        record = self._records[spec.name].get(normalize_id(record_id))
        if record is None:
            raise _ApiError(404, "NOT_FOUND", NOT_FOUND_MESSAGE)
        if record["IsDeleted"]:
            raise _ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        if request.method == "GET":
            names = [f.name for f in spec.fields]
            if request.arg("fields"):
                names = [self._field_name(spec, name.strip()) for name in (request.arg("fields") or "").split(",")]
            return Response.json(200, self._row(spec, record, version, names))
        if request.method == "DELETE":
            self._delete(spec, record, writer)
            return Response(204)
        self._save(spec, self._payload_from_json(spec, self._json_body(request)), record, writer, None)
        return Response(204)

    def _field_name(self, spec: SObjectSpec, name: str) -> str:
        spec_field = spec.field(name)
        if spec_field is None:
            raise _ApiError(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {spec.name}")
        return spec_field.name

    def _by_external_id(
        self, request: Request, version: str, spec: SObjectSpec, field_name: str, value: str, writer: _Writer
    ) -> Response:
        _allow(request, "GET", "PATCH", "DELETE")
        ext = spec.field(field_name)
        if ext is None or not (ext.external_id or ext.name == "Id"):
            raise _ApiError(404, "NOT_FOUND", NOT_FOUND_MESSAGE)
        if request.method == "PATCH":
            payload = self._payload_from_json(spec, self._json_body(request))
            update_only = (request.arg("updateOnly") or "").lower() == "true"
            try:
                record, created = self._upsert(spec, ext.name, value, payload, writer, None, update_only)
            except _Multiple as many:
                return Response.json(300, [_attributes(spec.name, i, version)["url"] for i in many.record_ids])
            api = float(version)
            if not created and api <= 45:
                return Response(204)  # before v46 an update answers 204 with no body
            body: dict[str, Any] = {"id": record["Id"], "success": True, "errors": []}
            if api >= 46:
                body["created"] = created
            return Response.json(201 if created else 200, body)
        matches = self._matching(spec, ext.name, value)
        if not matches:
            raise _ApiError(404, "NOT_FOUND", NOT_FOUND_MESSAGE)
        if len(matches) > 1:
            return Response.json(300, [_attributes(spec.name, i, version)["url"] for i in matches])
        record = self._records[spec.name][matches[0]]
        if request.method == "DELETE":
            self._delete(spec, record, writer)
            return Response(204)
        return Response.json(200, self._row(spec, record, version, [f.name for f in spec.fields]))

    def _changes(self, request: Request, spec: SObjectSpec, which: str) -> Response:
        try:  # a '+' in the offset arrives as a space when the client did not encode it
            start = sf_datetime(parse_datetime((request.arg("start") or "").replace(" ", "+")))
            end = sf_datetime(parse_datetime((request.arg("end") or "").replace(" ", "+")))
        except ValueError:
            raise _ApiError(400, "INVALID_INPUT", "start and end must be ISO 8601 date-times") from None
        rows = [r for r in self._records[spec.name].values() if start <= r["SystemModstamp"] <= end]
        if which == "updated":
            return Response.json(200, {"ids": [r["Id"] for r in rows if not r["IsDeleted"]], "latestDateCovered": end})
        earliest = min((r["CreatedDate"] for r in self._records[spec.name].values()), default=start)
        deleted = [{"id": r["Id"], "deletedDate": r["SystemModstamp"]} for r in rows if r["IsDeleted"]]
        return Response.json(
            200, {"deletedRecords": deleted, "earliestDateAvailable": earliest, "latestDateCovered": end}
        )

    # -- sObject Collections ------------------------------------------------------------------------------

    def _collections(self, request: Request, parts: list[str], writer: _Writer) -> Response:
        """Collections: POST creates, PATCH updates by Id, DELETE ?ids= deletes; PATCH {SObject}/{field} upserts."""
        if parts:
            _allow(request, "PATCH")
            spec = self._known(parts[0])
            ext = spec.field(parts[1])
            if ext is None or not ext.external_id:
                raise _ApiError(
                    400,
                    "INVALID_FIELD",
                    f"Field name provided, {parts[1]} is not an External ID or indexed field for {spec.name}",
                )
            records, all_or_none = self._collection_body(request)
            typed = [self._typed_record(record, spec) for record in records]
            seen = Counter(payload.values.get(ext.name) for _, _, payload in typed)

            def upsert(index: int, undo: list[Any]) -> dict[str, Any]:
                sobject_type, _, payload = typed[index]
                value = payload.values.get(ext.name)
                if sobject_type.lower() != spec.name.lower():
                    raise _RecordError("INVALID_TYPE", f"Record of type {sobject_type} in a {spec.name} collection")
                if value is None:
                    raise _RecordError("MISSING_ARGUMENT", f"{ext.name} not specified")
                if seen[value] > 1:
                    raise _RecordError("DUPLICATE_VALUE", f"Duplicate external id specified: {value}", [ext.name])
                record, created = self._upsert(spec, ext.name, value, payload, writer, undo)
                return {"id": record["Id"], "success": True, "errors": [], "created": created}

            return Response.json(200, self._each(len(typed), upsert, all_or_none))
        _allow(request, "POST", "PATCH", "DELETE")
        if request.method == "DELETE":
            ids = [normalize_id(i.strip()) for i in (request.arg("ids") or "").split(",") if i.strip()]
            if len(ids) > COLLECTION_LIMIT:
                raise _ApiError(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot delete more than 200 records")

            def delete(index: int, undo: list[Any]) -> dict[str, Any]:
                spec, record = self._by_prefix(ids[index])
                self._delete(spec, record, writer, undo)
                return {"id": record["Id"], "success": True, "errors": []}

            all_or_none = (request.arg("allOrNone") or "").lower() == "true"
            return Response.json(200, self._each(len(ids), delete, all_or_none))
        records, all_or_none = self._collection_body(request)
        typed = [self._typed_record(record, None) for record in records]

        def create_or_update(index: int, undo: list[Any]) -> dict[str, Any]:
            _, spec, payload = typed[index]
            existing = None
            if request.method == "PATCH":
                record_id = payload.values.pop("Id", None)
                if record_id is None:
                    raise _RecordError("MISSING_ARGUMENT", "Id not specified in an update call")
                found_spec, existing = self._by_prefix(record_id)
                if found_spec is not spec:
                    raise _RecordError("INVALID_TYPE", f"Id {record_id} is not a {spec.name}", ["Id"])
            record = self._save(spec, payload, existing, writer, undo)
            return {"id": record["Id"], "success": True, "errors": []}

        return Response.json(200, self._each(len(typed), create_or_update, all_or_none))

    def _collection_body(self, request: Request) -> tuple[list[Any], bool]:
        body = self._json_body(request)
        records = body.get("records") if isinstance(body, dict) else None
        all_or_none = body.get("allOrNone", False) if isinstance(body, dict) else False
        if not isinstance(records, list) or not isinstance(all_or_none, bool):
            raise _ApiError(400, "JSON_PARSER_ERROR", "Expected an object with a 'records' list and 'allOrNone'")
        if len(records) > COLLECTION_LIMIT:
            raise _ApiError(
                400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call"
            )
        return records, all_or_none

    def _typed_record(self, record: Any, url_spec: SObjectSpec | None) -> tuple[str, SObjectSpec, _Payload]:
        """A Collections record: its attributes.type, its sObject and its payload (request-level errors raise).

        An upsert names its sObject in the URL (url_spec) and reads every record as one; a record of another
        type then fails on its own. Create and update read each record as the type it names."""
        attributes = record.get("attributes") if isinstance(record, dict) else None
        if not isinstance(attributes, dict) or not attributes.get("type"):
            raise _ApiError(400, "INVALID_TYPE", "Must send a concrete entity type.")
        sobject_type = str(attributes["type"])
        spec = url_spec
        if spec is None:
            try:
                spec = self._spec(sobject_type)
            except KeyError:
                raise _ApiError(400, "INVALID_TYPE", f"sObject type '{sobject_type}' is not supported.") from None
        return sobject_type, spec, self._payload_from_json(spec, record)

    def _by_prefix(self, record_id: str) -> tuple[SObjectSpec, dict[str, Any]]:
        """The sObject and record of an Id, found through its key prefix."""
        record_id = normalize_id(record_id)
        spec = next((t for t in self.schema.values() if record_id.startswith(t.key_prefix)), None)
        record = self._records[spec.name].get(record_id) if spec else None
        if spec is None or record is None:
            raise _RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["Id"])
        if record["IsDeleted"]:
            raise _RecordError("ENTITY_IS_DELETED", "entity is deleted")
        return spec, record

    def _each(self, count: int, write: Callable[[int, list[Any]], dict[str, Any]], all_or_none: bool) -> list[Any]:
        """Per-record results in input order; with allOrNone one failure rolls every write back."""
        undo: list[Any] = []
        results: list[dict[str, Any]] = []
        for index in range(count):
            try:
                results.append(write(index, undo))
            except _RecordError as error:
                results.append({"success": False, "errors": [error.collection_error()]})
        if all_or_none and any(not result["success"] for result in results):
            self._rollback(undo)
            results = [
                result if not result["success"] else {"success": False, "errors": [dict(ROLLED_BACK)]}
                for result in results
            ]
        return results

    # -- SOQL ---------------------------------------------------------------------------------------------

    def _resolve(self, spec: SObjectSpec, name: str) -> tuple[str, str]:
        relationship, _, sub = name.partition(".")
        if sub:
            lookup = spec.relationship(relationship)
            target = self.schema.get(lookup.reference_to or "") if lookup else None
            if lookup is None or target is None:
                raise soql.SoqlError(f"Didn't understand relationship '{relationship}' in field path.", "INVALID_FIELD")
            found = target.field(sub)
            if found is None:
                raise soql.SoqlError(f"No such column '{sub}' on entity '{target.name}'.", "INVALID_FIELD")
            return f"{lookup.relationship}.{found.name}", found.kind
        found = spec.field(name)
        if found is None:
            raise soql.SoqlError(
                f"No such column '{name}' on entity '{spec.name}'. If you are attempting to use a custom field, be "
                "sure to append the '__c' after the custom field name. Please reference your WSDL or the describe "
                "call for the appropriate names.",
                "INVALID_FIELD",
            )
        return found.name, found.kind

    def _value(self, spec: SObjectSpec, record: dict[str, Any], name: str) -> Any:
        relationship, _, sub = name.partition(".")
        if not sub:
            return record.get(name)
        lookup = spec.relationship(relationship)
        assert lookup is not None and lookup.reference_to is not None
        parent = self._records[lookup.reference_to].get(record.get(lookup.name) or "")
        return parent.get(sub) if parent else None

    def _query(self, request: Request, version: str, endpoint: str, locator: str | None, session: _Session) -> Response:
        if locator is not None:
            cursor, _, offset_text = locator.rpartition("-")
            if cursor not in self._cursors or not offset_text.isdigit():
                raise _ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            return self._page(version, endpoint, cursor, int(offset_text))
        text = request.arg("q")
        if not text:
            raise _ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        try:
            parsed = soql.parse(text)
            try:
                spec = self._spec(parsed.sobject)
            except KeyError:
                raise soql.SoqlError(
                    f"sObject type '{parsed.sobject}' is not supported. If you are attempting to use a custom "
                    "object, be sure to append the '__c' after the entity name. Please reference your WSDL or the "
                    "describe call for the appropriate names.",
                    "INVALID_TYPE",
                ) from None
            query = soql.bind(parsed, lambda name: self._resolve(spec, name), normalize_id)
        except soql.SoqlError as error:
            raise _ApiError(400, error.error_code, error.message) from None
        candidates = [r for r in self._records[spec.name].values() if endpoint == "queryAll" or not r["IsDeleted"]]
        chosen = soql.select(query, candidates, lambda record, name: self._value(spec, record, name))
        if query.count_only:
            return Response.json(200, {"totalSize": len(chosen), "done": True, "records": []})
        rows = [self._row(spec, record, version, list(query.fields)) for record in chosen]
        batch = QUERY_BATCH[1]
        options = request.headers.get("Sforce-Query-Options") or ""
        size = re.search(r"batchSize\s*=\s*(\d+)", options)
        if size:
            batch = min(max(int(size.group(1)), QUERY_BATCH[0]), QUERY_BATCH[1])
        if len(rows) <= batch:
            return Response.json(200, {"totalSize": len(rows), "done": True, "records": rows})
        cursor = self._new_id("01g")
        owned = [key for key, (user, _, _) in self._cursors.items() if user == session.user_id]
        for key in owned[: max(0, len(owned) - CURSORS_PER_USER + 1)]:
            del self._cursors[key]
        self._cursors[cursor] = (session.user_id, rows, batch)
        return self._page(version, endpoint, cursor, 0)

    def _page(self, version: str, endpoint: str, cursor: str, offset: int) -> Response:
        _, rows, batch = self._cursors[cursor]
        body: dict[str, Any] = {"totalSize": len(rows), "done": offset + batch >= len(rows)}
        if body["done"]:
            del self._cursors[cursor]
        else:
            body["nextRecordsUrl"] = f"/services/data/v{version}/{endpoint}/{cursor}-{offset + batch}"
        body["records"] = rows[offset : offset + batch]
        return Response.json(200, body)

    # -- Bulk API 2.0 ingest ------------------------------------------------------------------------------

    def _bulk(self, request: Request, version: str, parts: list[str], writer: _Writer) -> Response:
        if not parts:
            _allow(request, "GET", "POST")
            if request.method == "GET":
                infos = [self._job_info(job, full=True) for job in self._jobs.values()]
                return Response.json(200, {"done": True, "records": infos, "nextRecordsUrl": None})
            return self._create_job(request, version, writer)
        job = self._jobs.get(parts[0])
        if job is None:
            raise _ApiError(404, "NOT_FOUND", NOT_FOUND_MESSAGE)
        if len(parts) == 1:
            _allow(request, "GET", "PATCH", "DELETE")
            if request.method == "GET":
                return Response.json(200, self._job_info(job, full=True))
            if request.method == "DELETE":
                if job.info["state"] == "Open":
                    raise _ApiError(400, "INVALIDJOBSTATE", "Close or abort the job before deleting it")
                del self._jobs[parts[0]]
                return Response(204)
            return self._change_job(request, job)
        if parts[1:] == ["batches"]:
            _allow(request, "PUT")
            return self._upload(request, job)
        if len(parts) == 2 and parts[1] in (SUCCESSFUL_RESULTS, FAILED_RESULTS, *UNPROCESSED_RESULTS):
            _allow(request, "GET")
            return self._results(job, parts[1])
        raise _ApiError(404, "NOT_FOUND", NOT_FOUND_MESSAGE)

    def _create_job(self, request: Request, version: str, writer: _Writer) -> Response:
        body = self._json_body(request)
        if not isinstance(body, dict):
            raise _ApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
        operation = body.get("operation")
        if operation not in BULK_OPERATIONS:
            raise _ApiError(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
        try:
            spec = self._spec(str(body.get("object")))
        except KeyError:
            raise _ApiError(400, "INVALIDJOB", f"InvalidJob : Unable to find object: {body.get('object')}") from None
        delimiter, line_ending = body.get("columnDelimiter", "COMMA"), body.get("lineEnding", "LF")
        if body.get("contentType", "CSV") != "CSV" or delimiter not in DELIMITERS or line_ending not in LINE_ENDINGS:
            raise _ApiError(400, "INVALIDJOB", "InvalidJob : Unsupported contentType, columnDelimiter or lineEnding")
        if operation == "upsert" and not body.get("externalIdFieldName"):
            raise _ApiError(400, "INVALIDJOB", f"InvalidJob : External ID was blank for {spec.name}")
        job_id = self._new_id("750")
        stamp = self._stamp()
        info: dict[str, Any] = {
            "id": job_id,
            "operation": operation,
            "object": spec.name,
            "createdById": writer.user_id,
            "createdDate": stamp,
            "systemModstamp": stamp,
            "state": "Open",
        }
        if operation == "upsert":
            info["externalIdFieldName"] = body["externalIdFieldName"]
        info.update(
            concurrencyMode="Parallel",
            contentType="CSV",
            apiVersion=float(version),
            contentUrl=f"services/data/v{version}/jobs/ingest/{job_id}/batches",
            lineEnding=line_ending,
            columnDelimiter=delimiter,
        )
        self._jobs[job_id] = _Job(info, writer.user_id, writer.client)
        return Response.json(200, dict(info))

    def _job_info(self, job: _Job, full: bool) -> dict[str, Any]:
        info = dict(job.info)
        if full:
            processed = len(job.successful) + len(job.failed)
            info.update(
                jobType="V2Ingest",
                numberRecordsProcessed=processed,
                numberRecordsFailed=len(job.failed),
                retries=0,
                totalProcessingTime=0,
                apiActiveProcessingTime=0,
                apexProcessingTime=0,
            )
        else:
            info.pop("errorMessage", None)
        return info

    def _upload(self, request: Request, job: _Job) -> Response:
        if job.info["state"] != "Open":
            raise _ApiError(409, "INVALIDJOBSTATE", f"Job is in state {job.info['state']}, not Open")
        if job.data is not None:
            raise _ApiError(
                400,
                "BULK_API_ERROR",
                f"Found multiple contents for job: <{job.info['id']}>, please 'Close' / 'Abort' / 'Delete' the "
                "current Job then create a new Job and make sure the content is uploaded only once.",
            )
        job.data = request.body.decode("utf-8-sig")
        self._bulk_batches += 1
        return Response(201)

    def _change_job(self, request: Request, job: _Job) -> Response:
        body = self._json_body(request)
        state = body.get("state") if isinstance(body, dict) else None
        current = job.info["state"]
        if state == "UploadComplete" and current == "Open":
            job.info["state"] = "UploadComplete"
            answer = self._job_info(job, full=False)
            self._process(job)  # synchronously: the next GET already sees JobComplete (or Failed)
            return Response.json(200, answer)
        if state == "Aborted" and current in ("Open", "UploadComplete", "InProgress"):
            job.info["state"] = "Aborted"
            job.info["systemModstamp"] = self._stamp()
            rows = self._csv_rows(job)
            if rows:
                job.header, job.unprocessed = rows[0], rows[1:]
            return Response.json(200, self._job_info(job, full=False))
        raise _ApiError(400, "INVALIDJOBSTATE", f"Changing the state of a job from {current} to {state} is not allowed")

    def _csv_rows(self, job: _Job) -> list[list[str]]:
        reader = csv.reader(io.StringIO(job.data or "", newline=""), delimiter=DELIMITERS[job.info["columnDelimiter"]])
        return [row for row in reader if row]

    def _process(self, job: _Job) -> None:
        spec = self.schema[job.info["object"]]
        rows = self._csv_rows(job)
        job.header, data = (rows[0], rows[1:]) if rows else ([], [])
        writer = _Writer(job.user_id, job.client, api=True)
        try:
            if not rows:
                raise _JobFailed("InvalidBatch : No data was uploaded for this job")
            columns = self._csv_columns(spec, job.header)
            ext_name = self._bulk_key(spec, job)
        except _JobFailed as failure:
            job.info.update(state="Failed", errorMessage=str(failure), systemModstamp=self._stamp())
            job.unprocessed = data
            return
        keys = [self._csv_payload(spec, columns, row, strict=False).values.get(ext_name) for row in data]
        seen = Counter(key for key in keys if key is not None)
        for row, key in zip(data, keys, strict=True):
            try:
                payload = self._csv_payload(spec, columns, row, strict=True)
                if key is not None and seen[key] > 1 and job.info["operation"] == "upsert":
                    raise _RecordError("DUPLICATE_VALUE", f"Duplicate external id specified: {key}", [ext_name])
                record_id, created = self._bulk_write(spec, job, ext_name, payload, writer)
                job.successful.append([record_id, "true" if created else "false", *row])
            except _RecordError as error:
                job.failed.append(["", error.bulk_text(), *row])
        # Salesforce processes a job in parallel chunks, so results come back in no particular order.
        shuffle = random.Random(job.info["id"])
        shuffle.shuffle(job.successful)
        shuffle.shuffle(job.failed)
        job.info.update(state="JobComplete", systemModstamp=self._stamp())

    def _bulk_key(self, spec: SObjectSpec, job: _Job) -> str:
        """The field that identifies rows: the external ID for upsert, Id for update and delete."""
        if job.info["operation"] != "upsert":
            return "Id"
        ext = spec.field(job.info["externalIdFieldName"])
        if ext is None or not (ext.external_id or ext.name == "Id"):
            raise _JobFailed(
                f"InvalidBatch : Field name provided, {job.info['externalIdFieldName']} is not an External ID or "
                f"indexed field for {spec.name}"
            )
        return ext.name

    def _csv_columns(self, spec: SObjectSpec, header: list[str]) -> list[tuple[str, str | None]]:
        """Per column: the field it sets, and for `Parent.MDM_Golden_ID__c` the parent's external ID field."""
        columns: list[tuple[str, str | None]] = []
        for column in header:
            relationship, _, sub = column.partition(".")
            if sub:
                lookup = spec.relationship(relationship)
                target = self.schema.get(lookup.reference_to or "") if lookup else None
                ext = target.field(sub) if target else None
                if lookup is None or ext is None or not ext.external_id:
                    raise _JobFailed(f"InvalidBatch : Field name not found : {column}")
                columns.append((lookup.name, ext.name))
            else:
                found = spec.field(column)
                if found is None:
                    raise _JobFailed(f"InvalidBatch : Field name not found : {column}")
                columns.append((found.name, None))
        names = [name for name, _ in columns]
        if len(set(names)) != len(names):
            raise _JobFailed("InvalidBatch : Duplicate field name in the header")
        return columns

    def _csv_payload(
        self, spec: SObjectSpec, columns: list[tuple[str, str | None]], row: list[str], strict: bool
    ) -> _Payload:
        """One CSV row: empty cells leave a field alone, `#N/A` nulls it; bad values fail the row when strict."""
        if strict and len(row) > len(columns):
            raise _RecordError("INVALID_FIELD", "The row has more values than the header has columns")
        payload = _Payload({})
        for (name, ext_name), cell in zip(columns, row, strict=False):
            if cell == "":
                continue
            if cell == "#N/A":
                payload.values[name] = None
            elif ext_name is not None:
                payload.refs[name] = (ext_name, cell)
            else:
                spec_field = spec.field(name)
                assert spec_field is not None
                try:
                    payload.values[name] = _coerce(spec_field, cell)
                except (ValueError, TypeError):
                    if strict:
                        raise _RecordError(
                            "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{name}: value not of required type: {cell}", [name]
                        ) from None
        return payload

    def _bulk_write(
        self, spec: SObjectSpec, job: _Job, key: str, payload: _Payload, writer: _Writer
    ) -> tuple[str, bool]:
        operation = job.info["operation"]
        if operation == "insert":
            return self._save(spec, payload, None, writer, None)["Id"], True
        value = payload.values.get(key)
        if operation == "upsert":
            if value is None and key == "Id":
                payload.values.pop("Id", None)
                return self._save(spec, payload, None, writer, None)["Id"], True
            if value is None:
                raise _RecordError("MISSING_ARGUMENT", f"{key} not specified")
            record, created = self._upsert(spec, key, value, payload, writer, None)
            return record["Id"], created
        if value is None:
            raise _RecordError("MISSING_ARGUMENT", f"Id not specified in an {operation} call")
        found = self._records[spec.name].get(value)
        if found is None:
            raise _RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        record = found
        if operation == "update":
            return self._save(spec, payload, record, writer, None)["Id"], False
        self._delete(spec, record, writer)
        if operation == "hardDelete":
            self._index(spec, self._records[spec.name][value], add=False)
            del self._records[spec.name][value]
        return value, False

    def _results(self, job: _Job, which: str) -> Response:
        if which == SUCCESSFUL_RESULTS:
            header, rows = ["sf__Id", "sf__Created", *job.header], job.successful
        elif which == FAILED_RESULTS:
            header, rows = ["sf__Id", "sf__Error", *job.header], job.failed
        else:
            header, rows = list(job.header), job.unprocessed
        buffer = io.StringIO()
        writer = csv.writer(
            buffer,
            delimiter=DELIMITERS[job.info["columnDelimiter"]],
            lineterminator=LINE_ENDINGS[job.info["lineEnding"]],
            quoting=csv.QUOTE_ALL,
        )
        if header:
            writer.writerow(header)
        writer.writerows(rows)
        return Response.text(200, buffer.getvalue(), "text/csv")

    # -- /__simulator__/ ----------------------------------------------------------------------------------

    def _control(self, request: Request) -> Response:
        """Inspection and control for a simulator in another process; not Salesforce API calls."""
        parts = [unquote(part) for part in request.path.strip("/").split("/")[1:]]
        try:
            if parts == ["stats"] and request.method == "GET":
                return Response.json(200, self.stats())
            if parts == ["faults"] and request.method in ("GET", "POST"):
                if request.method == "POST":
                    self._set_faults(fault_changes(SalesforceFaults, request.json()))
                return Response.json(200, asdict(self.faults))
            if parts == ["reset"] and request.method == "POST":
                self.reset()
                return Response.json(200, self.stats())
            if parts == ["expire-sessions"] and request.method == "POST":
                self.expire_sessions()
                return Response.json(200, {"expired": True})
            if len(parts) == 2 and parts[0] == "records" and request.method in ("GET", "POST"):
                if request.method == "POST":
                    return Response.json(201, self.user_create(parts[1], request.json()))
                return Response.json(200, self.records(parts[1]))
            if len(parts) == 3 and parts[0] == "records" and request.method == "PATCH":
                return Response.json(200, self.user_edit(parts[1], parts[2], request.json()))
        except (KeyError, ValueError, TypeError) as error:
            return Response.json(400, {"error": str(error)})
        return Response.json(404, {"error": f"no simulator resource {request.method} {request.path}"})

    def _set_faults(self, checked: dict[str, Any]) -> None:
        """Change the faults in force in place (a caller may hold them); the draws restart from the seed."""
        with self._state:
            for name, value in checked.items():
                setattr(self._faults, name, value)
            self._dice.restart()


def _attributes(sobject: str, record_id: str, version: str) -> dict[str, str]:
    return {"type": sobject, "url": f"/services/data/v{version}/sobjects/{sobject}/{record_id}"}


def _allow(request: Request, *methods: str) -> None:
    if request.method not in methods:
        raise _ApiError(
            405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed. Allowed are {','.join(methods)}"
        )
