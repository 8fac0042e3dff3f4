"""The steward pages inside the admin: the review queue, a candidate side by side, and merges to undo.

Server-rendered forms on the admin's own layout: no JavaScript to load or break, every action reachable
with the keyboard (Tab, Enter, and the access keys shown on the buttons), and each page a fixed number of
queries whatever the queue's size. The pages call governance/services.py, like the steward REST API.
"""

import datetime
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.db.models import Case, Q, When
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from governance import services
from governance.audit import audit_trail, csv_lines, golden_timeline, masked_diff, parse_range
from governance.models import ChangeKind, ChangeRequest, ChangeStatus
from governance.selectors import candidate_queue, change_requests, dashboard_figures
from matching.models import CandidateStatus, MatchCandidate
from mdm.golden import golden_values_preview, source_views
from mdm.masking import MASKED, UNMASKED_PERMISSION, masked_explanation, masked_values
from mdm.models import (
    EntityType,
    GoldenMerge,
    GoldenOverride,
    GoldenRecord,
    HierarchyEdge,
    HierarchyType,
    OwnershipRule,
)
from mdm.models.rules import Fallback
from mdm.publishing.selectors import publish_status
from mdm.selectors import entity_as_of, survivor_of
from mdm.survivorship import SURVIVING_ATTRIBUTES

PAGE_SIZE = 50
ACTIONS = services.CANDIDATE_ACTIONS
DONE = {"merge": "merged", "reject": "marked not a match", "defer": "deferred"}
CHANGE_DONE = {"approve": "approved and applied", "reject": "rejected", "withdraw": "withdrawn"}
SHOWN = [
    "kind",
    "legal_name",
    "trade_name",
    "first_name",
    "last_name",
    "date_of_birth",
    "tax_ids",
    "national_id",
    "legal_address",
    "billing_address",
    "phones",
    "emails",
    "website",
    "industry",
    "status",
    "sku",
    "gtin",
    "name",
    "unit_of_measure",
    "category",
    "list_price",
    "currency",
]


class StewardRequest(HttpRequest):
    """A request to a steward page: the admin's login is required, so its user is a person (for type checking)."""

    user: User


def _context(request: StewardRequest, **extra: Any) -> dict[str, Any]:
    return {**admin.site.each_context(request), **extra}


