"""REST for publishing: targets and their backlog, deliveries (the exception queue), a golden record's
publish status, and replay."""

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response

from mdm.api.base import HubAPIView, filter_parameters
from mdm.api.permissions import ReadScope, acting_person
from mdm.filters import filtered
from mdm.models import Delivery, DeliveryState, GoldenRecord, Target
from mdm.publishing.filters import DeliveryFilterSet
from mdm.publishing.selectors import backlog, publish_status
from mdm.publishing.services import PublishingError, deliveries_replay

REPLAY_PERMISSION = "mdm.replay_delivery"


class TargetSerializer(serializers.ModelSerializer):
    paused = serializers.SerializerMethodField()

    class Meta:
        model = Target
        fields = ["code", "name", "kind", "entity_types", "is_active", "paused", "paused_until", "pause_reason"]

    def get_paused(self, obj: Target) -> bool:
        from django.utils import timezone

        return bool(obj.paused_until and obj.paused_until > timezone.now())


class DeliverySerializer(serializers.ModelSerializer):
    golden_id = serializers.CharField(source="golden.golden_id")
    target = serializers.CharField(source="target.code")
    current_version = serializers.IntegerField(source="golden.version")

    class Meta:
        model = Delivery
        fields = [
            "golden_id",
            "target",
            "state",
            "current_version",
            "delivered_version",
            "delivered_at",
            "target_record_id",
            "attempts",
            "next_attempt_at",
            "error_kind",
            "error_code",
            "error_message",
            "error_fields",
            "error_at",
        ]


class ReplaySerializer(serializers.Serializer):
    target = serializers.SlugRelatedField(slug_field="code", queryset=Target.objects.all(), required=False)
    golden_ids = serializers.ListField(child=serializers.CharField(max_length=20), required=False, max_length=10_000)
    states = serializers.ListField(
        child=serializers.ChoiceField(choices=DeliveryState.choices),
        required=False,
        default=[DeliveryState.REJECTED, DeliveryState.DEAD],
    )
    force = serializers.BooleanField(default=False, help_text="Also resend records the target already has.")


class Pagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


class TargetListView(HubAPIView):
    """Publishing targets with their backlog: what is due, how old the oldest waiting change is, exceptions."""

    permission_classes = [ReadScope]

    @extend_schema(responses=TargetSerializer(many=True))
    def get(self, request: Request) -> Response:
        state = backlog()
        numbers = {row["target"]: row for row in state["targets"]}
        rows = []
        for target in Target.objects.order_by("code"):
            row = TargetSerializer(target).data
            row["backlog"] = numbers.get(target.code, {"due": 0, "oldest_seconds": 0.0, "rejected": 0, "dead": 0})
            rows.append(row)
        outbox = {key: value for key, value in state.items() if key != "targets"}
        return Response({"outbox": outbox, "targets": rows})


class DeliveryListView(HubAPIView):
    """Deliveries, filtered by `state` (rejected and dead: the exception queue), `target`, `error_kind`, `golden_id`."""

    permission_classes = [ReadScope]

    @extend_schema(parameters=filter_parameters(DeliveryFilterSet), responses=DeliverySerializer(many=True))
    def get(self, request: Request) -> Response:
        states = request.query_params.getlist("state")
        unknown = sorted(set(states) - set(DeliveryState.values))
        if unknown:
            raise exceptions.ValidationError({"state": [f"unknown state '{s}'" for s in unknown]})
        exceptions_only = bool(states) and set(states) <= {DeliveryState.REJECTED, DeliveryState.DEAD}
        ordering = ("-error_at", "-id") if exceptions_only else ("-updated_at", "-id")
        queryset = Delivery.objects.select_related("golden", "target").order_by(*ordering)
        try:
            queryset = filtered(DeliveryFilterSet, request.query_params, queryset)
        except ValueError as exc:
            field, _, message = str(exc).partition(":")
            raise exceptions.ValidationError({field: [message.strip()]}) from exc
        paginator = Pagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(DeliverySerializer(page, many=True).data)


class PublishStatusSerializer(serializers.Serializer):
    golden_id = serializers.CharField()
    version = serializers.IntegerField()
    targets = serializers.ListField(child=serializers.DictField())


class PublishStatusView(HubAPIView):
    """A golden record at every target: last delivered version, when, the target's ID, the last error."""

    permission_classes = [ReadScope]

    @extend_schema(responses=PublishStatusSerializer)
    def get(self, request: Request, golden_id: str) -> Response:
        golden = get_object_or_404(GoldenRecord, golden_id=golden_id)
        return Response({"golden_id": golden.golden_id, "version": golden.version, "targets": publish_status(golden)})


class ReplayView(HubAPIView):
    """Send rejected or dead-lettered records again (their current version); replaying twice does no more."""

    permission_classes = [ReadScope]

    @extend_schema(request=ReplaySerializer, responses={200: dict})
    def post(self, request: Request) -> Response:
        person = acting_person(request)
        if person is None or not person.has_perm(REPLAY_PERMISSION):
            raise exceptions.PermissionDenied("replay needs a person with the permission to replay deliveries")
        serializer = ReplaySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = serializer.validated_data
        try:
            count = deliveries_replay(
                actor=person,
                target=data.get("target"),
                golden_ids=data.get("golden_ids"),
                states=data["states"],
                force=data["force"],
            )
        except PublishingError as exc:
            raise exceptions.ValidationError({exc.field: [exc.message]}) from exc
        return Response({"requeued": count})
