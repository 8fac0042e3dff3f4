"""Source and target systems, and the API keys through which they talk to the hub."""

import hashlib
import secrets

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from mdm.models.base import MasteredModel, tracked_history


class SystemKind(models.TextChoices):
    CRM = "crm", "CRM"
    ERP = "erp", "ERP"
    OTHER = "other", "Other"


class System(MasteredModel):
    """A system of record that sends source records to the hub (and may receive golden records)."""

    code = models.SlugField(max_length=40, unique=True, help_text="Short, stable identifier used in the API.")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=SystemKind.choices, default=SystemKind.OTHER)
    is_active = models.BooleanField(default=True)
    service_user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="service_system",
        help_text="The account changes made by this system are attributed to in history.",
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


_KEY_PREFIX = "mdm"


def hash_api_key_secret(secret: str) -> str:
    """The stored form of an API key secret. Keys carry 256 random bits, so a fast hash is enough."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKey(models.Model):
    """A per-system credential for the REST API, stored hashed, with scopes (read; write as one system)."""

    name = models.CharField(max_length=120, help_text="Who uses this key, e.g. 'Salesforce prod integration'.")
    prefix = models.CharField(
        max_length=12,
        unique=True,
        editable=False,
        validators=[RegexValidator(r"^[a-z0-9]+$")],
        help_text="The public part of the key, shown to identify it.",
    )
    key_hash = models.CharField(max_length=64, editable=False)
    can_read = models.BooleanField(default=True, help_text="May read golden records, resolve IDs and hierarchies.")
    write_system = models.ForeignKey(
        System,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="api_keys",
        help_text="May write source records as this system, and only this one. Empty: no write access.",
    )
    steward = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="steward_api_keys",
        help_text="Acts for this person in steward actions (/api/v1/steward/), with exactly their roles.",
    )
    rate = models.CharField(
        max_length=20,
        blank=True,
        default="",
        validators=[
            RegexValidator(r"^[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)$", "a rate such as 600/min or 10/s")
        ],
        help_text="Throttle rate such as '600/min'; empty uses the default.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    history = tracked_history()

    class Meta:
        ordering = ["name"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        """A key authenticates only while neither revoked nor expired."""
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def scope_label(self) -> str:
        """The scopes in words, for the admin list."""
        parts = ["read"] if self.can_read else []
        if self.write_system_id:
            parts.append(f"write as {self.write_system}")
        return ", ".join(parts) or "none"

    @staticmethod
    def generate() -> tuple[str, str, str]:
        """A new key as (full key shown once, prefix, hash to store)."""
        prefix = secrets.token_hex(4)
        secret = secrets.token_urlsafe(32)
        full = f"{_KEY_PREFIX}_{prefix}_{secret}"
        return full, prefix, hash_api_key_secret(full)