def _safe_next(request: StewardRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


@permission_required("matching.view_matchcandidate", raise_exception=True)
def queue(request: StewardRequest) -> HttpResponse:
    """Open review candidates, best first, filtered; select some and act on them together."""
    if request.method == "POST":
        if "assign" in request.POST or "release" in request.POST:  # a row's "Assign to me" or "Give back" button
            mine = "assign" in request.POST
            _assign(request, request.POST.get("assign" if mine else "release", ""), mine=mine)
            return HttpResponseRedirect(_safe_next(request, reverse("steward-queue")))
        action = request.POST.get("action", "")
        ids = [int(pk) for pk in request.POST.getlist("selected") if pk.isdigit()]
        if action not in ACTIONS or not ids:
            messages.error(request, "Choose an action and select at least one candidate.")
        else:
            done, waiting, refused = 0, 0, []
            for pk in ids:
                try:
                    result = ACTIONS[action](candidate_pk=pk, actor=request.user, reason=request.POST.get("reason", ""))
                except services.StewardError as exc:
                    refused.append(f"#{pk}: {exc}")
                    continue
                if isinstance(result, ChangeRequest):
                    waiting += 1
                else:
                    done += 1
            if done:
                messages.success(request, f"{done} candidate(s) {DONE[action]}.")
            if waiting:
                messages.success(request, f"{waiting} merge(s) wait for an approver (both records have ERP sources).")
            for line in refused:
                messages.error(request, line)
        return HttpResponseRedirect(_safe_next(request, reverse("steward-queue")))
    params = request.GET.copy()
    try:
        candidates = candidate_queue(params, steward=request.user)
    except ValueError as exc:
        messages.error(request, f"Filter ignored: {exc}")
        candidates = candidate_queue({}, steward=request.user)
    page = Paginator(candidates, PAGE_SIZE).get_page(request.GET.get("page"))
    query = params.copy()
    query.pop("page", None)
    return render(
        request,
        "governance/queue.html",
        _context(
            request,
            title="Review queue",
            page=page,
            query=query.urlencode(),
            params=params,
            statuses=CandidateStatus.choices,
            entity_types=EntityType.choices,
            may_act=any(services.may_steward(request.user, kind) for kind in EntityType.values),
        ),
    )


def _assign(request: StewardRequest, raw_pk: str, *, mine: bool) -> None:
    """Take a candidate (mine) or give it back to the shared queue, with a message either way."""
    if not raw_pk.isdigit():
        messages.error(request, f"'{raw_pk}' is not a candidate number.")
        return
    try:
        services.candidate_assign(candidate_pk=int(raw_pk), steward=request.user if mine else None, actor=request.user)
    except services.StewardError as exc:
        messages.error(request, f"#{raw_pk}: {exc}")
        return
    if mine:
        messages.success(request, f"Candidate #{raw_pk} is assigned to you.")
    else:
        messages.success(request, f"Candidate #{raw_pk} is back in the shared queue.")


@permission_required("matching.view_matchcandidate", raise_exception=True)
def candidate(request: StewardRequest, pk: int) -> HttpResponse:
    """One candidate: both records side by side, each attribute's weight, and the merged result beforehand."""
    pair = get_object_or_404(
        MatchCandidate.objects.select_related("golden", "candidate", "decided_by", "assignment__steward"), pk=pk
    )
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action in ("assign_me", "unassign"):
            _assign(request, str(pk), mine=action == "assign_me")
            return HttpResponseRedirect(reverse("steward-candidate", args=[pk]))
        if action not in ACTIONS:
            messages.error(request, "Unknown action.")
            return HttpResponseRedirect(reverse("steward-candidate", args=[pk]))
        try:
            done = ACTIONS[action](candidate_pk=pk, actor=request.user, reason=request.POST.get("reason", ""))
        except services.StewardError as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(reverse("steward-candidate", args=[pk]))
        if isinstance(done, ChangeRequest):
            messages.success(request, f"Both records have ERP sources: the merge waits for an approver ({done}).")
        else:
            messages.success(request, f"Candidate #{pk} {DONE[action]}.")
        following = candidate_queue({}, steward=request.user).exclude(pk=pk).first()
        target = reverse("steward-candidate", args=[following.pk]) if following else reverse("steward-queue")
        return HttpResponseRedirect(target)
    older, newer = sorted([pair.golden, pair.candidate], key=lambda golden: golden.pk)
    sources = source_views([older.pk, newer.pk])
    preview, lineage = golden_values_preview(pair.entity_type, [older.pk, newer.pk])
    unmasked = request.user.has_perm(UNMASKED_PERMISSION)
    explanation = pair.explanation if unmasked else masked_explanation(pair.explanation)
    weights = {row.get("attribute"): row for row in (explanation or {}).get("attributes", [])}
    rows = []
    for name in SHOWN:
        values = [
            [masked_values(name, view.values.get(name), unmasked) for view in sources.get(golden.pk, [])]
            for golden in (older, newer)
        ]
        merged = masked_values(name, preview.get(name), unmasked)
        if any(value not in (None, "", []) for column in values for value in column) or merged not in (None, "", []):
            rows.append({"name": name, "older": values[0], "newer": values[1], "merged": merged})
    return render(
        request,
        "governance/candidate.html",
        _context(
            request,
            title=f"Candidate #{pair.pk}: {newer.golden_id} ~ {older.golden_id}",
            pair=pair,
            older=older,
            newer=newer,
            older_sources=sources.get(older.pk, []),
            newer_sources=sources.get(newer.pk, []),
            rows=rows,
            weights=sorted(weights.values(), key=lambda row: -abs(row.get("weight") or 0)),
            lineage=lineage,
            is_open=pair.status in (CandidateStatus.OPEN, CandidateStatus.DEFERRED),
            may_act=services.may_steward(request.user, pair.entity_type),
        ),
    )


@permission_required("mdm.view_goldenmerge", raise_exception=True)
def merges(request: StewardRequest) -> HttpResponse:
    """Merges, newest first (or those of one golden record); undo one with a reason."""
    if request.method == "POST":
        raw_pk = request.POST.get("merge", "")
        try:
            if not raw_pk.isdigit():
                raise services.StewardError(f"'{raw_pk}' is not a merge number", "not_found")
            restored = services.merge_undo(
                merge_pk=int(raw_pk), actor=request.user, reason=request.POST.get("reason", "")
            )
            messages.success(request, f"Unmerged: {restored.golden_id} is active again, with its own sources.")
        except services.StewardError as exc:
            messages.error(request, str(exc))
        return HttpResponseRedirect(_safe_next(request, reverse("steward-merges")))
    rows = GoldenMerge.objects.select_related("survivor", "merged", "actor", "undone_by").order_by("-pk")
    golden_id = request.GET.get("golden_id", "").strip()
    if golden_id:
        rows = rows.filter(Q(survivor__golden_id=golden_id) | Q(merged__golden_id=golden_id))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "governance/merges.html",
        _context(request, title="Merges", page=page, golden_id=golden_id),
    )


