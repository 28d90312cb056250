"""Teams in the browser: an admin makes one, a maintainer fills it, an owner gives it a plan,
and its members find the plan; every team page fits a phone."""

import pytest
from playwright.sync_api import expect

from planning.models import PlanTeam
from tests.browser.test_first_plan import log_in
from tests.factories import PASSWORD, UserFactory
from truststream.models import TeamMembership

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_a_team_is_made_filled_and_given_a_plan(new_page, plan, owner):
    admin = UserFactory(username="ada", is_staff=True)
    sam = UserFactory(username="sam", first_name="Sam", last_name="Shah")

    page = new_page()
    log_in(page, admin.email, PASSWORD)
    page.get_by_role("link", name="Teams").click()
    page.get_by_label("Name").fill("Security")
    page.get_by_label("SSO group").fill("security-reviewers")
    page.get_by_role("button", name="Create team").click()
    expect(page.get_by_role("heading", name="Security", level=1)).to_be_visible()
    page.get_by_label("Email").fill(sam.email)
    page.get_by_label("Role").select_option("member")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_text(f"{sam.email} joined Security as member")).to_be_visible()
    assert TeamMembership.objects.get(user=sam).team.name == "Security"

    # The owner adds the team on the plan's members panel, in place.
    page = new_page()
    log_in(page, owner.email, PASSWORD)
    page.goto(f"/plans/{plan.pk}/")
    members = page.locator("#members")
    members.get_by_label("Team", exact=True).select_option(label="Security")
    members.get_by_label("Team's role").select_option("editor")
    members.get_by_role("button", name="Add team").click()
    expect(members.get_by_text("The team Security is now editor")).to_be_visible()
    expect(members.get_by_role("link", name="Security")).to_be_visible()
    assert PlanTeam.objects.get(plan=plan).role == "editor"

    # Sam, in the team, finds the plan on the team's page and may edit it.
    page = new_page()
    log_in(page, sam.email, PASSWORD)
    page.goto("/teams/security/")
    page.get_by_role("link", name=plan.title).click()
    expect(page.locator("main").get_by_role("link", name="Edit", exact=True)).to_be_visible()


def test_the_team_pages_fit_a_phone(new_page, owner):
    admin = UserFactory(username="ada", is_staff=True)
    page = new_page(viewport=PHONE)
    log_in(page, admin.email, PASSWORD)
    page.goto("/teams/")
    page.get_by_label("Name").fill("Site reliability engineering and operations")
    page.get_by_label("Description").fill("Keeps production up, answers the pager at night")
    page.get_by_role("button", name="Create team").click()
    page.get_by_label("Email").fill(owner.email)
    page.get_by_role("button", name="Add member").click()
    too_wide = {}
    for path in ("/teams/", "/teams/site-reliability-engineering-and-operations/"):
        page.goto(path)
        expect(page.locator("main h1")).to_be_visible()
        width, screen = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if width > screen:
            too_wide[path] = width
    assert too_wide == {}
