"""Publishing targets and the state of every golden record at every target.

A Target is a system the hub publishes to (Salesforce, NetSuite, a webhook), with its credentials
(encrypted at rest), its subscription (entity types and a filter) and a versioned field mapping. A
Delivery is the publish state of one golden record at one target: the version it must receive, the
version it has, what went wrong last. It is the coalescing point: however many outbox events a record
gets, its delivery row says "send the current version", so an older version is never sent after a
newer one and a burst of changes costs one call.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from mdm.models.base import TimestampedModel, tracked_history
from mdm.models.golden import EntityType, GoldenRecord
from mdm.models.systems import System
from mdm.publishing.secrets import decrypt_credentials, encrypt_credentials
from mdm.publishing.subscription import subscription_errors


class TargetKind(models.TextChoices):
    SALESFORCE = "salesforce", "Salesforce"
    NETSUITE = "netsuite", "NetSuite"
    WEBHOOK = "webhook", "Webhook (signed JSON)"


class TargetAuth(models.TextChoices):
    CLIENT_CREDENTIALS = "client_credentials", "OAuth 2.0 client credentials (Salesforce)"
    JWT_BEARER = "jwt_bearer", "OAuth 2.0 JWT bearer (Salesforce)"
    TBA = "tba", "OAuth 1.0a token-based auth, HMAC-SHA256 (NetSuite)"
    M2M = "m2m", "OAuth 2.0 machine-to-machine (NetSuite)"
    HMAC = "hmac", "HMAC-SHA256 signature (webhook)"


AUTH_BY_KIND = {
    TargetKind.SALESFORCE: {TargetAuth.CLIENT_CREDENTIALS, TargetAuth.JWT_BEARER},
    TargetKind.NETSUITE: {TargetAuth.TBA, TargetAuth.M2M},
    TargetKind.WEBHOOK: {TargetAuth.HMAC},
}


class Target(TimestampedModel):
    """A system the hub publishes golden records to, and pulls changes back from."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=TargetKind.choices)
    system = models.ForeignKey(
        System,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="targets",
        help_text="The source system this target is (its IDs become cross-references; pulls ingest as it).",
    )
    base_url = models.URLField(max_length=300, help_text="e.g. https://acme.my.salesforce.com")
    auth = models.CharField(max_length=20, choices=TargetAuth.choices)
    credentials_encrypted = models.TextField(blank=True, default="", editable=False)
    options = models.JSONField(default=dict, blank=True, help_text="Connector options (see the connector's docs).")
    ca_bundle = models.CharField(
        max_length=300, blank=True, default="", help_text="A CA file to trust instead of the system's (simulators)."
    )
    entity_types = models.JSONField(default=list, help_text='Entity types it receives, e.g. ["customer", "product"].')
    subscription = models.JSONField(
        default=dict,
        blank=True,
        help_text='Which records it receives: {"require": ["tax_id", "legal_address"], "status_in": ["active"]}.',
    )
    hierarchy = models.CharField(
        max_length=40, blank=True, default="", help_text="Hierarchy type whose parent is published (e.g. legal)."
    )
    is_active = models.BooleanField(default=True)
    batch_size = models.PositiveIntegerField(
        default=10_000,
        validators=[MinValueValidator(1), MaxValueValidator(20_000)],
        help_text="Records handed to the connector at most per call (at most 20,000: a batch's IDs travel as "
        "query parameters). A backlog above the connector's bulk_threshold (Salesforce: 2,000) goes as a Bulk "
        "API 2.0 job; smaller ones through sObject Collections.",
    )
    max_attempts = models.PositiveSmallIntegerField(default=8, help_text="Technical retries before a dead letter.")
    pull_enabled = models.BooleanField(default=False, help_text="Pull changes made in the target back into the hub.")
    paused_until = models.DateTimeField(null=True, blank=True, editable=False)
    pause_reason = models.TextField(blank=True, default="", editable=False)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    lease_token = models.CharField(max_length=40, blank=True, default="", editable=False)

    # The operational columns (pause, failures, lease) change on every relay run: they are written with
    # update() and kept out of history, which records what people change (configuration, credentials
    # rotation shows as a change of the encrypted blob, never its content).
    history = tracked_history(excluded_fields=["paused_until", "consecutive_failures", "lease_until", "lease_token"])

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.kind and self.auth and self.auth not in AUTH_BY_KIND.get(TargetKind(self.kind), set()):
            allowed = ", ".join(sorted(AUTH_BY_KIND.get(TargetKind(self.kind), set())))
            errors["auth"] = f"a {self.kind} target authenticates with one of: {allowed}"
        unknown = (
            sorted(set(self.entity_types or []) - set(EntityType.values))
            if isinstance(self.entity_types, list)
            else None
        )
        if unknown is None:
            errors["entity_types"] = 'a list such as ["customer", "product"]'
        elif unknown:
            errors["entity_types"] = f"unknown entity types: {', '.join(unknown)}"
        if not isinstance(self.options, dict):
            errors["options"] = "a JSON object"
        problems = subscription_errors(self.subscription)
        if problems:
            errors["subscription"] = "; ".join(problems)
        if errors:
            raise ValidationError(errors)

    @property
    def credentials(self) -> dict[str, str]:
        """The decrypted credentials (client secrets, tokens, private keys)."""
        return decrypt_credentials(self.credentials_encrypted)

    @credentials.setter
    def credentials(self, value: dict[str, str]) -> None:
        self.credentials_encrypted = encrypt_credentials(value)


