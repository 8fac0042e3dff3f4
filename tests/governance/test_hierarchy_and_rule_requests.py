"""Change requests for hierarchy edges and ownership rules: the policy decides who applies them, the store's
services check and apply them, stale and repeated approvals are refused, and every step is in the audit trail."""

import datetime
from typing import Any

import pytest
from django.contrib.auth.models import Permission

from governance.audit import audit_trail, golden_timeline
from governance.models import (
    ApprovalPolicy,
    ChangeRequest,
    ChangeStatus,
    HierarchyApproval,
    RuleApproval,
)
from governance.services import StewardError, hierarchy_change_propose, rule_change_propose
from mdm.hierarchies import hierarchy_edge_save, parent_of
from mdm.ingest import ingest
from mdm.models import Customer, GoldenRecord, HierarchyEdge, HierarchyType, OutboxEvent, OwnershipRule, System
from mdm.services import ownership_rule_save
from tests.governance.conftest import goldens, logged_in, person_in
from tests.records import customer

pytestmark = pytest.mark.django_db

BASE = "/api/v1/steward/changes"
D = datetime.date
TODAY = datetime.date.today


def propose_edge(user: Any, **edge: Any) -> Any:
    body = {"kind": "hierarchy", "edge": {"hierarchy": "customer_legal", **edge}, "reason": "group structure"}
    return logged_in(user).post(f"{BASE}/", body, format="json")


def propose_rule(user: Any, **rule: Any) -> Any:
    body = {"kind": "ownership_rule", "rule": {"entity_type": "customer", **rule}, "reason": "sales keeps it better"}
    return logged_in(user).post(f"{BASE}/", body, format="json")


def fields_of(response: Any) -> dict[str, str]:
    return {error["field"]: error["message"] for error in response.json()["error"].get("fields", [])}


@pytest.fixture
def legal() -> HierarchyType:
    return HierarchyType.objects.get(code="customer_legal")


def always_approve_hierarchies() -> None:
    ApprovalPolicy.objects.filter(entity_type="customer").update(hierarchy_edits=HierarchyApproval.ALWAYS)


# --- The policy --------------------------------------------------------------------------------------------


def test_by_default_rule_changes_need_approval_and_hierarchy_edits_do_not() -> None:
    for policy in ApprovalPolicy.objects.all():
        assert policy.ownership_rules == RuleApproval.ALWAYS
        assert policy.hierarchy_edits == HierarchyApproval.NEVER
    assert set(ApprovalPolicy.objects.values_list("entity_type", flat=True)) == {"customer", "product"}


def test_the_admin_edits_the_new_policy_settings(admin_client: Any) -> None:
    policy = ApprovalPolicy.objects.get(entity_type="customer")
    page = admin_client.get(f"/admin/governance/approvalpolicy/{policy.pk}/change/").content.decode()
    assert 'name="hierarchy_edits"' in page and 'name="ownership_rules"' in page
    form = {"entity_type": "customer", "edits": "erp_owned", "manual_merges": "both_erp"}
    response = admin_client.post(
        f"/admin/governance/approvalpolicy/{policy.pk}/change/",
        {**form, "hierarchy_edits": "always", "ownership_rules": "never"},
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.hierarchy_edits, policy.ownership_rules) == ("always", "never")


# --- Hierarchy edges ---------------------------------------------------------------------------------------


