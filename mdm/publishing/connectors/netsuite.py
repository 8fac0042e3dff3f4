"""NetSuite: upsert golden records through the REST record API by external ID; pull changes back with SuiteQL.

Each record is one `PUT /services/rest/record/v1/{type}/eid:{golden_id}` (the record API upserts one record per
call), answered 204 with the internal id in `Location`; a record whose internal id is already known (target_id)
is updated with `PATCH .../{id}` instead, so one created by hand in NetSuite gets our external ID, not a twin.
Calls run in parallel up to `max_concurrency`, because the account's concurrency pool is shared by every
integration and going over it gives 429; a parent is delivered before its children, so their
`parent: {"id": ...}` can name its internal id. Authentication is token-based (OAuth 1.0a TBA, HMAC-SHA256) or
OAuth 2.0 machine-to-machine (a JWT client assertion for a bearer token).

Options (TargetConfig.options), all optional:
- record_types: entity type -> record type, default {"customer": "customer", "product": "inventoryItem"}
- max_concurrency: parallel calls, default 4 (a base pool of 5 minus one, leaving room for other integrations)
- subsidiary_id: default "1", sent when a record has no subsidiary (OneWorld requires one)
- account_id: the realm for TBA (1234567-sb1 -> 1234567_SB1); default: the first label of the base URL's host
- scope: M2M scopes, default "rest_webservices"; jwt_algorithm: default PS256 for RSA keys, ES256 for EC keys
- pull_columns: entity or record type -> SuiteQL columns; page_size: SuiteQL page size (<= 1000)
- account_timezone: the time zone SuiteQL dates are in (the role's preference), default "UTC"
- retries_on_429 (5), backoff_seconds (0.25), max_backoff_seconds (10): the bounded backoff on 429
"""

import hashlib
import random
import re
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from requests.adapters import HTTPAdapter
from requests_oauthlib import OAuth1

from mdm.publishing.connectors.base import (
    DeliveryResult,
    Failure,
    FailureKind,
    OutboundRecord,
    PulledRecord,
    TargetConfig,
    TargetUnavailable,
    TransientError,
)

REST = "/services/rest"
TOKEN_PATH = f"{REST}/auth/oauth2/v1/token"
SUITEQL_PATH = f"{REST}/query/v1/suiteql"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEFAULT_RECORD_TYPES = {"customer": "customer", "product": "inventoryItem"}
# SuiteQL tables differ from record types for items: every item type lives in `item`, told apart by itemtype.
SUITEQL_TABLES: dict[str, tuple[str, str | None]] = {
    "customer": ("customer", None),
    "inventoryItem": ("item", "InvtPart"),
}
DEFAULT_PULL_COLUMNS: dict[str, tuple[str, ...]] = {
    "customer": (
        "entityid",
        "companyname",
        "firstname",
        "lastname",
        "isperson",
        "email",
        "phone",
        "url",
        "isinactive",
        "subsidiary",
        "parent",
        "custentity_mdm_tax_id",
    ),
    "inventoryItem": ("itemid", "displayname", "salesdescription", "upccode", "isinactive", "custitem_mdm_gtin"),
}
ISO_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS'  # TO_CHAR's Oracle format for ISO 8601 without a zone
MODIFIED_ALIAS = "mdm_modified"
COLUMN = re.compile(r"[a-z_][a-z0-9_]*")
CREDENTIALS = {
    "tba": ("consumer_key", "consumer_secret", "token_id", "token_secret"),
    "m2m": ("client_id", "certificate_id", "private_key_pem"),
}
AUTH_NAMES = {"tba": "token-based authentication (TBA)", "m2m": "OAuth 2.0 machine-to-machine (M2M)"}

# Bearer tokens by (token URL, client, certificate, key digest, scope), shared by every connector in the process:
# the relay builds a connector per run, and a token is good for an hour. One lock per key, so a slow token
# endpoint holds up only the connectors that need that token.
_TOKENS: dict[tuple[str, ...], tuple[str, float]] = {}
_TOKEN_LOCKS: dict[tuple[str, ...], threading.Lock] = {}
_TOKENS_LOCK = threading.Lock()


def _reason(exc: BaseException) -> str:
    """The useful end of a requests exception: "[Errno 111] Connection refused", "certificate verify failed: ..."."""
    text = str(exc)
    for pattern in (r"certificate verify failed: [^'\"(]+", r"\[Errno -?\d+\] [^'\")]+", r"(Read|Connect) timed out"):
        match = re.search(pattern, text)
        if match:
            return match.group().strip()
    return text


