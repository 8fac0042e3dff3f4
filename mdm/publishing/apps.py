"""App config for publishing: getting golden records out, and pulling target-side changes back in."""

from django.apps import AppConfig


class PublishingConfig(AppConfig):
    """Publishing reads the store: its models are the store's (mdm/models/publishing.py); this app connects the
    on-commit nudge to the store's `outbox_written` signal and lets Celery find its tasks."""

    name = "mdm.publishing"
    label = "publishing"
    verbose_name = "Publishing"

    def ready(self) -> None:
        from mdm.publishing import nudge  # noqa: F401  (connects the nudge to mdm.signals.outbox_written)
