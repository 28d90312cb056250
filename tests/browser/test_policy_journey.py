"""The approval policies' journey in Chromium (issue 15): an owner signs in through the OpenID
provider, gives Security Officer to a team of three with a quorum of two, one approval leaves
the role short, the second completes it, and an approval that expires drops it; and a deputy
signs on a holder's behalf."""

import datetime

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.utils import timezone
from playwright.sync_api import expect

from planning import services as planning_services
from signoffs import services as signoff_services
from tests.browser.test_first_plan import log_in
from tests.browser.test_signoffs import TITLES
from tests.browser.test_single_sign_on import (  # noqa: F401
    provider,
    sign_in_through_provider,
    single_sign_on,
)
from tests.factories import PASSWORD, UserFactory
from tests.signoffs.test_signoffs import ROLES, move, ready_to_sign, sign
from truststream import services

pytestmark = pytest.mark.browser


def test_a_team_with_a_quorum_approves_and_an_expired_approval_drops_it(
    new_page,
    single_sign_on,  # noqa: F811
    plan,
    owner,
    editor,
    holders,
):
    # 1. The owner signs in through the OpenID provider, her account matched by its verified
    # address.
    owner.email = "carol@example.com"
    owner.save(update_fields=["email"])
    EmailAddress.objects.filter(user=owner).update(email=owner.email, verified=True)
    page = new_page()
    sign_in_through_provider(page, "carol")
    expect(page.get_by_role("heading", name="Deployment plans")).to_be_visible()

    # 2. A team of three, on the plan; the owner gives it Security Officer with a quorum of 2.
    admin = UserFactory(is_staff=True)
    security = services.team_create(actor=admin, name="Security")
    people = [UserFactory(username=name) for name in ("alice", "bruno", "chen")]
    for person in people:
        services.team_member_add(team=security, actor=admin, email=person.email, role="member")
    planning_services.plan_team_add(plan=plan, actor=owner, team=security, role="viewer")
    ready_to_sign(plan, owner, editor)
    move(plan, "in_progress")
    move(plan, "awaiting_signoff")

    page.goto(f"/plans/{plan.pk}/signoffs/")
    row = page.locator("#role-security_officer")
    row.get_by_text("Change the approval policy").click()
    row.get_by_label("A team of this plan, with a quorum").check()
    row.get_by_label("Team", exact=True).select_option(label="Security")
    row.get_by_label("Approvals needed").fill("2")
    row.get_by_role("button", name="Save policy").click()
    row = page.locator("#role-security_officer")
    expect(row).to_contain_text("Any 2 of Security")
    expect(row).to_contain_text("0 of 2 approvals")

    # The other roles approve through the services, to keep the journey short.
    for role in ROLES:
        if role != "security_officer":
            sign(plan, role, holders[role])

    # 3. One member's approval leaves the role short. It was given 31 days ago.
    with time_machine.travel(timezone.now() - datetime.timedelta(days=31), tick=False):
        sign(plan, "security_officer", people[0])
    page.reload()
    row = page.locator("#role-security_officer")
    expect(row).to_contain_text("1 of 2 approvals: needs 1 more")
    expect(page.locator(".plan-meta .badge").first).to_have_text("Awaiting sign-off")

    # 4. The second completes it, and the plan is signed off.
    sign(plan, "security_officer", people[1])
    page.reload()
    expect(page.locator("#role-security_officer")).to_contain_text("Approved (2 of 2 approvals)")
    expect(page.locator(".plan-meta .badge").first).to_have_text("Signed off")

    # 5. The owner makes approvals expire after 30 days: the first approval has, the sweep
    # takes the plan out of "signed off", and the page says so.
    row = page.locator("#role-security_officer")
    row.get_by_text("Change the approval policy").click()
    row.get_by_label("Approvals expire after (days)").fill("30")
    row.get_by_role("button", name="Save policy").click()
    signoff_services.after_plan_change(plan_id=plan.pk)
    page.reload()
    row = page.locator("#role-security_officer")
    expect(row).to_contain_text("Any 2 of Security; approvals expire after 30 days")
    expect(row).to_contain_text("Expired")
    expect(row).to_contain_text("1 of 2 approvals")
    expect(page.locator(".plan-meta .badge").first).to_have_text("Awaiting sign-off")
    plan.refresh_from_db()
    assert plan.status == "awaiting_signoff"


