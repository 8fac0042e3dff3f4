"""The steward pages' actions: assign to me, clear an override, hierarchy edges and ownership rules proposed from
their pages, the changes list with the diff of every kind; constant queries; viewers see masks and no actions."""

import csv
import datetime
import io
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from governance.models import Assignment, ChangeRequest, ChangeStatus
from governance.services import change_propose, hierarchy_change_propose, rule_change_propose
from matching.models import MatchCandidate
from mdm.hierarchies import hierarchy_edge_save
from mdm.models import Customer, GoldenOverride, GoldenRecord, HierarchyEdge, HierarchyType, OwnershipRule, System
from tests.governance.conftest import candidate, goldens

pytestmark = pytest.mark.django_db


def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_of(response: Any) -> str:
    return response.content.decode()


# --- Assign to me ------------------------------------------------------------------------------------------


def test_assign_to_me_from_the_queue_and_give_it_back(salesforce: System, customer_steward: Any) -> None:
    older, newer, *_ = goldens(salesforce)
    pair = candidate(newer, older)
    client = browser(customer_steward)
    queue = page_of(client.get("/admin/steward/"))
    assert f'name="assign" value="{pair.pk}"' in queue and "Assign to me" in queue
    done = client.post("/admin/steward/", {"assign": pair.pk, "next": "/admin/steward/?ordering=created_at"})
    assert done.status_code == 302 and done["Location"] == "/admin/steward/?ordering=created_at"
    assert Assignment.objects.get(candidate=pair).steward == customer_steward
    mine = page_of(client.get("/admin/steward/?assigned_to=me"))
    assert f'name="release" value="{pair.pk}"' in mine and "carla.customers" in mine
    client.post("/admin/steward/", {"release": pair.pk})
    assert not Assignment.objects.exists()
    forged = page_of(client.post("/admin/steward/", {"assign": "abc"}, follow=True))
    assert "&#x27;abc&#x27; is not a candidate number" in forged


def test_assign_to_me_on_the_candidate_page(salesforce: System, customer_steward: Any) -> None:
    older, newer, *_ = goldens(salesforce)
    pair = candidate(newer, older)
    client = browser(customer_steward)
    assert 'value="assign_me" accesskey="a"' in page_of(client.get(f"/admin/steward/candidates/{pair.pk}/"))
    response = client.post(f"/admin/steward/candidates/{pair.pk}/", {"action": "assign_me"}, follow=True)
    assert response.redirect_chain[-1][0] == f"/admin/steward/candidates/{pair.pk}/"
    assert "is assigned to you" in page_of(response) and 'value="unassign"' in page_of(response)
    assert Assignment.objects.get(candidate=pair).steward == customer_steward
    client.post(f"/admin/steward/candidates/{pair.pk}/", {"action": "unassign"})
    assert not Assignment.objects.exists()


def test_a_viewer_cannot_assign(salesforce: System, viewer: Any) -> None:
    older, newer, *_ = goldens(salesforce)
    pair = candidate(newer, older)
    client = browser(viewer)
    assert "Assign to me" not in page_of(client.get("/admin/steward/"))
    assert "Assign to me" not in page_of(client.get(f"/admin/steward/candidates/{pair.pk}/"))
    refused = page_of(client.post("/admin/steward/", {"assign": pair.pk}, follow=True))
    assert "not a customer steward" in refused and not Assignment.objects.exists()


def test_the_queue_costs_the_same_queries_with_assigned_rows(salesforce: System, customer_steward: Any) -> None:
    a, b, c, d = goldens(salesforce)
    client = browser(customer_steward)

    def assigned(newer: Any, older: Any) -> None:
        pair = candidate(newer, older)
        MatchCandidate.objects.filter(pk=pair.pk).update(status="deferred")  # one open candidate per pair at a time
        client.post("/admin/steward/", {"assign": pair.pk})

    assigned(b, a)
    with CaptureQueriesContext(connection) as few:
        client.get("/admin/steward/?status=deferred")
    for _ in range(20):
        assigned(d, c)
    with CaptureQueriesContext(connection) as many:
        page = page_of(client.get("/admin/steward/?status=deferred"))
    assert page.count('name="release"') == 21
    assert len(many.captured_queries) == len(few.captured_queries)


