"""REST API v1 views: thin translations between HTTP and the store's services and selectors."""

import datetime
from typing import Any, cast

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from matching.selectors import decisions_of, open_candidates_of
from mdm.api import serializers as s
from mdm.api.base import HubAPIView
from mdm.api.errors import error_body
from mdm.api.matching_serializers import GoldenMatchesSerializer, MatchDecisionSerializer, OpenCandidateSerializer
from mdm.api.permissions import ReadScope, WriteScope, sees_unmasked
from mdm.filters import CustomerFilterSet, ProductFilterSet
from mdm.golden_ids import normalise_golden_id, parse_golden_id
from mdm.hierarchies import ancestors_of, children_of, descendants_of, parent_of
from mdm.ingest import IngestError, ingest
from mdm.masking import masked_explanation
from mdm.models import ApiKey, GoldenRecord, GoldenStatus, HierarchyType, System
from mdm.selectors import (
    SourceKey,
    entity_as_of,
    entity_history,
    golden_customers,
    golden_products,
    resolve_keys,
    survivor_of,
)


class GoldenCursorPagination(CursorPagination):
    """Stable pages over millions of rows: a cursor on the immutable primary key."""

    ordering = "golden_id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def _as_of_date(request: Request) -> datetime.date:
    raw = request.query_params.get("as_of")
    if not raw:
        return timezone.localdate()
    day = parse_date(raw)
    if day is None:
        raise exceptions.ValidationError({"as_of": ["a date as YYYY-MM-DD"]})
    return day


class GoldenViewSet(viewsets.ReadOnlyModelViewSet, HubAPIView):
    """List, detail, history, as-of and lineage of one golden entity type."""

    entity_type = ""
    pagination_class = GoldenCursorPagination
    permission_classes = [ReadScope]
    lookup_field = "golden_id"
    lookup_url_kwarg = "golden_id"
    detail_serializer_class: type = s.CustomerDetailSerializer

    @staticmethod
    def base_queryset() -> QuerySet:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet:
        queryset = self.base_queryset()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("golden__source_records__system")
        return queryset

    def get_serializer_class(self) -> Any:
        return self.detail_serializer_class if self.action == "retrieve" else self.serializer_class

    def _golden(self, golden_id: str) -> GoldenRecord:
        golden_id = normalise_golden_id(golden_id)
        if parse_golden_id(golden_id) != self.entity_type:
            raise exceptions.NotFound(f"'{golden_id}' is not a {self.entity_type} golden ID")
        return get_object_or_404(GoldenRecord.objects.select_related("merged_into"), golden_id=golden_id)

    def get_object(self) -> Any:
        golden = self._golden(self.kwargs["golden_id"])
        return get_object_or_404(self.get_queryset().model.objects.select_related("golden"), golden=golden)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        golden = self._golden(kwargs["golden_id"])
        if golden.status == GoldenStatus.RETIRED and golden.merged_into_id:
            survivor = survivor_of(golden)
            url_name = f"v1:{self.basename}-detail"
            location = request.build_absolute_uri(reverse(url_name, kwargs={"golden_id": survivor.golden_id}))
            return HttpResponsePermanentRedirect(location)  # type: ignore[return-value]
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(responses=s.HistorySerializer)
    @action(detail=True, methods=["get"])
    def history(self, request: Request, golden_id: str) -> Response:
        """Every change of the golden record: who, when, why, under which correlation ID, and what changed."""
        entity = self.get_object()
        limit = 500
        rows = list(entity_history(entity)[: limit + 1])
        entries = s.HistoryEntrySerializer(rows[:limit], many=True, context=self.get_serializer_context())
        return Response({"results": entries.data, "truncated": len(rows) > limit})

    @extend_schema(parameters=[OpenApiParameter("at", OpenApiTypes.DATETIME, required=True)])
    @action(detail=True, methods=["get"], url_path="as-of")
    def as_of(self, request: Request, golden_id: str) -> Response:
        """The golden record's values as they stood at a past moment."""
        raw = request.query_params.get("at", "")
        # A bare date means the end of that day (checked first: Python 3.11 reads "2026-01-31" as a midnight).
        day = parse_date(raw) if raw and "T" not in raw and " " not in raw else None
        moment = datetime.datetime.combine(day, datetime.time.max) if day else (parse_datetime(raw) if raw else None)
        if moment is None:
            raise exceptions.ValidationError({"at": ["an ISO 8601 date or date-time, e.g. 2026-01-31T12:00:00Z"]})
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, datetime.UTC)
        entity = self.get_object()
        row = entity_as_of(entity, moment)
        if row is None:
            raise exceptions.NotFound(f"{golden_id} did not exist at {moment.isoformat()}")
        data = cast(Any, self.serializer_class)(row.instance, context=self.get_serializer_context()).data
        data["as_of"] = moment.isoformat()
        data["version_at"] = {"history_id": row.history_id, "history_date": row.history_date.isoformat()}
        data["lineage"] = row.lineage
        return Response(data)

    @extend_schema(responses=GoldenMatchesSerializer)
    @action(detail=True, methods=["get"])
    def matches(self, request: Request, golden_id: str) -> Response:
        """How the matcher placed each source record of this golden record, and the open duplicates it may have."""
        golden = self.get_object().golden
        limit = 200
        decisions = MatchDecisionSerializer(decisions_of(golden)[:limit], many=True).data
        candidates = OpenCandidateSerializer(open_candidates_of(golden)[:limit], many=True).data
        if not sees_unmasked(request):  # the compared values include tax IDs, phones and emails
            for row in [*decisions, *candidates]:
                row["explanation"] = masked_explanation(row["explanation"])
        return Response({"golden_id": golden.golden_id, "decisions": decisions, "open_candidates": candidates})

    @action(detail=True, methods=["get"])
    def lineage(self, request: Request, golden_id: str) -> Response:
        """For each attribute: its golden value, and the source record (or override) and rule that supplied it."""
        entity = self.get_object()
        values = cast(Any, self.serializer_class)(entity, context=self.get_serializer_context()).data
        return Response(
            {
                "golden_id": entity.golden.golden_id,
                "version": entity.golden.version,
                "attributes": {
                    name: {"value": values.get(name), **entry} for name, entry in sorted(entity.lineage.items())
                },
            }
        )


