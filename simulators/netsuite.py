"""A loopback NetSuite: the REST record API v1, SuiteQL, TBA and OAuth 2.0 M2M, the concurrency limit, faults.

Follows reference/integration-contracts.md §9. Writes answer 204 with no body and a `Location`; errors carry
`o:errorDetails`; more requests in flight than the account's pool gets 429; TBA signatures (HMAC-SHA256) and
M2M client assertions (PS256/ES256 JWTs) are verified for real. Paths live under /services/rest/; a control
API under /__simulator__/ lets the demo and out-of-process tests read records and stats and set faults.

What is simplified, knowingly: sublists (addressBook) are always replaced, as with `?replace=`; reference
fields other than subsidiary and parent (currency, terms) are not checked against records; a child customer
need not share its parent's subsidiary; `Prefer: respond-async` is not offered; SuiteQL runs in UTC (a real
account uses the role's time zone) and understands the subset in suiteql.py; the 503 of `error_rate` and the
code names marked "our choice" below are not documented by Oracle.
"""

import json
import re
import secrets
import time
from collections import Counter
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from oauthlib.common import safe_string_equals
from oauthlib.oauth1.rfc5849 import signature as oauth_signature
from oauthlib.oauth1.rfc5849 import utils as oauth_utils

from simulators import suiteql
from simulators.base import FaultDice, Request, Response, SimulatorServer, fault_changes
from simulators.tls import LocalTLS

REST = "/services/rest"
TOKEN_PATH = f"{REST}/auth/oauth2/v1/token"
CONTROL = "/__simulator__"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
M2M_ALGORITHMS = ("PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
EXTERNAL_ID = re.compile(r"[A-Za-z0-9_-]+")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
LOGIN_DETAIL = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles"
    " > User Management > View Login Audit Trail."
)
TIMESTAMP_WINDOW = 300  # seconds of clock skew a TBA oauth_timestamp may have
MAX_PAGE = 1000
READ_ONLY = frozenset({"id", "links", "lastModifiedDate", "dateCreated", "refName"})  # ignored when sent back
_TYPE_URLS = {
    400: "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.1",
    401: "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.2",
    403: "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.4",
    404: "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.5",
    405: "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.6",
    429: "https://tools.ietf.org/html/rfc6585#section-4",
    500: "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.5.1",
    503: "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.5.4",
}


def _names(*groups: str) -> tuple[str, ...]:
    return tuple(name for group in groups for name in group.split())


@dataclass(frozen=True)
class RecordSpec:
    """What the simulator knows of one record type: its fields, their kinds, and its SuiteQL table."""

    fields: frozenset[str]
    booleans: frozenset[str] = frozenset()
    references: frozenset[str] = frozenset()  # {"id": "..."}
    multi_references: frozenset[str] = frozenset()  # {"items": [{"id": "..."}]} (a single {"id"} is accepted too)
    numbers: frozenset[str] = frozenset()
    sublists: frozenset[str] = frozenset()  # {"items": [{...}]}
    required: tuple[tuple[str, str], ...] = ()  # (field, label for "Please enter value(s) for: <label>")
    name_field: str | None = None  # the field NetSuiteFaults.reject_names_containing looks at
    table: str = ""
    columns: tuple[str, ...] = ()  # SuiteQL columns (lower case)


SPECS: dict[str, RecordSpec] = {
    "customer": RecordSpec(
        fields=frozenset(
            {"entityId", "companyName", "firstName", "lastName", "isPerson", "email", "phone", "url", "externalId"}
            | {"isInactive", "currency", "terms", "subsidiary", "parent", "addressBook", "comments"}
            | {"custentity_mdm_tax_id"}
        ),
        booleans=frozenset({"isPerson", "isInactive"}),
        references=frozenset({"subsidiary", "parent", "currency", "terms"}),
        sublists=frozenset({"addressBook"}),
        required=(("subsidiary", "Subsidiary"),),
        name_field="companyName",
        table="customer",
        columns=_names(
            "id externalid entityid companyname firstname lastname isperson email phone url",
            "isinactive currency terms subsidiary parent comments custentity_mdm_tax_id datecreated lastmodifieddate",
        ),
    ),
    "inventoryItem": RecordSpec(
        fields=frozenset(
            {"itemId", "displayName", "salesDescription", "externalId", "subsidiary", "includeChildren", "upcCode"}
            | {"isInactive", "basePrice", "custitem_mdm_gtin"}
        ),
        booleans=frozenset({"isInactive", "includeChildren"}),
        multi_references=frozenset({"subsidiary"}),
        numbers=frozenset({"basePrice"}),
        required=(("itemId", "Item Name/Number"),),
        name_field="displayName",
        table="item",
        columns=_names(
            "id externalid itemid displayname salesdescription upccode isinactive",
            "includechildren subsidiary custitem_mdm_gtin itemtype datecreated lastmodifieddate",
        ),
    ),
    "subsidiary": RecordSpec(
        fields=frozenset({"name", "externalId", "isInactive", "parent", "currency", "country"}),
        booleans=frozenset({"isInactive"}),
        references=frozenset({"parent", "currency"}),
        required=(("name", "Name"),),
        table="subsidiary",
        columns=("id", "externalid", "name", "isinactive", "parent", "currency", "country", "lastmodifieddate"),
    ),
}
TABLES = {spec.table: record_type for record_type, spec in SPECS.items()}


