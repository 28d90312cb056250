"""A staging plan becomes the production plan: cloned, a carried item confirmed, the two plans
compared; and the plan's tabs stay on one row on a desktop."""

import re

import pytest
from playwright.sync_api import expect

from checklists import services
from checklists.models import ChecklistItem
from tests.browser.test_first_plan import log_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def set_state(plan, text, actor, state, **extra):
    item = ChecklistItem.objects.get(plan=plan, text=text)
    services.item_set_state(item=item, actor=actor, state=state, version=item.version, **extra)


def fits(page) -> bool:
    width, screen = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return width <= screen


def test_a_staging_plan_is_cloned_into_production_confirmed_and_compared(
    new_page, plan, owner, editor
):
    set_state(plan, "SSL certificates installed", editor, "passed", note="Internal CA chain.")
    set_state(plan, "CDN configured", editor, "not_applicable", reason="No CDN for the API.")

    page = new_page(viewport={"width": 1280, "height": 900})
    log_in(page, editor.email, PASSWORD)
    page.goto(f"/plans/{plan.pk}/")
    page.get_by_role("link", name="Plan the next environment").click()
    expect(page.get_by_role("heading", name="Plan the next environment")).to_be_visible()
    expect(page.get_by_text("Approvals: no signatures")).to_be_visible()
    page.get_by_label("Week 1 starts").fill("2026-12-07")
    page.get_by_role("button", name="Create the production plan").click()

    expect(page.get_by_text("Plan for production created from this staging plan")).to_be_visible()
    expect(page.locator(".plan-meta")).to_contain_text("Production")
    expect(page.locator(".plan-meta")).to_contain_text("Week 1 starts 7 Dec 2026")
    environments = page.locator(".environments-panel")
    expect(environments).to_contain_text("Made from")
    production_url = page.url

    # The carried item waits for confirmation; confirming it in place makes it count.
    page.locator("nav.tabs").get_by_role("link", name="Checklists").click()
    row = page.locator("tr", has=page.get_by_label("State of SSL certificates installed"))
    expect(row).to_contain_text("Carried from staging — confirm")
    expect(row).to_contain_text("It was passed there")
    expect(row).to_have_class(re.compile("state-row-open"))
    row.get_by_role("button", name="Confirm passed").click()
    expect(row).to_have_class(re.compile("state-row-passed"))
    expect(row).not_to_contain_text("Carried from staging")
    expect(row).to_contain_text(editor.get_full_name())

    # The comparison, from the production plan.
    page.goto(production_url)
    page.locator(".environments-panel").get_by_role("link", name="Compare with staging").click()
    expect(page.get_by_role("heading", name="Staging and production compared")).to_be_visible()
    ssl = page.locator("tr", has_text="SSL certificates installed")
    expect(ssl.locator(".diff-badge")).to_have_text("Same")
    cdn = page.locator("tr", has_text="CDN configured")
    expect(cdn.locator(".diff-badge")).to_have_text("Carried, to confirm")
    expect(cdn).to_contain_text("Not applicable: No CDN for the API.")
    page.get_by_role("link", name="Differences only").click()
    expect(page.locator("tr", has_text="Load balancers configured")).to_have_count(0)
    expect(page.locator("tr", has_text="CDN configured")).to_have_count(1)

    # And from the staging plan, which links to its production plan.
    page.goto(f"/plans/{plan.pk}/")
    expect(page.get_by_role("link", name="Plan the next environment")).to_have_count(0)
    page.locator(".environments-panel").get_by_role("link", name="Compare with production").click()
    expect(page.get_by_role("heading", name="Staging and production compared")).to_be_visible()

    # On a phone both new pages fit the screen.
    phone = new_page(viewport=PHONE)
    log_in(phone, editor.email, PASSWORD)
    phone.goto(page.url)
    expect(phone.locator("main h1").first).to_be_visible()
    assert fits(phone), "the comparison is wider than a phone"
    phone.goto(production_url)
    assert fits(phone), "the overview with its environments is wider than a phone"


def test_the_form_fits_a_phone_and_says_what_went_wrong(new_page, plan, editor):
    page = new_page(viewport=PHONE)
    log_in(page, editor.email, PASSWORD)
    page.goto(f"/plans/{plan.pk}/next/")
    expect(page.get_by_role("heading", name="Plan the next environment")).to_be_visible()
    assert fits(page)
    page.get_by_label("Week 1 starts").fill("2026-12-07")
    page.get_by_label("Target go-live").fill("2026-12-01")
    page.get_by_role("button", name="Create the production plan").click()
    expect(page.get_by_text("The target go-live date cannot be before week 1.")).to_be_visible()
    assert fits(page)


@pytest.mark.parametrize("width", [1280, 1024])
def test_on_a_desktop_the_plans_tabs_are_one_row(new_page, plan, editor, width):
    page = new_page(viewport={"width": width, "height": 800})
    log_in(page, editor.email, PASSWORD)
    page.goto(f"/plans/{plan.pk}/audit/")
    tabs = page.locator("nav.tabs")
    tops = tabs.locator("a").evaluate_all("links => links.map(a => a.offsetTop)")
    assert len(tops) == 11 and len(set(tops)) == 1, tops
    assert fits(page)
    if width >= 1280:  # all of them fit, nothing to scroll
        assert tabs.evaluate("t => t.scrollWidth <= t.clientWidth")
    # Whatever does not fit scrolls within the row, the current tab in view.
    expect(tabs.get_by_role("link", name="Audit trail")).to_be_in_viewport()
    page.keyboard.press("Tab")
    tabs.get_by_role("link", name="Overview").focus()
    expect(tabs.get_by_role("link", name="Overview")).to_be_focused()
