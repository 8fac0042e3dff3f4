"""Real processes for the reliability tests: a private redis-server and Celery workers, each in its own process group.

Nothing here touches the shared Redis or any worker the test did not start: every process is started by this module,
remembered by its id, and ended by that id (its process group for a worker, so the prefork children go too).
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import redis

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], Any], *, timeout: float, interval: float = 0.1, what: str = "") -> Any:
    """Poll until condition() is truthy and return its value; raise TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {what or condition}")
        time.sleep(interval)


def tail(path: Path, lines: int = 60) -> str:
    """The last lines of a log file (empty when it does not exist)."""
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def database_url(settings_dict: Mapping[str, Any]) -> str:
    """A DATABASE_URL naming the database Django is connected to (the test database under pytest-django)."""
    if not settings_dict["ENGINE"].endswith("postgresql"):
        raise ValueError("the worker subprocesses need PostgreSQL: the test database must be one another process opens")
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or "5432"
    return f"postgres://{credentials}{host}:{port}/{quote(settings_dict['NAME'], safe='')}"


class RedisServer:
    """A private, throw-away redis-server on a free loopback port (no persistence), stoppable and restartable."""

    def __init__(self, log_path: Path):
        executable = shutil.which("redis-server")
        if executable is None:
            raise FileNotFoundError("redis-server is not on PATH")
        self.executable = executable
        self.port = free_port()
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        """Start it (again, on the same port) and wait until it answers PING."""
        command = [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 (redis-server from PATH, fixed arguments)
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        try:
            wait_until(lambda: self._ping(client), timeout=timeout, what=f"redis-server on port {self.port}")
        finally:
            client.close()

    def _ping(self, client: redis.Redis) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {self.process.returncode}:\n{tail(self.log_path)}")
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    def kill(self) -> None:
        """Stop it hard (SIGKILL), as a crash or a pulled plug would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class CeleryWorker:
    """`celery -A config worker` as a subprocess in its own process group, logging to a file."""

    def __init__(self, *, name: str, env: Mapping[str, str], log_path: Path):
        self.name = name
        self.env = dict(env)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self, timeout: float = 45.0) -> None:
        """Start the worker and wait until it says it is ready to take tasks."""
        celery = Path(sys.executable).with_name("celery")
        program = [str(celery)] if celery.exists() else [sys.executable, "-m", "celery"]
        command = [
            *program,
            "-A",
            "config",
            "worker",
            "-l",
            "info",
            "--concurrency",
            "1",
            "--pool",
            "prefork",
            "--without-mingle",
            "--without-gossip",
            "-n",
            f"{self.name}@%h",
        ]
        with self.log_path.open("ab") as log:
            log.write(f"\n----- starting {self.name}\n".encode())
            log.flush()
            self.process = subprocess.Popen(  # noqa: S603 (our own Celery app, fixed arguments)
                command,
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: killpg ends the prefork children too
            )
        marker = f"{self.name}@"
        wait_until(lambda: self._ready(marker), timeout=timeout, interval=0.2, what=f"worker {self.name} to be ready")

    def _ready(self, marker: str) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"worker {self.name} exited with {self.process.returncode}:\n{tail(self.log_path)}")
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        section = text.rsplit(f"----- starting {self.name}\n", 1)[-1]
        return any(marker in line and line.rstrip().endswith("ready.") for line in section.splitlines())

    def kill(self) -> None:
        """SIGKILL the whole process group: the worker and its pool children die mid-task, acknowledging nothing."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):  # the group is gone already
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self, timeout: float = 10.0) -> None:
        """End the worker: a warm shutdown first, then SIGKILL of its group if it does not leave in time."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=timeout)
        self.kill()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None
