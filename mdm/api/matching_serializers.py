"""Serializers of the matcher's REST answers: explanations, decisions, candidates, match-on-entry."""

from typing import Any

from rest_framework import serializers

from matching.models import MatchCandidate, MatchDecision
from mdm.models import EntityType


class MatchRequestSerializer(serializers.Serializer):
    entity_type = serializers.ChoiceField(choices=EntityType.choices)
    record = serializers.JSONField(help_text="A record as a source system would send it, per the entity's contract.")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=20, default=5)


class AttributeWeightSerializer(serializers.Serializer):
    attribute = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field
    level = serializers.CharField()
    similarity = serializers.FloatField(allow_null=True)
    left = serializers.JSONField(allow_null=True)
    right = serializers.JSONField(allow_null=True)
    weight = serializers.FloatField()


class ExplanationSerializer(serializers.Serializer):
    probability = serializers.FloatField()
    match_weight = serializers.FloatField()
    prior_weight = serializers.FloatField()
    attributes = AttributeWeightSerializer(many=True)


class MatchCandidateResultSerializer(serializers.Serializer):
    golden_id = serializers.CharField()
    probability = serializers.FloatField()
    match_weight = serializers.FloatField()
    cluster_supported = serializers.BooleanField()
    members_compared = serializers.IntegerField()
    explanation = ExplanationSerializer()


class MatchResultSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["auto_linked", "review", "new"])
    reason = serializers.CharField()
    golden_id = serializers.CharField(allow_null=True, help_text="The golden record it would join, if any.")
    model_version = serializers.IntegerField()
    candidates = MatchCandidateResultSerializer(many=True)


class MatchDecisionSerializer(serializers.ModelSerializer):
    system = serializers.CharField(source="source_record.system.code")
    source_id = serializers.CharField(source="source_record.source_id")
    explanation = ExplanationSerializer(allow_null=True)

    class Meta:
        model = MatchDecision
        fields = [
            "system",
            "source_id",
            "outcome",
            "probability",
            "reason",
            "model_version",
            "explanation",
            "candidates",
            "correlation_id",
            "created_at",
        ]

    def to_representation(self, instance: MatchDecision) -> dict[str, Any]:
        if not instance.explanation:
            instance.explanation = None
        return super().to_representation(instance)


class OpenCandidateSerializer(serializers.ModelSerializer):
    golden_id = serializers.CharField(source="golden.golden_id")
    candidate_golden_id = serializers.CharField(source="candidate.golden_id")
    system = serializers.CharField(source="source_record.system.code")
    source_id = serializers.CharField(source="source_record.source_id")
    explanation = ExplanationSerializer()

    class Meta:
        model = MatchCandidate
        fields = [
            "id",
            "golden_id",
            "candidate_golden_id",
            "system",
            "source_id",
            "probability",
            "match_weight",
            "model_version",
            "explanation",
            "status",
            "created_at",
        ]


class GoldenMatchesSerializer(serializers.Serializer):
    golden_id = serializers.CharField()
    decisions = MatchDecisionSerializer(many=True)
    open_candidates = OpenCandidateSerializer(many=True)
