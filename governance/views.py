"""The steward pages inside the admin: the review queue, a candidate side by side, and merges to undo.

Server-rendered forms on the admin's own layout: no JavaScript to load or break, every action reachable
with the keyboard (Tab, Enter, and the access keys shown on the buttons), and each page a fixed number of
queries whatever the queue's size. The pages call governance/services.py, like the steward REST API.
"""

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from governance import services
from governance.masking import masked_values
from governance.selectors import candidate_queue
from matching.models import CandidateStatus, MatchCandidate
from mdm.golden import golden_values_preview, source_values
from mdm.models import EntityType, GoldenMerge

PAGE_SIZE = 50
ACTIONS = {"merge": services.candidate_merge, "reject": services.candidate_reject, "defer": services.candidate_defer}
DONE = {"merge": "merged", "reject": "marked not a match", "defer": "deferred"}
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


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {**admin.site.each_context(request), **extra}


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


@permission_required("matching.view_matchcandidate", raise_exception=True)
def queue(request: HttpRequest) -> HttpResponse:
    """Open review candidates, best first, filtered; select some and act on them together."""
    if request.method == "POST":
        action = request.POST.get("action", "")
        ids = [int(pk) for pk in request.POST.getlist("selected") if pk.isdigit()]
        if action not in ACTIONS or not ids:
            messages.error(request, "Choose an action and select at least one candidate.")
        else:
            done, refused = 0, []
            for pk in ids:
                try:
                    ACTIONS[action](candidate_pk=pk, actor=request.user, reason=request.POST.get("reason", ""))
                    done += 1
                except services.StewardError as exc:
                    refused.append(f"#{pk}: {exc}")
            if done:
                messages.success(request, f"{done} candidate(s) {DONE[action]}.")
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


@permission_required("matching.view_matchcandidate", raise_exception=True)
def candidate(request: HttpRequest, pk: int) -> HttpResponse:
    """One candidate: both records side by side, each attribute's weight, and the merged result beforehand."""
    pair = get_object_or_404(
        MatchCandidate.objects.select_related("golden", "candidate", "decided_by", "assignment__steward"), pk=pk
    )
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in ACTIONS:
            messages.error(request, "Unknown action.")
            return HttpResponseRedirect(reverse("steward-candidate", args=[pk]))
        try:
            ACTIONS[action](candidate_pk=pk, actor=request.user, reason=request.POST.get("reason", ""))
        except services.StewardError as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(reverse("steward-candidate", args=[pk]))
        messages.success(request, f"Candidate #{pk} {DONE[action]}.")
        following = candidate_queue({}, steward=request.user).exclude(pk=pk).first()
        target = reverse("steward-candidate", args=[following.pk]) if following else reverse("steward-queue")
        return HttpResponseRedirect(target)
    older, newer = sorted([pair.golden, pair.candidate], key=lambda golden: golden.pk)
    sources = source_values([older.pk, newer.pk])
    preview, lineage = golden_values_preview(pair.entity_type, [older.pk, newer.pk])
    unmasked = request.user.has_perm("governance.view_unmasked")
    weights = {row.get("attribute"): row for row in pair.explanation.get("attributes", [])}
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
def merges(request: HttpRequest) -> HttpResponse:
    """Merges, newest first (or those of one golden record); undo one with a reason."""
    if request.method == "POST":
        try:
            restored = services.merge_undo(
                merge_pk=int(request.POST.get("merge", "0") or 0),
                actor=request.user,
                reason=request.POST.get("reason", ""),
            )
            messages.success(request, f"Unmerged: {restored.golden_id} is active again, with its own sources.")
        except (services.StewardError, ValueError) as exc:
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