EDITABLE = {
    "customer": ["legal_name", "trade_name", "website", "industry", "phones", "emails"],
    "product": ["name", "description", "category", "unit_of_measure", "list_price"],
}
LISTS = {"phones", "emails"}


def _as_text(name: str, value: Any) -> str:
    """A golden value as the propose form shows it (lists take commas)."""
    return ", ".join(value or []) if name in LISTS else str(value or "")


@permission_required("mdm.view_goldenrecord", raise_exception=True)
def propose(request: StewardRequest, golden_id: str) -> HttpResponse:
    """Propose new values for a golden record's attributes (applied at once, or waiting for an approver)."""
    golden = get_object_or_404(GoldenRecord, golden_id=golden_id)
    current, lineage = golden_values_preview(golden.entity_type, [golden.pk])
    fields = EDITABLE[golden.entity_type]
    unmasked = request.user.has_perm(UNMASKED_PERMISSION)
    errors: dict[str, str] = {}
    if request.method == "POST":
        attributes: dict[str, Any] = {}
        for name in fields:
            raw = request.POST.get(name, "").strip()
            if raw and raw != _as_text(name, current.get(name)):
                attributes[name] = [part.strip() for part in raw.split(",") if part.strip()] if name in LISTS else raw
        try:
            change = services.change_propose(
                golden_id=golden_id, attributes=attributes, actor=request.user, reason=request.POST.get("reason", "")
            )
        except services.StewardError as exc:
            errors = {path.removeprefix("attributes."): message for path, message in exc.fields.items()}
            messages.error(request, str(exc))
        else:
            if change.status == ChangeStatus.APPLIED:
                messages.success(request, f"Applied: {', '.join(change.changes)} (no approval needed).")
            else:
                messages.success(request, f"Change request #{change.pk} waits for an approver.")
            return HttpResponseRedirect(reverse("steward-changes"))
    rows = []
    for name in fields:
        hidden = not unmasked and name in MASKED  # shown masked, never put in full into the form
        rows.append(
            {
                "name": name,
                "value": "" if hidden else _as_text(name, current.get(name)),
                "masked": _as_text(name, masked_values(name, current.get(name), False)) if hidden else "",
                "source": (lineage.get(name) or {}).get("rule", ""),
                "error": next((message for path, message in errors.items() if path.split("[")[0] == name), ""),
            }
        )
    return render(
        request,
        "governance/propose.html",
        _context(request, title=f"Propose a change to {golden.golden_id}", golden=golden, rows=rows),
    )


