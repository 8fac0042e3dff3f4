"""Matching's tables: blocking keys and match profiles per source record, the versioned model and its
thresholds, every decision with its explanation, and the candidates waiting for a steward."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from mdm.models import EntityType, GoldenRecord, SourceRecord
from mdm.models.base import tracked_history


class BlockingKey(models.Model):
    """One key of one source record ("tax:DE:DE136695976", "nt:acme"), pointing at its golden record.

    Keys are derived data: rebuilt from the standardised source record whenever it changes, so they
    carry no history of their own.
    """

    source_record = models.ForeignKey(SourceRecord, on_delete=models.CASCADE, related_name="blocking_keys")
    golden = models.ForeignKey(GoldenRecord, on_delete=models.CASCADE, related_name="blocking_keys")
    entity_type = models.CharField(max_length=20, choices=EntityType.choices)
    key = models.CharField(max_length=160)

    class Meta:
        # golden_id rides in the index (PostgreSQL INCLUDE), so finding a key's holders reads the index only.
        indexes = [models.Index(fields=["entity_type", "key"], include=["golden"], name="blockingkey_key_holders")]

    def __str__(self) -> str:
        return self.key


class MatchProfile(models.Model):
    """A source record in match form (matching/features.py), so candidates are never re-standardised."""

    source_record = models.OneToOneField(
        SourceRecord, primary_key=True, on_delete=models.CASCADE, related_name="match_profile"
    )
    golden = models.ForeignKey(GoldenRecord, on_delete=models.CASCADE, related_name="match_profiles")
    entity_type = models.CharField(max_length=20, choices=EntityType.choices)
    features = models.JSONField()

    def __str__(self) -> str:
        return f"profile of {self.source_record_id}"


class MatchModel(models.Model):
    """One version of the Fellegi-Sunter parameters of an entity type; decisions name the version they used."""

    entity_type = models.CharField(max_length=20, choices=EntityType.choices)
    version = models.PositiveIntegerField()
    parameters = models.JSONField(help_text="m and u per comparison level, and lambda, per record kind.")
    is_active = models.BooleanField(default=False, help_text="The version used for new decisions.")
    source = models.CharField(max_length=20, choices=[("default", "Default"), ("trained", "Trained")])
    training_report = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entity_type", "version"], name="uniq_match_model_version"),
            models.UniqueConstraint(fields=["entity_type"], condition=Q(is_active=True), name="one_active_match_model"),
        ]
        ordering = ["entity_type", "-version"]

    def __str__(self) -> str:
        return f"{self.entity_type} matcher v{self.version}"


class MatchSettings(models.Model):
    """An entity type's decision thresholds (probabilities) and block cap, editable in the admin."""

    entity_type = models.CharField(max_length=20, choices=EntityType.choices, unique=True)
    review_threshold = models.FloatField(
        default=0.5, help_text="At or above: a match candidate for a steward. Below: a new golden record."
    )
    auto_link_threshold = models.FloatField(
        default=0.97, help_text="At or above (and matching the golden record's cluster): linked without review."
    )
    auto_link_margin = models.FloatField(
        default=10.0,
        help_text=(
            "When several golden records clear auto-link, the best is linked if its match weight leads the second's"
            " by at least this much (log2 odds: 10 is a thousand times likelier); otherwise a steward decides."
        ),
    )
    max_block_size = models.PositiveIntegerField(
        default=200,
        help_text="A blocking key shared by more golden records than this is too common to find candidates with.",
    )
    history = tracked_history()

    class Meta:
        verbose_name_plural = "match settings"

    def __str__(self) -> str:
        return f"{self.entity_type} match settings"

    def clean(self) -> None:
        if not 0 < self.review_threshold <= self.auto_link_threshold < 1:
            raise ValidationError(
                {"auto_link_threshold": "thresholds must satisfy 0 < review <= auto-link < 1 (probabilities)"}
            )
        if self.auto_link_margin is not None and self.auto_link_margin <= 0:
            raise ValidationError({"auto_link_margin": "the margin must be positive (log2 odds)"})


