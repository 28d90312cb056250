"""The controls that used inline handlers work under the Content-Security-Policy.

Every browser test fails on a reported violation (tests/browser/conftest.py); this one drives
the controls that moved to static/js/app.js: selects and checkboxes that submit their form,
and buttons that ask before they act.
"""

import pytest
from playwright.sync_api import expect

from planning.models import DeploymentPlan
from tests.browser.test_first_plan import log_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_an_owner_assigns_roles_and_cancels_a_plan_with_the_policy_on(
    new_page, plan, owner, editor
):
    page = new_page()
    response = page.goto("/accounts/login/")
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    log_in(page, owner.email, PASSWORD)
    page.goto(f"/plans/{plan.pk}/signoffs/")

    # Choosing a holder saves it at once.
    page.get_by_label("Holder of Technical Lead").select_option(label=editor.get_full_name())
    expect(page.get_by_text(f"Technical Lead: {editor.get_full_name()}.")).to_be_visible()
    expect(page.get_by_label("Holder of Technical Lead")).to_have_value(str(editor.pk))
    assert plan.roles.get(role="technical_lead").assignee == editor

    # Ticking "Required" saves it at once too.
    with page.expect_navigation():
        page.get_by_label("Required for this plan").check()
    expect(page.get_by_label("Required for this plan")).to_be_checked()
    assert plan.roles.get(role="compliance_officer").required

    # Cancelling the plan asks first; "no" sends nothing (else the button would be gone now).
    asked = []

    def answer(accept):
        def handle(dialog):
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return handle

    page.once("dialog", answer(accept=False))
    page.get_by_role("button", name="Cancel plan").click()
    expect(page.get_by_role("button", name="Cancel plan")).to_be_visible()
    page.once("dialog", answer(accept=True))
    page.get_by_role("button", name="Cancel plan").click()
    expect(page.get_by_text("The plan is now cancelled.")).to_be_visible()
    assert asked == ["Cancel this plan?", "Cancel this plan?"]
    assert DeploymentPlan.objects.get(pk=plan.pk).status == "cancelled"