@permission_required("mdm.view_goldenrecord", raise_exception=True)
def changes(request: StewardRequest) -> HttpResponse:
    """Change requests, pending first, each with its diff; approvers approve or reject with a comment, requesters
    withdraw. `?kind=` shows one kind (edits, merges, hierarchy edges, ownership rules)."""
    if request.method == "POST":
        action, raw_pk = request.POST.get("action", ""), request.POST.get("request", "")
        comment = request.POST.get("comment", "")
        if not raw_pk.isdigit():
            messages.error(request, f"'{raw_pk}' is not a change request number.")
            return HttpResponseRedirect(reverse("steward-changes"))
        pk = int(raw_pk)
        if action not in services.CHANGE_ACTIONS:
            messages.error(request, "Unknown action.")
            return HttpResponseRedirect(_safe_next(request, reverse("steward-changes")))
        try:
            services.CHANGE_ACTIONS[action](request_pk=pk, actor=request.user, comment=comment)
        except services.StewardError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Change request #{pk} {CHANGE_DONE[action]}.")
        return HttpResponseRedirect(_safe_next(request, reverse("steward-changes")))
    kind = request.GET.get("kind", "")
    try:
        rows = change_requests({"kind": kind})
    except ValueError as exc:
        messages.error(request, f"Filter ignored: {exc}")
        kind, rows = "", change_requests({})
    rows = rows.order_by(Case(When(status=ChangeStatus.PENDING, then=0), default=1), "-pk")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    unmasked = request.user.has_perm(UNMASKED_PERMISSION)
    for change in page:
        # Annotated for the template.
        change.diff = change.changes if unmasked or change.kind != ChangeKind.EDIT else masked_diff(change.changes)  # type: ignore[attr-defined]
    return render(
        request,
        "governance/changes.html",
        _context(
            request,
            title="Change requests",
            page=page,
            kind=kind,
            kinds=ChangeKind.choices,
            may_approve=request.user.has_perm("governance.approve_changes"),
        ),
    )


@permission_required("mdm.view_goldenrecord", raise_exception=True)
def audit_export(request: StewardRequest) -> HttpResponseBase:
    """The audit trail of a date range as CSV, streamed (GET ?from=YYYY-MM-DD&to=YYYY-MM-DD)."""

    try:
        start, end = parse_range(request.GET.get("from", ""), request.GET.get("to", ""))
    except ValueError as exc:
        messages.error(request, f"Audit export: {exc}")
        return HttpResponseRedirect(reverse("steward-queue"))
    unmasked = request.user.has_perm(UNMASKED_PERMISSION)
    entries = (entry if unmasked else entry.masked() for entry in audit_trail(start, end))
    response = StreamingHttpResponse(csv_lines(entries), content_type="text/csv; charset=utf-8")
    name = f"audit-{request.GET['from']}-{request.GET['to']}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@permission_required("mdm.view_goldenrecord", raise_exception=True)
def golden(request: StewardRequest, golden_id: str) -> HttpResponse:
    """A golden record's page: its values (as of a date, if asked), steward overrides (clear one with a reason),
    sources, and the timeline of every change."""
    record = get_object_or_404(GoldenRecord, golden_id=golden_id)
    if request.method == "POST":
        attribute = request.POST.get("attribute", "")
        try:
            services.override_clear(
                golden_id=record.golden_id,
                attribute=attribute,
                actor=request.user,
                reason=request.POST.get("reason", ""),
            )
            messages.success(request, f"The override of {attribute} is cleared: survivorship decides it again.")
        except services.StewardError as exc:
            messages.error(request, str(exc))
        return HttpResponseRedirect(reverse("steward-golden", args=[record.golden_id]))
    entity = record.entity
    unmasked = request.user.has_perm(UNMASKED_PERMISSION)
    as_of = request.GET.get("as_of", "").strip()
    values: dict[str, Any] = {}
    if as_of:
        try:
            day = datetime.date.fromisoformat(as_of)
        except ValueError:
            messages.error(request, f"'{as_of}' is not a date as YYYY-MM-DD")
            day = None
        moment = (
            datetime.datetime.combine(day, datetime.time.max, tzinfo=timezone.get_current_timezone()) if day else None
        )
        source = entity_as_of(entity, moment) if moment else None
        if moment and source is None:
            messages.info(request, f"{golden_id} did not exist yet on {as_of}.")
    else:
        source = entity
    if source is not None:
        for name in SHOWN:
            if hasattr(source, name):
                values[name] = masked_values(name, getattr(source, name), unmasked)
    overrides = [
        {
            "attribute": override.attribute,
            "value": masked_values(override.attribute, override.value, unmasked),
            "reason": override.reason,
            "set_by": override.set_by,
            "created_at": override.created_at,
        }
        for override in GoldenOverride.objects.filter(golden=record, cleared_at=None)
        .select_related("set_by")
        .order_by("attribute")
    ]
    timeline = golden_timeline(record)[:200]
    return render(
        request,
        "governance/golden.html",
        _context(
            request,
            title=f"{record.golden_id} ({record.entity_type})",
            record=record,
            survivor=survivor_of(record) if record.status != "active" else None,
            values={name: value for name, value in values.items() if value not in (None, "", [])},
            as_of=as_of,
            lineage=getattr(entity, "lineage", {}),
            overrides=overrides,
            # per target: the last delivered version, when, the target's ID and the last error
            publishing=publish_status(record),
            may_act=services.may_steward(request.user, record.entity_type),
            sources=source_views([record.pk]).get(record.pk, []),
            timeline=timeline if unmasked else [entry.masked() for entry in timeline],
        ),
    )