def test_a_steward_adds_an_edge_directly_through_the_hierarchy_service(
    salesforce: System, customer_steward: Any, legal: HierarchyType
) -> None:
    parent, child, *_ = goldens(salesforce)
    response = propose_edge(
        customer_steward, operation="add", parent=parent.golden_id, child=child.golden_id, valid_from="2026-01-01"
    )
    assert response.status_code == 201, response.json()
    change = response.json()
    assert change["kind"] == "hierarchy" and change["status"] == "applied" and not change["needs_approval"]
    assert change["golden_id"] == child.golden_id and change["parent_golden_id"] == parent.golden_id
    assert change["changes"]["edge"] == {
        "before": None,
        "after": {
            "hierarchy": "customer_legal",
            "parent": parent.golden_id,
            "child": child.golden_id,
            "valid_from": "2026-01-01",
            "valid_to": None,
        },
    }
    edge = HierarchyEdge.objects.get(hierarchy=legal, child=child)
    assert edge.parent == parent and edge.origin == "steward:carla.customers"
    assert ChangeRequest.objects.get(pk=change["id"]).edge == edge
    published = OutboxEvent.objects.filter(golden=child).values_list("changed_fields", flat=True)
    assert ["parent:customer_legal"] in published
    row = edge.history.get()
    assert row.history_user == customer_steward and row.history_change_reason == (
        f"change request {change['id']}: group structure"
    )
    assert row.correlation_id and row.correlation_id == ChangeRequest.history.first().correlation_id


def test_an_edge_that_breaks_the_hierarchy_is_refused_with_its_field(
    salesforce: System, customer_steward: Any, legal: HierarchyType
) -> None:
    a, b, c, _ = goldens(salesforce)
    hierarchy_edge_save(
        edge=HierarchyEdge(hierarchy=legal, parent=a, child=b, valid_from=D(2025, 1, 1)), actor=customer_steward
    )
    cycle = propose_edge(customer_steward, operation="add", parent=b.golden_id, child=a.golden_id)
    assert cycle.status_code == 400 and "would close a cycle" in fields_of(cycle)["edge.parent"]
    second = propose_edge(customer_steward, operation="add", parent=c.golden_id, child=b.golden_id)
    assert "already has parent" in fields_of(second)["edge.child"]
    unknown = propose_edge(customer_steward, operation="add", parent="CUS-NOPE", child=b.golden_id)
    assert fields_of(unknown) == {"edge.parent": "no golden record CUS-NOPE"}
    hierarchy = propose_edge(customer_steward, operation="add", parent=a.golden_id, child=c.golden_id)
    assert hierarchy.status_code == 201
    wrong = logged_in(customer_steward).post(
        f"{BASE}/",
        {"kind": "hierarchy", "reason": "x", "edge": {"operation": "move", "hierarchy": "customer_legal"}},
        format="json",
    )
    assert {"edge.operation", "edge.parent", "edge.child"} <= set(fields_of(wrong))
    merge = logged_in(customer_steward).post(f"{BASE}/", {"kind": "merge", "reason": "x"}, format="json")
    assert fields_of(merge) == {"kind": "merges are proposed with POST /api/v1/steward/merges/"}
    bad_day = propose_edge(customer_steward, operation="add", parent=a.golden_id, child=c.golden_id, valid_from="soon")
    assert set(fields_of(bad_day)) == {"edge.valid_from"}
    missing = logged_in(customer_steward).post(f"{BASE}/", {"kind": "hierarchy", "reason": "x"}, format="json")
    assert fields_of(missing) == {"edge": "required for a hierarchy request"}
    mixed = logged_in(customer_steward).post(
        f"{BASE}/", {"kind": "hierarchy", "reason": "x", "golden_id": a.golden_id}, format="json"
    )
    assert fields_of(mixed)["golden_id"] == "only for a edit request"
    dates = propose_edge(
        customer_steward,
        operation="add",
        parent=a.golden_id,
        child=b.golden_id,
        valid_from="2020-01-01",
        valid_to="2019-01-01",
    )
    assert fields_of(dates) == {"edge.valid_to": "must be after valid_from"}
    assert ChangeRequest.objects.count() == 1 and HierarchyEdge.objects.count() == 2


def test_stewards_edit_only_the_hierarchies_of_their_domain(
    salesforce: System, product_steward: Any, viewer: Any
) -> None:
    parent, child, *_ = goldens(salesforce)
    outside = propose_edge(product_steward, operation="add", parent=parent.golden_id, child=child.golden_id)
    assert outside.status_code == 403 and "not a customer steward" in outside.json()["error"]["message"]
    assert propose_edge(viewer, operation="add", parent=parent.golden_id, child=child.golden_id).status_code == 403
    assert not ChangeRequest.objects.exists() and not HierarchyEdge.objects.exists()


