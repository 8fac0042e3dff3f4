"""Settings: typed environment readers fail loudly, and production settings pass `check --deploy`."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from mdm.env import env_bool, env_choice, env_int, env_list

ROOT = Path(__file__).resolve().parents[2]


def test_typed_readers_parse_and_reject(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "12")
    monkeypatch.setenv("X_LIST", "a, b,,c")
    assert env_bool("X_BOOL", False) is True
    assert env_int("X_INT", 0, maximum=20) == 12
    assert env_list("X_LIST", []) == ["a", "b", "c"]
    assert env_bool("X_UNSET", True) is True
    monkeypatch.setenv("X_INT", "lots")
    with pytest.raises(ImproperlyConfigured, match="X_INT='lots' is not a valid integer"):
        env_int("X_INT", 0)
    monkeypatch.setenv("X_INT", "99")
    with pytest.raises(ImproperlyConfigured, match="at most 20"):
        env_int("X_INT", 0, maximum=20)
    monkeypatch.setenv("X_CHOICE", "staging")
    with pytest.raises(ImproperlyConfigured, match="expected one of"):
        env_choice("X_CHOICE", "development", ("development", "production"))


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "MDM_"))}
    clean.pop("DATABASE_URL", None)
    clean.pop("CELERY_BROKER_URL", None)
    return subprocess.run(  # noqa: S603 (our own manage.py with fixed arguments)
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "MDM_ENV": "production",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "hub.example.com",
    "DATABASE_URL": "postgres://mdm@db.example.com:5432/mdm",
    "CELERY_BROKER_URL": "redis://redis.example.com:6379/0",
    "MDM_CREDENTIALS_KEYS": "p0oqV3vE3Qd1yq3c9nq2bH8L4sR0ZtQ6k5n7mW1xYzA=",
}


def test_production_settings_pass_check_deploy() -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "missing",
    ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL", "MDM_CREDENTIALS_KEYS"],
)
def test_production_refuses_to_start_without_its_secrets_and_services(missing: str) -> None:
    env = {key: value for key, value in PRODUCTION.items() if key != missing}
    result = _manage("check", **env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_a_bad_value_names_the_variable() -> None:
    result = _manage("check", DJANGO_DEBUG="maybe")
    assert result.returncode != 0 and "DJANGO_DEBUG='maybe' is not a valid boolean" in result.stderr


def test_every_scheduled_task_exists() -> None:
    from django.conf import settings as django_settings

    from config.celery import app

    app.loader.import_default_modules()
    for name, entry in django_settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name