@permission_required("mdm.view_hierarchyedge", raise_exception=True)
def hierarchy(request: StewardRequest, golden_id: str) -> HttpResponse:
    """A golden record's parents in each hierarchy, over time: propose a new parent edge, or end one."""
    record = get_object_or_404(GoldenRecord, golden_id=golden_id)
    form: dict[str, str] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {name: request.POST.get(name, "").strip() for name in HIERARCHY_FORM}
        try:
            change = services.hierarchy_change_propose(
                operation=form["operation"],
                hierarchy=form["hierarchy"],
                parent_id=form["parent"],
                child_id=record.golden_id,
                valid_from=_form_date(form, "valid_from"),
                valid_to=_form_date(form, "valid_to"),
                actor=request.user,
                reason=form["reason"],
            )
        except services.StewardError as exc:
            errors = {path.removeprefix("edge."): message for path, message in exc.fields.items()}
            messages.error(request, str(exc))
        else:
            if change.status == ChangeStatus.APPLIED:
                messages.success(request, f"Applied: the hierarchy edge is {_DONE_TO_EDGE[form['operation']]}.")
            else:
                messages.success(request, f"Change request #{change.pk} waits for an approver.")
            return HttpResponseRedirect(reverse("steward-hierarchy", args=[record.golden_id]))
    edges = (
        HierarchyEdge.objects.filter(child=record)
        .select_related("hierarchy", "parent")
        .order_by("hierarchy__code", "-valid_from")
    )
    return render(
        request,
        "governance/hierarchy.html",
        _context(
            request,
            title=f"Hierarchies of {record.golden_id}",
            record=record,
            edges=edges,
            hierarchies=HierarchyType.objects.filter(entity_type=record.entity_type).order_by("code"),
            today=timezone.localdate(),
            form=form,
            errors=errors,
            may_act=services.may_steward(request.user, record.entity_type),
        ),
    )


HIERARCHY_FORM = ("operation", "hierarchy", "parent", "valid_from", "valid_to", "reason")
_DONE_TO_EDGE = {"add": "added", "end": "ended"}


def _form_date(form: dict[str, str], name: str) -> datetime.date | None:
    """A date field of a page's form (empty: none); a StewardError naming the field when it is not a date."""
    raw = form.get(name, "")
    if not raw:
        return None
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        message = f"'{raw}' is not a date as YYYY-MM-DD"
        raise services.StewardError(message, fields={f"edge.{name}": message}) from None


