"""Steward actions over REST (/api/v1/steward/…), for automation, with the permissions of the admin UI.

A steward calls them with their admin session, or with an API key that acts for them (`ApiKey.steward`):
the key then has exactly that person's roles. Views translate input and output and call
governance/services.py; refusals come back as 400/403/404/409 with the reason.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from governance import services
from governance.audit import masked_diff
from governance.filters import CandidateFilterSet, ChangeRequestFilterSet, MergeFilterSet
from governance.models import ChangeKind, ChangeRequest
from governance.selectors import candidate_queue, change_requests, filtered
from matching.models import MatchCandidate
from mdm.api.base import HubAPIView, filter_parameters
from mdm.api.permissions import acting_person
from mdm.masking import UNMASKED_PERMISSION, masked_explanation
from mdm.models import EntityType, GoldenMerge
from mdm.models.rules import Fallback

BULK_LIMIT = 500


class IsSteward(BasePermission):
    """A person with any steward role; each action checks the record's domain itself."""

    message = "steward actions need a steward's session, or an API key that acts for a steward"

    def has_permission(self, request: Request, view: Any) -> bool:
        actor = acting_person(request)
        return actor is not None and any(services.may_steward(actor, kind) for kind in EntityType.values)


class StewardView(HubAPIView):
    permission_classes = [IsSteward]

    def actor(self) -> User:
        actor = acting_person(self.request)
        assert actor is not None  # IsSteward checked it
        return actor

    def shown(self) -> dict[str, Any]:
        """Serializer context: whether this person may see tax IDs, phones and emails in full."""
        return {"unmasked": self.actor().has_perm(UNMASKED_PERMISSION)}


def _masks(context: dict[str, Any]) -> bool:
    """Values are masked unless the view said this person may see them (a forgotten context masks)."""
    return context.get("unmasked") is not True


def _refusal(exc: services.StewardError) -> exceptions.APIException:
    """A service's refusal as the API's error: fields → 400 with paths; otherwise by kind."""
    if exc.fields:
        return exceptions.ValidationError({path: [message] for path, message in exc.fields.items()})
    kinds = {
        "forbidden": exceptions.PermissionDenied,
        "not_found": exceptions.NotFound,
        "conflict": Conflict,
    }
    return kinds.get(exc.code, Refused)(str(exc))


def _bad_filter(exc: ValueError) -> exceptions.ValidationError:
    """A selector's refusal of a query parameter ("field: message") as a 400 naming the parameter."""
    field, _, message = str(exc).partition(":")
    return exceptions.ValidationError({field: [message.strip()]})


