"""App config for governance."""

from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    """Steward actions and approvals; imports mdm and matching, never the other way round."""

    name = "governance"
    verbose_name = "Stewardship"