def _error_details(response: requests.Response) -> list[dict[str, Any]]:
    try:
        details = response.json().get("o:errorDetails")
    except (ValueError, AttributeError):
        return []
    return [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []


def _failure(response: requests.Response) -> Failure:
    """A Failure in NetSuite's words: code = o:errorCode, message = detail, fields = o:errorPath."""
    details = _error_details(response)
    status = response.status_code
    code = str(details[0].get("o:errorCode") or f"HTTP_{status}") if details else f"HTTP_{status}"
    message = "; ".join(str(d.get("detail", "")) for d in details) or response.text[:500] or response.reason
    fields = tuple(dict.fromkeys(str(d["o:errorPath"]) for d in details if d.get("o:errorPath")))
    # 5xx, 429 after our retries, 408 and 409 (a record changed under us) may well pass when tried again.
    technical = status >= 500 or status in (408, 409, 429)
    return Failure(
        kind=FailureKind.TECHNICAL if technical else FailureKind.BUSINESS, code=code, message=message, fields=fields
    )


class _TokenAuth:
    """OAuth 1.0a token-based authentication, signed with HMAC-SHA256 (the only method NetSuite takes)."""

    can_renew = False

    def __init__(self, credentials: Mapping[str, str], realm: str):
        self._oauth = OAuth1(
            credentials["consumer_key"],
            credentials["consumer_secret"],
            credentials["token_id"],
            credentials["token_secret"],
            signature_method="HMAC-SHA256",
            realm=realm,
        )

    def apply(self, kwargs: dict[str, Any]) -> str | None:
        """Sign the request (requests-oauthlib signs at send time, with a fresh nonce and timestamp)."""
        kwargs["auth"] = self._oauth
        return None

    def renew(self, used: str | None) -> None:
        """TBA tokens cannot be renewed by the client."""


class _MachineAuth:
    """OAuth 2.0 client credentials with a JWT client assertion signed by the certificate's private key."""

    can_renew = True

    def __init__(self, config: TargetConfig, session: requests.Session):
        self._session, self._timeout = session, config.timeout
        self.token_url = config.base_url.rstrip("/") + TOKEN_PATH
        self.client_id = config.credentials["client_id"]
        self.certificate_id = config.credentials["certificate_id"]
        pem = config.credentials["private_key_pem"]
        self._key = serialization.load_pem_private_key(pem.encode(), password=None)
        default_alg = "ES256" if isinstance(self._key, ec.EllipticCurvePrivateKey) else "PS256"
        self.algorithm = str(config.options.get("jwt_algorithm") or default_alg)
        scope = config.options.get("scope") or "rest_webservices"
        self.scope = scope if isinstance(scope, str) else ",".join(scope)
        digest = hashlib.sha256(pem.encode()).hexdigest()
        self._cache_key = (self.token_url, self.client_id, self.certificate_id, digest, self.scope)

    def apply(self, kwargs: dict[str, Any]) -> str | None:
        """Add the bearer token to the request; returns it, so a 401 can say which token failed."""
        token = self.token()
        kwargs.setdefault("headers", {})["Authorization"] = f"Bearer {token}"
        return token

    def token(self) -> str:
        """The cached bearer token, or a new one when there is none or it is about to expire."""
        with _TOKENS_LOCK:
            lock = _TOKEN_LOCKS.setdefault(self._cache_key, threading.Lock())
        with lock:
            cached = _TOKENS.get(self._cache_key)
            if cached and cached[1] > time.monotonic():
                return cached[0]
            token, lifetime = self._fetch()
            # Renew a minute early (or a tenth of the lifetime, for short ones) so no call races the expiry.
            _TOKENS[self._cache_key] = (token, time.monotonic() + lifetime - min(60.0, lifetime / 10))
            return token

    def renew(self, used: str | None) -> None:
        """Drop the token a 401 was answered to, unless another thread already replaced it."""
        with _TOKENS_LOCK:
            lock = _TOKEN_LOCKS.setdefault(self._cache_key, threading.Lock())
        with lock:
            cached = _TOKENS.get(self._cache_key)
            if cached and cached[0] == used:
                del _TOKENS[self._cache_key]

    def _fetch(self) -> tuple[str, float]:
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "scope": self.scope,
            "aud": self.token_url,
            "iat": now,
            "exp": now + 300,  # NetSuite allows up to 60 minutes; an assertion is used once, at once
            "jti": uuid.uuid4().hex,
        }
        assertion = jwt.encode(
            claims, cast(Any, self._key), algorithm=self.algorithm, headers={"typ": "JWT", "kid": self.certificate_id}
        )
        form = {"grant_type": "client_credentials", "client_assertion_type": JWT_BEARER, "client_assertion": assertion}
        response = self._session.post(self.token_url, data=form, timeout=self._timeout)
        if response.status_code == 200:
            body = response.json()
            return str(body["access_token"]), float(body.get("expires_in") or 3600)
        try:
            error = response.json()
            reason = f"{error.get('error')}: {error.get('error_description', '')}".strip(": ")
        except ValueError:
            reason = f"HTTP {response.status_code}"
        if response.status_code in (400, 401, 403):
            message = f"NetSuite's token endpoint {self.token_url} refused the M2M client assertion: {reason}"
            raise TargetUnavailable(message, code="INVALID_LOGIN")
        raise TransientError(
            f"NetSuite's token endpoint answered HTTP {response.status_code}: {reason}",
            code=f"HTTP_{response.status_code}",
        )