class CustomerViewSet(GoldenViewSet):
    """Golden customers."""

    entity_type = "customer"
    serializer_class = s.CustomerSerializer
    detail_serializer_class = s.CustomerDetailSerializer
    filterset_class = CustomerFilterSet

    @staticmethod
    def base_queryset() -> QuerySet:
        return golden_customers()


class ProductViewSet(GoldenViewSet):
    """Golden products."""

    entity_type = "product"
    serializer_class = s.ProductSerializer
    detail_serializer_class = s.ProductDetailSerializer
    filterset_class = ProductFilterSet

    @staticmethod
    def base_queryset() -> QuerySet:
        return golden_products()


class ResolveView(HubAPIView):
    """Resolve one source key to its golden ID: GET with query parameters, or POST a key."""

    permission_classes = [ReadScope]

    @extend_schema(parameters=[s.SourceKeySerializer], responses=s.ResolutionSerializer)
    def get(self, request: Request) -> Response:
        return self._resolve(request.query_params)

    @extend_schema(request=s.SourceKeySerializer, responses=s.ResolutionSerializer)
    def post(self, request: Request) -> Response:
        return self._resolve(request.data)

    def _resolve(self, data: Any) -> Response:
        serializer = s.SourceKeySerializer(data=data)
        serializer.is_valid(raise_exception=True)
        resolution = resolve_keys([SourceKey(**serializer.validated_data)])[0]
        code = status.HTTP_404_NOT_FOUND if resolution.status == "not_found" else status.HTTP_200_OK
        return Response(resolution.as_dict(), status=code)


class ResolveBatchView(HubAPIView):
    """Resolve up to 1,000 source keys in one call; answers in input order, unknown keys as not_found."""

    permission_classes = [ReadScope]

    @extend_schema(request=s.ResolveBatchSerializer, responses=s.ResolveBatchResultSerializer)
    def post(self, request: Request) -> Response:
        serializer = s.ResolveBatchSerializer(data=request.data, max_keys=settings.MDM_RESOLVE_MAX_BATCH)
        serializer.is_valid(raise_exception=True)
        keys = [SourceKey(**item) for item in serializer.validated_data["keys"]]
        results = [resolution.as_dict() for resolution in resolve_keys(keys)]
        return Response({"results": results})