# --- Clear an override -------------------------------------------------------------------------------------


def test_clear_an_override_from_the_golden_records_page(salesforce: System, customer_steward: Any) -> None:
    golden = goldens(salesforce)[0]
    change_propose(
        golden_id=golden.golden_id, attributes={"website": "https://nw.example"}, actor=customer_steward, reason="call"
    )
    client = browser(customer_steward)
    url = f"/admin/steward/goldens/{golden.golden_id}/"
    page = page_of(client.get(url))
    assert 'id="override-website"' in page and "Clear override" in page and "nw.example" in page
    missing = page_of(client.post(url, {"attribute": "website", "reason": " "}, follow=True))
    assert "give a reason" in missing.lower() and GoldenOverride.objects.get().cleared_at is None
    done = page_of(client.post(url, {"attribute": "website", "reason": "the source is right"}, follow=True))
    assert "The override of website is cleared" in done and "No steward overrides" in done
    assert GoldenOverride.objects.get().cleared_at is not None
    assert Customer.objects.get(golden=golden).website == "northwind.example"
    again = page_of(client.post(url, {"attribute": "website", "reason": "again"}, follow=True))
    assert "has no steward override of website" in again


def test_the_golden_page_costs_the_same_queries_for_one_or_three_overrides(
    salesforce: System, customer_steward: Any
) -> None:
    golden = goldens(salesforce)[0]
    client = browser(customer_steward)
    url = f"/admin/steward/goldens/{golden.golden_id}/"
    change_propose(golden_id=golden.golden_id, attributes={"website": "nw.example"}, actor=customer_steward, reason="a")
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    change_propose(
        golden_id=golden.golden_id,
        attributes={"industry": "Retail", "trade_name": "NW"},
        actor=customer_steward,
        reason="b",
    )
    with CaptureQueriesContext(connection) as three:
        page = page_of(client.get(url))
    assert page.count("Clear override</button>") == 3
    assert len(three.captured_queries) == len(one.captured_queries)


def test_a_viewer_sees_overrides_timeline_and_audit_masked_and_cannot_clear(
    salesforce: System, customer_steward: Any, viewer: Any
) -> None:
    golden = goldens(salesforce)[0]
    change_propose(
        golden_id=golden.golden_id, attributes={"phones": ["+49 30 9999999"]}, actor=customer_steward, reason="new line"
    )
    url = f"/admin/steward/goldens/{golden.golden_id}/"
    page = page_of(browser(viewer).get(url))
    assert 'id="override-phones"' in page and "Clear override" not in page
    assert "+49309999999" not in page and "+49301234567" not in page and "+4••••••••99" in page
    refused = page_of(browser(viewer).post(url, {"attribute": "phones", "reason": "x"}, follow=True))
    assert "not a customer steward" in refused and GoldenOverride.objects.get().cleared_at is None
    assert "+49309999999" in page_of(browser(customer_steward).get(url))  # a steward may see it in full

    today = timezone.localdate().isoformat()
    exported = browser(viewer).get(f"/admin/steward/audit.csv?from={today}&to={today}")
    text = b"".join(exported.streaming_content).decode()
    assert "+49309999999" not in text and "+49301234567" not in text and "DE136695976" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert any(row["what"] == "customer" and "+4••••••••99" in row["changes"] for row in rows)
    full = browser(customer_steward).get(f"/admin/steward/audit.csv?from={today}&to={today}")
    assert "+49309999999" in b"".join(full.streaming_content).decode()


def test_the_propose_page_never_puts_masked_values_into_the_form(salesforce: System, viewer: Any) -> None:
    golden = goldens(salesforce)[0]
    page = page_of(browser(viewer).get(f"/admin/steward/goldens/{golden.golden_id}/propose/"))
    assert "+49301234567" not in page and "info@northwind.example" not in page
    assert "now +4••••••••67 (masked)" in page and 'value="Northwind Traders GmbH"' in page


# --- Hierarchy page ----------------------------------------------------------------------------------------