@permission_required("mdm.view_ownershiprule", raise_exception=True)
def rules(request: StewardRequest) -> HttpResponse:
    """The ownership rules (which systems own each attribute, in order, then the fallback): propose a change to
    one, or a rule for an attribute that has none; pending proposals are shown with their rule."""
    posted: dict[str, str] = {}
    if request.method == "POST":
        posted = {name: request.POST.get(name, "").strip() for name in ("entity_type", "attribute", "fallback")}
        posted["systems"] = request.POST.get("systems", "")
        systems = [code.strip() for code in posted["systems"].replace(">", ",").split(",") if code.strip()]
        try:
            change = services.rule_change_propose(
                entity_type=posted["entity_type"],
                attribute=posted["attribute"],
                systems=systems,
                fallback=posted["fallback"] or None,
                actor=request.user,
                reason=request.POST.get("reason", ""),
            )
        except services.StewardError as exc:
            details = "".join(f"; {path.removeprefix('rule.')}: {message}" for path, message in exc.fields.items())
            messages.error(request, f"{posted['entity_type']}.{posted['attribute']}: {exc}{details}")
        else:
            if change.status == ChangeStatus.APPLIED:
                messages.success(request, f"Applied: {change.entity_type}.{change.attribute} has its new rule.")
            else:
                messages.success(request, f"Change request #{change.pk} waits for an approver.")
            return HttpResponseRedirect(reverse("steward-rules"))
    waiting = ChangeRequest.objects.filter(kind=ChangeKind.OWNERSHIP_RULE, status=ChangeStatus.PENDING)
    pending = {
        (entity_type, attribute): pk
        for entity_type, attribute, pk in waiting.values_list("entity_type", "attribute", "pk")
    }
    existing = list(OwnershipRule.objects.order_by("entity_type", "attribute"))
    for rule in existing:
        # Annotated for the template: a pending request, and the form's values (the steward's, after a refusal).
        rule.pending = pending.pop((rule.entity_type, rule.attribute), None)  # type: ignore[attr-defined]
        refilled = (posted.get("entity_type"), posted.get("attribute")) == (rule.entity_type, rule.attribute)
        rule.form_systems = posted["systems"] if refilled else ", ".join(rule.systems)  # type: ignore[attr-defined]
        rule.form_fallback = posted["fallback"] if refilled else rule.fallback  # type: ignore[attr-defined]
    ruled = {(rule.entity_type, rule.attribute) for rule in existing}
    return render(
        request,
        "governance/rules.html",
        _context(
            request,
            title="Ownership rules",
            rules=existing,
            pending_new=[
                {"name": f"{kind}.{attribute}", "pk": pk} for (kind, attribute), pk in sorted(pending.items())
            ],
            unruled={
                entity_type: [name for name in names if (entity_type, name) not in ruled]
                for entity_type, names in SURVIVING_ATTRIBUTES.items()
            },
            domains=[kind for kind in EntityType.values if services.may_steward(request.user, kind)],
            fallbacks=Fallback.choices,
            posted=posted,
        ),
    )


def _bars(values: list[int], height: int = 120) -> list[int]:
    top = max(values, default=0) or 1
    return [round(value * height / top) for value in values]


@permission_required("matching.view_matchcandidate", raise_exception=True)
def dashboard(request: StewardRequest) -> HttpResponse:
    """Open work against the SLA, the matcher's outcomes per day, the score histogram, the outbox backlog."""
    from django.conf import settings

    entity_type = request.GET.get("entity_type") or None
    if entity_type is not None and entity_type not in EntityType.values:
        messages.error(request, f"'{entity_type}' is not an entity type; showing all")
        entity_type = None
    figures = dashboard_figures(sla_days=settings.MDM_STEWARD_SLA_DAYS, entity_type=entity_type)
    outcomes = ["auto_linked", "review", "new", "deferred"]
    days = figures["days"]
    stacked = []
    for index, day in enumerate(days):
        # Rates: each day's bar is 100% of its decisions, split by outcome (the count is written under it).
        total = sum(day.get(name, 0) for name in outcomes)
        y, parts = 120, []
        for name in outcomes:
            count = day.get(name, 0)
            size = round(count * 120 / total) if total else 0
            y -= size
            share = round(100 * count / total) if total else 0
            parts.append({"name": name, "y": y, "height": size, "count": count, "share": share})
        stacked.append({"x": index * 36 + 4, "day": day["day"], "parts": parts, "total": total})
    histogram = figures["histogram"]
    for row, height in zip(histogram, _bars([row["count"] for row in histogram]), strict=True):
        row["height"], row["y"] = height, 120 - height
    for key in ("candidates", "changes"):
        for row, height in zip(figures[key], _bars([row["count"] for row in figures[key]], 80), strict=True):
            row["width"] = height * 3
    return render(
        request,
        "governance/dashboard.html",
        _context(
            request,
            title="Steward dashboard",
            f=figures,
            stacked=stacked,
            histogram=histogram,
            entity_type=entity_type or "",
            entity_types=EntityType.choices,
        ),
    )
