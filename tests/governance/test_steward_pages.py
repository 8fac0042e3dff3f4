"""The steward pages in the admin: queue, candidate side by side, merges; constant queries; viewers see masks."""

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from matching.models import CandidateStatus, MatchCandidate
from mdm.models import GoldenMerge, GoldenStatus, System
from tests.governance.conftest import candidate, goldens

pytestmark = pytest.mark.django_db


def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_queue_page_costs_the_same_queries_for_3_or_30_candidates(
    salesforce: System, customer_steward: Any
) -> None:
    a, b, c, d = goldens(salesforce)
    for _ in range(3):
        candidate(b, a)
        MatchCandidate.objects.filter(status="open").update(status="deferred")
    client = browser(customer_steward)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/admin/steward/?status=deferred").status_code == 200
    for _ in range(27):
        candidate(d, c)
        MatchCandidate.objects.filter(status="open").update(status="deferred")
    with CaptureQueriesContext(connection) as many:
        page = client.get("/admin/steward/?status=deferred")
    assert "30 candidates" in page.content.decode()
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_candidate_page_shows_both_records_the_weights_and_the_merged_result(
    salesforce: System, customer_steward: Any
) -> None:
    older, newer, *_ = goldens(salesforce)
    pair = candidate(newer, older)
    html = browser(customer_steward).get(f"/admin/steward/candidates/{pair.pk}/").content.decode()
    assert older.golden_id in html and newer.golden_id in html and "older: keeps its ID" in html
    assert "Northwind Traders GmbH" in html and "Northwind Trading GmbH" in html
    assert "After the merge (survivorship)" in html and "6.60" in html  # the name's weight from the explanation
    assert "Merge" in html and 'accesskey="g"' in html


def test_the_weights_table_shows_the_values_compared_masked_for_a_viewer(
    salesforce: System, customer_steward: Any
) -> None:
    older, newer, *_ = goldens(salesforce)
    pair = candidate(newer, older)
    pair.explanation = {
        "attributes": [
            {
                "attribute": "name",
                "level": "close",
                "weight": 6.6,
                "left": "northwind trading",
                "right": "northwind traders",
            },
            {"attribute": "phone", "level": "exact", "weight": 4.0, "left": "+49301234567", "right": "+49301234567"},
        ]
    }
    pair.save()
    html = browser(customer_steward).get(f"/admin/steward/candidates/{pair.pk}/").content.decode()
    assert "northwind trading ↔ northwind traders" in html and "+49301234567 ↔ +49301234567" in html
    customer_steward.groups.clear()
    customer_steward.groups.add(Group.objects.get(name="Viewers"))
    customer_steward.user_permissions.add(Permission.objects.get(codename="steward_customer"))
    masked = browser(customer_steward).get(f"/admin/steward/candidates/{pair.pk}/").content.decode()
    assert "northwind trading ↔ northwind traders" in masked and "+49301234567" not in masked


def test_merging_from_the_page_goes_on_to_the_next_candidate(salesforce: System, customer_steward: Any) -> None:
    a, b, c, d = goldens(salesforce)
    first, second = candidate(b, a, 0.95), candidate(d, c, 0.9)
    response = browser(customer_steward).post(
        f"/admin/steward/candidates/{first.pk}/", {"action": "merge", "reason": "same company"}
    )
    assert response.status_code == 302 and response["Location"] == f"/admin/steward/candidates/{second.pk}/"
    b.refresh_from_db()
    assert b.status == GoldenStatus.RETIRED and GoldenMerge.objects.get().reason == "same company"


def test_a_refused_action_says_why_and_changes_nothing(salesforce: System, customer_steward: Any) -> None:
    older, newer, *_ = goldens(salesforce)
    pair = candidate(newer, older)
    MatchCandidate.objects.filter(pk=pair.pk).update(status=CandidateStatus.REJECTED)
    client = browser(customer_steward)
    response = client.post(f"/admin/steward/candidates/{pair.pk}/", {"action": "merge"}, follow=True)
    assert "already decided (not a match" in response.content.decode().lower()
    assert not GoldenMerge.objects.exists()


def browser_of_steward(pair: MatchCandidate) -> str:
    from tests.governance.conftest import person_in

    steward = person_in("Customer stewards", "second.steward")
    return browser(steward).get(f"/admin/steward/candidates/{pair.pk}/").content.decode()


def test_viewers_see_masked_contact_data_and_no_actions(salesforce: System, viewer: Any) -> None:
    older, newer, *_ = goldens(salesforce)
    pair = candidate(newer, older)
    html = browser(viewer).get(f"/admin/steward/candidates/{pair.pk}/").content.decode()
    assert "not a customer steward" in html and 'value="merge"' not in html
    assert "+49301234567" not in html and "+4••••••••67" in html  # the phone, masked
    steward_html = browser_of_steward(pair)
    assert "+49301234567" in steward_html


def test_unmerge_from_the_merges_page(salesforce: System, customer_steward: Any) -> None:
    older, newer, *_ = goldens(salesforce)
    pair = candidate(newer, older)
    client = browser(customer_steward)
    client.post(f"/admin/steward/candidates/{pair.pk}/", {"action": "merge", "reason": "same"})
    merge = GoldenMerge.objects.get()
    assert merge.merged.golden_id in client.get("/admin/steward/merges/").content.decode()
    missing = client.post("/admin/steward/merges/", {"merge": merge.pk, "reason": ""}, follow=True)
    assert "give a reason" in missing.content.decode().lower()
    client.post("/admin/steward/merges/", {"merge": merge.pk, "reason": "two companies"})
    newer.refresh_from_db()
    assert newer.status == GoldenStatus.ACTIVE


def test_the_dashboard_charts_open_work_outcomes_and_scores(salesforce: System, customer_steward: Any) -> None:
    import datetime

    from django.utils import timezone

    from mdm.ingest import ingest
    from tests.records import customer

    a, b, c, d = goldens(salesforce)
    candidate(b, a)
    late = candidate(d, c)
    MatchCandidate.objects.filter(pk=late.pk).update(created_at=timezone.now() - datetime.timedelta(days=5))
    ingest(system=salesforce, entity_type="customer", records=[customer("X-1")], actor=salesforce.service_user)
    html = browser(customer_steward).get("/admin/steward/dashboard/").content.decode()
    assert "over 3 days (SLA missed)" in html and "<svg" in html
    assert 'class="late"><title>1</title>' in html  # the five-day-old candidate, in the SLA-missed bar
    assert "deferred: 80% (4)" in html  # the four records loaded with matching deferred: a rate of today's bar
    assert any(f"{name}: 20% (1)" in html for name in ("new", "auto_linked", "review"))  # the one matched at once
    products = browser(customer_steward).get("/admin/steward/dashboard/?entity_type=product").content.decode()
    assert (
        "deferred: " not in products and "no decisions yet" in products and 'class="late"><title>0</title>' in products
    )
    wrong = browser(customer_steward).get("/admin/steward/dashboard/?entity_type=planet", follow=True).content.decode()
    assert "is not an entity type" in wrong


@pytest.mark.parametrize(
    ("path", "field"), [("/admin/steward/changes/", "request"), ("/admin/steward/merges/", "merge")]
)
def test_forged_record_numbers_get_a_message_not_a_server_error(
    salesforce: System, customer_steward: Any, path: str, field: str
) -> None:
    response = browser(customer_steward).post(path, {field: "abc", "action": "approve", "reason": "x"}, follow=True)
    assert response.status_code == 200 and "&#x27;abc&#x27; is not a" in response.content.decode()