def test_when_the_policy_says_so_an_edge_waits_for_another_approver(
    salesforce: System, customer_steward: Any, approver: Any, legal: HierarchyType
) -> None:
    always_approve_hierarchies()
    parent, child, *_ = goldens(salesforce)
    change = propose_edge(customer_steward, operation="add", parent=parent.golden_id, child=child.golden_id).json()
    assert change["status"] == "pending" and change["needs_approval"]
    assert not HierarchyEdge.objects.exists()
    again = propose_edge(customer_steward, operation="add", parent=parent.golden_id, child=child.golden_id)
    assert again.status_code == 409 and f"change request {change['id']}" in again.json()["error"]["message"]
    own = logged_in(customer_steward).post(f"{BASE}/{change['id']}/approve/", {})
    assert own.status_code == 403 and "own change request" in own.json()["error"]["message"]
    approved = logged_in(approver).post(f"{BASE}/{change['id']}/approve/", {"comment": "register checked"})
    assert approved.status_code == 200 and approved.json()["status"] == "applied"
    assert parent_of(child, legal, TODAY()).parent == parent
    assert HierarchyEdge.objects.get().history.get().history_user == approver
    twice = logged_in(approver).post(f"{BASE}/{change['id']}/approve/", {})
    assert twice.status_code == 409 and "already applied by alex.approver" in twice.json()["error"]["message"]
    assert HierarchyEdge.objects.count() == 1


def test_an_edge_is_stale_when_the_child_got_another_parent_meanwhile(
    salesforce: System, customer_steward: Any, approver: Any, legal: HierarchyType
) -> None:
    always_approve_hierarchies()
    a, b, c, _ = goldens(salesforce)
    change = propose_edge(customer_steward, operation="add", parent=a.golden_id, child=c.golden_id).json()
    hierarchy_edge_save(edge=HierarchyEdge(hierarchy=legal, parent=b, child=c, valid_from=TODAY()), actor=approver)
    response = logged_in(approver).post(f"{BASE}/{change['id']}/approve/", {})
    assert response.status_code == 409
    message = response.json()["error"]["message"]
    assert "already has parent" in message and "stale" in message
    assert ChangeRequest.objects.get(pk=change["id"]).status == ChangeStatus.STALE
    assert parent_of(c, legal, TODAY()).parent == b


def test_ending_an_edge_directly_and_after_approval(
    salesforce: System, customer_steward: Any, approver: Any, legal: HierarchyType
) -> None:
    a, b, c, _ = goldens(salesforce)
    for child in (b, c):
        hierarchy_edge_save(
            edge=HierarchyEdge(hierarchy=legal, parent=a, child=child, valid_from=D(2024, 1, 1)), actor=approver
        )
    version = GoldenRecord.objects.get(pk=b.pk).version
    ended = propose_edge(
        customer_steward, operation="end", parent=a.golden_id, child=b.golden_id, valid_to="2025-07-01"
    ).json()
    assert ended["status"] == "applied" and ended["changes"]["edge"]["before"]["valid_to"] is None
    assert ended["changes"]["edge"]["after"]["valid_to"] == "2025-07-01"
    assert HierarchyEdge.objects.get(child=b).valid_to == D(2025, 7, 1)
    assert GoldenRecord.objects.get(pk=b.pk).version == version + 1
    no_edge = propose_edge(
        customer_steward, operation="end", parent=a.golden_id, child=b.golden_id, valid_to="2026-01-01"
    )
    assert "no edge to" in fields_of(no_edge)["edge.valid_to"]
    no_date = propose_edge(customer_steward, operation="end", parent=a.golden_id, child=c.golden_id)
    assert set(fields_of(no_date)) == {"edge.valid_to"}

    always_approve_hierarchies()
    pending = propose_edge(
        customer_steward, operation="end", parent=a.golden_id, child=c.golden_id, valid_to="2025-07-01"
    ).json()
    assert pending["status"] == "pending" and HierarchyEdge.objects.get(child=c).valid_to is None
    logged_in(approver).post(f"{BASE}/{pending['id']}/approve/", {"comment": "sold"})
    assert HierarchyEdge.objects.get(child=c).valid_to == D(2025, 7, 1)


