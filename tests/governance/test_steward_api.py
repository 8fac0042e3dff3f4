"""Steward actions over REST: review candidates, merge, reject, defer, assign, unmerge; refusals say why."""

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from matching.models import CandidateStatus, MatchCandidate
from mdm.models import GoldenMerge, GoldenRecord, GoldenStatus, SourceRecord, System
from mdm.services import api_key_create
from tests.governance.conftest import candidate, goldens, logged_in

pytestmark = pytest.mark.django_db

BASE = "/api/v1/steward"


def test_the_queue_lists_open_candidates_best_first_with_filters(salesforce: System, customer_steward: Any) -> None:
    a, b, c, d = goldens(salesforce)
    low, high = candidate(b, a, 0.6), candidate(d, c, 0.95)
    client = logged_in(customer_steward)
    body = client.get(f"{BASE}/candidates/").json()
    assert [row["id"] for row in body["results"]] == [high.pk, low.pk] and body["count"] == 2
    assert body["results"][0]["golden_id"] == d.golden_id
    assert [row["id"] for row in client.get(f"{BASE}/candidates/?min_probability=0.9").json()["results"]] == [high.pk]
    assert [row["id"] for row in client.get(f"{BASE}/candidates/?ordering=created_at").json()["results"]] == [
        low.pk,
        high.pk,
    ]
    error = client.get(f"{BASE}/candidates/?min_probability=high").json()["error"]
    assert error["fields"] == [{"field": "min_probability", "message": "'high' is not a number"}]
    detail = client.get(f"{BASE}/candidates/{high.pk}/").json()
    assert detail["explanation"]["attributes"][0]["attribute"] == "name"


def test_merge_keeps_the_older_golden_id_and_closes_the_candidate(salesforce: System, customer_steward: Any) -> None:
    older, newer, *_ = goldens(salesforce)
    pair = candidate(newer, older)
    response = logged_in(customer_steward).post(f"{BASE}/candidates/{pair.pk}/merge/", {"reason": "same company"})
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "merged" and response.json()["decided_by"] == "carla.customers"
    newer.refresh_from_db()
    assert newer.status == GoldenStatus.RETIRED and newer.merged_into == older
    merge = GoldenMerge.objects.get()
    assert merge.actor == customer_steward and merge.reason == "same company"
    again = logged_in(customer_steward).post(f"{BASE}/candidates/{pair.pk}/merge/", {})
    assert again.status_code == 409 and "already decided (merged by carla.customers" in again.json()["error"]["message"]


def test_a_rejected_pair_is_never_proposed_or_merged_again(salesforce: System, customer_steward: Any) -> None:
    from mdm.ingest import ingest
    from tests.records import customer

    twins = [customer("T-1", tax_ids=[]), customer("T-2", tax_ids=[])]
    ingest(system=salesforce, entity_type="customer", records=twins, actor=salesforce.service_user, defer_matching=True)
    older, newer = GoldenRecord.objects.order_by("pk")
    out = StringIO()
    call_command("match", entity="customer", dry_run=True, stdout=out, stderr=StringIO())
    assert "1 would be merged" in out.getvalue()  # the batch run would merge these two, unless told otherwise
    pair = candidate(newer, older)
    response = logged_in(customer_steward).post(f"{BASE}/candidates/{pair.pk}/reject/", {"reason": "sister company"})
    assert response.json()["status"] == "rejected"
    call_command("match", entity="customer", stdout=StringIO(), stderr=StringIO())
    assert GoldenRecord.objects.get(pk=newer.pk).status == GoldenStatus.ACTIVE
    assert MatchCandidate.objects.filter(status=CandidateStatus.OPEN).count() == 0


def test_defer_takes_a_candidate_out_of_the_open_queue(salesforce: System, customer_steward: Any) -> None:
    older, newer, *_ = goldens(salesforce)
    pair = candidate(newer, older)
    client = logged_in(customer_steward)
    assert client.post(f"{BASE}/candidates/{pair.pk}/defer/", {}).json()["status"] == "deferred"
    assert client.get(f"{BASE}/candidates/").json()["count"] == 0
    assert client.get(f"{BASE}/candidates/?status=deferred").json()["count"] == 1
    assert client.post(f"{BASE}/candidates/{pair.pk}/reject/", {}).json()["status"] == "rejected"


def test_stewards_act_only_in_their_domain_and_viewers_not_at_all(
    salesforce: System, product_steward: Any, viewer: Any
) -> None:
    older, newer, *_ = goldens(salesforce)
    pair = candidate(newer, older)
    refused = logged_in(product_steward).post(f"{BASE}/candidates/{pair.pk}/merge/", {})
    assert refused.status_code == 403 and "not a customer steward" in refused.json()["error"]["message"]
    assert logged_in(viewer).get(f"{BASE}/candidates/").status_code == 403
    assert not GoldenMerge.objects.exists() and MatchCandidate.objects.get().status == CandidateStatus.OPEN


