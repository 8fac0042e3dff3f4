"""App config for the loopback simulators (development, tests and the demo; never installed in production)."""

from django.apps import AppConfig


class SimulatorsConfig(AppConfig):
    """Loopback Salesforce and NetSuite, and the command that points publishing targets at them."""

    name = "simulators"
    verbose_name = "Loopback simulators"
