"""A small threaded HTTP(S) server on loopback that the simulators build on.

Each simulator subclasses SimulatorServer and implements `handle(request) -> Response`. It runs in a
background thread (tests: `with SalesforceSimulator(...) as sim:`), or in the foreground under
`manage.py simulators` for the demo. Every request is counted and logged in `calls`, so tests and
benchmarks can assert how many API calls a publish used.
"""

import json
import random
import ssl
import threading
import time
import types
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast, get_args, get_origin, get_type_hints
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    """One HTTP request as a simulator sees it."""

    method: str
    path: str  # without the query string
    query: dict[str, list[str]]
    headers: Mapping[str, str]  # case-insensitive (an email.message.Message)
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON; raises ValueError when it is not JSON."""
        return json.loads(self.body.decode("utf-8") or "null")

    def form(self) -> dict[str, str]:
        """The body parsed as application/x-www-form-urlencoded (last value wins)."""
        return {key: values[-1] for key, values in parse_qs(self.body.decode("utf-8")).items()}

    def arg(self, name: str, default: str | None = None) -> str | None:
        """One query-string parameter."""
        values = self.query.get(name)
        return values[-1] if values else default


@dataclass
class Response:
    """What a simulator answers."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> "Response":
        return cls(status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})})

    @classmethod
    def text(cls, status: int, text: str, content_type: str = "text/plain", **headers: str) -> "Response":
        return cls(status, text.encode(), {"Content-Type": content_type, **headers})


@dataclass(frozen=True)
class Call:
    """One request the simulator answered: for assertions on how many calls a publish used."""

    method: str
    path: str
    status: int
    at: float


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up mid-answer (a timeout, a killed worker) is normal here, not a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError | ssl.SSLError | TimeoutError):
            return
        super().handle_error(request, client_address)


class SimulatorServer:
    """A loopback HTTP server in a thread; TLS when given an ssl.SSLContext (simple-salesforce needs https)."""

    name = "simulator"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, ssl_context: ssl.SSLContext | None = None):
        self._lock = threading.RLock()
        self.calls: list[Call] = []
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real clients use it
            # Headers and body leave in separate writes; with Nagle on, every answer with a body waited ~40 ms
            # for the client's delayed ACK.
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = cast(Mapping[str, str], self.headers)  # an email.message.Message: case-insensitive
                request = Request(self.command, parts.path, parse_qs(parts.query), headers, body)
                try:
                    response = simulator.handle(request)
                except Exception as exc:  # a simulator bug must show as a 500 with the reason, not a hang
                    response = Response.text(500, f"simulator error: {exc!r}")
                with simulator._lock:
                    simulator.calls.append(Call(request.method, request.path, response.status, time.time()))
                self.send_response(response.status)
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                if response.body and self.command != "HEAD":
                    self.wfile.write(response.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

            def log_message(self, format: str, *args: Any) -> None:  # quiet: the calls list is the log
                return

        self._server = _QuietServer((host, port), Handler)
        self._server.daemon_threads = True
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self.scheme = "https" if ssl_context is not None else "http"
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL, e.g. https://127.0.0.1:8443."""
        return f"{self.scheme}://{self.host}:{self.port}"

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def start(self) -> "SimulatorServer":
        """Serve in a background thread."""
        # A short poll interval: stop() waits for it, and tests start and stop simulators often.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.name, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def calls_to(self, path_fragment: str = "", method: str | None = None) -> list[Call]:
        """The calls whose path contains the fragment (and of the method, if given)."""
        with self._lock:
            return [c for c in self.calls if path_fragment in c.path and (method is None or c.method == method)]

    def __enter__(self) -> "SimulatorServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FaultDice:
    """A simulator's fault draws: random.Random(seed), restarted when the seed changes or on restart(), so the same
    faults and calls give the same failures. A fault that is off draws nothing, so one fault alone depends only on the
    seed and the calls. Not locked: the simulator draws under its own lock."""

    def __init__(self) -> None:
        self._rng: random.Random | None = None
        self._seed: int | None = None

    def restart(self) -> None:
        """Start over from the seed on the next draw (a new fault set, a reset)."""
        self._rng = None

    def draw(self, rate: float, seed: int) -> bool:
        """Whether the fault strikes this time, with probability `rate`."""
        if rate <= 0:
            return False
        if self._rng is None or self._seed != seed:
            self._rng, self._seed = random.Random(seed), seed
        return self._rng.random() < rate


def fault_changes(faults_type: type, changes: Any) -> dict[str, Any]:
    """The fields of a faults dataclass that a control API request sets, each checked against the field's type
    (float, int, bool, tuple of str, optionally None); a `*_rate` must lie in [0, 1]. Raises ValueError naming what
    is wrong, for a 400."""
    if not isinstance(changes, dict):
        raise ValueError(f"send a JSON object of {faults_type.__name__} fields")
    hints = get_type_hints(faults_type)
    known = {f.name for f in fields(faults_type)}
    unknown = set(changes) - known
    if unknown:
        raise ValueError(f"unknown fault(s): {', '.join(sorted(unknown))}")
    checked: dict[str, Any] = {}
    for name, value in changes.items():
        hint = hints[name]
        optional = get_origin(hint) is types.UnionType and type(None) in get_args(hint)
        kind = next(arg for arg in get_args(hint) if arg is not type(None)) if optional else hint
        if value is None and optional:
            checked[name] = None
        elif kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false")
            checked[name] = value
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be an integer")
            checked[name] = value
        elif kind is float:
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise ValueError(f"{name} must be a non-negative number")
            if name.endswith("_rate") and value > 1:
                raise ValueError(f"{name} must be between 0 and 1")
            checked[name] = float(value)
        elif get_origin(kind) is tuple:
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise ValueError(f"{name} must be a list of strings")
            checked[name] = tuple(value)
        else:  # a field type this checker does not know: a simulator bug, not the caller's
            raise TypeError(f"{faults_type.__name__}.{name} has a type the control API cannot set: {hint}")
    return checked
