"""The matcher over REST: match-on-entry ("does this record already exist?"). Routed under /api/v1/match/
by mdm/api/urls.py; a golden record's decisions are its `matches/` action (mdm/api/views.py)."""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from matching.engine import match_on_entry
from mdm.api.base import HubAPIView
from mdm.api.matching_serializers import MatchRequestSerializer, MatchResultSerializer
from mdm.api.permissions import ReadScope, sees_unmasked
from mdm.canonical import standardise
from mdm.contracts import FieldError, validate_record
from mdm.masking import masked_explanation
from mdm.models import GoldenRecord


def _record_errors(errors: list[FieldError]) -> exceptions.ValidationError:
    """Contract errors with their paths inside the request body ("record.tax_ids[0].country")."""
    detail: dict[str, list[str]] = {}
    for error in errors:
        path = "record" if error.field == "record" else f"record.{error.field}"
        detail.setdefault(path, []).append(error.message)
    return exceptions.ValidationError(detail)


class MatchView(HubAPIView):
    """Does this record already exist? The best candidate golden records with probabilities and explanations.

    Nothing is written: the answer says what ingest would decide for the record now.
    """

    permission_classes = [ReadScope]

    @extend_schema(request=MatchRequestSerializer, responses=MatchResultSerializer)
    def post(self, request: Request) -> Response:
        envelope = MatchRequestSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        entity_type = envelope.validated_data["entity_type"]
        data, _, errors = validate_record(entity_type, envelope.validated_data["record"])
        if data is None:
            raise _record_errors(errors)
        canonical = standardise(entity_type, data)
        if canonical.errors:
            raise _record_errors(canonical.errors)
        answer = match_on_entry(entity_type, canonical.values, limit=envelope.validated_data["limit"])
        shown = answer["candidates"]
        golden_ids = dict(
            GoldenRecord.objects.filter(pk__in=[c.target.golden_pk for c in shown]).values_list("pk", "golden_id")
        )
        joined = answer["joined"]
        masked = not sees_unmasked(request)  # the compared values include the golden records' tax IDs and phones
        return Response(
            {
                "outcome": answer["outcome"],
                "reason": answer["reason"],
                "golden_id": golden_ids.get(joined.target.golden_pk) if joined else None,
                "model_version": answer["context"].model_version,
                "candidates": [
                    {
                        "golden_id": golden_ids[c.target.golden_pk],
                        "probability": round(c.probability, 6),
                        "match_weight": round(c.weight, 3),
                        "cluster_supported": c.supported,
                        "members_compared": len(c.member_probabilities),
                        "explanation": masked_explanation(c.best.explanation()) if masked else c.best.explanation(),
                    }
                    for c in shown
                ],
            }
        )