class NetSuiteConnector:
    """Delivers golden records to NetSuite and pulls NetSuite's changes back."""

    def __init__(self, config: TargetConfig):
        self.config = config
        options = config.options
        self.base_url = config.base_url.rstrip("/")
        self.record_types: dict[str, str] = dict(options.get("record_types") or DEFAULT_RECORD_TYPES)
        self.max_concurrency = max(1, int(options.get("max_concurrency", 4)))
        self.subsidiary_id = str(options.get("subsidiary_id", "1"))
        self.page_size = min(1000, max(1, int(options.get("page_size", 1000))))
        self.retries_on_429 = int(options.get("retries_on_429", 5))
        self.backoff_seconds = float(options.get("backoff_seconds", 0.25))
        self.max_backoff_seconds = float(options.get("max_backoff_seconds", 10.0))
        self._session = requests.Session()
        self._session.trust_env = False  # no proxies or netrc from the environment: the target says where and how
        self._session.verify = config.ca_bundle or True
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=self.max_concurrency + 2)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._rng = random.Random()
        self._parent_ids: dict[str, str] = {}  # parent golden id -> internal id, for this run
        self._parent_locks: dict[str, threading.Lock] = {}
        self._state_lock = threading.Lock()
        self.problems = self._configuration_problems()
        try:
            self.timezone = ZoneInfo(str(options.get("account_timezone") or "UTC"))
        except (ZoneInfoNotFoundError, ValueError):
            self.timezone = ZoneInfo("UTC")
            self.problems.append(f"Unknown time zone {options.get('account_timezone')!r} (option account_timezone).")
        self._auth: _TokenAuth | _MachineAuth | None = None
        if self.config.auth in CREDENTIALS and all(
            self.config.credentials.get(n) for n in CREDENTIALS[self.config.auth]
        ):
            try:
                self._auth = self._make_auth()
            except (ValueError, TypeError) as exc:  # an unreadable private key
                self.problems.append(f"The M2M private key cannot be read: {exc}")

    # ---- configuration -----------------------------------------------------------------------------------------

    def _configuration_problems(self) -> list[str]:
        problems = []
        if self.config.auth not in CREDENTIALS:
            return [f"Unknown NetSuite auth mode {self.config.auth!r}: use 'tba' or 'm2m'."]
        missing = [name for name in CREDENTIALS[self.config.auth] if not self.config.credentials.get(name)]
        if missing:
            problems.append(f"Missing credentials for {AUTH_NAMES[self.config.auth]}: {', '.join(missing)}.")
        if self.config.auth == "tba" and not self._account_id():
            problems.append("Set the option account_id (the TBA realm): the base URL does not name the account.")
        if urlsplit(self.base_url).scheme not in ("http", "https"):
            problems.append(f"The base URL {self.config.base_url!r} is not an http(s) URL.")
        return problems

    def _account_id(self) -> str | None:
        if self.config.options.get("account_id"):
            return str(self.config.options["account_id"])
        host = urlsplit(self.base_url).hostname or ""
        return host.split(".")[0] if host.endswith(".netsuite.com") else None

    def _make_auth(self) -> "_TokenAuth | _MachineAuth":
        if self.config.auth == "tba":
            realm = (self._account_id() or "").upper().replace("-", "_")  # 1234567-sb1 -> 1234567_SB1
            return _TokenAuth(self.config.credentials, realm)
        return _MachineAuth(self.config, self._session)

    def _ready(self) -> "_TokenAuth | _MachineAuth":
        if self.problems or self._auth is None:
            raise TargetUnavailable("; ".join(self.problems), code="CONFIGURATION", resume_after=3600)
        return self._auth

    def _record_type(self, entity_type: str) -> str:
        record_type = self.record_types.get(entity_type)
        if record_type is None:
            message = f"No NetSuite record type is configured for {entity_type!r} (option record_types)."
            raise TargetUnavailable(message, code="CONFIGURATION", resume_after=3600)
        return record_type

    # ---- calls -------------------------------------------------------------------------------------------------

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One API call: authenticated, retried on 429 with bounded backoff, re-authenticated once on a 401 (M2M).

        Raises TargetUnavailable when NetSuite refuses the credentials or the role lacks a permission, and
        requests' own exceptions when there is no answer at all."""
        auth = self._ready()
        renewed, waited, attempt = False, 0.0, 0
        while True:
            call = {"timeout": self.config.timeout, **kwargs, "headers": dict(kwargs.get("headers") or {})}
            used = auth.apply(call)
            response = self._session.request(method, url, **call)
            if response.status_code == 401:
                if auth.can_renew and not renewed:
                    auth.renew(used)
                    renewed = True
                    continue
                detail = _failure(response).message
                raise TargetUnavailable(
                    f"NetSuite refused the {AUTH_NAMES[self.config.auth]} credentials (INVALID_LOGIN): {detail}",
                    code="INVALID_LOGIN",
                )
            if response.status_code == 403:
                failure = _failure(response)
                raise TargetUnavailable(f"NetSuite refused the call: {failure.message}", code=failure.code)
            if response.status_code == 429 and attempt < self.retries_on_429:
                delay = self._backoff(attempt, response.headers.get("Retry-After"))
                if waited + delay <= self.max_backoff_seconds:
                    time.sleep(delay)
                    waited += delay
                    attempt += 1
                    continue
            return response

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        """Exponential backoff with jitter (half fixed, half random), at least any Retry-After."""
        ceiling = self.backoff_seconds * 2**attempt
        delay = ceiling / 2 + self._rng.uniform(0, ceiling / 2)
        if retry_after and retry_after.isdigit():
            delay = max(delay, float(retry_after))
        return delay

    # ---- deliver -----------------------------------------------------------------------------------------------

    def deliver(self, entity_type: str, records: list[OutboundRecord]) -> list[DeliveryResult]:
        """Upsert each record by external ID, parents before children, up to max_concurrency calls at once."""
        if not records:
            return []
        record_type = self._record_type(entity_type)
        self._ready()
        run = _Run()
        results: list[DeliveryResult | None] = [None] * len(records)

        def deliver_one(index: int) -> None:
            results[index] = self._deliver_one(record_type, records[index], run)

        with ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="netsuite") as pool:
            for level in _levels(records):
                # A level starts when the one before has finished: a child's parent is in NetSuite by then.
                list(pool.map(deliver_one, level))
        final = [result for result in results if result is not None]
        if not any(result.ok for result in final):
            if run.outage is not None:
                raise run.outage
            if not run.answered and run.no_answer is not None:
                raise TransientError(run.no_answer.message, code=run.no_answer.code)
        return final

    def _deliver_one(self, record_type: str, record: OutboundRecord, run: "_Run") -> DeliveryResult:
        stop = run.stopped()
        if stop is not None:
            return _failed(record, stop)
        try:
            body = dict(record.fields)
            body["externalId"] = record.golden_id
            if record.parent_golden_id or record.parent_target_id:
                parent_id = record.parent_target_id or self._parent_target_id(record_type, record.parent_golden_id, run)
                if parent_id is None:
                    message = f"The parent {record.parent_golden_id} is not in NetSuite yet."
                    return _failed(record, Failure(FailureKind.TECHNICAL, "PARENT_NOT_DELIVERED", message, ("parent",)))
                body["parent"] = {"id": parent_id}
            records_url = f"{self.base_url}{REST}/record/v1/{record_type}"
            response = None
            if record.target_id:
                # NetSuite holds the record, perhaps without our external ID (a person created it there):
                # update it by internal id, which also sets externalId, rather than upsert a second one.
                # No default subsidiary here: it is needed to create, and would move an existing customer.
                response = self._send("PATCH", f"{records_url}/{quote(record.target_id, safe='')}", json=body)
            if response is None or response.status_code == 404:  # not known, or deleted in NetSuite since
                body = self._with_subsidiary(record_type, body)
                response = self._send("PUT", f"{records_url}/eid:{quote(record.golden_id, safe='')}", json=body)
        except TargetUnavailable as exc:
            run.fail_all(exc)
            return _failed(record, Failure(FailureKind.OUTAGE, exc.code, exc.message, resume_after=exc.resume_after))
        except requests.exceptions.SSLError as exc:
            message = f"The TLS certificate of {self.base_url} is not trusted: {_reason(exc)}"
            run.fail_all(TargetUnavailable(message, code="TLS_ERROR"))
            return _failed(record, Failure(FailureKind.OUTAGE, "TLS_ERROR", message))
        except requests.exceptions.Timeout as exc:
            failure = Failure(FailureKind.TECHNICAL, "TIMEOUT", f"NetSuite did not answer in time: {_reason(exc)}")
            run.no_answer_from(failure)
            return _failed(record, failure)
        except requests.exceptions.ConnectionError as exc:
            message = f"Cannot reach {self.base_url}: {_reason(exc)}"
            failure = Failure(FailureKind.TECHNICAL, "CONNECTION_ERROR", message)
            run.no_answer_from(failure)
            return _failed(record, failure)
        except TransientError as exc:  # the token endpoint or a parent look-up failed: nothing was written
            failure = Failure(FailureKind.TECHNICAL, exc.code, exc.message)
            run.no_answer_from(failure)
            return _failed(record, failure)
        run.answer()
        if response.status_code in (200, 201, 204):
            location = urlsplit(response.headers.get("Location", "")).path.rstrip("/").rsplit("/", 1)[-1]
            target_id = location or (record.target_id if response.request.method == "PATCH" else None)
            if target_id is not None:
                with self._state_lock:
                    self._parent_ids[record.golden_id] = target_id
            # The upsert's 204 does not say whether it created the record, so `created` stays False.
            return DeliveryResult(golden_id=record.golden_id, ok=True, target_id=target_id)
        return _failed(record, _failure(response))

    def _with_subsidiary(self, record_type: str, body: dict[str, Any]) -> dict[str, Any]:
        """The body with the default subsidiary when it names none (OneWorld needs one to create a record)."""
        if "subsidiary" in body or record_type not in SUITEQL_TABLES:
            return body
        # An item's subsidiary is a multi-select (a collection); a customer's is a single reference.
        single = {"id": self.subsidiary_id}
        return {**body, "subsidiary": {"items": [single]} if record_type == "inventoryItem" else single}

    def _parent_target_id(self, record_type: str, parent_golden_id: str | None, run: "_Run") -> str | None:
        """The parent's internal id: delivered in this run, or looked up once by its external ID."""
        if parent_golden_id is None:
            return None
        with self._state_lock:
            if parent_golden_id in self._parent_ids:
                return self._parent_ids[parent_golden_id]
            lock = self._parent_locks.setdefault(parent_golden_id, threading.Lock())
        with lock:  # siblings wait for one look-up instead of each making their own
            with self._state_lock:
                if parent_golden_id in self._parent_ids:
                    return self._parent_ids[parent_golden_id]
            url = f"{self.base_url}{REST}/record/v1/{record_type}/eid:{quote(parent_golden_id, safe='')}"
            response = self._send("GET", url, params={"fields": "id"})
            run.answer()
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                failure = _failure(response)
                raise TransientError(
                    f"Looking up the parent {parent_golden_id} failed: {failure.message}", code=failure.code
                )
            internal_id = str(response.json()["id"])
            with self._state_lock:
                self._parent_ids[parent_golden_id] = internal_id
            return internal_id

    # ---- test_connection ---------------------------------------------------------------------------------------

    def test_connection(self) -> list[str]:
        """Problems with the target in plain words; empty when a one-row SuiteQL query works."""
        if self.problems:
            return list(self.problems)
        url = self.base_url + SUITEQL_PATH
        try:
            response = self._send(
                "POST", url, params={"limit": 1}, json={"q": "SELECT id FROM customer"}, headers={"Prefer": "transient"}
            )
        except requests.exceptions.SSLError as exc:
            return [
                f"The TLS certificate of {self.base_url} is not trusted ({_reason(exc)}). "
                "Set the target's CA bundle to the CA that signed it."
            ]
        except requests.exceptions.Timeout:
            return [f"{url} did not answer within {self.config.timeout:g} s."]
        except requests.exceptions.ConnectionError as exc:
            failed_url = getattr(exc.request, "url", None) or url  # the token URL, when that is what failed
            return [f"Cannot reach {failed_url.split('?')[0]}: {_reason(exc)}."]
        except TargetUnavailable as exc:
            if exc.code == "INVALID_LOGIN" and self.config.auth == "tba":
                hint = "check the consumer key and secret, the token ID and secret, and the account ID (realm)"
                return [f"NetSuite refused the credentials (INVALID_LOGIN) for {AUTH_NAMES['tba']}: {hint}."]
            if exc.code == "INVALID_LOGIN":
                hint = "check the client ID, the certificate ID and that the certificate is mapped to the integration"
                return [
                    f"NetSuite refused the credentials (INVALID_LOGIN) for {AUTH_NAMES['m2m']}: {hint}. {exc.message}"
                ]
            return [f"SuiteQL is not permitted for this role ({exc.code}): {exc.message}"]
        except TransientError as exc:
            return [f"{exc.message}."]
        if response.status_code == 200:
            return []
        failure = _failure(response)
        if response.status_code == 400:
            return [f"SuiteQL is not permitted or failed ({failure.code}): {failure.message}"]
        return [f"Unexpected answer from {url}: HTTP {response.status_code} {failure.code}: {failure.message}"]

    # ---- pull --------------------------------------------------------------------------------------------------

    def pull(self, entity_type: str, since: datetime) -> Iterator[PulledRecord]:
        """Records changed at or after `since`, oldest first, through SuiteQL's pages."""
        record_type = self._record_type(entity_type)
        table, item_type = SUITEQL_TABLES.get(record_type, (record_type.lower(), None))
        columns = self._pull_columns(entity_type, record_type)
        aware = since if since.tzinfo else since.replace(tzinfo=UTC)
        local = aware.astimezone(self.timezone).strftime("%Y-%m-%d %H:%M:%S")  # DATEs have seconds: floor is >=
        where = f"lastmodifieddate >= TO_DATE('{local}', 'YYYY-MM-DD HH24:MI:SS')"
        if item_type:
            where += f" AND itemtype = '{item_type}'"
        # Every piece is a checked column name, a constant or a formatted date: nothing comes from data.
        selected = ", ".join(
            ("id", "externalid", *columns, f"TO_CHAR(lastmodifieddate, '{ISO_FORMAT}') AS {MODIFIED_ALIAS}")
        )
        query = f"SELECT {selected} FROM {table} WHERE {where} ORDER BY lastmodifieddate, id"  # noqa: S608
        url: str | None = self.base_url + SUITEQL_PATH
        params: dict[str, int] | None = {"limit": self.page_size, "offset": 0}
        while url:
            page = self._query_page(url, params, query)
            for item in page.get("items") or []:
                yield self._pulled(item, columns)
            if not page.get("hasMore"):
                return
            following = next((link.get("href") for link in page.get("links") or [] if link.get("rel") == "next"), None)
            if following:
                url, params = following, None
            else:
                offset = int(page.get("offset") or 0) + int(page.get("count") or 0)
                url, params = self.base_url + SUITEQL_PATH, {"limit": self.page_size, "offset": offset}

    def _pull_columns(self, entity_type: str, record_type: str) -> tuple[str, ...]:
        configured = self.config.options.get("pull_columns") or {}
        columns = (
            configured.get(entity_type) or configured.get(record_type) or DEFAULT_PULL_COLUMNS.get(record_type) or ()
        )
        columns = tuple(str(c).lower() for c in columns if str(c).lower() not in ("id", "externalid"))
        bad = [c for c in columns if not COLUMN.fullmatch(c)]
        if bad:  # the columns go into the query text, so only plain names
            raise TargetUnavailable(
                f"pull_columns holds names that are not columns: {bad}", code="CONFIGURATION", resume_after=3600
            )
        return columns

    def _query_page(self, url: str, params: dict[str, int] | None, query: str) -> dict[str, Any]:
        try:
            response = self._send("POST", url, params=params, json={"q": query}, headers={"Prefer": "transient"})
        except requests.exceptions.SSLError as exc:
            raise TargetUnavailable(
                f"The TLS certificate of {self.base_url} is not trusted: {_reason(exc)}", code="TLS_ERROR"
            ) from exc
        except requests.exceptions.Timeout as exc:
            raise TransientError(
                f"NetSuite did not answer the SuiteQL query in time: {_reason(exc)}", code="TIMEOUT"
            ) from exc
        except requests.exceptions.ConnectionError as exc:
            raise TransientError(f"Cannot reach {self.base_url}: {_reason(exc)}", code="CONNECTION_ERROR") from exc
        if response.status_code == 200:
            return response.json()
        failure = _failure(response)
        if failure.kind is FailureKind.TECHNICAL:
            raise TransientError(f"SuiteQL failed: {failure.message}", code=failure.code)
        # A refused query is a configuration problem (columns, permissions): pause until someone fixes it.
        raise TargetUnavailable(
            f"NetSuite refused the SuiteQL pull: {failure.message}", code=failure.code, resume_after=3600
        )

    def _pulled(self, item: Mapping[str, Any], columns: tuple[str, ...]) -> PulledRecord:
        local = datetime.fromisoformat(str(item[MODIFIED_ALIAS]))
        modified = local.replace(tzinfo=self.timezone).astimezone(UTC)
        return PulledRecord(
            target_id=str(item["id"]),
            golden_id=item.get("externalid"),
            modified_at=modified,
            fields={column: item.get(column) for column in columns},  # SuiteQL leaves NULL columns out
        )


