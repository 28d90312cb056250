import re

import pytest
from playwright.sync_api import expect

from planning import services
from planning.models import PlanMembership
from tests.browser.test_first_plan import log_in
from tests.factories import PASSWORD, make_plan

pytestmark = pytest.mark.browser


def test_an_owner_changes_roles_and_removes_members_in_place(new_page, plan, owner, viewer, editor):
    make_plan(owner, title="Billing cutover", environment="production")
    services.invitation_create(plan=plan, actor=owner, email="ivy@example.com", role="viewer")
    page = new_page()
    log_in(page, owner.email, PASSWORD)

    # The list filters as the owner types and chooses, without a reload.
    page.get_by_label("Environment").select_option("production")
    expect(page.get_by_role("link", name="Billing cutover")).to_be_visible()
    expect(page.get_by_role("link", name="Checkout service rollout")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"environment=production"))
    page.get_by_label("Environment").select_option("")
    page.get_by_role("link", name="Checkout service rollout").click()

    members = page.locator("#members")
    members.get_by_label(f"Role of {viewer.email}").select_option("editor")
    expect(members.get_by_text(f"{viewer.email} is now editor")).to_be_visible()
    assert PlanMembership.objects.get(plan=plan, user=viewer).role == "editor"

    page.once("dialog", lambda dialog: dialog.accept())
    members.get_by_role("button", name=f"Remove {editor.email}").click()
    expect(members.get_by_text(f"{editor.email} removed from the plan")).to_be_visible()
    expect(members.get_by_text(editor.email, exact=True)).to_have_count(0)
    assert not PlanMembership.objects.filter(plan=plan, user=editor).exists()

    # A pending invitation is withdrawn in place.
    members.get_by_role("button", name="Withdraw the invitation of ivy@example.com").click()
    expect(members.get_by_text("Invitation of ivy@example.com withdrawn")).to_be_visible()
    expect(members.get_by_role("cell", name="ivy@example.com")).to_have_count(0)
    assert plan.invitations.get(email="ivy@example.com").state == "withdrawn"

    # The last owner is told why they cannot step down, and stays owner.
    members.get_by_label(f"Role of {owner.email}").select_option("viewer")
    expect(members.get_by_text("The last owner cannot be demoted")).to_be_visible()
    expect(members.get_by_label(f"Role of {owner.email}")).to_have_value("owner")


def test_a_viewer_reads_but_finds_no_controls(new_page, plan, viewer):
    page = new_page()
    log_in(page, viewer.email, PASSWORD)
    page.get_by_role("link", name="Checkout service rollout").click()
    expect(page.get_by_role("heading", name="Members")).to_be_visible()
    expect(page.get_by_role("button", name="Send invitation")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    expect(page.get_by_role("button", name="Archive")).to_have_count(0)
