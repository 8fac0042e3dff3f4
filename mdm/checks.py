"""Deployment checks (`manage.py check --deploy`): the placeholders of .env.example are not secrets."""

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register

# The Fernet key .env.example ships so that `docker compose up` works from a fresh clone: anyone can read it.
EXAMPLE_CREDENTIALS_KEY = "ZXhhbXBsZS1vbmx5LXJlcGxhY2UtbWUtMDAwMDAwMDA="


@register(Tags.security, deploy=True)
def example_credentials_key(app_configs: Any, **kwargs: Any) -> list[Warning]:
    """Target credentials encrypted with the published example key are as good as plain text."""
    keys = [key.strip() for key in (settings.MDM_CREDENTIALS_KEYS or "").split(",")]
    if EXAMPLE_CREDENTIALS_KEY in keys:
        return [
            Warning(
                "MDM_CREDENTIALS_KEYS holds the example key of .env.example.",
                hint=(
                    "Generate one with: python -c "
                    '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
                ),
                id="mdm.W001",
            )
        ]
    return []