class _Run:
    """What the threads of one deliver() share: whether NetSuite answered at all, and why to stop early."""

    CONNECTION_FAILURES_BEFORE_GIVING_UP = 3

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.answered = False
        self.outage: TargetUnavailable | None = None
        self.no_answer: Failure | None = None
        self._unanswered = 0

    def answer(self) -> None:
        """NetSuite answered a call (whatever the status)."""
        with self._lock:
            self.answered = True

    def fail_all(self, outage: TargetUnavailable) -> None:
        """The target is unavailable: the records not yet sent get this outage."""
        with self._lock:
            self.outage = self.outage or outage

    def no_answer_from(self, failure: Failure) -> None:
        """A call got no answer (connection refused, timeout, no token)."""
        with self._lock:
            self.no_answer = failure
            self._unanswered += 1

    def stopped(self) -> Failure | None:
        """The failure to give the remaining records without calling, once calling is pointless."""
        with self._lock:
            if self.outage is not None:
                return Failure(
                    FailureKind.OUTAGE, self.outage.code, self.outage.message, resume_after=self.outage.resume_after
                )
            # Nothing has answered after a few tries: the target is down, so don't wait out every timeout.
            if not self.answered and self._unanswered >= self.CONNECTION_FAILURES_BEFORE_GIVING_UP:
                return self.no_answer
            return None


