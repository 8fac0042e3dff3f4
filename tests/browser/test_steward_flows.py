"""Stewards in a real browser: log in, review a candidate and merge it, unmerge it, and what a viewer cannot do."""

from typing import Any

import pytest

from mdm.models import GoldenRecord, GoldenStatus, System
from tests.governance.conftest import candidate, goldens, person_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("roles")]

PASSWORD = "correct horse battery"


def log_in(page: Any, live_server: Any, username: str) -> None:
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")  # the form works from the keyboard
    page.wait_for_selector("#steward-pages")


def test_review_a_candidate_merge_it_and_unmerge_it(page: Any, live_server: Any) -> None:
    person_in("Customer stewards", "carla")
    older, newer, *_ = goldens(System.objects.get(code="salesforce"))
    pair = candidate(newer, older, 0.93)
    log_in(page, live_server, "carla")

    page.click("text=Review queue")
    page.click(f"a[href='/admin/steward/candidates/{pair.pk}/']")
    assert page.is_visible("text=After the merge (survivorship)")
    assert page.is_visible(f"text={older.golden_id} (older: keeps its ID)")
    page.fill("input[name=reason]", "same company, two CRM accounts")
    page.click("button[value=merge]")
    page.wait_for_selector(".messagelist .success")
    assert f"candidate #{pair.pk} merged" in page.inner_text(".messagelist").lower()
    newer.refresh_from_db()
    assert newer.status == GoldenStatus.RETIRED

    page.click("text=Merges")
    row = page.locator("tr", has_text=newer.golden_id)
    row.locator("input[name=reason]").fill("different legal entities after all")
    row.locator("button", has_text="Unmerge").click()
    page.wait_for_selector(".messagelist .success")
    assert f"{newer.golden_id} is active again" in page.inner_text(".messagelist")
    assert GoldenRecord.objects.get(pk=newer.pk).status == GoldenStatus.ACTIVE


def test_a_viewer_sees_the_candidate_masked_and_cannot_decide(page: Any, live_server: Any) -> None:
    person_in("Viewers", "vera")
    older, newer, *_ = goldens(System.objects.get(code="salesforce"))
    pair = candidate(newer, older)
    log_in(page, live_server, "vera")
    page.goto(f"{live_server.url}/admin/steward/candidates/{pair.pk}/")
    assert page.is_visible("text=You may look at this candidate but not decide it")
    assert page.locator("button[value=merge]").count() == 0
    assert "+49301234567" not in page.content()


def test_propose_as_one_steward_and_approve_as_another_never_ones_own(
    page: Any, live_server: Any, browser: Any
) -> None:
    from mdm.models import Customer

    person_in("Customer stewards", "carla")
    person_in("Approvers", "alex")
    golden = goldens(System.objects.get(code="salesforce"))[0]

    log_in(page, live_server, "carla")
    page.goto(f"{live_server.url}/admin/steward/goldens/{golden.golden_id}/propose/")
    page.fill("#id_legal_name", "Northwind Traders AG")
    page.fill("#id_reason", "new legal form in the register")
    page.click("button[type=submit]:has-text('Propose')")
    page.wait_for_selector(".messagelist .success")
    assert "waits for an approver" in page.inner_text(".messagelist")
    assert page.locator("tr", has_text="Northwind Traders AG").locator("button[value=withdraw]").count() == 1

    approver = browser.new_context().new_page()
    log_in(approver, live_server, "alex")
    # the approver proposes too, and sees only "Withdraw" on their own request
    approver.goto(f"{live_server.url}/admin/steward/goldens/{golden.golden_id}/propose/")
    approver.fill("#id_legal_name", "Northwind Holding AG")
    approver.fill("#id_reason", "holding restructured")
    approver.click("button[type=submit]:has-text('Propose')")
    approver.wait_for_selector(".messagelist .success")
    own = approver.locator("tr", has_text="Northwind Holding AG")
    assert own.locator("button[value=approve]").count() == 0 and own.locator("button[value=withdraw]").count() == 1

    theirs = approver.locator("tr", has_text="Northwind Traders AG")
    theirs.locator("input[name=comment]").fill("checked the register")
    theirs.locator("button[value=approve]").click()
    approver.wait_for_selector(".messagelist .success")
    assert "approved and applied" in approver.inner_text(".messagelist")
    assert Customer.objects.get(golden=golden).legal_name == "Northwind Traders AG"


def test_assign_a_candidate_to_oneself_with_the_keyboard(page: Any, live_server: Any) -> None:
    from governance.models import Assignment

    carla = person_in("Customer stewards", "carla")
    older, newer, *_ = goldens(System.objects.get(code="salesforce"))
    pair = candidate(newer, older)
    log_in(page, live_server, "carla")

    page.goto(f"{live_server.url}/admin/steward/")
    page.focus(f"button[name=assign][value='{pair.pk}']")
    page.keyboard.press("Enter")
    page.wait_for_selector(".messagelist .success")
    assert f"candidate #{pair.pk} is assigned to you" in page.inner_text(".messagelist").lower()
    assert page.locator(f"button[name=release][value='{pair.pk}']").count() == 1
    assert Assignment.objects.get(candidate=pair).steward == carla

    page.goto(f"{live_server.url}/admin/steward/candidates/{pair.pk}/")
    page.click("button[value=unassign]")
    page.wait_for_selector(".messagelist .success")
    assert "back in the shared queue" in page.inner_text(".messagelist")
    assert not Assignment.objects.exists()