def test_add_and_end_a_parent_from_the_hierarchy_page(salesforce: System, customer_steward: Any) -> None:
    parent, child, grandchild, _ = goldens(salesforce)
    legal = HierarchyType.objects.get(code="customer_legal")
    client = browser(customer_steward)
    url = f"/admin/steward/goldens/{child.golden_id}/hierarchy/"
    assert "Add a parent" in page_of(client.get(url))
    body = {"operation": "add", "hierarchy": "customer_legal", "parent": parent.golden_id, "reason": "acquired"}
    added = page_of(client.post(url, {**body, "valid_from": "2025-01-01"}, follow=True))
    assert "Applied: the hierarchy edge is added" in added and parent.golden_id in added and "2025-01-01" in added
    edge = HierarchyEdge.objects.get(hierarchy=legal, child=child)
    assert edge.parent == parent and edge.origin == "steward:carla.customers"

    hierarchy_edge_save(
        edge=HierarchyEdge(hierarchy=legal, parent=child, child=grandchild, valid_from=datetime.date(2025, 1, 1)),
        actor=customer_steward,
    )
    grandchild_url = f"/admin/steward/goldens/{parent.golden_id}/hierarchy/"
    cycle = page_of(client.post(grandchild_url, {**body, "parent": grandchild.golden_id, "valid_from": ""}))
    assert "would close a cycle" in cycle and 'role="alert"' in cycle
    bad_date = page_of(client.post(url, {**body, "valid_from": "yesterday"}))
    assert "&#x27;yesterday&#x27; is not a date as YYYY-MM-DD" in bad_date

    ended = page_of(
        client.post(
            url,
            {
                "operation": "end",
                "hierarchy": "customer_legal",
                "parent": parent.golden_id,
                "valid_to": "2025-06-01",
                "reason": "sold",
            },
            follow=True,
        )
    )
    assert "the hierarchy edge is ended" in ended
    assert HierarchyEdge.objects.get(pk=edge.pk).valid_to == datetime.date(2025, 6, 1)
    assert ChangeRequest.objects.filter(kind="hierarchy", status=ChangeStatus.APPLIED).count() == 2


def test_a_viewer_sees_the_hierarchy_page_without_forms(salesforce: System, viewer: Any) -> None:
    golden = goldens(salesforce)[0]
    page = page_of(browser(viewer).get(f"/admin/steward/goldens/{golden.golden_id}/hierarchy/"))
    assert "No parent in any hierarchy" in page and "Add a parent" not in page and "not a customer steward" in page


# --- Ownership rules page ----------------------------------------------------------------------------------


def test_propose_a_rule_change_from_the_rules_page(salesforce: System, customer_steward: Any, approver: Any) -> None:
    client = browser(customer_steward)
    page = page_of(client.get("/admin/steward/rules/"))
    assert 'id="rule-customer-phones"' in page and 'aria-label="Propose a change to customer.phones"' in page
    assert 'aria-label="Propose a change to product.name"' not in page  # not a product steward
    body = {"entity_type": "customer", "attribute": "phones", "fallback": "most_recent", "reason": "ERP is right"}
    bad = page_of(client.post("/admin/steward/rules/", {**body, "systems": "netsuite, sap"}))
    assert "the proposed rule is invalid; systems: unknown system(s): sap" in bad and 'value="netsuite, sap"' in bad
    done = page_of(client.post("/admin/steward/rules/", {**body, "systems": "netsuite > salesforce"}, follow=True))
    change = ChangeRequest.objects.get(kind="ownership_rule")
    assert f"Change request #{change.pk} waits for an approver" in done
    assert f"change request #{change.pk} waits for approval" in done
    assert change.changes["systems"] == {"before": ["salesforce"], "after": ["netsuite", "salesforce"]}
    new = page_of(
        client.post(
            "/admin/steward/rules/",
            {
                "entity_type": "customer",
                "attribute": "shipping_address",
                "systems": "",
                "fallback": "most_complete",
                "reason": "fullest address",
            },
            follow=True,
        )
    )
    assert "new rule customer.shipping_address" in new


