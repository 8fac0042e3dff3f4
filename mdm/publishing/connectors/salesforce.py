"""Salesforce: upsert golden records by an external-ID field holding the golden ID; pull changes back by SystemModstamp.

The connector fetches its own OAuth token (client credentials or JWT bearer) from a configurable token URL, because
simple-salesforce's login URLs are fixed to *.salesforce.com, and hands the token to simple-salesforce in its direct
(session_id + instance_url) mode. A batch is sent level by level of its hierarchy (parents first): a level of up to
`bulk_threshold` records goes through sObject Collections (200 records per call), a larger one through Bulk API 2.0.
Every call says `Sforce-Call-Options: client=<client_name>`, so Salesforce's changeOrigin lets the inbound pull
recognise our own writes.

Options (TargetConfig.options), all optional:
- sobjects: entity type -> sObject, default {"customer": "Account", "product": "Product2"}
- external_id_field: default "MDM_Golden_ID__c"; parent_relationship: default "Parent"
- api_version: default "59.0"; token_url: default {base_url}/services/oauth2/token; audience (JWT bearer)
- bulk_threshold: default 2000; bulk_poll_seconds: default 2.0; bulk_timeout_seconds: default 900
- limit_slowdown_fraction (0.8), slowdown_seconds (0.5), limit_pause_fraction (0.95), limit_pause_seconds (3600)
- pull_fields: sObject -> field names for the pull; query_batch_size: page size of the pull (200..2000)
"""

import contextlib
import csv
import functools
import io
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import jwt
import requests
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.bulk2 import Operation, _Bulk2Client
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceOperationError,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

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

T = TypeVar("T")

COLLECTION_SIZE = 200  # sObject Collections take at most 200 records per call
DEFAULT_SOBJECTS = {"customer": "Account", "product": "Product2"}
DEFAULT_PULL_FIELDS: dict[str, tuple[str, ...]] = {
    "Account": (
        "Name",
        "ParentId",
        "AccountNumber",
        "Phone",
        "Website",
        "BillingStreet",
        "BillingCity",
        "BillingPostalCode",
        "BillingCountry",
    ),
    "Product2": ("Name", "ProductCode", "Description", "IsActive", "Family"),
}
# Salesforce error codes that say "try again later" rather than "the data is wrong".
TRANSIENT_CODES = frozenset(
    {
        "UNABLE_TO_LOCK_ROW",
        "SERVER_UNAVAILABLE",
        "REQUEST_RUNNING_TOO_LONG",
        "QUERY_TIMEOUT",
        "UNKNOWN_EXCEPTION",
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    }
)
BULK_NULL = "#N/A"  # Bulk API's CSV way of nulling a field (an empty cell leaves it unchanged)
# A Bulk job takes 150 MB after base64, so about 100 MB of CSV; stay below it, quotes and all.
BULK_MAX_BYTES = 90 * 1024 * 1024
# Configured names go into SOQL as they are, so they must look like API names (Parent.Name included).
_SOQL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")


class _Rejected(Exception):
    """A whole call the target refused for the records' sake (400, 404, a failed Bulk job): a failure per record."""

    def __init__(self, failure: Failure):
        super().__init__(failure.message)
        self.failure = failure


class _TargetSession(requests.Session):
    """A requests session that gives every request the target's timeout (simple-salesforce's Bulk calls pass none)."""

    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        """Send the request with the default timeout unless the caller gave one."""
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)


