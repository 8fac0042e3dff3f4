"""Shared fixtures: the seeded systems, named users and API keys for permission cases, and record builders."""

import os
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from config.celery import app as celery_app
from mdm.models import ApiKey, System
from mdm.services import api_key_create

ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
ON_REDIS = os.environ.get("CELERY_BROKER_URL", "").startswith("redis://")


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Tests that only mean something on the real services are skipped on the embedded default."""
    for item in items:
        if "postgres" in item.keywords and not ON_POSTGRES:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL"))
        if "redis" in item.keywords and not ON_REDIS:
            item.add_marker(pytest.mark.skip(reason="needs Redis: set CELERY_BROKER_URL"))


@pytest.fixture(autouse=True)
def _celery_in_process(request: Any) -> Any:
    """Tasks run in-process and at once, except in tests that exercise the real broker."""
    if "redis" in request.keywords:
        yield
        return
    # The Django-namespaced key shadows the plain one in Celery's settings lookup, so set that one.
    celery_app.conf.CELERY_TASK_ALWAYS_EAGER = True
    yield
    celery_app.conf.CELERY_TASK_ALWAYS_EAGER = False


@pytest.fixture(autouse=True)
def _fresh_term_frequencies() -> None:
    """Each test reads its own database's typical term counts, not a cached figure of an earlier test's."""
    from matching.frequencies import frequencies_forget

    frequencies_forget()


@pytest.fixture(autouse=True)
def _no_publish_nudge(request: Any, settings: Any) -> None:
    """Commits don't start the publisher in tests, except in those about the nudge (marked `nudge`)."""
    if "nudge" not in request.keywords:
        settings.MDM_PUBLISH_NUDGE = False


@pytest.fixture
def seeded(transactional_db: Any) -> None:
    """Transactional tests flush the database after each test; put the migration's seed data back first."""
    from django.apps import apps

    from mdm.seed import seed

    seed(apps, None)


@pytest.fixture
def salesforce(db: Any) -> System:
    return System.objects.get(code="salesforce")


@pytest.fixture
def netsuite(db: Any) -> System:
    return System.objects.get(code="netsuite")


@pytest.fixture
def steward(db: Any) -> Any:
    """A data steward: staff, logs into the admin."""
    return get_user_model().objects.create_user("sam.steward", password="correct horse battery", is_staff=True)


@pytest.fixture
def outsider(db: Any) -> Any:
    """A logged-in user who is not a steward."""
    return get_user_model().objects.create_user("olivia.outsider", password="correct horse battery")


@pytest.fixture
def read_key(db: Any) -> tuple[ApiKey, str]:
    return api_key_create(name="BI reader", created_by=None, can_read=True)


@pytest.fixture
def salesforce_key(salesforce: System) -> tuple[ApiKey, str]:
    return api_key_create(name="Salesforce integration", created_by=None, can_read=True, write_system=salesforce)


@pytest.fixture
def erp_key(netsuite: System) -> tuple[ApiKey, str]:
    return api_key_create(name="NetSuite integration", created_by=None, can_read=True, write_system=netsuite)


@pytest.fixture
def client_for() -> Callable[[str | None], APIClient]:
    """An API client presenting a key (or none)."""

    def make(secret: str | None) -> APIClient:
        client = APIClient()
        if secret:
            client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
        return client

    return make


@pytest.fixture
def steward_client(steward: Any) -> APIClient:
    client = APIClient()
    client.force_login(steward)
    return client
