"""App config for matching."""

from django.apps import AppConfig


class MatchingConfig(AppConfig):
    """Finds which golden record a source record belongs to."""

    name = "matching"
    verbose_name = "Matching"

    def ready(self) -> None:
        from matching import merges  # noqa: F401  (connects what follows a store merge for matching's tables)