@dataclass
class NetSuiteFaults:
    """Faults to inject; all off by default. Change the attributes at any time (tests, the control API)."""

    error_rate: float = 0.0  # fraction of writes answered 503 (transient)
    latency_ms: float = 0.0  # added to every API call while it holds a slot of the concurrency pool
    seed: int = 0  # random.Random(seed) draws the 503s; it restarts when the seed changes or faults are replaced
    reject_names_containing: tuple[str, ...] = ()  # customer companyName / item displayName -> 400 USER_ERROR
    expire_tokens: bool = False  # every bearer token and TBA token is refused with 401 INVALID_LOGIN


class NetSuiteError(Exception):
    """An error NetSuite answers in its `o:errorDetails` shape."""

    def __init__(self, status: int, code: str, detail: str, **where: str):
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.where = where  # o:errorPath, o:errorQueryParam, o:errorHeader or o:errorUrl

    def response(self) -> Response:
        item = {"detail": self.detail, "o:errorCode": self.code}
        item |= {f"o:{key}": value for key, value in self.where.items()}
        body = {
            "type": _TYPE_URLS.get(self.status, "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html"),
            "title": HTTPStatus(self.status).phrase,
            "status": self.status,
            "o:errorDetails": [item],
        }
        return Response.json(self.status, body, {"Content-Type": "application/vnd.oracle.resource+json; type=error"})


def _user_error(detail: str, path: str) -> NetSuiteError:
    return NetSuiteError(400, "USER_ERROR", f"Error while accessing resource: {detail}", errorPath=path)


def _invalid_content(detail: str, path: str) -> NetSuiteError:
    return NetSuiteError(400, "INVALID_CONTENT", f"Error while accessing resource: {detail}", errorPath=path)


