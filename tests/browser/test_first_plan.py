import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.conftest import wait_for
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.browser


def log_in(page, email, password):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.locator("main").get_by_role("button", name="Sign In").click()


def test_a_newcomer_signs_up_creates_a_plan_and_shares_it(new_page, celery_worker):
    sam = UserFactory(username="sam", first_name="Sam", last_name="Shah")
    oscar = UserFactory(username="oscar")

    # Sign up, then confirm the address from the email.
    priya = new_page()
    priya.goto("/")
    priya.get_by_role("link", name="Sign up").first.click()
    priya.get_by_label("Email").fill("priya@example.com")
    priya.get_by_label("Password", exact=True).fill("priya-strong-password")
    priya.get_by_label("Password (again)").fill("priya-strong-password")
    priya.locator("main").get_by_role("button", name="Sign Up").click()
    expect(priya.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()

    confirmation = wait_for(lambda: [m for m in mail.outbox if "priya@example.com" in m.to])
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", confirmation[0].body)
    priya.goto(link.group(1))
    priya.locator("main").get_by_role("button", name="Confirm").click()

    # Log in and create a plan; with no plans yet, the page says what to do first.
    log_in(priya, "priya@example.com", "priya-strong-password")
    expect(priya.get_by_text("You are not part of any deployment plan yet")).to_be_visible()
    priya.get_by_role("link", name="Create your first plan").click()
    priya.get_by_label("Title").fill("Payments platform go-live")
    priya.get_by_label("Release version").fill("4.4.0")
    priya.get_by_label("Environment").select_option("production")
    priya.get_by_label("Week 1 starts").fill("2026-12-07")
    priya.get_by_label("Target go-live").fill("2026-12-01")
    priya.locator("main").get_by_role("button", name="Create plan").click()
    expect(priya.get_by_text("The target go-live date cannot be before week 1.")).to_be_visible()
    priya.get_by_label("Target go-live").fill("2027-01-04")
    priya.locator("main").get_by_role("button", name="Create plan").click()
    expect(
        priya.get_by_role("heading", name=re.compile("Payments platform go-live"))
    ).to_be_visible()
    plan_path = re.sub(r"^https?://[^/]+", "", priya.url)

    # Invite Sam as an editor, in place: a mistyped address first, then Sam's.
    members = priya.locator("#members")
    members.get_by_label("Email", exact=True).fill("sam-at-example.com")
    members.get_by_role("button", name="Send invitation").click()
    expect(members.get_by_text("Enter a valid email address")).to_be_visible()
    members.get_by_label("Email", exact=True).fill(sam.email)
    members.get_by_label("Role", exact=True).select_option("editor")
    members.get_by_role("button", name="Send invitation").click()
    expect(members.get_by_text(f"Invitation sent to {sam.email} as editor")).to_be_visible()
    expect(members.get_by_role("row", name=re.compile(f"{sam.email} Editor"))).to_be_visible()
    assert priya.url.endswith(plan_path)  # updated in place, no navigation

    # Sam was sent the invitation by email, through the Celery worker, and accepts it.
    [invitation] = wait_for(lambda: [m for m in mail.outbox if sam.email in m.to])
    assert "Payments platform go-live" in invitation.subject
    link = re.search(r"https?://[^/\s]+(/invitations/\S+/)", invitation.body).group(1)
    sam_page = new_page()
    log_in(sam_page, sam.email, PASSWORD)
    sam_page.goto(link)
    sam_page.get_by_role("button", name="Accept and open the plan").click()
    expect(sam_page.get_by_role("heading", name=re.compile("Payments platform"))).to_be_visible()
    expect(sam_page.get_by_text("you are its editor")).to_be_visible()
    expect(sam_page.get_by_role("link", name="Edit")).to_be_visible()

    oscar_page = new_page()
    log_in(oscar_page, oscar.email, PASSWORD)
    expect(oscar_page.get_by_text("You are not part of any deployment plan yet")).to_be_visible()
    response = oscar_page.goto(plan_path)
    assert response.status == 404
    expect(oscar_page.get_by_role("heading", name="Not found")).to_be_visible()