def _failed(record: OutboundRecord, failure: Failure) -> DeliveryResult:
    return DeliveryResult(golden_id=record.golden_id, ok=False, failure=failure)


def _levels(records: list[OutboundRecord]) -> list[list[int]]:
    """Indexes by depth: a record comes a level after its parent and after an earlier version of itself."""
    latest: dict[str, int] = {}
    depends: dict[int, list[int]] = {}
    for index, record in enumerate(records):
        depends[index] = []
        if record.golden_id in latest:  # two versions of one record: the later waits, so it wins
            depends[index].append(latest[record.golden_id])
        latest[record.golden_id] = index
    positions = {record.golden_id: index for index, record in enumerate(records)}
    for index, record in enumerate(records):
        parent = positions.get(record.parent_golden_id or "")
        if parent is not None and parent != index:
            depends[index].append(parent)
    depth: dict[int, int] = {}

    def depth_of(index: int, visiting: frozenset[int]) -> int:
        if index not in depth:
            # A cycle (bad data) must not recurse forever: treat the edge that closes it as absent.
            parents = [p for p in depends[index] if p not in visiting]
            depth[index] = max((depth_of(p, visiting | {index}) + 1 for p in parents), default=0)
        return depth[index]

    levels: dict[int, list[int]] = {}
    for index in range(len(records)):
        levels.setdefault(depth_of(index, frozenset()), []).append(index)
    return [levels[d] for d in sorted(levels)]
