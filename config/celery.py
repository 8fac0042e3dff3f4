"""The Celery application: tasks take IDs, run under their sender's correlation ID, and are acknowledged late."""

import os
from typing import Any

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun

from mdm.context import _correlation_id, current_correlation_id, new_correlation_id

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("mdm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Autodiscovery looks only at each app's top-level tasks module; the publisher's tasks live one package down.
app.autodiscover_tasks(["mdm.publishing"])

HEADER = "mdm_correlation_id"
_tokens: dict[str, Any] = {}


@before_task_publish.connect
def _send_correlation(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """Every task message carries the correlation ID of the work that sent it."""
    if headers is not None and not headers.get(HEADER):
        headers[HEADER] = current_correlation_id()


@task_prerun.connect
def _enter_correlation(task_id: str, task: Any, **kwargs: Any) -> None:
    """Tasks run under the sender's correlation ID, so their history rows and log lines join the request's."""
    supplied = getattr(task.request, HEADER, None)
    _tokens[task_id] = _correlation_id.set(supplied or new_correlation_id())


@task_postrun.connect
def _leave_correlation(task_id: str, **kwargs: Any) -> None:
    token = _tokens.pop(task_id, None)
    if token is not None:
        _correlation_id.reset(token)