def test_unmerge_restores_the_record_and_remembers_the_pair_as_not_a_match(
    salesforce: System, customer_steward: Any
) -> None:
    older, newer, *_ = goldens(salesforce)
    client = logged_in(customer_steward)
    created = client.post(
        f"{BASE}/merges/", {"survivor": older.golden_id, "merged": newer.golden_id, "reason": "same"}, format="json"
    )
    assert created.status_code == 201, created.json()
    merge_id = created.json()["id"]
    assert client.post(f"{BASE}/merges/{merge_id}/undo/", {}).json()["error"]["fields"][0]["field"] == "reason"
    undone = client.post(f"{BASE}/merges/{merge_id}/undo/", {"reason": "different legal entities"})
    assert undone.status_code == 200 and undone.json()["undone_by"] == "carla.customers"
    newer.refresh_from_db()
    assert newer.status == GoldenStatus.ACTIVE
    assert SourceRecord.objects.get(source_id="S-1").golden_id == newer.pk
    assert MatchCandidate.objects.filter(golden=newer, candidate=older, status=CandidateStatus.REJECTED).exists()
    twice = client.post(f"{BASE}/merges/{merge_id}/undo/", {"reason": "again"})
    assert twice.status_code == 409 and "already undone" in twice.json()["error"]["message"]
    listed = client.get(f"{BASE}/merges/?golden_id={newer.golden_id}").json()["results"]
    assert [row["id"] for row in listed] == [merge_id]


@pytest.mark.parametrize(
    ("survivor", "merged", "status", "message"),
    [
        ("self", "self", 409, "cannot be merged into itself"),
        ("older", "CUS-NOPE", 404, "no golden record CUS-NOPE"),
        ("retired", "older", 409, "is retired"),
    ],
)
def test_wrong_merges_are_refused_with_the_reason(
    salesforce: System, customer_steward: Any, survivor: str, merged: str, status: int, message: str
) -> None:
    older, newer, third, _ = goldens(salesforce)
    client = logged_in(customer_steward)
    client.post(f"{BASE}/merges/", {"survivor": third.golden_id, "merged": newer.golden_id, "reason": "x"})
    ids = {"self": older.golden_id, "older": older.golden_id, "retired": newer.golden_id}
    before = GoldenMerge.objects.count()
    response = client.post(
        f"{BASE}/merges/", {"survivor": ids.get(survivor, survivor), "merged": ids.get(merged, merged), "reason": "y"}
    )
    assert response.status_code == status and message in response.json()["error"]["message"]
    assert GoldenMerge.objects.count() == before


def test_bulk_actions_report_each_candidate(salesforce: System, customer_steward: Any) -> None:
    a, b, c, d = goldens(salesforce)
    first, second = candidate(b, a), candidate(d, c)
    MatchCandidate.objects.filter(pk=second.pk).update(status=CandidateStatus.REJECTED)
    body = (
        logged_in(customer_steward)
        .post(f"{BASE}/candidates/bulk/", {"action": "reject", "ids": [first.pk, second.pk, 999]}, format="json")
        .json()
    )
    assert body["done"] == [first.pk]
    assert [(row["id"], row["code"]) for row in body["refused"]] == [(second.pk, "conflict"), (999, "not_found")]


def test_assignment_and_the_my_queue_filter(salesforce: System, customer_steward: Any, product_steward: Any) -> None:
    older, newer, *_ = goldens(salesforce)
    pair = candidate(newer, older)
    client = logged_in(customer_steward)
    assigned = client.post(f"{BASE}/candidates/{pair.pk}/assign/", {"steward": "carla.customers"}, format="json")
    assert assigned.json()["assigned_to"] == "carla.customers"
    assert client.get(f"{BASE}/candidates/?assigned_to=me").json()["count"] == 1
    assert client.get(f"{BASE}/candidates/?assigned_to=none").json()["count"] == 0
    wrong = client.post(f"{BASE}/candidates/{pair.pk}/assign/", {"steward": "pete.products"}, format="json")
    assert wrong.status_code == 400 and "not a customer steward" in wrong.json()["error"]["fields"][0]["message"]


def test_an_api_key_acts_for_a_steward_with_their_roles(
    salesforce: System, customer_steward: Any, client_for: Any
) -> None:
    older, newer, *_ = goldens(salesforce)
    pair = candidate(newer, older)
    key, secret = api_key_create(name="steward automation", created_by=None, can_read=True)
    assert client_for(secret).get(f"{BASE}/candidates/").status_code == 403  # a key acting for nobody
    key.steward = customer_steward
    key.save()
    response = client_for(secret).post(f"{BASE}/candidates/{pair.pk}/reject/", {"reason": "bot"}, format="json")
    assert response.status_code == 200 and response.json()["decided_by"] == "carla.customers"


def test_golden_ids_typed_in_lower_case_or_with_spaces_are_found(salesforce: System, customer_steward: Any) -> None:
    older, newer, *_ = goldens(salesforce)
    client = logged_in(customer_steward)
    edit = client.post(
        f"{BASE}/changes/",
        {"golden_id": f" {older.golden_id.lower()} ", "attributes": {"website": "https://nw.example"}, "reason": "x"},
        format="json",
    )
    assert edit.status_code == 201 and edit.json()["golden_id"] == older.golden_id
    merged = client.post(
        f"{BASE}/merges/", {"survivor": older.golden_id.lower(), "merged": newer.golden_id.lower(), "reason": "same"}
    )
    assert merged.status_code == 201 and merged.json()["survivor"] == older.golden_id