def test_ending_an_edge_is_stale_when_the_edge_changed_meanwhile(
    salesforce: System, customer_steward: Any, approver: Any, legal: HierarchyType
) -> None:
    always_approve_hierarchies()
    a, b, *_ = goldens(salesforce)
    edge = HierarchyEdge(hierarchy=legal, parent=a, child=b, valid_from=D(2024, 1, 1))
    hierarchy_edge_save(edge=edge, actor=approver)
    change = propose_edge(
        customer_steward, operation="end", parent=a.golden_id, child=b.golden_id, valid_to="2025-07-01"
    ).json()
    edge.valid_to = D(2025, 3, 1)
    hierarchy_edge_save(edge=edge, actor=approver, reason="ended by the ERP")
    response = logged_in(approver).post(f"{BASE}/{change['id']}/approve/", {})
    assert response.status_code == 409 and "the edge changed since the request" in response.json()["error"]["message"]
    assert HierarchyEdge.objects.get().valid_to == D(2025, 3, 1)
    assert ChangeRequest.objects.get(pk=change["id"]).status == ChangeStatus.STALE


def test_hierarchy_requests_are_on_the_childs_timeline(
    salesforce: System, customer_steward: Any, legal: HierarchyType
) -> None:
    parent, child, *_ = goldens(salesforce)
    hierarchy_change_propose(
        operation="add",
        hierarchy="customer_legal",
        parent_id=parent.golden_id,
        child_id=child.golden_id,
        actor=customer_steward,
        reason="acquired",
    )
    timeline = golden_timeline(child)
    assert {"change request", "hierarchy edge"} <= {entry.what for entry in timeline}
    edge_entry = next(entry for entry in timeline if entry.what == "hierarchy edge")
    assert edge_entry.who == "carla.customers" and "acquired" in edge_entry.why
    page = logged_in(customer_steward).get(f"/admin/steward/goldens/{child.golden_id}/").content.decode()
    assert "hierarchy edge" in page and "acquired" in page


def test_a_service_refusal_names_the_field_and_saves_nothing(salesforce: System, customer_steward: Any) -> None:
    parent, child, *_ = goldens(salesforce)
    with pytest.raises(StewardError) as refused:
        hierarchy_change_propose(
            operation="add",
            hierarchy="customer_legal",
            parent_id=child.golden_id,
            child_id=child.golden_id,
            actor=customer_steward,
            reason="x",
        )
    assert refused.value.fields == {"edge.parent": "a record cannot be its own parent"}
    with pytest.raises(StewardError, match="give a reason"):
        hierarchy_change_propose(
            operation="add",
            hierarchy="customer_legal",
            parent_id=parent.golden_id,
            child_id=child.golden_id,
            actor=customer_steward,
            reason=" ",
        )
    assert not ChangeRequest.objects.exists()


# --- Ownership rules ---------------------------------------------------------------------------------------


def two_sourced_customer(salesforce: System, netsuite: System) -> GoldenRecord:
    ingest(
        system=salesforce,
        entity_type="customer",
        records=[customer("SF-1", phones=["030 1234567"])],
        actor=salesforce.service_user,
    )
    ingest(
        system=netsuite,
        entity_type="customer",
        records=[customer("NS-1", phones=["040 7654321"])],
        actor=netsuite.service_user,
    )
    golden = GoldenRecord.objects.get()
    assert Customer.objects.get(golden=golden).phones == ["+49301234567"]  # Salesforce owns phones
    return golden