def _not_found(record_type: str, key: str) -> NetSuiteError:
    return NetSuiteError(
        404, "NONEXISTENT_ID", f"The record instance does not exist. Provide a valid record instance ID ({key})."
    )


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class NetSuiteSimulator(SimulatorServer):
    """A NetSuite account on loopback, for the demo and the connector's tests."""

    name = "netsuite-simulator"

    def __init__(
        self,
        *,
        tls: LocalTLS | None,
        host: str = "127.0.0.1",
        port: int = 0,
        account_id: str = "1234567",
        consumer_key: str = "ck",
        # The simulator's well-known loopback credentials, not secrets.
        consumer_secret: str = "cs",  # noqa: S107
        token_id: str = "tk",  # noqa: S107
        token_secret: str = "ts",  # noqa: S107
        m2m_client_id: str = "mdm-hub",
        m2m_public_key_pem: bytes | None = None,
        m2m_certificate_id: str | None = None,
        concurrency_limit: int = 5,
        faults: NetSuiteFaults | None = None,
    ):
        super().__init__(host=host, port=port, ssl_context=tls.server_context() if tls else None)
        self.account_id = account_id
        self.realm = account_id.upper().replace("-", "_")  # 1234567-sb1 -> 1234567_SB1
        self.consumer_key, self.consumer_secret = consumer_key, consumer_secret
        self.token_id, self.token_secret = token_id, token_secret
        self.m2m_client_id = m2m_client_id
        self.m2m_certificate_id = m2m_certificate_id  # when set, the assertion's kid must name it
        self._m2m_key = _public_key(m2m_public_key_pem) if m2m_public_key_pem else None
        self.concurrency_limit = concurrency_limit
        self._dice = FaultDice()
        self.faults = faults or NetSuiteFaults()
        self._in_flight = 0  # not part of a reset: requests may be in flight while a test resets
        self._reset_state()

    # ---- state -------------------------------------------------------------------------------------------------

    def _reset_state(self) -> None:
        with self._lock:
            self._store: dict[str, dict[str, dict[str, Any]]] = {record_type: {} for record_type in SPECS}
            self._by_eid: dict[str, dict[str, str]] = {record_type: {} for record_type in SPECS}
            self._next_id = 100
            self._last_write = datetime.fromtimestamp(0, UTC)
            self._clock_offset = timedelta(0)
            self._writes: Counter[str] = Counter()
            self._nonces: set[tuple[str, str, str]] = set()
            self._tokens: dict[str, float] = {}  # access token -> expiry (epoch seconds)
            self._tokens_issued = 0
            self._max_in_flight = 0
            self._rejected_for_concurrency = 0
            self._dice.restart()
            self.login_audit_trail: list[str] = []  # why each refused login was refused, as NetSuite's UI shows
            now = self._stamp()
            self._store["subsidiary"]["1"] = {
                "id": "1",
                "name": "Parent Company",
                "isInactive": False,
                "dateCreated": now,
                "lastModifiedDate": now,
            }

    def reset(self) -> None:
        """Forget every record (but subsidiary 1), token, nonce, count and fault."""
        with self._lock:
            self.faults = NetSuiteFaults()
            self._reset_state()
            self.calls.clear()

    @property
    def faults(self) -> NetSuiteFaults:
        """The faults in force; change them in place or assign new NetSuiteFaults (the draws restart from the seed)."""
        return self._faults

    @faults.setter
    def faults(self, value: NetSuiteFaults) -> None:
        with self._lock:
            self._faults = value
            self._dice.restart()

    def _now(self) -> datetime:
        return datetime.now(UTC) + self._clock_offset

    def _stamp(self) -> datetime:
        """The next lastModifiedDate: now, but always at least 1 ms after the previous write."""
        with self._lock:
            now = self._now()
            now = now.replace(microsecond=now.microsecond // 1000 * 1000)
            self._last_write = max(now, self._last_write + timedelta(milliseconds=1))
            return self._last_write

    def advance_clock(self, seconds: float) -> None:
        """Move the account's clock forward, so tests can put edits after a `since` without sleeping."""
        with self._lock:
            self._clock_offset += timedelta(seconds=seconds)

    def revoke_tokens(self) -> None:
        """Invalidate every access token issued so far (new ones work): a client must fetch a token again."""
        with self._lock:
            self._tokens.clear()

    def _new_id(self) -> str:
        with self._lock:
            self._next_id += 1
            return str(self._next_id)

    # ---- the Python interface for tests ------------------------------------------------------------------------

    def records(self, record_type: str) -> list[dict]:
        """Copies of the stored records of a type, by internal id: id, externalId, lastModifiedDate, fields."""
        with self._lock:
            stored = self._store[record_type]
            return [_public(stored[key]) for key in sorted(stored, key=int)]

    def by_external_id(self, record_type: str, external_id: str) -> dict | None:
        """The record with that external ID, or None."""
        with self._lock:
            internal_id = self._by_eid[record_type].get(external_id)
            return _public(self._store[record_type][internal_id]) if internal_id else None

    def user_edit(self, record_type: str, internal_id: str, fields: dict) -> dict:
        """A person edits a record in NetSuite's UI: the same validation as the API, a new lastModifiedDate."""
        with self._lock:
            existing = self._store[record_type].get(str(internal_id))
            if existing is None:
                raise KeyError(f"no {record_type} {internal_id}")
            try:
                cleaned = self._validated(record_type, fields, existing=existing, url_eid=None, lenient=False)
            except NetSuiteError as exc:
                raise ValueError(exc.detail) from exc
            return _public(self._save(record_type, cleaned, existing=existing))

    def user_create(self, record_type: str, fields: dict) -> dict:
        """A person creates a record in NetSuite's UI (the form pre-fills subsidiary 1 for customers)."""
        fields = dict(fields)
        if record_type == "customer":
            fields.setdefault("subsidiary", {"id": "1"})
        with self._lock:
            try:
                cleaned = self._validated(record_type, fields, existing=None, url_eid=None, lenient=False)
            except NetSuiteError as exc:
                raise ValueError(exc.detail) from exc
            return _public(self._save(record_type, cleaned, existing=None))

    def writes(self, record_type: str) -> int:
        """API creates and updates of that type that succeeded."""
        with self._lock:
            return self._writes[record_type]

    def max_concurrency_seen(self) -> int:
        """The most API requests in flight at once, counting those refused with 429."""
        with self._lock:
            return self._max_in_flight

    def stats(self) -> dict[str, Any]:
        """Counters for the control API and benchmarks."""
        with self._lock:
            return {
                "writes": dict(self._writes),
                "records": {record_type: len(stored) for record_type, stored in self._store.items()},
                "max_concurrency_seen": self._max_in_flight,
                "in_flight": self._in_flight,
                "rejected_for_concurrency": self._rejected_for_concurrency,
                "tokens_issued": self._tokens_issued,
                "calls": len(self.calls),
                "login_failures": len(self.login_audit_trail),
            }

    # ---- HTTP --------------------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Route one request: control API, token endpoint, or the REST API behind auth and the concurrency pool."""
        if request.path.startswith(CONTROL + "/"):
            return self._control(request)
        if request.path == TOKEN_PATH:
            return self._token(request)
        if not request.path.startswith(REST + "/"):
            return NetSuiteError(404, "NONEXISTENT_ID", f"No resource at {request.path}.").response()
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            refused = self._in_flight > self.concurrency_limit
            if refused:
                self._in_flight -= 1
                self._rejected_for_concurrency += 1
        if refused:
            # The code name is our choice: the contract only says 429 [M].
            detail = "Concurrent request limit exceeded. Request blocked."
            return NetSuiteError(429, "CONCURRENCY_LIMIT_EXCEEDED", detail).response()
        try:
            if self.faults.latency_ms > 0:
                time.sleep(self.faults.latency_ms / 1000)
            refusal = self._authenticate(request)
            if refusal is not None:
                with self._lock:
                    self.login_audit_trail.append(refusal)
                return NetSuiteError(401, "INVALID_LOGIN", LOGIN_DETAIL).response()
            return self._api(request)
        except NetSuiteError as exc:
            return exc.response()
        finally:
            with self._lock:
                self._in_flight -= 1

    def _control(self, request: Request) -> Response:
        """The control API: records, stats, faults, reset, token revocation and the clock (no auth: loopback only)."""
        action = request.path[len(CONTROL) + 1 :].strip("/")
        if request.method == "GET" and action.startswith("records/"):
            record_type = action[len("records/") :]
            if record_type not in SPECS:
                return Response.json(404, {"error": f"unknown record type {record_type!r}"})
            return Response.json(200, self.records(record_type))
        if request.method == "GET" and action == "stats":
            return Response.json(200, self.stats())
        if action == "faults" and request.method == "GET":
            return Response.json(200, asdict(self.faults))
        if action == "faults" and request.method == "POST":
            try:
                self.faults = replace(self.faults, **fault_changes(NetSuiteFaults, request.json()))
            except ValueError as exc:
                return Response.json(400, {"error": str(exc)})
            return Response.json(200, asdict(self.faults))
        if action == "reset" and request.method == "POST":
            self.reset()
            return Response(204)
        if action == "revoke-tokens" and request.method == "POST":
            self.revoke_tokens()
            return Response(204)
        if action == "clock" and request.method == "POST":
            try:
                seconds = float(request.json()["advance_seconds"])
            except (ValueError, KeyError, TypeError):
                return Response.json(400, {"error": 'send {"advance_seconds": <number>}'})
            self.advance_clock(seconds)
            return Response(204)
        return Response.json(404, {"error": f"no control action {request.method} {action!r}"})

    def _origin(self, request: Request) -> str:
        return f"{self.scheme}://{request.headers.get('Host') or f'{self.host}:{self.port}'}"

    def _api(self, request: Request) -> Response:
        rest = request.path[len(REST) :]
        if rest.rstrip("/") == "/query/v1/suiteql":
            return self._suiteql(request)
        if not rest.startswith("/record/v1/"):
            raise NetSuiteError(404, "NONEXISTENT_ID", f"No resource at {request.path}.")
        parts = rest[len("/record/v1/") :].strip("/").split("/")
        record_type = parts[0]
        if record_type not in SPECS:
            raise NetSuiteError(404, "NONEXISTENT_ID", f"Record type '{record_type}' does not exist.")
        if len(parts) == 1:
            if request.method == "GET":
                return self._list(request, record_type)
            if request.method == "POST":
                return self._write(request, record_type, None)
        elif len(parts) == 2:
            if request.method == "GET":
                return self._get(request, record_type, parts[1])
            if request.method in ("PUT", "PATCH"):
                return self._write(request, record_type, parts[1])
            if request.method == "DELETE":
                return self._delete(record_type, parts[1])
        else:
            raise NetSuiteError(404, "NONEXISTENT_ID", f"No resource at {request.path}.")
        raise NetSuiteError(405, "INVALID_PARAMETER", f"{request.method} is not allowed here.", errorUrl=request.path)

    # ---- auth --------------------------------------------------------------------------------------------------

    def _authenticate(self, request: Request) -> str | None:
        """None when the request is authenticated; else the reason, for the login audit trail."""
        header = request.headers.get("Authorization") or ""
        if header[:6].lower() == "oauth ":
            reason = self._check_tba(request, header)
        elif header[:7].lower() == "bearer ":
            reason = self._check_bearer(header[7:].strip())
        else:
            return "no OAuth or Bearer authorization (REST web services take no user credentials)"
        if reason is None and self.faults.expire_tokens:
            return "token expired or revoked"
        return reason

    def _check_bearer(self, token: str) -> str | None:
        with self._lock:
            expiry = self._tokens.get(token)
        if expiry is None:
            return "unknown or revoked access token"
        return "access token expired" if expiry <= time.time() else None

    def _check_tba(self, request: Request, header: str) -> str | None:
        try:
            # The header carries the values percent-encoded (RFC 5849 §3.5.1).
            params = {key: oauth_utils.unescape(value) for key, value in oauth_utils.parse_authorization_header(header)}
        except ValueError:
            return "malformed OAuth header"
        needed = ("oauth_consumer_key", "oauth_token", "oauth_signature_method", "oauth_timestamp", "oauth_nonce")
        missing = [name for name in (*needed, "oauth_signature") if not params.get(name)]
        if missing:
            return f"missing {', '.join(missing)}"
        if params.get("realm") != self.realm:
            return f"realm {params.get('realm')!r} is not this account ({self.realm})"
        if params["oauth_signature_method"] != "HMAC-SHA256":
            return f"signature method {params['oauth_signature_method']} (only HMAC-SHA256 is supported)"
        if params.get("oauth_version", "1.0") != "1.0":
            return f"oauth_version {params['oauth_version']}"
        if not (
            safe_string_equals(params["oauth_consumer_key"], self.consumer_key)
            and safe_string_equals(params["oauth_token"], self.token_id)
        ):
            return "unknown consumer key or token"
        if len(params["oauth_nonce"]) < 6:
            return "nonce shorter than 6 characters"
        try:
            skew = abs(time.time() - int(params["oauth_timestamp"]))
        except ValueError:
            return "timestamp is not a number"
        if skew > TIMESTAMP_WINDOW:
            return f"timestamp {skew:.0f} s away from the server's clock"
        # The signature covers the method, the URL without its query, and the sorted oauth_ and query
        # parameters (realm excluded); a form body would count too, but the REST API takes JSON.
        query = [(key, value) for key, values in request.query.items() for value in values]
        form = request.body.decode() if "x-www-form-urlencoded" in (request.headers.get("Content-Type") or "") else None
        collected = oauth_signature.collect_parameters(body=form, headers={"Authorization": header})
        normalized = oauth_signature.normalize_parameters(query + collected)
        base_uri = oauth_signature.base_string_uri(self._origin(request) + request.path)
        base_string = oauth_signature.signature_base_string(request.method, base_uri, normalized)
        secrets_ = SimpleNamespace(client_secret=self.consumer_secret, resource_owner_secret=self.token_secret)
        expected = oauth_signature.sign_hmac_sha256_with_client(base_string, secrets_)
        if not safe_string_equals(expected, params["oauth_signature"]):
            return "signature does not match"
        nonce = (params["oauth_consumer_key"], params["oauth_token"], params["oauth_nonce"])
        with self._lock:
            if nonce in self._nonces:
                return "nonce already used"
            self._nonces.add(nonce)
        return None

    def _token(self, request: Request) -> Response:
        """OAuth 2.0 client credentials with a JWT client assertion (RFC 7523); errors in RFC 6749's shape."""

        def refuse(status: int, error: str, description: str) -> Response:
            with self._lock:
                self.login_audit_trail.append(f"token endpoint: {error}: {description}")
            return Response.json(status, {"error": error, "error_description": description})

        if request.method != "POST":
            return refuse(405, "invalid_request", "use POST")
        form = request.form()
        if form.get("grant_type") != "client_credentials":
            return refuse(400, "unsupported_grant_type", "grant_type must be client_credentials")
        if form.get("client_assertion_type") != JWT_BEARER:
            return refuse(400, "invalid_request", f"client_assertion_type must be {JWT_BEARER}")
        assertion = form.get("client_assertion") or ""
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.InvalidTokenError as exc:
            return refuse(400, "invalid_request", f"client_assertion is not a JWT: {exc}")
        if header.get("alg") not in M2M_ALGORITHMS:
            return refuse(400, "invalid_request", f"alg {header.get('alg')} (use PS256/384/512 or ES256/384/512)")
        if header.get("typ") != "JWT" or not header.get("kid"):
            return refuse(400, "invalid_request", "the JWT header needs typ=JWT and kid=<certificate ID>")
        if self._m2m_key is None or (self.m2m_certificate_id and header["kid"] != self.m2m_certificate_id):
            return refuse(401, "invalid_client", f"no certificate {header['kid']!r} is mapped to an integration")
        token_url = self._origin(request) + TOKEN_PATH
        try:
            claims = jwt.decode(
                assertion,
                self._m2m_key,
                algorithms=[header["alg"]],
                audience=token_url,
                options={"require": ["iss", "aud", "iat", "exp", "scope"]},
            )
        except jwt.InvalidSignatureError:
            return refuse(401, "invalid_client", "the client assertion's signature does not verify")
        except jwt.InvalidTokenError as exc:
            return refuse(400, "invalid_grant", f"client assertion refused: {exc}")
        if claims["iss"] != self.m2m_client_id:
            return refuse(401, "invalid_client", f"unknown client {claims['iss']!r}")
        if not isinstance(claims["exp"], int | float) or claims["exp"] - claims["iat"] > 3600:
            return refuse(400, "invalid_grant", "exp must be at most 60 minutes after iat")
        scopes = {s.strip() for s in re.split(r"[ ,]", str(claims["scope"])) if s.strip()}
        if "rest_webservices" not in scopes:
            return refuse(400, "invalid_scope", "scope must include rest_webservices")
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = time.time() + 3600
            self._tokens_issued += 1
        return Response.json(200, {"access_token": token, "expires_in": "3600", "token_type": "bearer"})

    # ---- record API --------------------------------------------------------------------------------------------

    def _lookup(self, record_type: str, key: str) -> dict[str, Any] | None:
        """The stored record for an internal id or `eid:<externalId>` (caller holds the lock)."""
        if key.startswith("eid:"):
            internal_id = self._by_eid[record_type].get(_url_eid(key))
            return self._store[record_type].get(internal_id) if internal_id else None
        return self._store[record_type].get(key)

    def _get(self, request: Request, record_type: str, key: str) -> Response:
        with self._lock:
            record = self._lookup(record_type, key)
            if record is None:
                raise _not_found(record_type, key)
            body = _public(record)
        self_url = f"{self._origin(request)}{REST}/record/v1/{record_type}/{body['id']}"
        wanted = request.arg("fields")
        if wanted:
            keep = {name.strip() for name in wanted.split(",")} | {"id"}
            body = {name: value for name, value in body.items() if name in keep}
        return Response.json(200, {"links": [{"rel": "self", "href": self_url}], **body})

    def _list(self, request: Request, record_type: str) -> Response:
        limit, offset = _paging(request)
        with self._lock:
            ids = sorted(self._store[record_type], key=int)
        base = f"{self._origin(request)}{REST}/record/v1/{record_type}"
        page = ids[offset : offset + limit]
        items = [{"links": [{"rel": "self", "href": f"{base}/{i}"}], "id": i} for i in page]
        return Response.json(200, _envelope(base, limit, offset, len(ids), items))

    def _write(self, request: Request, record_type: str, key: str | None) -> Response:
        if key is not None and request.method == "PUT" and not key.startswith("eid:"):
            detail = "PUT is supported only with an external ID in the URL: .../{type}/eid:{externalId}."
            raise NetSuiteError(400, "INVALID_PARAMETER", detail, errorUrl=request.path)
        url_eid = _url_eid(key) if key and key.startswith("eid:") else None
        if url_eid is not None and not EXTERNAL_ID.fullmatch(url_eid):
            detail = "An external ID in a URL may contain only letters, digits, underscores and hyphens."
            raise NetSuiteError(400, "INVALID_PARAMETER", detail, errorUrl=request.path)
        with self._lock:
            unlucky = self._dice.draw(self.faults.error_rate, self.faults.seed)
        if unlucky:
            # Oracle does not document a 503 body; ours has the usual shape and an error ID, as 5xx answers do.
            detail = f"An unexpected error occurred. Error ID: {secrets.token_hex(8)}"
            raise NetSuiteError(503, "UNEXPECTED_ERROR", detail)
        try:
            body = request.json()
        except ValueError as exc:
            raise NetSuiteError(400, "INVALID_CONTENT", f"The request body is not valid JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise NetSuiteError(400, "INVALID_CONTENT", "The request body must be a JSON object.")
        lenient = (request.headers.get("X-NetSuite-PropertyNameValidation") or "Error").lower() in ("warning", "ignore")
        with self._lock:
            existing = self._lookup(record_type, key) if key is not None else None
            if existing is None and request.method == "PATCH":
                raise _not_found(record_type, key or "")
            cleaned = self._validated(record_type, body, existing=existing, url_eid=url_eid, lenient=lenient)
            saved = self._save(record_type, cleaned, existing=existing)
            self._writes[record_type] += 1
        location = f"{self._origin(request)}{REST}/record/v1/{record_type}/{saved['id']}"
        return Response(204, b"", {"Location": location})

    def _delete(self, record_type: str, key: str) -> Response:
        with self._lock:
            record = self._lookup(record_type, key)
            if record is None:
                raise _not_found(record_type, key)
            if any((r.get("parent") or {}).get("id") == record["id"] for r in self._store[record_type].values()):
                raise _user_error("This record cannot be deleted because it has dependent records.", "parent")
            del self._store[record_type][record["id"]]
            if record.get("externalId"):
                self._by_eid[record_type].pop(record["externalId"], None)
        return Response(204)

    def _validated(
        self, record_type: str, body: dict, *, existing: dict | None, url_eid: str | None, lenient: bool
    ) -> dict[str, Any]:
        """The fields to store, checked as NetSuite checks them; raises NetSuiteError (caller holds the lock)."""
        spec = SPECS[record_type]
        cleaned: dict[str, Any] = {}
        for name, value in body.items():
            if name in READ_ONLY:
                continue
            if name not in spec.fields:
                if lenient:  # X-NetSuite-PropertyNameValidation: Warning or Ignore
                    continue
                raise _invalid_content(f"Invalid field name '{name}' for record type '{record_type}'.", name)
            cleaned[name] = _normalized(spec, name, value)
        external_id = cleaned.get("externalId")
        if external_id is not None and not EXTERNAL_ID.fullmatch(str(external_id)):
            detail = "An external ID may contain only letters, digits, underscores and hyphens."
            raise _user_error(detail, "externalId")
        if url_eid is not None:
            if external_id is not None and external_id != url_eid:
                raise _invalid_content("The externalId in the body differs from the eid in the URL.", "externalId")
            cleaned["externalId"] = url_eid
        owner = self._by_eid[record_type].get(cleaned.get("externalId") or "")
        if owner is not None and (existing is None or owner != existing["id"]):
            raise _user_error("A record with this external ID already exists.", "externalId")

        merged = {**(existing or {}), **cleaned}
        for name, label in spec.required:
            if merged.get(name) in (None, "", {}):
                raise _user_error(f"Please enter value(s) for: {label}", name)
        if record_type == "customer" and not merged.get("isPerson") and not merged.get("companyName"):
            raise _user_error("Please enter value(s) for: Company Name", "companyName")
        if merged.get("email") and not EMAIL.fullmatch(str(merged["email"])):
            raise _user_error("Please enter a valid email address.", "email")
        subsidiary = merged.get("subsidiary")
        for subsidiary_id in [item["id"] for item in subsidiary.get("items", [subsidiary])] if subsidiary else []:
            if subsidiary_id not in self._store["subsidiary"]:
                detail = f"Invalid Field Value {subsidiary_id} for the following field: subsidiary"
                raise _user_error(detail, "subsidiary")
        parent = (merged.get("parent") or {}).get("id") if "parent" in spec.references else None
        if parent is not None:
            self._check_parent(record_type, parent, existing)
        if spec.name_field and merged.get(spec.name_field):
            for word in self.faults.reject_names_containing:
                if word and word in str(merged[spec.name_field]):
                    detail = f"Invalid Field Value {merged[spec.name_field]} for the following field: {spec.name_field}"
                    raise _user_error(detail, spec.name_field)
        return cleaned

    def _check_parent(self, record_type: str, parent_id: str, existing: dict | None) -> None:
        """The parent exists, and making it the parent creates no cycle."""
        invalid = _user_error(f"Invalid Field Value {parent_id} for the following field: parent", "parent")
        stored = self._store[record_type]
        if parent_id not in stored:
            raise invalid
        seen: set[str] = set()
        current: str | None = parent_id
        while current is not None and current not in seen:
            if existing is not None and current == existing["id"]:
                raise invalid
            seen.add(current)
            current = (stored.get(current, {}).get("parent") or {}).get("id")

    def _save(self, record_type: str, cleaned: dict[str, Any], *, existing: dict | None) -> dict[str, Any]:
        """Store a validated change with a fresh lastModifiedDate (caller holds the lock)."""
        stamp = self._stamp()
        if existing is None:
            record = {"id": self._new_id(), "dateCreated": stamp, **cleaned}
            if record_type == "customer" and not record.get("entityId"):
                person = f"{record.get('firstName') or ''} {record.get('lastName') or ''}".strip()
                record["entityId"] = record.get("companyName") or person or record["id"]
            self._store[record_type][record["id"]] = record
        else:
            record = existing
            if (
                existing.get("externalId")
                and cleaned.get("externalId", existing["externalId"]) != existing["externalId"]
            ):
                self._by_eid[record_type].pop(existing["externalId"], None)
            record.update(cleaned)
        record["lastModifiedDate"] = stamp
        if record.get("externalId"):
            self._by_eid[record_type][record["externalId"]] = record["id"]
        return record

    # ---- SuiteQL -----------------------------------------------------------------------------------------------

    def _suiteql(self, request: Request) -> Response:
        if request.method != "POST":
            raise NetSuiteError(405, "INVALID_PARAMETER", "SuiteQL takes POST.", errorUrl=request.path)
        if "transient" not in (request.headers.get("Prefer") or "").lower():
            # Our choice of code: the docs require the header but do not show the error.
            raise NetSuiteError(
                400, "INVALID_PARAMETER", "SuiteQL needs the header Prefer: transient.", errorHeader="Prefer"
            )
        limit, offset = _paging(request)
        try:
            body = request.json()
        except ValueError:
            body = None
        text = body.get("q") if isinstance(body, dict) else None
        if not isinstance(text, str):
            raise NetSuiteError(400, "INVALID_PARAMETER", 'The body must be {"q": "<SuiteQL>"}.', errorQueryParam="q")
        tables = {spec.table: (spec.columns, self._rows_of(record_type)) for record_type, spec in SPECS.items()}
        try:
            rows = suiteql.run(text, tables)
        except suiteql.SuiteQLError as exc:
            detail = f"Invalid search query. Detailed unprocessed description follows. {exc}"
            raise NetSuiteError(400, "INVALID_PARAMETER", detail, errorQueryParam="q") from exc
        items = [{"links": [], **_rendered(row)} for row in rows[offset : offset + limit]]
        base = f"{self._origin(request)}{REST}/query/v1/suiteql"
        return Response.json(200, _envelope(base, limit, offset, len(rows), items))

    def _rows_of(self, record_type: str) -> Any:
        def rows() -> list[dict[str, Any]]:
            with self._lock:
                return [_suiteql_row(record_type, record) for record in self._store[record_type].values()]

        return rows


def _url_eid(key: str) -> str:
    return unquote(key[len("eid:") :])


def _public_key(pem: bytes) -> Any:
    """The M2M verification key: a PEM public key, or the public key of a PEM certificate (what NetSuite keeps)."""
    if b"BEGIN CERTIFICATE" in pem:
        return x509.load_pem_x509_certificate(pem).public_key()
    return serialization.load_pem_public_key(pem)


def _normalized(spec: RecordSpec, name: str, value: Any) -> Any:
    """A field's value in its stored shape, or INVALID_CONTENT when its JSON type is wrong."""
    if value is None:
        return None
    if name in spec.booleans:
        if not isinstance(value, bool):
            raise _invalid_content(f"Invalid value for the field '{name}': expected a boolean.", name)
        return value
    if name in spec.numbers:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _invalid_content(f"Invalid value for the field '{name}': expected a number.", name)
        return value
    if name in spec.references or name in spec.multi_references:
        refs = value.get("items") if isinstance(value, dict) and name in spec.multi_references else None
        if isinstance(refs, list) and refs and all(isinstance(r, dict) and r.get("id") is not None for r in refs):
            return {"items": [{"id": str(r["id"])} for r in refs]}
        if isinstance(value, dict) and value.get("id") is not None:
            return {"id": str(value["id"])}
        raise _invalid_content(f'Invalid value for the field \'{name}\': expected {{"id": "..."}}.', name)
    if name in spec.sublists:
        items = value.get("items") if isinstance(value, dict) else None
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise _invalid_content(f"Invalid value for the sublist '{name}': expected {{\"items\": [...]}}.", name)
        return {"items": [dict(item) for item in items]}
    if not isinstance(value, str):
        raise _invalid_content(f"Invalid value for the field '{name}': expected a string.", name)
    return value


def _public(record: dict[str, Any]) -> dict[str, Any]:
    """A JSON-ready copy of a stored record."""
    copy = json.loads(json.dumps({k: v for k, v in record.items() if not isinstance(v, datetime)}))
    copy["lastModifiedDate"] = _iso(record["lastModifiedDate"])
    copy["dateCreated"] = _iso(record["dateCreated"])
    copy.setdefault("externalId", None)
    return copy


def _suiteql_row(record_type: str, record: dict[str, Any]) -> dict[str, Any]:
    """A stored record as SuiteQL sees it: lower-case columns, ids as numbers, 'T'/'F', DATEs to the second."""
    spec = SPECS[record_type]
    row: dict[str, Any] = dict.fromkeys(spec.columns)
    for name, value in record.items():
        column = name.lower()
        if column not in row or value is None:
            continue
        if isinstance(value, bool):
            row[column] = "T" if value else "F"
        elif isinstance(value, datetime):
            row[column] = value.astimezone(UTC).replace(tzinfo=None, microsecond=0)  # Oracle DATE: seconds
        elif isinstance(value, dict) and "items" in value:
            ids = [item["id"] for item in value["items"]]
            row[column] = _number(ids[0]) if len(ids) == 1 else ", ".join(ids)
        elif isinstance(value, dict):
            row[column] = _number(value["id"])
        else:
            row[column] = _number(value) if column == "id" else value
    for name in spec.booleans:
        row[name.lower()] = row[name.lower()] or "F"
    if "itemtype" in row:
        row["itemtype"] = "InvtPart"
    return row


def _number(value: str) -> int | str:
    return int(value) if str(value).isdigit() else value


def _rendered(row: dict[str, Any]) -> dict[str, str]:
    """A result row as the REST answer has it: text values, dates in the user's format, NULL columns left out."""
    out = {}
    for name, value in row.items():
        if value is None:
            continue
        if isinstance(value, datetime):
            out[name] = f"{value.month}/{value.day}/{value.year}"  # the default M/D/YYYY date preference
        elif isinstance(value, float) and value.is_integer():
            out[name] = str(int(value))
        else:
            out[name] = str(value)
    return out


def _paging(request: Request) -> tuple[int, int]:
    """limit (1..1000, default 1000) and offset (a multiple of limit, as NetSuite insists)."""
    try:
        limit = int(request.arg("limit", str(MAX_PAGE)) or MAX_PAGE)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_PAGE:
        raise NetSuiteError(400, "INVALID_PARAMETER", f"limit must be 1 to {MAX_PAGE}.", errorQueryParam="limit")
    try:
        offset = int(request.arg("offset", "0") or 0)
    except ValueError:
        offset = -1
    if offset < 0 or offset % limit:
        detail = "offset must be a non-negative multiple of limit."
        raise NetSuiteError(400, "INVALID_PARAMETER", detail, errorQueryParam="offset")
    return limit, offset


def _envelope(base: str, limit: int, offset: int, total: int, items: list[dict]) -> dict[str, Any]:
    """NetSuite's paging envelope, shared by SuiteQL and record lists."""

    def link(rel: str, at: int) -> dict[str, str]:
        return {"rel": rel, "href": f"{base}?limit={limit}&offset={at}"}

    has_more = offset + len(items) < total
    links = []
    if offset > 0:
        links.append(link("previous", max(offset - limit, 0)))
    links.append(link("first", 0))
    if has_more:
        links.append(link("next", offset + limit))
    links.append(link("last", max((total - 1) // limit, 0) * limit))
    links.append(link("self", offset))
    return {
        "links": links,
        "count": len(items),
        "hasMore": has_more,
        "items": items,
        "offset": offset,
        "totalResults": total,
    }
