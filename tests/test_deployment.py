"""The production stack as docker-compose.yml runs it, from a fresh clone with .env.example copied to .env.

These machines run no Docker daemon, so the image itself is not built here; instead each compose service's own
command runs with the compose file's environment (.env.example, MDM_ENV=production) against the local PostgreSQL
and Redis, and its own health check must pass.
"""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _example() -> dict[str, str]:
    values = {}
    for number, line in enumerate((ROOT / ".env.example").read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, separator, value = line.partition("=")
        assert separator, f".env.example line {number}: not NAME=value"
        values[name.strip()] = value.strip()
    return values


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _production_env(**overrides: str) -> dict[str, str]:
    """What a hub container sees: .env.example (env_file), nothing else of this machine but PATH and HOME."""
    keep = {name: os.environ[name] for name in ("HOME", "LANG") if name in os.environ}
    return {**keep, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", "PYTHONPATH": str(ROOT), **_example(), **overrides}


def test_every_variable_production_requires_is_in_env_example() -> None:
    required = set()
    for path in ROOT.glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts:
            continue
        required |= set(re.findall(r"env_required\(\s*\"([A-Z0-9_]+)\"", path.read_text()))
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "MDM_CREDENTIALS_KEYS"} <= required
    assert required - set(_example()) == set()


def test_production_settings_load_from_env_example_alone_and_the_deploy_check_names_the_example_key() -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "mdm.W001" in done.stderr and "ImproperlyConfigured" not in done.stderr


def test_every_long_running_service_has_a_health_check_and_waits_for_the_migrations() -> None:
    services = _compose()["services"]
    assert services["migrate"]["command"][-2:] == ["migrate", "--noinput"]
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
        assert "migrate" not in str(services[name]["command"]), f"{name} must not migrate on its own"
    for name, service in services.items():
        assert name == "migrate" or "healthcheck" in service, name
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE), "the image runs as an unprivileged user"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _local(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _healthy(test: list[str], env: dict[str, str], deadline: float) -> None:
    """Run a compose health check (["CMD", ...] or ["CMD-SHELL", "..."]) until it passes or time runs out."""
    command = test[1:] if test[0] == "CMD" else ["sh", "-c", test[1]]
    last = None
    while time.monotonic() < deadline:
        last = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        if last.returncode == 0:
            return
        time.sleep(1)
    raise AssertionError(f"health check {test} never passed: {last.stderr if last else ''}")


@pytest.mark.postgres
@pytest.mark.redis
def test_each_compose_service_runs_its_command_and_passes_its_health_check(tmp_path: Path) -> None:
    import psycopg

    database = f"mdm_compose_{os.getpid()}"
    admin = _local(os.environ["DATABASE_URL"], "/postgres")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{database}"')
    port = _free_port()
    pidfile = str(tmp_path / "celerybeat.pid")
    env = _production_env(
        DATABASE_URL=_local(os.environ["DATABASE_URL"], f"/{database}"),
        CELERY_BROKER_URL=_local(os.environ["CELERY_BROKER_URL"], "/14"),
        DJANGO_ALLOWED_HOSTS="localhost,127.0.0.1",
        MDM_VAR_DIR=str(tmp_path),
        HOSTNAME=socket.gethostname(),  # the worker's node name, as the health check asks for it
    )

    def local(text: str) -> str:
        """A compose string on this machine: the port chosen, beat's pidfile in the test's folder."""
        return text.replace("8000", str(port)).replace("/tmp/celerybeat.pid", pidfile).replace("$$", "$")

    services = _compose()["services"]
    migrate = subprocess.run(services["migrate"]["command"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert migrate.returncode == 0, migrate.stderr
    running = []
    try:
        for name in ("web", "worker", "beat"):
            command = [local(part) for part in services[name]["command"]]
            log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 (closed with the process below)
            running.append((name, subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log), log))
        deadline = time.monotonic() + 120
        for name, process, _ in running:
            _healthy([local(part) for part in services[name]["healthcheck"]["test"]], env, deadline)
            assert process.poll() is None, f"{name} stopped: {(tmp_path / f'{name}.log').read_text()[-2000:]}"
    finally:
        for _, process, _log in running:
            process.terminate()
        for _, process, log in running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _pins(text: str) -> dict[str, str]:
    return {
        name.lower().replace("_", "-"): version
        for name, version in re.findall(r'^\s*"?([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^";\s]+)', text, re.MULTILINE)
    }


def test_the_lock_files_hold_every_pinned_dependency_at_its_pinned_version_with_hashes() -> None:
    """bin/setup installs requirements-dev.lock and the image requirements.lock, both with --require-hashes: they
    must hold what pyproject.toml pins (regenerate them with the pip-compile command at their top)."""
    project = (ROOT / "pyproject.toml").read_text()
    runtime = _pins(project[project.index("dependencies = [") : project.index("[project.optional-dependencies]")])
    extras = project[project.index("[project.optional-dependencies]") : project.index("[build-system]")]
    dev_and_browser = _pins(extras[: extras.index("bench = [")])
    for lock, wanted in (("requirements.lock", runtime), ("requirements-dev.lock", {**runtime, **dev_and_browser})):
        text = (ROOT / lock).read_text()
        locked = _pins(text)
        assert {name: locked.get(name) for name in wanted} == wanted, lock
        assert text.count("--hash=sha256:") >= len(locked), f"{lock}: every requirement carries its hashes"
    assert "trustme" not in _pins((ROOT / "requirements.lock").read_text()), "the simulators' CA is not in production"


def test_a_bad_gunicorn_setting_stops_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import runpy

    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("GUNICORN_WORKERS", "lots")
    with pytest.raises(ImproperlyConfigured, match="GUNICORN_WORKERS"):
        runpy.run_path(str(ROOT / "config" / "gunicorn.py"))
    monkeypatch.setenv("GUNICORN_WORKERS", "3")
    assert runpy.run_path(str(ROOT / "config" / "gunicorn.py"))["workers"] == 3