def test_a_rule_change_waits_for_an_approver_then_recomputes_the_golden_records(
    salesforce: System, netsuite: System, customer_steward: Any, approver: Any
) -> None:
    golden = two_sourced_customer(salesforce, netsuite)
    response = propose_rule(customer_steward, attribute="phones", systems=["netsuite", "salesforce"])
    assert response.status_code == 201, response.json()
    change = response.json()
    assert change["kind"] == "ownership_rule" and change["status"] == "pending" and change["needs_approval"]
    assert change["golden_id"] is None and change["attribute"] == "phones" and change["entity_type"] == "customer"
    assert change["changes"] == {
        "systems": {"before": ["salesforce"], "after": ["netsuite", "salesforce"]},
        "fallback": {"before": "most_recent", "after": "most_recent"},
    }
    assert change["impact"] == {"fields": ["phones"], "records": 1}
    assert OwnershipRule.objects.get(entity_type="customer", attribute="phones").systems == ["salesforce"]

    own = logged_in(customer_steward).post(f"{BASE}/{change['id']}/approve/", {})
    assert own.status_code == 403
    approved = logged_in(approver).post(f"{BASE}/{change['id']}/approve/", {"comment": "agreed with sales ops"})
    assert approved.json()["status"] == "applied" and approved.json()["impact"]["recomputed"] == 1
    rule = OwnershipRule.objects.get(entity_type="customer", attribute="phones")
    assert rule.systems == ["netsuite", "salesforce"]
    assert Customer.objects.get(golden=golden).phones == ["+49407654321"]
    latest = rule.history.first()
    assert latest.history_user == approver and latest.history_change_reason.startswith(f"change request {change['id']}")
    recomputed = Customer.history.filter(golden=golden).first()
    assert recomputed.history_user == approver and recomputed.correlation_id == latest.correlation_id
    twice = logged_in(approver).post(f"{BASE}/{change['id']}/approve/", {})
    assert twice.status_code == 409 and "already applied" in twice.json()["error"]["message"]


def test_a_rule_change_is_stale_when_the_rule_changed_meanwhile(
    salesforce: System, customer_steward: Any, approver: Any
) -> None:
    change = propose_rule(customer_steward, attribute="website", fallback="most_complete").json()
    rule = OwnershipRule.objects.get(entity_type="customer", attribute="website")
    rule.systems = ["netsuite"]
    ownership_rule_save(rule=rule, actor=approver, reason="changed in the admin")
    response = logged_in(approver).post(f"{BASE}/{change['id']}/approve/", {})
    assert response.status_code == 409
    assert "changed since the request (now netsuite, then most_recent)" in response.json()["error"]["message"]
    assert ChangeRequest.objects.get(pk=change["id"]).status == ChangeStatus.STALE
    assert OwnershipRule.objects.get(pk=rule.pk).fallback == "most_recent"


def test_bad_rules_are_refused_with_their_paths(customer_steward: Any) -> None:
    assert fields_of(propose_rule(customer_steward, attribute="phones", systems=["sap"])) == {
        "rule.systems": "unknown system(s): sap"
    }
    colour = fields_of(propose_rule(customer_steward, attribute="colour", systems=["salesforce"]))
    assert colour["rule.attribute"].startswith("'colour' is not an attribute of customer")
    assert set(fields_of(propose_rule(customer_steward, attribute="phones", fallback="loudest"))) == {"rule.fallback"}
    assert fields_of(propose_rule(customer_steward, attribute="phones")) == {
        "rule": "give the owning systems in order, a fallback, or both"
    }
    twice = fields_of(propose_rule(customer_steward, attribute="phones", systems=["salesforce", "salesforce"]))
    assert twice == {"rule.systems": "a system is listed twice"}
    same = propose_rule(customer_steward, attribute="phones", systems=["salesforce"])
    assert same.status_code == 400 and "nothing would change" in same.json()["error"]["message"]
    assert not ChangeRequest.objects.exists()


def test_a_rule_for_an_attribute_without_one_can_be_proposed(
    salesforce: System, customer_steward: Any, approver: Any
) -> None:
    change = propose_rule(customer_steward, attribute="shipping_address", systems=["salesforce"]).json()
    assert change["changes"]["systems"] == {"before": None, "after": ["salesforce"]}
    logged_in(approver).post(f"{BASE}/{change['id']}/approve/", {})
    assert OwnershipRule.objects.get(entity_type="customer", attribute="shipping_address").systems == ["salesforce"]


