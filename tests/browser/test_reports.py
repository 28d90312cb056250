"""A manager reads the portfolio on a phone and on a desktop, and downloads an auditor export."""

import csv
import datetime
import io
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from checklists import services as checklist_services
from checklists.models import ChecklistItem
from tests.browser.test_first_plan import log_in
from tests.factories import PASSWORD, make_plan

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def some_plans(owner):
    today = timezone.localdate()
    near = make_plan(
        owner,
        title="Payments gateway with a rather long name that must wrap on a phone",
        environment="production",
        week1_start=today - datetime.timedelta(days=25),
        target_go_live=today + datetime.timedelta(days=3),
    )
    item = ChecklistItem.objects.filter(plan=near, critical=True).first()
    checklist_services.item_set_state(item=item, actor=owner, state="failed", version=item.version)
    checklist_services.score_set(
        plan=near, actor=owner, category="security", score=7, rationale="ok"
    )
    far = make_plan(
        owner,
        title="Search reindex",
        environment="staging",
        week1_start=today,
        target_go_live=today + datetime.timedelta(days=40),
    )
    return near, far


def test_on_a_phone_the_portfolio_is_cards_and_fits_the_screen(new_page, owner):
    near, _ = some_plans(owner)
    page = new_page(viewport=PHONE)
    log_in(page, owner.email, PASSWORD)
    page.goto("/plans/")
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("link", name="Portfolio").click()
    expect(page).to_have_url(re.compile(r"/portfolio/$"))
    expect(page.get_by_role("heading", name="Portfolio")).to_be_visible()

    width, screen = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= screen
    # Each plan is a card: its row is a block, its cells stacked with their labels.
    row = page.locator("tr.portfolio-row", has_text=near.title)
    assert row.evaluate("r => getComputedStyle(r).display") == "block"
    expect(row.get_by_text("At risk")).to_be_visible()
    expect(row.get_by_text(item_text(near))).to_be_visible()
    label = row.locator('td[data-label="Go-live"]').evaluate(
        "td => getComputedStyle(td, '::before').content"
    )
    assert label == '"Go-live"'
    # The trend's picture is there, and its words for a screen reader.
    expect(row.locator("svg.sparkline")).to_be_visible()
    expect(
        row.locator(".visually-hidden", has_text="Score at the end of each of the last 6 weeks")
    ).to_be_attached()


def item_text(plan) -> str:
    return ChecklistItem.objects.filter(plan=plan, critical=True).first().text


def test_the_filters_narrow_the_rows_and_the_csv_follows_them(new_page, owner):
    near, far = some_plans(owner)
    page = new_page()
    log_in(page, owner.email, PASSWORD)
    page.goto("/portfolio/")
    expect(page.get_by_role("link", name=far.title)).to_be_visible()

    page.get_by_label("At risk only").check()
    expect(page.get_by_role("link", name=far.title)).to_have_count(0)
    expect(page.get_by_role("link", name=near.title)).to_be_visible()
    expect(page).to_have_url(re.compile(r"at_risk=on"))

    with page.expect_download() as download:
        page.get_by_role("link", name="Download these rows as CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["Plan"] for row in rows] == [near.title]
    assert rows[0]["Decision"] == "no-go"


def test_an_owner_downloads_the_auditor_export_after_fixing_the_period(new_page, owner):
    some_plans(owner)
    page = new_page(viewport=PHONE)
    log_in(page, owner.email, PASSWORD)
    page.goto("/auditor-export/")
    width, screen = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= screen
    page.get_by_label("From").fill("2026-05-02")
    page.get_by_label("To").fill("2026-05-01")
    page.get_by_role("button", name="Download").click()
    expect(page.get_by_text("The end of the period cannot be before its start.")).to_be_visible()

    page.get_by_label("To").fill("2026-06-01")
    page.get_by_label("JSON").check()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()
    assert download.value.suggested_filename == "change-population-2026-05-02-to-2026-06-01.json"
    page.goto("/auditor-export/")
    expect(page.get_by_role("heading", name="Your latest exports")).to_be_visible()
    expect(page.locator("main table")).to_contain_text("JSON")
