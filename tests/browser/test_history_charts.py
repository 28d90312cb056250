"""The score history on the readiness page and the burn-up on the four-weeks page, in
Chromium at a desktop's width and a phone's: drawn, named for screen readers, inside the
screen, and under the Content-Security-Policy (the conftest fails on any violation)."""

import pytest
from playwright.sync_api import expect

from checklists import services as checklist_services
from tests.browser.test_first_plan import log_in
from tests.factories import PASSWORD
from tests.signoffs.test_signoffs import sign

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("size", SIZES)
def test_both_charts_show_and_fit_the_screen(new_page, plan, owner, viewer, holders, size):
    for category, score in (("security", 7), ("infrastructure", 8)):
        checklist_services.score_set(
            plan=plan, actor=owner, category=category, score=score, rationale="Reviewed"
        )
    sign(plan, "technical_lead", holders["technical_lead"])
    page = new_page(viewport=SIZES[size])
    log_in(page, viewer.email, PASSWORD)

    page.goto(f"/plans/{plan.pk}/readiness/")
    chart = page.locator("svg.score-history-chart")
    expect(chart).to_be_visible()
    expect(chart).to_have_attribute("role", "img")
    expect(
        page.get_by_role("img", name="Score history: the weighted total went from")
    ).to_be_visible()
    expect(page.locator("#score-history-caption")).to_contain_text("1 approval")
    assert chart.locator("g.moment.approval").count() == 1
    box = chart.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= SIZES[size]["width"]
    width, screen = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= screen, f"the readiness page is {width} px wide on a {screen} px screen"

    page.goto(f"/plans/{plan.pk}/board/")
    burnup = page.locator("svg.burnup")
    burnup.scroll_into_view_if_needed()
    expect(burnup).to_be_visible()
    expect(page.get_by_role("img", name="Burn-up of tasks done against the scope.")).to_be_visible()
    expect(page.locator("#burnup-caption")).to_contain_text("of 28 done")
    box = burnup.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= SIZES[size]["width"]
    width, screen = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= screen, f"the board is {width} px wide on a {screen} px screen"