class FieldMapping(models.Model):
    """One version of how a target's fields are filled from a golden record; the newest version is used.

    `fields` maps a target field to an expression over the golden record (see mdm/publishing/mapping.py);
    `related` fills companion records (a product's price-book entry); `inbound` says how a pulled record
    becomes a source record (the contract's shape with the target's field names as leaves).
    """

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="mappings")
    entity_type = models.CharField(max_length=20, choices=EntityType.choices)
    version = models.PositiveIntegerField(editable=False)
    fields = models.JSONField(default=dict)
    related = models.JSONField(default=dict, blank=True)
    inbound = models.JSONField(default=dict, blank=True)
    note = models.CharField(max_length=200, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["target", "entity_type", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["target", "entity_type", "version"], name="uniq_mapping_version")
        ]

    def __str__(self) -> str:
        return f"{self.target_id}/{self.entity_type} v{self.version}"

    def clean(self) -> None:
        from mdm.publishing.mapping import mapping_errors

        errors = mapping_errors(self.entity_type, self.fields, self.related, self.inbound)
        if errors:
            raise ValidationError(errors)


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    RETRYING = "retrying", "Retrying after a technical failure"
    DELIVERED = "delivered", "Delivered"
    REJECTED = "rejected", "Rejected by the target (exception queue)"
    DEAD = "dead", "Dead letter (retries exhausted)"
    SKIPPED = "skipped", "Not subscribed (the filter excludes it)"


OPEN_STATES = (DeliveryState.PENDING, DeliveryState.RETRYING)
EXCEPTION_STATES = (DeliveryState.REJECTED, DeliveryState.DEAD)


class Delivery(TimestampedModel):
    """The publish state of one golden record at one target.

    Not history-tracked: it changes on every publish (100,000 rows at quarter end); DeliveryRun is its log.
    """

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    golden = models.ForeignKey(GoldenRecord, on_delete=models.PROTECT, related_name="deliveries")
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    wanted_version = models.PositiveIntegerField(help_text="The newest version the target must receive.")
    pending_since = models.DateTimeField(null=True, blank=True, help_text="Commit time of the oldest unsent change.")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    delivered_version = models.PositiveIntegerField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    delivered_hash = models.CharField(max_length=64, blank=True, default="")
    delivered_fields = models.JSONField(default=dict, blank=True, help_text="What the target last accepted.")
    delivered_parent = models.CharField(max_length=20, blank=True, default="")
    mapping_version = models.PositiveIntegerField(null=True, blank=True)
    target_record_id = models.CharField(max_length=255, blank=True, default="")
    attempted_hash = models.CharField(max_length=64, blank=True, default="")
    error_kind = models.CharField(max_length=10, blank=True, default="")
    error_code = models.CharField(max_length=80, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    error_fields = models.JSONField(default=list, blank=True)
    error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["target", "golden"], name="uniq_delivery")]
        permissions = [("replay_delivery", "Can replay rejected and dead-lettered deliveries")]
        indexes = [
            models.Index(fields=["target", "state", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["state", "error_at"], name="delivery_exceptions"),
        ]

    def __str__(self) -> str:
        return f"{self.golden_id} → {self.target_id} ({self.state})"


class DeliveryRun(models.Model):
    """One batch handed to a connector: counts by outcome and latency, for metrics and the operator."""

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    records = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0, help_text="Skipped: the target already has this payload.")
    business = models.PositiveIntegerField(default=0)
    technical = models.PositiveIntegerField(default=0)
    outage = models.PositiveIntegerField(default=0)
    dead = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    latency_p50 = models.FloatField(null=True, blank=True, help_text="Commit-to-delivery seconds, median.")
    latency_max = models.FloatField(null=True, blank=True)
    latency_sum = models.FloatField(default=0.0)
    latency_buckets = models.JSONField(
        default=dict, blank=True, help_text="Commit-to-delivery histogram: upper bound in seconds → records."
    )
    note = models.TextField(blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["target", "finished_at"])]

    def __str__(self) -> str:
        return f"{self.target_id} {self.finished_at:%Y-%m-%d %H:%M:%S} {self.delivered}/{self.records}"


class PullWatermark(models.Model):
    """How far the inbound pull of one entity type from one target has read (its SystemModstamp / lastmodifieddate)."""

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="watermarks")
    entity_type = models.CharField(max_length=20, choices=EntityType.choices)
    watermark = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_result = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["target", "entity_type"], name="uniq_pull_watermark")]

    def __str__(self) -> str:
        return f"{self.target_id}/{self.entity_type} ≥ {self.watermark}"