class MatchOutcome(models.TextChoices):
    AUTO_LINKED = "auto_linked", "Linked automatically"
    REVIEW = "review", "Sent to review"
    NEW = "new", "New golden record"
    DEFERRED = "deferred", "Deferred to the batch run"


class MatchDecision(models.Model):
    """What the matcher decided for one source record, when, with which model, and why."""

    source_record = models.ForeignKey(SourceRecord, on_delete=models.CASCADE, related_name="match_decisions")
    golden = models.ForeignKey(GoldenRecord, on_delete=models.CASCADE, related_name="match_decisions")
    entity_type = models.CharField(max_length=20, choices=EntityType.choices)
    outcome = models.CharField(max_length=12, choices=MatchOutcome.choices)
    probability = models.FloatField(null=True, blank=True, help_text="Of the best candidate; empty when none.")
    model_version = models.PositiveIntegerField()
    reason = models.CharField(max_length=255)
    explanation = models.JSONField(default=dict, help_text="The best candidate's score, attribute by attribute.")
    candidates = models.JSONField(default=list, help_text="The candidates considered, best first.")
    correlation_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["entity_type", "outcome", "created_at"])]

    def __str__(self) -> str:
        return f"{self.outcome} for source record {self.source_record_id}"


class CandidateStatus(models.TextChoices):
    OPEN = "open", "Open"
    MERGED = "merged", "Merged"
    REJECTED = "rejected", "Not a match"
    DEFERRED = "deferred", "Deferred"
    SUPERSEDED = "superseded", "Superseded"


class MatchCandidate(models.Model):
    """A possible duplicate for a steward: the golden record a new source record created, and the one it may be.

    A pair a steward rejected stays rejected: the matcher never proposes it again.
    """

    golden = models.ForeignKey(GoldenRecord, on_delete=models.CASCADE, related_name="candidates_as_new")
    candidate = models.ForeignKey(GoldenRecord, on_delete=models.CASCADE, related_name="candidates_as_existing")
    source_record = models.ForeignKey(SourceRecord, on_delete=models.CASCADE, related_name="match_candidates")
    entity_type = models.CharField(max_length=20, choices=EntityType.choices)
    probability = models.FloatField()
    match_weight = models.FloatField()
    model_version = models.PositiveIntegerField()
    explanation = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=CandidateStatus.choices, default=CandidateStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = tracked_history()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["golden", "candidate"], condition=Q(status="open"), name="one_open_candidate_per_pair"
            ),
            models.CheckConstraint(condition=~Q(golden=models.F("candidate")), name="candidate_not_itself"),
        ]
        indexes = [
            models.Index(fields=["entity_type", "status", "-probability"]),
            models.Index(fields=["candidate", "status"]),
            # The review queue's two orders: a page is a walk along one of these, whatever the queue's size.
            models.Index(fields=["status", "-probability", "created_at", "id"], name="candidate_queue_best"),
            models.Index(fields=["status", "created_at", "-probability", "id"], name="candidate_queue_oldest"),
        ]

    def __str__(self) -> str:
        return f"{self.golden_id} ~ {self.candidate_id} ({self.probability:.2f})"


class TermFrequency(models.Model):
    """How many match profiles of a kind (organisation, person, product) carry a value of a term (a name, a last
    name, a city, a web domain): a common value agreeing says less than a rare one (matching/frequencies.py).
    Derived data, kept with every match form stored and recounted by training."""

    kind = models.CharField(max_length=20)
    term = models.CharField(max_length=20)
    value = models.CharField(max_length=200)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "term", "value"], name="uniq_term_frequency")]
        indexes = [models.Index(fields=["kind", "term", "count"], name="termfrequency_counts")]

    def __str__(self) -> str:
        return f"{self.kind} {self.term} {self.value!r}: {self.count}"
