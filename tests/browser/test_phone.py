"""A manager checks a release from a phone: every page fits a 390 px screen."""

import re

import pytest
from playwright.sync_api import expect

from checklists.models import ChecklistItem
from signoffs import services as signoff_services
from tests.browser.test_first_plan import log_in
from tests.factories import PASSWORD
from tests.signoffs.test_signoffs import sign

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def plan_pages(plan) -> list[str]:
    item = ChecklistItem.objects.filter(plan=plan).order_by("pk").first()
    base = f"/plans/{plan.pk}/"
    return [
        base,
        base + "board/",
        base + "checklists/",
        base + f"checklists/items/{item.pk}/",
        base + "readiness/",
        base + "signoffs/",
        base + "packets/",
        base + "documents/",
        base + "requirements/infrastructure/",
        base + "contacts/",
        base + "audit/",
        base + "activity/",
    ]


def test_no_page_is_wider_than_a_phone(new_page, plan, owner, editor, holders):
    # Content that makes pages wide on a desktop: a signature with its digest, a packet.
    sign(plan, "technical_lead", holders["technical_lead"])
    signoff_services.packet_request(plan=plan, requested_by=owner, kind="draft")
    page = new_page(viewport=PHONE)
    failed = []
    page.on("response", lambda response: response.status >= 400 and failed.append(response.url))
    log_in(page, editor.email, PASSWORD)
    pages = [
        "/plans/",
        *plan_pages(plan),
        "/my-work/",
        "/notifications/",
        "/accounts/email/",
        "/accounts/password/change/",
        "/accounts/notifications/",
        "/accounts/tokens/",
        "/packets/verify/",
    ]
    too_wide = {}
    for path in pages:
        page.goto(path)
        expect(page.locator("main h1").first).to_be_visible()
        width, screen = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if width > screen:
            too_wide[path] = width
    assert too_wide == {}, f"wider than the {PHONE['width']} px screen"
    # The page names its icon, and the icon is there: no 404 on any page load.
    icon = page.locator('link[rel="icon"]').get_attribute("href")
    assert page.request.get(icon).ok
    assert failed == []


def test_on_a_phone_the_navigation_is_a_menu_and_the_tabs_one_scrolling_row(new_page, plan, editor):
    page = new_page(viewport=PHONE)
    log_in(page, editor.email, PASSWORD)
    page.goto(f"/plans/{plan.pk}/audit/")
    menu = page.get_by_role("button", name="Menu")
    my_work = page.get_by_role("link", name="My work")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(my_work).to_be_hidden()

    # The tabs stay on one line, scroll within themselves, and show the current one.
    tabs = page.locator("nav.tabs")
    heights = tabs.locator("a").evaluate_all("links => links.map(a => a.offsetTop)")
    assert len(set(heights)) == 1
    assert tabs.evaluate("t => t.scrollWidth > t.clientWidth")
    expect(tabs.get_by_role("link", name="Audit trail")).to_be_in_viewport()

    # From the keyboard: the menu button takes focus, opens, Escape closes it.
    menu.focus()
    page.keyboard.press("Enter")
    expect(my_work).to_be_visible()
    page.keyboard.press("Escape")
    expect(my_work).to_be_hidden()
    expect(menu).to_be_focused()

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    my_work.click()
    expect(page).to_have_url(re.compile(r"/my-work/$"))
    expect(page.get_by_role("heading", name="My work")).to_be_visible()


def test_on_a_desktop_the_navigation_stays_in_the_top_bar(new_page, editor):
    page = new_page(viewport={"width": 1280, "height": 800})
    log_in(page, editor.email, PASSWORD)
    page.goto("/plans/")
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.get_by_role("link", name="My work")).to_be_visible()
