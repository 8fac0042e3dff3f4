"""App config for the golden-record store."""

from django.apps import AppConfig


class MdmConfig(AppConfig):
    """The golden-record store: entities, sources, cross-references, rules, ingest, API."""

    name = "mdm"
    verbose_name = "Golden records"

    def ready(self) -> None:
        from mdm import checks, db, signals  # noqa: F401  (register the checks, connect the signal handlers)