def test_rule_changes_follow_the_domain_and_a_relaxed_policy(
    salesforce: System, customer_steward: Any, product_steward: Any
) -> None:
    outside = propose_rule(product_steward, attribute="phones", systems=["netsuite"])
    assert outside.status_code == 403 and "not a customer steward" in outside.json()["error"]["message"]
    ApprovalPolicy.objects.filter(entity_type="product").update(ownership_rules=RuleApproval.NEVER)
    change = rule_change_propose(
        entity_type="product", attribute="description", fallback="most_recent", actor=product_steward, reason="x"
    )
    assert change.status == ChangeStatus.APPLIED and not change.needs_approval and change.decided_by == product_steward
    assert OwnershipRule.objects.get(entity_type="product", attribute="description").fallback == "most_recent"


def test_an_approver_of_one_domain_cannot_decide_the_other(salesforce: System, product_steward: Any) -> None:
    change = propose_rule(person_in("Customer stewards", "cora.customers"), attribute="website", systems=[]).json()
    narrow = person_in("Product stewards", "paul.products")
    narrow.user_permissions.add(Permission.objects.get(codename="approve_changes"))
    for action in ("approve", "reject"):
        response = logged_in(narrow).post(f"{BASE}/{change['id']}/{action}/", {"comment": "no"})
        assert response.status_code == 403 and "not a customer steward" in response.json()["error"]["message"]
    assert ChangeRequest.objects.get(pk=change["id"]).status == ChangeStatus.PENDING


def test_a_second_request_for_the_same_rule_waits_for_the_first(customer_steward: Any, approver: Any) -> None:
    first = propose_rule(customer_steward, attribute="website", systems=["netsuite"]).json()
    second = propose_rule(approver, attribute="website", fallback="most_complete")
    assert second.status_code == 409 and f"change request {first['id']}" in second.json()["error"]["message"]
    logged_in(customer_steward).post(f"{BASE}/{first['id']}/withdraw/", {})
    assert propose_rule(approver, attribute="website", fallback="most_complete").status_code == 201


def test_rule_changes_are_in_the_audit_export(salesforce: System, customer_steward: Any, approver: Any) -> None:
    from django.utils import timezone

    change = rule_change_propose(
        entity_type="customer", attribute="website", systems=["netsuite"], actor=customer_steward, reason="ERP first"
    )
    start = timezone.now() - datetime.timedelta(minutes=1)
    from governance.services import change_approve

    change_approve(request_pk=change.pk, actor=approver, comment="fine")
    entries = list(audit_trail(start, timezone.now() + datetime.timedelta(minutes=1)))
    rule_rows = [entry for entry in entries if entry.what == "ownership rule"]
    assert rule_rows and rule_rows[0].who == "alex.approver" and "ERP first" in rule_rows[0].why
    # the seeded rule has no earlier history row; the request itself keeps the before and after
    assert change.changes["systems"] == {"before": ["salesforce"], "after": ["netsuite"]}
    decided = [entry for entry in entries if entry.what == "change request" and entry.object_id == change.pk]
    assert any(
        {"field": "status", "before": "pending", "after": "applied"} in entry.changes and entry.who == "alex.approver"
        for entry in decided
    )


def test_the_kind_filter_lists_requests_of_one_kind(salesforce: System, customer_steward: Any) -> None:
    parent, child, *_ = goldens(salesforce)
    propose_edge(customer_steward, operation="add", parent=parent.golden_id, child=child.golden_id)
    propose_rule(customer_steward, attribute="website", systems=["netsuite"])
    client = logged_in(customer_steward)
    assert [row["kind"] for row in client.get(f"{BASE}/?kind=ownership_rule").json()["results"]] == ["ownership_rule"]
    assert client.get(f"{BASE}/?kind=hierarchy").json()["count"] == 1
    assert fields_of(client.get(f"{BASE}/?kind=rename")) == {"kind": "one of edit, merge, hierarchy, ownership_rule"}
