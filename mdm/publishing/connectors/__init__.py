"""Connectors: one per kind of target, each behind the interface of connectors/base.py."""

from typing import TYPE_CHECKING, Any

from django.conf import settings

from mdm.publishing.connectors.base import Connector, TargetConfig

if TYPE_CHECKING:
    from mdm.models import Target


def target_config(target: "Target") -> TargetConfig:
    """A target as its connector sees it: decrypted credentials, no database."""
    options: dict[str, Any] = dict(target.options or {})
    return TargetConfig(
        code=target.code,
        kind=target.kind,
        base_url=target.base_url.rstrip("/"),
        auth=target.auth,
        credentials=target.credentials,
        options=options,
        ca_bundle=target.ca_bundle or None,
        timeout=float(options.get("timeout", 30.0)),
        client_name=settings.MDM_PUBLISH_CLIENT_NAME,
    )


def connector_for(config: TargetConfig) -> Connector:
    """The connector for a target's kind (imported on first use: each pulls in its own client library)."""
    if config.kind == "salesforce":
        from mdm.publishing.connectors.salesforce import SalesforceConnector

        return SalesforceConnector(config)
    if config.kind == "netsuite":
        from mdm.publishing.connectors.netsuite import NetSuiteConnector

        return NetSuiteConnector(config)
    if config.kind == "webhook":
        from mdm.publishing.connectors.webhook import WebhookConnector

        return WebhookConnector(config)
    raise ValueError(f"no connector for targets of kind '{config.kind}'")