class SalesforceConnector:
    """Publishes golden records to one Salesforce org and pulls the org's changes back."""

    def __init__(self, config: TargetConfig):
        self.config = config
        options = config.options
        self.sobjects: dict[str, str] = dict(options.get("sobjects") or DEFAULT_SOBJECTS)
        self.external_id_field: str = options.get("external_id_field") or "MDM_Golden_ID__c"
        self.parent_relationship: str = options.get("parent_relationship") or "Parent"
        self.api_version: str = str(options.get("api_version") or "59.0").lstrip("v")
        self.bulk_threshold = int(options.get("bulk_threshold", 2000))
        self.bulk_poll_seconds = float(options.get("bulk_poll_seconds", 2.0))
        self.bulk_timeout_seconds = float(options.get("bulk_timeout_seconds", 900))
        self.slowdown_fraction = float(options.get("limit_slowdown_fraction", 0.8))
        self.slowdown_seconds = float(options.get("slowdown_seconds", 0.5))
        self.pause_fraction = float(options.get("limit_pause_fraction", 0.95))
        self.pause_seconds = float(options.get("limit_pause_seconds", 3600))
        self.query_batch_size: int | None = options.get("query_batch_size")
        # The last daily API usage Salesforce reported (used, allocation), from Sforce-Limit-Info.
        self.api_usage: tuple[int, int] | None = None
        self.sleep: Callable[[float], None] = time.sleep  # replaceable, so tests can watch the slowdown
        self._session = _TargetSession(config.timeout)
        self._session.verify = config.ca_bundle or True
        # REQUESTS_CA_BUNDLE in the environment would override `verify` otherwise.
        self._session.trust_env = False
        self._session.headers["Sforce-Call-Options"] = f"client={config.client_name}"
        # A hook sees every response, including Bulk API ones that simple-salesforce does not parse the header of.
        self._session.hooks["response"].append(self._note_limits)
        self._sf: Salesforce | None = None
        self._standard_pricebook_id: str | None = None

    # --- the Connector protocol -------------------------------------------------------------------------------

    def deliver(self, entity_type: str, records: list[OutboundRecord]) -> list[DeliveryResult]:
        """Upsert the records by external ID, parents before children; one result per record, in order.

        The batch is split into hierarchy levels (a record whose parent is in the batch goes after it); a level of
        up to `bulk_threshold` records goes through sObject Collections in calls of 200, a larger one through one
        Bulk API 2.0 job. Products with `related["list_price"]` then get an active standard price-book entry.

        Raises TargetUnavailable or TransientError when the target took none of the records. Once part of the batch
        is in Salesforce the results are returned instead, and records not sent get a failure: TECHNICAL after a
        timeout or 5xx, OUTAGE after an auth or limit refusal (the relay pauses the target when it sees one).
        Limits: above `limit_slowdown_fraction` of the daily API allocation (Sforce-Limit-Info) each call waits
        `slowdown_seconds` first; above `limit_pause_fraction` no further call is made and the records not yet sent
        get Failure(OUTAGE, "REQUEST_LIMIT_EXCEEDED"), or TargetUnavailable is raised when none was sent.
        """
        if not records:
            return []
        sobject = self.sobjects.get(entity_type)
        if sobject is None:
            message = f"No Salesforce object is configured for entity type {entity_type!r} (options sobjects)"
            return failed(records, Failure(FailureKind.BUSINESS, "NO_SOBJECT", message))
        outcome: list[DeliveryResult | None] = [None] * len(records)
        for mode, indices in self._plan(records):
            chunk = [records[i] for i in indices]
            try:
                if mode == "bulk":
                    results = self._upsert_bulk(sobject, chunk)
                elif mode == "by_id":
                    results = self._update_by_id(sobject, chunk)
                else:
                    results = self._upsert_collection(sobject, chunk)
            except _Rejected as exc:
                results = failed(chunk, exc.failure)
            except (TargetUnavailable, TransientError) as exc:
                if all(result is None for result in outcome):
                    raise
                _fail_unsent(outcome, records, exc)
                break
            for index, result in zip(indices, results, strict=True):
                outcome[index] = result
        if sobject == "Product2":
            self._sync_standard_prices(records, outcome)
        return [result for result in outcome if result is not None]

    def test_connection(self) -> list[str]:
        """What is wrong with the configuration, in words a person can act on; empty when all is well."""
        try:
            self._authenticate()
        except (TargetUnavailable, TransientError) as exc:
            return [exc.message]
        problems: list[str] = []
        field_name = self.external_id_field
        for sobject in dict.fromkeys(self.sobjects.values()):
            try:
                describe = self._call(functools.partial(_describe, sobject=sobject))
            except _Rejected as exc:
                if exc.failure.code == "NOT_FOUND":
                    problems.append(f"Salesforce has no object {sobject}, or the integration user cannot see it")
                else:
                    problems.append(f"Describing {sobject} failed: {exc.failure.code}: {exc.failure.message}")
                continue
            except (TargetUnavailable, TransientError) as exc:
                problems.append(f"Describing {sobject} failed: {exc.message}")
                break
            fields = {str(item.get("name", "")).lower(): item for item in (describe or {}).get("fields", [])}
            found = fields.get(field_name.lower())
            if found is None:
                problems.append(f"{sobject} has no field {field_name}")
            elif not found.get("externalId"):
                problems.append(f"{sobject}.{field_name} is not marked External ID")
        return problems

    def pull(self, entity_type: str, since: datetime) -> Iterator[PulledRecord]:
        """Records changed on the target at or after `since`, oldest first, one SOQL page at a time."""
        sobject = self.sobjects.get(entity_type)
        if sobject is None:
            raise ValueError(f"No Salesforce object is configured for entity type {entity_type!r}")
        pull_fields = (self.config.options.get("pull_fields") or {}).get(sobject) or DEFAULT_PULL_FIELDS.get(
            sobject, ("Name",)
        )
        names = list(dict.fromkeys(["Id", self.external_id_field, *pull_fields, "SystemModstamp"]))
        bad = [name for name in [sobject, *names] if not _SOQL_NAME.match(name)]
        if bad:
            raise ValueError(f"Not a Salesforce field or object name: {', '.join(bad)}")
        soql = format_soql(
            "SELECT {names:literal} FROM {sobject:literal} WHERE SystemModstamp >= {since:literal} "
            "ORDER BY SystemModstamp, Id",
            names=", ".join(names),
            sobject=sobject,
            since=_soql_datetime(since),
        )
        headers = {"Sforce-Query-Options": f"batchSize={self.query_batch_size}"} if self.query_batch_size else {}
        try:
            page = self._call(lambda sf: sf.query(soql, headers=headers))
            while True:
                for row in page.get("records", []):
                    yield self._pulled(row)
                if page.get("done", True):
                    return
                next_url = page["nextRecordsUrl"]
                page = self._call(functools.partial(_query_more, next_url=next_url, headers=headers))
        except _Rejected as exc:
            # A refused query is a configuration problem (a pull field that does not exist): nothing to retry soon.
            raise TargetUnavailable(
                f"Salesforce refused the pull query on {sobject}: {exc.failure.code}: {exc.failure.message}",
                code=exc.failure.code,
            ) from exc

    # --- authentication and calls -----------------------------------------------------------------------------

    def _token_url(self) -> str:
        return self.config.options.get("token_url") or f"{self.config.base_url.rstrip('/')}/services/oauth2/token"

    def _token_form(self) -> dict[str, str]:
        """The token request's form for the configured OAuth flow."""
        credentials = self.config.credentials

        def credential(name: str) -> str:
            value = credentials.get(name)
            if not value:
                raise TargetUnavailable(
                    f"The credential {name!r} is not set for {self.config.auth}", code="MISSING_CREDENTIAL"
                )
            return value

        if self.config.auth == "client_credentials":
            return {
                "grant_type": "client_credentials",
                "client_id": credential("client_id"),
                "client_secret": credential("client_secret"),
            }
        if self.config.auth == "jwt_bearer":
            claims = {
                "iss": credential("consumer_key"),
                "sub": credential("username"),
                "aud": self.config.options.get("audience") or "https://login.salesforce.com",
                "exp": int((datetime.now(UTC) + timedelta(minutes=3)).timestamp()),
            }
            try:
                assertion = jwt.encode(claims, credential("private_key_pem"), algorithm="RS256")
            except (ValueError, TypeError, jwt.PyJWTError) as exc:
                raise TargetUnavailable(
                    f"The private key for the JWT bearer flow cannot sign: {exc}", code="INVALID_PRIVATE_KEY"
                ) from exc
            return {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
        raise TargetUnavailable(
            f"Salesforce targets authenticate with client_credentials or jwt_bearer, not {self.config.auth!r}",
            code="UNSUPPORTED_AUTH",
        )

    def _authenticate(self) -> Salesforce:
        """Fetch a new access token and build the simple-salesforce client on it."""
        url = self._token_url()
        form = self._token_form()
        try:
            response = self._session.post(url, data=form, headers={"Accept": "application/json"})
        except requests.exceptions.SSLError as exc:
            raise TargetUnavailable(
                f"The TLS certificate of {url} is not trusted ({_reason(exc)}): give the target the CA bundle "
                "that signed it, or fix the server's certificate",
                code="TLS_ERROR",
            ) from exc
        except requests.Timeout as exc:
            raise TransientError(
                f"The token URL {url} did not answer within {self.config.timeout:g} s", code="TIMEOUT"
            ) from exc
        except requests.RequestException as exc:
            raise TransientError(f"Cannot reach the token URL {url}: {_reason(exc)}", code="CONNECTION_ERROR") from exc
        payload = _json_or_none(response)
        if response.status_code == 200 and isinstance(payload, dict) and payload.get("access_token"):
            self._sf = Salesforce(
                session_id=payload["access_token"],
                instance_url=payload.get("instance_url") or self.config.base_url,
                session=self._session,
                version=self.api_version,
            )
            return self._sf
        if response.status_code >= 500:
            raise TransientError(
                f"The token URL {url} answered HTTP {response.status_code}", code=f"HTTP_{response.status_code}"
            )
        if isinstance(payload, dict) and payload.get("error"):
            error = str(payload["error"])
            description = payload.get("error_description") or "no description"
            raise TargetUnavailable(f"Salesforce refused the credentials at {url}: {error}: {description}", code=error)
        raise TargetUnavailable(
            f"The token URL {url} answered HTTP {response.status_code} without a token: {response.text[:200]}",
            code=f"HTTP_{response.status_code}",
        )

    def _call(self, action: Callable[[Salesforce], T]) -> T:
        """One API call through the limit gate, re-authenticated and retried once on an expired session, with
        simple-salesforce's and requests' exceptions turned into the relay's words."""
        self._respect_limits()
        try:
            try:
                return action(self._sf or self._authenticate())
            except SalesforceExpiredSession:
                # The org's session timeout has no expires_in to predict it by: re-authenticate once, retry once.
                sf = self._authenticate()
                try:
                    return action(sf)
                except SalesforceExpiredSession as exc:
                    raise TargetUnavailable(
                        "Salesforce refused a freshly issued session (INVALID_SESSION_ID): check the integration "
                        "user's profile, IP restrictions and the connected app's session policies",
                        code="INVALID_SESSION_ID",
                    ) from exc
        except SalesforceError as exc:
            raise self._whole_call_error(exc) from exc
        except SalesforceOperationError as exc:
            # simple-salesforce's refusal of a Bulk upload (not answered 201, or over 100 MB).
            raise _Rejected(Failure(FailureKind.TECHNICAL, "BULK_UPLOAD_FAILED", str(exc))) from exc
        except requests.exceptions.SSLError as exc:
            raise TargetUnavailable(f"The TLS certificate is not trusted: {_reason(exc)}", code="TLS_ERROR") from exc
        except requests.Timeout as exc:
            raise TransientError(f"Salesforce did not answer in time: {_reason(exc)}", code="TIMEOUT") from exc
        except requests.RequestException as exc:
            raise TransientError(f"Cannot reach Salesforce: {_reason(exc)}", code="CONNECTION_ERROR") from exc

    def _whole_call_error(self, exc: SalesforceError) -> Exception:
        """What a refused call means for the relay."""
        code, message, fields = _first_error(exc.content)
        code = code or f"HTTP_{exc.status}"
        if isinstance(exc, SalesforceRefusedRequest):
            resume_after = self.pause_seconds if code == "REQUEST_LIMIT_EXCEEDED" else 300.0
            return TargetUnavailable(
                f"Salesforce refused the call: {code}: {message}", code=code, resume_after=resume_after
            )
        if exc.status >= 500:
            return TransientError(f"Salesforce answered HTTP {exc.status}: {code}: {message}", code=code)
        if isinstance(exc, SalesforceResourceNotFound) and not message:
            message = f"{exc.url} does not exist"
        return _Rejected(_failure(code, message, fields))

    def _respect_limits(self) -> None:
        """Slow down near the daily API allocation and stop just below it, so interactive users keep some."""
        if self.api_usage is None or self.api_usage[1] <= 0:
            return
        used, allocation = self.api_usage
        share = used / allocation
        if share >= self.pause_fraction:
            raise TargetUnavailable(
                f"{used} of the {allocation} daily API calls are used (the hub stops at {self.pause_fraction:.0%})",
                code="REQUEST_LIMIT_EXCEEDED",
                resume_after=self.pause_seconds,
            )
        if share >= self.slowdown_fraction:
            self.sleep(self.slowdown_seconds)

    def _note_limits(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Keep the daily usage from Sforce-Limit-Info, parsed the way simple-salesforce parses it."""
        header = response.headers.get("Sforce-Limit-Info")
        if header:
            usage = Salesforce.parse_api_usage(header).get("api-usage")
            if usage is not None:
                self.api_usage = (usage.used, usage.total)

    # --- upserts ----------------------------------------------------------------------------------------------

    def _plan(self, records: list[OutboundRecord]) -> list[tuple[str, list[int]]]:
        """The calls to make, in order: (bulk | collection | by_id, indices of the records).

        Records with a target_id live in Salesforce already without our golden ID (a person created them
        there): they are updated by their Id, which stamps the golden ID on them, instead of being upserted
        by golden ID, which would create a second account.
        """
        steps: list[tuple[str, list[int]]] = []
        for level in _levels(records):
            by_id = [i for i in level if records[i].target_id]
            level = [i for i in level if not records[i].target_id]
            steps.extend(("by_id", by_id[i : i + COLLECTION_SIZE]) for i in range(0, len(by_id), COLLECTION_SIZE))
            if len(level) > self.bulk_threshold:
                steps.extend(("bulk", part) for part in _by_csv_size(level, records))
            else:
                steps.extend(
                    ("collection", level[i : i + COLLECTION_SIZE]) for i in range(0, len(level), COLLECTION_SIZE)
                )
        return steps

    def _body(self, sobject: str, record: OutboundRecord) -> dict[str, Any]:
        body: dict[str, Any] = {"attributes": {"type": sobject}}
        body.update({name: _json_value(value) for name, value in record.fields.items()})
        body[self.external_id_field] = record.golden_id
        if record.parent_golden_id:
            body[self.parent_relationship] = {self.external_id_field: record.parent_golden_id}
        return body

    def _upsert_collection(self, sobject: str, chunk: list[OutboundRecord]) -> list[DeliveryResult]:
        """Upsert ≤ 200 records in one sObject Collections call; allOrNone false, so each record stands alone."""
        path = f"composite/sobjects/{sobject}/{self.external_id_field}"
        payload = {"allOrNone": False, "records": [self._body(sobject, record) for record in chunk]}
        answer = self._call(lambda sf: sf.restful(path, method="PATCH", json=payload))
        return self._collection_results(chunk, answer)

    def _collection_results(self, chunk: list[OutboundRecord], answer: Any) -> list[DeliveryResult]:
        """One result per record from a Collections answer (in input order)."""
        items = answer if isinstance(answer, list) else []
        results = []
        for position, record in enumerate(chunk):
            item = items[position] if position < len(items) and isinstance(items[position], dict) else None
            if item is None:
                failure = Failure(
                    FailureKind.TECHNICAL, "NO_RESULT", f"Salesforce returned {len(items)} results for {len(chunk)}"
                )
                results.append(DeliveryResult(golden_id=record.golden_id, ok=False, failure=failure))
            elif item.get("success"):
                results.append(
                    DeliveryResult(
                        golden_id=record.golden_id, ok=True, target_id=item.get("id"), created=bool(item.get("created"))
                    )
                )
            else:
                results.append(
                    DeliveryResult(
                        golden_id=record.golden_id,
                        ok=False,
                        target_id=item.get("id"),
                        failure=_failure_from_errors(item.get("errors") or []),
                    )
                )
        return results

    def _update_by_id(self, sobject: str, chunk: list[OutboundRecord]) -> list[DeliveryResult]:
        """Update ≤ 200 records by their Salesforce Id in one sObject Collections call (and stamp our golden ID)."""
        records = []
        for record in chunk:
            body = self._body(sobject, record)
            body["id"] = record.target_id
            records.append(body)
        answer = self._call(
            lambda sf: sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": records})
        )
        return self._collection_results(chunk, answer)

    def _upsert_bulk(self, sobject: str, chunk: list[OutboundRecord]) -> list[DeliveryResult]:
        """Upsert records through one Bulk API 2.0 job and map its result files back to them.

        simple-salesforce's job calls are used one by one rather than `bulk2.<SObject>.upsert`, so that each call
        gets the limit gate and the re-authentication, and the wait for the job is bounded (its own is 24 hours).
        """
        ext = self.external_id_field
        csv_text = self._bulk_csv(chunk)

        def client(sf: Salesforce) -> _Bulk2Client:
            handler: Any = sf.bulk2  # an SFBulk2Handler (simple-salesforce types the attribute loosely)
            return _Bulk2Client(sobject, handler.bulk2_url, handler.headers, handler.session)

        job_id = str(self._call(lambda sf: client(sf).create_job(Operation.upsert, external_id_field=ext))["id"])
        try:
            self._call(lambda sf: client(sf).upload_job_data(job_id, csv_text))
            self._call(lambda sf: client(sf).close_job(job_id))
        except (_Rejected, TargetUnavailable, TransientError):
            # Nothing runs before the close; abort so the open job does not linger, if the target lets us.
            with contextlib.suppress(_Rejected, TargetUnavailable, TransientError):
                self._call(lambda sf: client(sf).abort_job(job_id, False))
            raise
        info = self._await_bulk_job(job_id, client)
        state, message = str(info.get("state")), str(info.get("errorMessage") or "")
        if state == "JobComplete":
            leftover = Failure(FailureKind.TECHNICAL, "NO_RESULT", "The Bulk job's results do not mention this record")
        elif state == "Failed" and "InvalidBatch" in message:
            # The CSV itself is wrong (a column Salesforce does not know): retrying it cannot help.
            leftover = Failure(FailureKind.BUSINESS, "INVALID_BATCH", message)
        else:
            leftover = Failure(FailureKind.TECHNICAL, f"BULK_JOB_{state.upper()}", message or f"The job ended {state}")
        unprocessed = (
            leftover if state == "Failed" else Failure(FailureKind.TECHNICAL, "UNPROCESSED", "Not processed by the job")
        )

        by_golden_id: dict[str, DeliveryResult] = {}
        # Result files are not in input order: the external-ID column ties each row to its record.
        for row in self._bulk_results(job_id, client, "successfulResults"):
            golden_id = row.get(ext, "")
            created = row.get("sf__Created", "").lower() == "true"
            by_golden_id[golden_id] = DeliveryResult(
                golden_id, ok=True, target_id=row.get("sf__Id") or None, created=created
            )
        for row in self._bulk_results(job_id, client, "failedResults"):
            golden_id = row.get(ext, "")
            failure = _failure(*_parse_bulk_error(row.get("sf__Error", "")))
            by_golden_id[golden_id] = DeliveryResult(
                golden_id, ok=False, target_id=row.get("sf__Id") or None, failure=failure
            )
        # The documented spelling; simple-salesforce's ResultsType says unprocessedRecords.
        for row in self._bulk_results(job_id, client, "unprocessedrecords"):
            golden_id = row.get(ext, "")
            by_golden_id[golden_id] = DeliveryResult(golden_id, ok=False, failure=unprocessed)
        return [
            by_golden_id.get(record.golden_id) or DeliveryResult(record.golden_id, ok=False, failure=leftover)
            for record in chunk
        ]

    def _bulk_csv(self, chunk: list[OutboundRecord]) -> str:
        """The job's CSV: the external ID, every field any record sets, and the parent by external ID."""
        ext = self.external_id_field
        parent_column = f"{self.parent_relationship}.{ext}"
        names = dict.fromkeys(name for record in chunk for name in record.fields if name != ext)
        columns = [ext, *names] + ([parent_column] if any(record.parent_golden_id for record in chunk) else [])
        buffer = io.StringIO()
        # A cell left empty (restval) leaves the field unchanged; None becomes #N/A, which nulls it.
        writer = csv.DictWriter(buffer, fieldnames=columns, restval="", lineterminator="\n")
        writer.writeheader()
        for record in chunk:
            row = {name: _csv_value(value) for name, value in record.fields.items() if name != ext}
            row[ext] = record.golden_id
            if record.parent_golden_id:
                row[parent_column] = record.parent_golden_id
            writer.writerow(row)
        return buffer.getvalue()

    def _await_bulk_job(self, job_id: str, client: Callable[[Salesforce], _Bulk2Client]) -> dict[str, Any]:
        """Poll the job until it ends; past `bulk_timeout_seconds` abort it and keep what it did."""
        deadline = time.monotonic() + self.bulk_timeout_seconds
        while True:
            time.sleep(self.bulk_poll_seconds)
            info = self._call(lambda sf: client(sf).get_job(job_id, False))
            if info.get("state") in ("JobComplete", "Failed", "Aborted"):
                return dict(info)
            if time.monotonic() >= deadline:
                self._call(lambda sf: client(sf).abort_job(job_id, False))
                message = f"The Bulk job was still {info.get('state')} after {self.bulk_timeout_seconds:.0f} s"
                return {**info, "state": "Aborted", "errorMessage": message}

    def _bulk_results(
        self, job_id: str, client: Callable[[Salesforce], _Bulk2Client], which: str
    ) -> list[dict[str, str]]:
        """One result file of a finished job as rows; none when Salesforce has no such file for the job."""
        try:
            text = self._call(lambda sf: client(sf).get_ingest_results(job_id, which))
        except _Rejected:
            return []
        return list(csv.DictReader(io.StringIO(text)))

    # --- standard price book ----------------------------------------------------------------------------------

    def _sync_standard_prices(self, records: list[OutboundRecord], outcome: list[DeliveryResult | None]) -> None:
        """Give each delivered product with a list price an active standard price-book entry at that price."""
        wanted: list[tuple[int, OutboundRecord, str]] = []
        for index, record in enumerate(records):
            result = outcome[index]
            # A product without a list price keeps whatever price Salesforce has: only a given price is synced.
            if (
                result is not None
                and result.ok
                and result.target_id
                and record.related.get("list_price") not in (None, "")
            ):
                wanted.append((index, record, result.target_id))
        chunks = [wanted[i : i + COLLECTION_SIZE] for i in range(0, len(wanted), COLLECTION_SIZE)]
        for position, chunk in enumerate(chunks):
            try:
                failures = self._sync_price_chunk(chunk)
            except _Rejected as exc:
                failures = {index: exc.failure for index, _, _ in chunk}
            except (TargetUnavailable, TransientError) as exc:
                # The products are in Salesforce (their ids are kept) but their prices are not: retry them later.
                kind = FailureKind.OUTAGE if isinstance(exc, TargetUnavailable) else FailureKind.TECHNICAL
                failure = Failure(
                    kind,
                    exc.code,
                    f"The standard price was not set: {exc.message}",
                    resume_after=getattr(exc, "resume_after", None),
                )
                for rest in chunks[position:]:
                    for index, _, _ in rest:
                        outcome[index] = _with_failure(outcome[index], failure)
                return
            for index, failure in failures.items():
                outcome[index] = _with_failure(outcome[index], failure)

    def _sync_price_chunk(self, items: list[tuple[int, OutboundRecord, str]]) -> dict[int, Failure]:
        """Create or update the standard entries of ≤ 200 products: one query, then one create and one update call
        at most. Returns the failures by record index."""
        book = self._standard_pricebook()
        with_currency = any(record.related.get("currency") for _, record, _ in items)
        columns = "Id, Product2Id, UnitPrice, IsActive" + (", CurrencyIsoCode" if with_currency else "")
        soql = format_soql(
            "SELECT {columns:literal} FROM PricebookEntry WHERE Pricebook2Id = {book} AND Product2Id IN {ids}",
            columns=columns,
            book=book,
            ids=[product_id for _, _, product_id in items],
        )
        existing: dict[str, list[dict[str, Any]]] = {}
        for row in self._call(lambda sf: sf.query_all(soql))["records"]:
            existing.setdefault(row["Product2Id"], []).append(row)

        failures: dict[int, Failure] = {}
        creates: list[tuple[int, dict[str, Any]]] = []
        updates: list[tuple[int, dict[str, Any]]] = []
        for index, record, product_id in items:
            price = _price(record.related["list_price"])
            if price is None:
                failures[index] = Failure(
                    FailureKind.BUSINESS,
                    "INVALID_LIST_PRICE",
                    f"The list price {record.related['list_price']!r} is not a number",
                    ("UnitPrice",),
                )
                continue
            currency = record.related.get("currency")
            entry = next(
                (row for row in existing.get(product_id, []) if not currency or row.get("CurrencyIsoCode") == currency),
                None,
            )
            if entry is None:
                body = {
                    "attributes": {"type": "PricebookEntry"},
                    "Pricebook2Id": book,
                    "Product2Id": product_id,
                    "UnitPrice": _json_value(price),
                    "IsActive": True,
                }
                if currency:
                    body["CurrencyIsoCode"] = currency
                creates.append((index, body))
            elif _price(entry.get("UnitPrice")) != price or not entry.get("IsActive"):
                body = {
                    "attributes": {"type": "PricebookEntry"},
                    "id": entry["Id"],
                    "UnitPrice": _json_value(price),
                    "IsActive": True,
                }
                updates.append((index, body))

        for method, batch in (("POST", creates), ("PATCH", updates)):
            if not batch:
                continue
            payload = {"allOrNone": False, "records": [body for _, body in batch]}
            answer = self._call(functools.partial(_composite, method=method, payload=payload))
            answers = answer if isinstance(answer, list) else []
            for position, (index, _) in enumerate(batch):
                item = answers[position] if position < len(answers) else None
                if not isinstance(item, dict):
                    failures[index] = Failure(FailureKind.TECHNICAL, "NO_RESULT", "No result for the price-book entry")
                elif not item.get("success"):
                    failures[index] = _failure_from_errors(item.get("errors") or [])
        return failures

    def _standard_pricebook(self) -> str:
        """The standard price book's Id, looked up once per connector."""
        if self._standard_pricebook_id is None:
            answer = self._call(lambda sf: sf.query("SELECT Id FROM Pricebook2 WHERE IsStandard = true"))
            rows = answer.get("records") or []
            if not rows:
                raise _Rejected(
                    Failure(FailureKind.BUSINESS, "STANDARD_PRICEBOOK_MISSING", "The org has no standard price book")
                )
            self._standard_pricebook_id = str(rows[0]["Id"])
        return self._standard_pricebook_id

    # --- pull -------------------------------------------------------------------------------------------------

    def _pulled(self, row: Mapping[str, Any]) -> PulledRecord:
        fields = {name: value for name, value in row.items() if name != "attributes"}
        golden_id = fields.get(self.external_id_field)
        return PulledRecord(
            target_id=str(fields["Id"]),
            modified_at=_parse_datetime(str(fields["SystemModstamp"])),
            fields=fields,
            golden_id=str(golden_id) if golden_id else None,
        )


# --- helpers ----------------------------------------------------------------------------------------------------


def _levels(records: list[OutboundRecord]) -> list[list[int]]:
    """Indices of the records by hierarchy depth within the batch, input order kept inside each level."""
    position = {record.golden_id: index for index, record in enumerate(records)}
    depth: dict[int, int] = {}
    for start in range(len(records)):
        chain: list[int] = []
        on_chain: set[int] = set()
        node: int | None = start
        while node is not None and node not in depth and node not in on_chain:
            chain.append(node)
            on_chain.add(node)
            parent = records[node].parent_golden_id
            node = position.get(parent) if parent else None
        # A cycle (bad data) is cut where it closes; Salesforce will say what it thinks of it.
        base = depth[node] if node is not None and node in depth else -1
        for offset, index in enumerate(reversed(chain), start=1):
            depth[index] = base + offset
    levels: dict[int, list[int]] = {}
    for index in range(len(records)):
        levels.setdefault(depth[index], []).append(index)
    return [levels[level] for level in sorted(levels)]


def _by_csv_size(indices: list[int], records: list[OutboundRecord]) -> list[list[int]]:
    """The indices in runs whose CSV stays within one Bulk job's upload limit."""
    parts: list[list[int]] = [[]]
    size = 0
    for index in indices:
        record = records[index]
        # Each cell may be quoted and separated: a few bytes more than its text.
        row = sum(len(_csv_value(value).encode()) + 3 for value in record.fields.values())
        row += len(record.golden_id) + len(record.parent_golden_id or "") + 8
        if parts[-1] and size + row > BULK_MAX_BYTES:
            parts.append([])
            size = 0
        parts[-1].append(index)
        size += row
    return parts


def _fail_unsent(
    outcome: list[DeliveryResult | None], records: list[OutboundRecord], exc: TargetUnavailable | TransientError
) -> None:
    """Records not sent when the target stopped taking calls: OUTAGE after a refusal, TECHNICAL otherwise."""
    kind = FailureKind.OUTAGE if isinstance(exc, TargetUnavailable) else FailureKind.TECHNICAL
    failure = Failure(kind, exc.code, f"Not sent: {exc.message}", resume_after=getattr(exc, "resume_after", None))
    for index, result in enumerate(outcome):
        if result is None:
            outcome[index] = DeliveryResult(golden_id=records[index].golden_id, ok=False, failure=failure)


def _with_failure(result: DeliveryResult | None, failure: Failure) -> DeliveryResult:
    assert result is not None  # only results of delivered products get here
    return replace(result, ok=False, failure=failure)


def _failure(code: str, message: str, fields: tuple[str, ...] = ()) -> Failure:
    kind = FailureKind.TECHNICAL if code in TRANSIENT_CODES else FailureKind.BUSINESS
    return Failure(kind, code, message, fields)


def _failure_from_errors(errors: list[Mapping[str, Any]]) -> Failure:
    """One Failure from a record's error list (Collections use statusCode; REST errors use errorCode)."""
    if not errors:
        return Failure(FailureKind.TECHNICAL, "NO_RESULT", "Salesforce reported a failure without an error")
    first = errors[0]
    code = str(first.get("statusCode") or first.get("errorCode") or "UNKNOWN")
    message = "; ".join(str(error.get("message", "")) for error in errors)
    fields = tuple(dict.fromkeys(name for error in errors for name in error.get("fields") or ()))
    return _failure(code, message, fields)


def _first_error(content: Any) -> tuple[str, str, tuple[str, ...]]:
    """The code, message and fields of a whole-call error body ([{"errorCode","message","fields"}] or text)."""
    if isinstance(content, list) and content and isinstance(content[0], Mapping):
        first = content[0]
        code = str(first.get("errorCode") or first.get("statusCode") or "")
        return code, str(first.get("message", "")), tuple(first.get("fields") or ())
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return "", str(content or "")[:500], ()


def _parse_bulk_error(value: str) -> tuple[str, str, tuple[str, ...]]:
    """Split Bulk API's sf__Error, "CODE:message:Field1,Field2 --", into code, message and fields."""
    code, _, rest = value.partition(":")
    message, fields = rest, ""
    if rest.rstrip().endswith("--"):
        message, _, fields = rest.rstrip()[:-2].rpartition(":")
    names = tuple(name.strip() for name in fields.split(",") if name.strip())
    return code.strip() or "UNKNOWN", message.strip(), names


def _json_value(value: Any) -> Any:
    """A field value as JSON carries it (requests' encoder knows no Decimal or dates)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _csv_value(value: Any) -> str:
    """A field value as Bulk API's CSV carries it; None nulls the field."""
    if value is None:
        return BULK_NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _price(value: Any) -> Decimal | None:
    try:
        price = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return price if price.is_finite() else None


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _reason(exc: BaseException) -> str:
    """The innermost cause of a requests error, without urllib3's wrapping."""
    inner: Any = exc.args[0] if exc.args else exc
    inner = getattr(inner, "reason", inner)
    # urllib3 prefixes the connection ("HTTPSConnection(host=.., port=..): Failed to ..."), which says nothing new.
    return re.sub(r"^(<[^>]*>|\w+\([^)]*\)):\s*", "", str(inner))


def _soql_datetime(moment: datetime) -> str:
    """A SOQL datetime literal in UTC; a naive moment is taken as UTC. Seconds only: the pull overlaps anyway."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_datetime(value: str) -> datetime:
    """Salesforce's "2024-05-01T10:00:00.000+0000" as an aware UTC datetime."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _describe(sf: Salesforce, *, sobject: str) -> Any:
    return sf.restful(f"sobjects/{sobject}/describe")


def _query_more(sf: Salesforce, *, next_url: str, headers: Mapping[str, str] | None) -> Any:
    return sf.query_more(next_url, identifier_is_url=True, headers=headers)


def _composite(sf: Salesforce, *, method: str, payload: Any) -> Any:
    return sf.restful("composite/sobjects", method=method, json=payload)
