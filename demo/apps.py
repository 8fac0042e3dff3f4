"""App config for the demo data set."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo: generated customers, products and hierarchies loaded through the hub's own write path."""

    name = "demo"
    verbose_name = "Demo data"