def test_a_viewer_sees_the_rules_without_forms(viewer: Any) -> None:
    page = page_of(browser(viewer).get("/admin/steward/rules/"))
    assert "customer.phones" in page and '<form method="post"' not in page


# --- The changes list --------------------------------------------------------------------------------------


def make_one_of_each(salesforce: System, steward: Any, n: int) -> None:
    """An edit, a hierarchy edge and a rule change, each waiting or applied as the default policy says."""
    if n == 0:
        goldens(salesforce)
    a, b = GoldenRecord.objects.order_by("pk")[:2]
    change_propose(golden_id=a.golden_id, attributes={"legal_name": f"Northwind {n} AG"}, actor=steward, reason="r")
    hierarchy_change_propose(
        operation="add",
        hierarchy="customer_sales" if n % 2 else "customer_legal",
        parent_id=a.golden_id,
        child_id=b.golden_id,
        valid_from=datetime.date(2020 + n, 1, 1),
        valid_to=datetime.date(2020 + n, 6, 1),
        actor=steward,
        reason="r",
    )
    rule_change_propose(
        entity_type="customer",
        attribute=["website", "industry", "trade_name"][n],
        systems=["netsuite"],
        actor=steward,
        reason="r",
    )


def test_the_changes_list_shows_the_diff_of_every_kind_at_constant_queries(
    salesforce: System, customer_steward: Any
) -> None:
    client = browser(customer_steward)
    make_one_of_each(salesforce, customer_steward, 0)
    with CaptureQueriesContext(connection) as few:
        page = page_of(client.get("/admin/steward/changes/"))
    assert "<strong>legal_name</strong>" in page and "Northwind 0 AG" in page
    assert "<strong>add</strong> parent" in page and "Customer legal ownership" in page and "2020-06-01" in page
    assert "rule customer.website" in page and "<del>salesforce</del> → <ins>netsuite</ins>" in page
    assert "most_recent (unchanged)" in page
    for n in (1, 2):
        make_one_of_each(salesforce, customer_steward, n)
    with CaptureQueriesContext(connection) as many:
        page = page_of(client.get("/admin/steward/changes/"))
    assert page.count('<tr id="change-') == 9
    assert len(many.captured_queries) == len(few.captured_queries)
    only_rules = page_of(client.get("/admin/steward/changes/?kind=ownership_rule"))
    assert only_rules.count('<tr id="change-') == 3
    assert "Filter ignored" in page_of(client.get("/admin/steward/changes/?kind=rename", follow=True))


def test_an_approver_approves_a_rule_change_on_the_changes_page(
    salesforce: System, customer_steward: Any, approver: Any
) -> None:
    goldens(salesforce)
    change = rule_change_propose(
        entity_type="customer", attribute="website", systems=["netsuite"], actor=customer_steward, reason="ERP first"
    )
    client = browser(approver)
    page = page_of(client.get("/admin/steward/changes/?kind=ownership_rule"))
    assert f'<tr id="change-{change.pk}">' in page and 'value="approve"' in page
    done = page_of(
        client.post(
            "/admin/steward/changes/",
            {"request": change.pk, "action": "approve", "next": "/admin/steward/changes/?kind=ownership_rule"},
            follow=True,
        )
    )
    assert f"Change request #{change.pk} approved and applied" in done
    assert "4 golden customer records recomputed" in done
    assert OwnershipRule.objects.get(entity_type="customer", attribute="website").systems == ["netsuite"]


def test_a_viewer_sees_edit_diffs_masked(salesforce: System, customer_steward: Any, viewer: Any) -> None:
    golden = goldens(salesforce)[0]
    change_propose(
        golden_id=golden.golden_id, attributes={"emails": ["ceo@northwind.example"]}, actor=customer_steward, reason="r"
    )
    page = page_of(browser(viewer).get("/admin/steward/changes/"))
    assert "ceo@northwind.example" not in page and "c•••@northwind.example" in page
    assert "ceo@northwind.example" in page_of(browser(customer_steward).get("/admin/steward/changes/"))
    assert MatchCandidate.objects.count() == 0