class IngestView(HubAPIView):
    """Ingest source records as the calling key's system: one record, or a batch of up to 1,000."""

    permission_classes = [WriteScope]
    batch = False

    def _system(self, request: Request, code: str) -> System:
        system = System.objects.filter(code=code).first()
        if system is None:
            raise exceptions.ValidationError({"system": [f"unknown system '{code}'"]})
        key = cast(ApiKey, request.auth)
        if key.write_system_id != system.pk:
            raise exceptions.PermissionDenied(
                f"this API key writes as '{key.write_system.code if key.write_system else None}'"
                f" and may not write '{system.code}' source records"
            )
        return system

    def post(self, request: Request) -> Response:
        envelope = (s.IngestBatchSerializer if self.batch else s.IngestOneSerializer)(data=request.data)
        envelope.is_valid(raise_exception=True)
        data = envelope.validated_data
        system = self._system(request, data["system"])
        if self.batch:
            records = data["records"]
            if not isinstance(records, list):
                raise exceptions.ValidationError({"records": ["must be a JSON array of records"]})
            if not records:
                raise exceptions.ValidationError({"records": ["must hold at least one record"]})
        else:
            records = [data["record"]]
        try:
            result = ingest(
                system=system,
                entity_type=data["entity_type"],
                records=records,
                actor=system.service_user,
                reason=f"API ingest by key {cast(ApiKey, request.auth).prefix}",
            )
        except IngestError as exc:
            raise exceptions.ValidationError({exc.field: [exc.message]}) from exc
        outcomes = [outcome.as_dict() for outcome in result.outcomes]
        if self.batch:
            return Response({"counts": result.counts, "outcomes": outcomes})
        outcome = outcomes[0]
        if outcome["status"] == "rejected":
            return Response(
                error_body(400, "rejected", "the record was rejected", outcome["errors"]),
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(
            outcome, status=status.HTTP_201_CREATED if outcome["status"] == "created" else status.HTTP_200_OK
        )


IngestOneView: type[IngestView] = extend_schema(request=s.IngestOneSerializer, responses=s.RecordOutcomeSerializer)(
    type("IngestOneView", (IngestView,), {"__doc__": "Ingest one source record as the calling key's system."})
)
IngestBatchView: type[IngestView] = extend_schema(request=s.IngestBatchSerializer, responses=s.IngestResultSerializer)(
    type("IngestBatchView", (IngestView,), {"batch": True, "__doc__": "Ingest up to 1,000 source records in one call."})
)


class HierarchyView(HubAPIView):
    """A golden record's place in a hierarchy on a date: parent, children, ancestors or descendants."""

    permission_classes = [ReadScope]
    relation = "parent"

    @extend_schema(
        parameters=[OpenApiParameter("as_of", OpenApiTypes.DATE, description="default: today")],
        responses=s.HierarchyRelationSerializer,
    )
    def get(self, request: Request, hierarchy: str, golden_id: str) -> Response:
        hierarchy_type = HierarchyType.objects.filter(code=hierarchy).first()
        if hierarchy_type is None:
            codes = ", ".join(HierarchyType.objects.values_list("code", flat=True))
            raise exceptions.NotFound(f"unknown hierarchy '{hierarchy}'; one of: {codes}")
        golden_id = normalise_golden_id(golden_id)
        if parse_golden_id(golden_id) is None:
            raise exceptions.NotFound(f"'{golden_id}' is not a golden ID")
        golden = get_object_or_404(GoldenRecord, golden_id=golden_id)
        day = _as_of_date(request)
        if self.relation == "parent":
            edge = parent_of(golden, hierarchy_type, day)
            nodes = [(edge, 1)] if edge else []
        elif self.relation == "children":
            nodes = [(edge, 1) for edge in children_of(golden, hierarchy_type, day)]
        elif self.relation == "ancestors":
            nodes = [(edge, depth) for depth, edge in enumerate(ancestors_of(golden, hierarchy_type, day), start=1)]
        else:
            nodes = descendants_of(golden, hierarchy_type, day)
        for edge, depth in nodes:
            edge.depth = depth  # type: ignore[attr-defined]  # annotated for the serializer
        return Response(
            {
                "golden_id": golden.golden_id,
                "hierarchy": hierarchy_type.code,
                "as_of": day.isoformat(),
                "relation": self.relation,
                "results": s.HierarchyNodeSerializer([edge for edge, _ in nodes], many=True).data,
            }
        )


class HierarchyTypeListView(HubAPIView):
    """The hierarchies the hub keeps."""

    permission_classes = [ReadScope]

    @extend_schema(responses=inline_serializer("HierarchyTypes", {"results": s.HierarchyTypeSerializer(many=True)}))
    def get(self, request: Request) -> Response:
        return Response({"results": list(HierarchyType.objects.order_by("code").values("code", "name", "entity_type"))})


class SystemListView(HubAPIView):
    """The systems that send records to the hub."""

    permission_classes = [ReadScope]

    @extend_schema(responses=inline_serializer("Systems", {"results": s.SystemSerializer(many=True)}))
    def get(self, request: Request) -> Response:
        return Response({"results": list(System.objects.order_by("code").values("code", "name", "kind", "is_active"))})
