import re

import pytest
from playwright.sync_api import expect

from planning.models import DeploymentPlan
from tests.browser.test_first_plan import log_in
from tests.conftest import wait_for
from tests.factories import PASSWORD
from tests.signoffs.test_signoffs import ROLES, move, ready_to_sign

pytestmark = pytest.mark.browser

TITLES = {
    "technical_lead": "Technical Lead",
    "security_officer": "Security Officer",
    "operations_manager": "Operations Manager",
    "business_owner": "Business Owner",
    "compliance_officer": "Compliance Officer",
}


def sign_in_browser(new_page, plan, person, role):
    page = new_page()
    log_in(page, person.email, PASSWORD)
    page.goto(f"/plans/{plan.pk}/signoffs/")
    page.get_by_role("link", name="Review and sign").click()
    # A fresh re-authentication first, then back to the sign page.
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name=f"Sign as {TITLES[role]}")).to_be_visible()
    page.get_by_label("Approve").check()
    page.locator("main").get_by_role("button", name="Sign").click()
    expect(
        page.get_by_text(f"I approve this plan for staging deployment as {TITLES[role]}").first
    ).to_be_visible()
    return page


def test_five_role_holders_sign_and_a_change_makes_one_stale(
    new_page, plan, owner, editor, holders, celery_worker
):
    ready_to_sign(plan, owner, editor)
    move(plan, "in_progress")
    move(plan, "awaiting_signoff")

    pages = {role: sign_in_browser(new_page, plan, holders[role], role) for role in ROLES}
    security = pages["security_officer"]
    security.reload()
    expect(security.locator(".plan-meta .badge").first).to_have_text("Signed off")

    # An editor changes a security checklist item.
    editor_page = new_page()
    log_in(editor_page, editor.email, PASSWORD)
    editor_page.goto(f"/plans/{plan.pk}/checklists/")
    editor_page.get_by_label("State of VPN access configured").select_option("failed")
    row = editor_page.locator("tr", has=editor_page.get_by_label("State of VPN access configured"))
    expect(row).to_have_class(re.compile("state-row-failed"))

    # The Security Officer's signature is stale, and the plan left "signed off" by itself.
    wait_for(lambda: DeploymentPlan.objects.get(pk=plan.pk).status == "awaiting_signoff")
    security.reload()
    role_row = security.locator("#role-security_officer")
    expect(role_row).to_contain_text("Stale: the plan changed since")
    expect(role_row).to_contain_text("checklists.security")
    expect(security.locator("#role-technical_lead")).to_contain_text("Approved")
    expect(security.locator(".plan-meta .badge").first).to_have_text("Awaiting sign-off")

    # The Security Officer reviews again and re-signs (the Business Owner's and the Compliance
    # Officer's signatures cover security too).
    for role in ("security_officer", "business_owner", "compliance_officer"):
        page = pages[role]
        page.goto(f"/plans/{plan.pk}/signoffs/{role}/sign/")
        page.get_by_label("Approve").check()
        page.locator("main").get_by_role("button", name="Sign").click()
    security.goto(f"/plans/{plan.pk}/signoffs/")
    expect(security.locator(".plan-meta .badge").first).to_have_text("Signed off")