class Refused(exceptions.APIException):
    """400 for a request that is well-formed but cannot be done (no one field is at fault)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "the records changed; reload and try again"


# --- Serializers ---------------------------------------------------------------------------------------


class CandidateSerializer(serializers.ModelSerializer):
    golden_id = serializers.CharField(source="golden.golden_id")
    candidate_golden_id = serializers.CharField(source="candidate.golden_id")
    assigned_to = serializers.SerializerMethodField()
    decided_by = serializers.CharField(source="decided_by.username", default=None)

    class Meta:
        model = MatchCandidate
        fields = [
            "id",
            "entity_type",
            "golden_id",
            "candidate_golden_id",
            "probability",
            "match_weight",
            "model_version",
            "status",
            "created_at",
            "decided_at",
            "decided_by",
            "assigned_to",
        ]

    def get_assigned_to(self, candidate: MatchCandidate) -> str | None:
        assignment = getattr(candidate, "assignment", None)
        return assignment.steward.username if assignment else None


class CandidateDetailSerializer(CandidateSerializer):
    class Meta(CandidateSerializer.Meta):
        fields = [*CandidateSerializer.Meta.fields, "explanation"]

    def to_representation(self, instance: MatchCandidate) -> dict[str, Any]:
        data = super().to_representation(instance)
        if _masks(self.context):  # the compared values include tax IDs, phones and emails
            data["explanation"] = masked_explanation(data["explanation"])
        return data


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")


class RequiredReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255)


class AssignSerializer(serializers.Serializer):
    steward = serializers.CharField(allow_null=True, help_text="username, or null to unassign")


class BulkSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["merge", "reject", "defer"])
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=BULK_LIMIT)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")


class RefusalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    message = serializers.CharField()


class BulkResultSerializer(serializers.Serializer):
    done = serializers.ListField(child=serializers.IntegerField())
    refused = RefusalSerializer(many=True)


class ManualMergeSerializer(serializers.Serializer):
    survivor = serializers.CharField(max_length=20, help_text="golden ID that survives")
    merged = serializers.CharField(max_length=20, help_text="golden ID retired into the survivor")
    reason = serializers.CharField(max_length=255)


class MergeSerializer(serializers.ModelSerializer):
    survivor = serializers.CharField(source="survivor.golden_id")
    merged = serializers.CharField(source="merged.golden_id")
    actor = serializers.CharField(source="actor.username", default=None)
    undone_by = serializers.CharField(source="undone_by.username", default=None)

    class Meta:
        model = GoldenMerge
        fields = [
            "id",
            "survivor",
            "merged",
            "probability",
            "reason",
            "actor",
            "created_at",
            "undone_at",
            "undone_by",
            "undo_reason",
            "source_record_ids",
            "xref_ids",
            "moved_edges",
        ]


# --- Views ---------------------------------------------------------------------------------------------


class StewardPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


class CandidateListView(StewardView):
    """Review candidates, best first: `?status=open` (default), `entity_type`, `min_probability`,
    `max_probability`, `system` (a source system of either record), `assigned_to` (a username, `me`, `none`),
    `ordering` (`-probability` default, `created_at` for oldest first)."""

    @extend_schema(parameters=filter_parameters(CandidateFilterSet), responses=CandidateSerializer(many=True))
    def get(self, request: Request) -> Response:
        try:
            queryset = candidate_queue(request.query_params, steward=self.actor())
        except ValueError as exc:
            raise _bad_filter(exc) from exc
        paginator = StewardPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(CandidateSerializer(page, many=True).data)


def _candidate(pk: int) -> MatchCandidate:
    candidate = (
        MatchCandidate.objects.select_related("golden", "candidate", "decided_by", "assignment__steward")
        .filter(pk=pk)
        .first()
    )
    if candidate is None:
        raise exceptions.NotFound(f"no review candidate {pk}")
    return candidate


class CandidateDetailView(StewardView):
    @extend_schema(responses=CandidateDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(CandidateDetailSerializer(_candidate(pk), context=self.shown()).data)


class CandidateActionView(StewardView):
    """POST …/candidates/{id}/merge/, …/reject/, …/defer/ with an optional `reason`."""

    action_name = ""

    @extend_schema(request=ReasonSerializer, responses=CandidateDetailSerializer)
    def post(self, request: Request, pk: int) -> Response:
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            done = services.CANDIDATE_ACTIONS[self.action_name](
                candidate_pk=pk, actor=self.actor(), reason=body.validated_data["reason"]
            )
        except services.StewardError as exc:
            raise _refusal(exc) from exc
        if isinstance(done, ChangeRequest):  # the approval policy wants a second person for this merge
            waiting = ChangeRequestSerializer(done, context=self.shown()).data
            return Response({"change_request": waiting}, status=status.HTTP_202_ACCEPTED)
        return Response(CandidateDetailSerializer(_candidate(pk), context=self.shown()).data)


class CandidateAssignView(StewardView):
    @extend_schema(request=AssignSerializer, responses=CandidateSerializer)
    def post(self, request: Request, pk: int) -> Response:
        body = AssignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        steward = None
        if body.validated_data["steward"] is not None:
            steward = get_user_model().objects.filter(username=body.validated_data["steward"]).first()
            if steward is None:
                raise exceptions.ValidationError({"steward": [f"no user {body.validated_data['steward']}"]})
        try:
            services.candidate_assign(candidate_pk=pk, steward=steward, actor=self.actor())
        except services.StewardError as exc:
            raise _refusal(exc) from exc
        return Response(CandidateSerializer(_candidate(pk)).data)


class CandidateBulkView(StewardView):
    """One action on many candidates (a selected score band): each succeeds or is refused on its own."""

    @extend_schema(request=BulkSerializer, responses=BulkResultSerializer)
    def post(self, request: Request) -> Response:
        body = BulkSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        action = services.CANDIDATE_ACTIONS[body.validated_data["action"]]
        done, refused = [], []
        for pk in dict.fromkeys(body.validated_data["ids"]):
            try:
                action(candidate_pk=pk, actor=self.actor(), reason=body.validated_data["reason"])
                done.append(pk)
            except services.StewardError as exc:
                refused.append({"id": pk, "code": exc.code, "message": str(exc)})
        return Response({"done": done, "refused": refused})


class MergeListView(StewardView):
    """Merges, newest first; `?golden_id=` those a golden record took part in. POST merges two golden records."""

    @extend_schema(parameters=filter_parameters(MergeFilterSet), responses=MergeSerializer(many=True))
    def get(self, request: Request) -> Response:
        queryset: QuerySet[GoldenMerge] = GoldenMerge.objects.select_related(
            "survivor", "merged", "actor", "undone_by"
        ).order_by("-pk")
        try:
            queryset = filtered(MergeFilterSet, request.query_params, queryset)
        except ValueError as exc:
            raise _bad_filter(exc) from exc
        paginator = StewardPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(MergeSerializer(page, many=True).data)

    @extend_schema(request=ManualMergeSerializer, responses={201: MergeSerializer})
    def post(self, request: Request) -> Response:
        body = ManualMergeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            merge = services.goldens_merge(
                survivor_id=body.validated_data["survivor"],
                merged_id=body.validated_data["merged"],
                actor=self.actor(),
                reason=body.validated_data["reason"],
            )
        except services.StewardError as exc:
            raise _refusal(exc) from exc
        if isinstance(merge, ChangeRequest):  # the approval policy wants a second person for this merge
            waiting = ChangeRequestSerializer(merge, context=self.shown()).data
            return Response({"change_request": waiting}, status=status.HTTP_202_ACCEPTED)
        return Response(MergeSerializer(merge).data, status=status.HTTP_201_CREATED)


class MergeUndoView(StewardView):
    """Unmerge: POST …/merges/{id}/undo/ with a `reason`."""

    @extend_schema(request=RequiredReasonSerializer, responses=MergeSerializer)
    def post(self, request: Request, pk: int) -> Response:
        body = RequiredReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.merge_undo(merge_pk=pk, actor=self.actor(), reason=body.validated_data["reason"])
        except services.StewardError as exc:
            raise _refusal(exc) from exc
        merge = GoldenMerge.objects.select_related("survivor", "merged", "actor", "undone_by").get(pk=pk)
        return Response(MergeSerializer(merge).data)


# --- Change requests -----------------------------------------------------------------------------------


class ChangeRequestSerializer(serializers.ModelSerializer):
    golden_id = serializers.CharField(source="golden.golden_id", default=None)
    survivor_golden_id = serializers.CharField(source="survivor.golden_id", default=None)
    hierarchy = serializers.CharField(source="hierarchy.code", default=None)
    parent_golden_id = serializers.CharField(source="parent.golden_id", default=None)
    requested_by = serializers.CharField(source="requested_by.username")
    decided_by = serializers.CharField(source="decided_by.username", default=None)

    class Meta:
        model = ChangeRequest
        fields = [
            "id",
            "kind",
            "entity_type",
            "golden_id",
            "survivor_golden_id",
            "hierarchy",
            "parent_golden_id",
            "attribute",
            "base_version",
            "changes",
            "impact",
            "reason",
            "status",
            "needs_approval",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "comment",
        ]

    def to_representation(self, instance: ChangeRequest) -> dict[str, Any]:
        data = super().to_representation(instance)
        if instance.kind == ChangeKind.EDIT and _masks(self.context):
            data["changes"] = masked_diff(data["changes"])
        return data


class EdgeProposalSerializer(serializers.Serializer):
    operation = serializers.ChoiceField(choices=["add", "end"], help_text="add a parent edge, or end one")
    hierarchy = serializers.CharField(max_length=40, help_text="hierarchy code, e.g. customer_legal")
    # A declared field: DRF's metaclass takes it out of the class, so it does not shadow Field.parent at run time.
    parent = serializers.CharField(max_length=20, help_text="the parent's golden ID")  # type: ignore[assignment]
    child = serializers.CharField(max_length=20, help_text="the child's golden ID")
    valid_from = serializers.DateField(required=False, allow_null=True, help_text="add: first day in force (today)")
    valid_to = serializers.DateField(
        required=False, allow_null=True, help_text="first day not in force (add: empty is open-ended; end: required)"
    )


class RuleProposalSerializer(serializers.Serializer):
    entity_type = serializers.ChoiceField(choices=EntityType.choices)
    attribute = serializers.CharField(max_length=60)
    systems = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        max_length=20,
        help_text="owning system codes, first wins; [] for no owner (the fallback decides)",
    )
    fallback = serializers.ChoiceField(choices=Fallback.choices, required=False)


# What each kind of proposal needs in the body, besides the reason.
PROPOSAL_PARTS = {
    ChangeKind.EDIT: ("golden_id", "attributes"),
    ChangeKind.HIERARCHY: ("edge",),
    ChangeKind.OWNERSHIP_RULE: ("rule",),
}


class ProposeSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=ChangeKind.choices,
        default=ChangeKind.EDIT,
        help_text="edit (golden attributes), hierarchy (an edge), ownership_rule; merges: POST …/steward/merges/",
    )
    golden_id = serializers.CharField(max_length=20, required=False, help_text="edit: the golden record")
    attributes = serializers.DictField(
        required=False, help_text="edit: attribute: new value, as a source system would send it"
    )
    edge = EdgeProposalSerializer(required=False, help_text="hierarchy: the edge to add or end")
    rule = RuleProposalSerializer(required=False, help_text="ownership_rule: the rule's new systems and/or fallback")
    reason = serializers.CharField(max_length=255)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        kind = data["kind"]
        if kind == ChangeKind.MERGE:
            raise serializers.ValidationError({"kind": ["merges are proposed with POST /api/v1/steward/merges/"]})
        errors = {name: [f"required for a {kind} request"] for name in PROPOSAL_PARTS[kind] if name not in data}
        for other, parts in PROPOSAL_PARTS.items():
            if other != kind:
                errors.update({name: [f"only for a {other} request"] for name in parts if name in data})
        if errors:
            raise serializers.ValidationError(errors)
        return data


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")


class ChangeListView(StewardView):
    """Change requests, newest first (`?status=pending`, `?kind=`, `?golden_id=`); POST proposes one: an edit of
    golden attributes, a hierarchy edge to add or end, or an ownership rule's new systems and fallback."""

    @extend_schema(parameters=filter_parameters(ChangeRequestFilterSet), responses=ChangeRequestSerializer(many=True))
    def get(self, request: Request) -> Response:
        try:
            queryset = change_requests(request.query_params)
        except ValueError as exc:
            raise _bad_filter(exc) from exc
        paginator = StewardPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(ChangeRequestSerializer(page, many=True, context=self.shown()).data)

    @extend_schema(request=ProposeSerializer, responses={201: ChangeRequestSerializer})
    def post(self, request: Request) -> Response:
        body = ProposeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            if data["kind"] == ChangeKind.HIERARCHY:
                edge = data["edge"]
                change = services.hierarchy_change_propose(
                    operation=edge["operation"],
                    hierarchy=edge["hierarchy"],
                    parent_id=edge["parent"],
                    child_id=edge["child"],
                    valid_from=edge.get("valid_from"),
                    valid_to=edge.get("valid_to"),
                    actor=self.actor(),
                    reason=data["reason"],
                )
            elif data["kind"] == ChangeKind.OWNERSHIP_RULE:
                change = services.rule_change_propose(actor=self.actor(), reason=data["reason"], **data["rule"])
            else:
                change = services.change_propose(
                    golden_id=data["golden_id"],
                    attributes=data["attributes"],
                    actor=self.actor(),
                    reason=data["reason"],
                )
        except services.StewardError as exc:
            raise _refusal(exc) from exc
        return Response(ChangeRequestSerializer(change, context=self.shown()).data, status=status.HTTP_201_CREATED)


class ChangeActionView(StewardView):
    """POST …/changes/{id}/approve/, …/reject/ (a `comment` is required), …/withdraw/."""

    action_name = ""

    @extend_schema(request=CommentSerializer, responses=ChangeRequestSerializer)
    def post(self, request: Request, pk: int) -> Response:
        body = CommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.CHANGE_ACTIONS[self.action_name](
                request_pk=pk, actor=self.actor(), comment=body.validated_data["comment"]
            )
        except services.StewardError as exc:
            raise _refusal(exc) from exc
        return Response(ChangeRequestSerializer(change_requests({}).get(pk=pk), context=self.shown()).data)


class OverrideClearSerializer(serializers.Serializer):
    golden_id = serializers.CharField(max_length=20)
    attribute = serializers.CharField(max_length=60)
    reason = serializers.CharField(max_length=255)


class OverrideClearView(StewardView):
    """POST …/overrides/clear/: hand an attribute back to survivorship (the steward override stops winning)."""

    @extend_schema(request=OverrideClearSerializer, responses={204: None})
    def post(self, request: Request) -> Response:
        body = OverrideClearSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.override_clear(actor=self.actor(), **body.validated_data)
        except services.StewardError as exc:
            raise _refusal(exc) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)