def test_a_deputy_signs_on_behalf_of_the_holder(new_page, plan, owner, editor, holders):
    ready_to_sign(plan, owner, editor)
    move(plan, "in_progress")
    move(plan, "awaiting_signoff")
    deputy = UserFactory(username="dana", first_name="Dana", last_name="Deputy")
    planning_services.membership_add(plan=plan, actor=owner, email=deputy.email, role="viewer")
    holder = holders["operations_manager"]
    today = timezone.localdate()
    signoff_services.delegation_create(
        requirement=plan.roles.get(role="operations_manager"),
        holder=holder,
        deputy=deputy,
        starts_on=today,
        ends_on=today + datetime.timedelta(days=6),
    )
    holder_name = holder.get_full_name() or holder.email

    page = new_page()
    log_in(page, deputy.email, PASSWORD)
    page.goto(f"/plans/{plan.pk}/signoffs/")
    page.get_by_role("link", name=f"Review and sign on behalf of {holder_name}").click()
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Confirm").click()
    expect(
        page.get_by_role("heading", name=f"Sign as {TITLES['operations_manager']}")
    ).to_be_visible()
    page.get_by_label("Approve").check()
    page.locator("main").get_by_role("button", name="Sign").click()
    expect(page.get_by_text(f"Dana Deputy on behalf of {holder_name}").first).to_be_visible()
    expect(page.locator("#role-operations_manager")).to_contain_text("Approved")


@pytest.mark.parametrize("width", [1280, 390])
def test_the_signoff_page_with_teams_quorum_and_deputies_fits_the_screen(
    new_page, plan, owner, editor, holders, width
):
    """The owner's sign-off page with a team role short of its quorum, a role whose approval
    expired, and a deputy named: no horizontal scroll, every policy field labelled."""
    admin = UserFactory(is_staff=True)
    security = services.team_create(actor=admin, name="Security reviewers of the platform")
    people = [UserFactory() for _ in range(3)]
    for person in people:
        services.team_member_add(team=security, actor=admin, email=person.email, role="member")
    planning_services.plan_team_add(plan=plan, actor=owner, team=security, role="viewer")
    ready_to_sign(plan, owner, editor)
    signoff_services.role_policy_set(
        requirement=plan.roles.get(role="security_officer"),
        team=security,
        quorum=2,
        approval_days=30,
    )
    deputy = UserFactory(first_name="Dana", last_name="Deputy")
    planning_services.membership_add(plan=plan, actor=owner, email=deputy.email, role="viewer")
    today = timezone.localdate()
    signoff_services.delegation_create(
        requirement=plan.roles.get(role="operations_manager"),
        holder=holders["operations_manager"],
        deputy=deputy,
        starts_on=today,
        ends_on=today + datetime.timedelta(days=6),
    )
    move(plan, "in_progress")
    move(plan, "awaiting_signoff")
    sign(plan, "security_officer", people[0])

    page = new_page(viewport={"width": width, "height": 900})
    log_in(page, owner.email, PASSWORD)
    page.goto(f"/plans/{plan.pk}/signoffs/")
    row = page.locator("#role-security_officer")
    expect(row).to_contain_text("1 of 2 approvals: needs 1 more")
    expect(page.locator("#role-operations_manager")).to_contain_text("Dana Deputy")
    row.get_by_text("Change the approval policy").click()
    for label in ("Team", "Approvals needed", "Approvals expire after (days)"):
        expect(row.get_by_label(label, exact=True)).to_be_visible()
    width_now, screen = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width_now <= screen, f"{width_now} px wide on a {screen} px screen"
