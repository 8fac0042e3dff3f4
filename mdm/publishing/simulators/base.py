"""A small threaded HTTP(S) server on loopback that the simulators build on.

Each simulator subclasses SimulatorServer and implements `handle(request) -> Response`. It runs in a
background thread (tests: `with SalesforceSimulator(...) as sim:`), or in the foreground under
`manage.py simulators` for the demo. Every request is counted and logged in `calls`, so tests and
benchmarks can assert how many API calls a publish used.
"""

import json
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
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
                request = Request(self.command, parts.path, parse_qs(parts.query), self.headers, body)
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
