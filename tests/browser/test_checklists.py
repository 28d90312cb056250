import re

import pytest
from playwright.sync_api import expect

from checklists import services
from checklists.models import ChecklistItem
from tests.browser.test_first_plan import log_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_a_team_works_the_checklists_and_watches_the_band_change(
    new_page, plan, editor, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Every critical item but one has passed already.
    for item in ChecklistItem.objects.filter(plan=plan, critical=True).exclude(
        text="SSL certificates installed"
    ):
        services.item_set_state(item=item, actor=editor, state="passed", version=item.version)

    page = new_page()
    log_in(page, editor.email, PASSWORD)
    page.goto(f"/plans/{plan.pk}/readiness/")
    expect(page.locator(".readiness-head .band")).to_have_text("Not ready for deployment")
    expect(page.locator(".blockers")).to_contain_text("SSL certificates installed")

    # Tick the last critical item in place.
    page.get_by_role("link", name="Checklists").click()
    page.evaluate("window.__still_here = true")
    page.get_by_label("State of SSL certificates installed").select_option("passed")
    row = page.locator("tr", has=page.get_by_label("State of SSL certificates installed"))
    expect(row).to_have_class(re.compile("state-row-passed"))
    expect(row).to_contain_text(editor.get_full_name())
    assert page.evaluate("window.__still_here") is True

    # CDN does not apply here: say why.
    cdn = page.locator("tr", has=page.get_by_label("State of CDN configured"))
    cdn.get_by_text("Not applicable…").click()
    cdn.get_by_label("Why does it not apply?").fill("The API is not served through a CDN.")
    cdn.get_by_role("button", name="Mark not applicable").click()
    expect(page.locator("tr", has_text="CDN configured")).to_contain_text(
        "Not applicable: The API is not served through a CDN."
    )

    # Evidence for DNS: a note and a file, then passed.
    page.get_by_role("link", name="DNS records configured").click()
    page.get_by_role("textbox", name="Note").fill("Checked with `dig` against **all** resolvers.")
    page.get_by_role("button", name="Save note").click()
    expect(page.get_by_text("Note saved.")).to_be_visible()
    expect(page.locator(".markdown strong")).to_have_text("all")
    report = tmp_path / "dns-check.txt"
    report.write_text("api.example.com. 300 IN A 10.0.0.7\n")
    page.locator("input[type=file]").set_input_files(str(report))
    page.get_by_role("button", name="Attach file").click()
    expect(page.get_by_text("dns-check.txt attached.")).to_be_visible()
    expect(page.get_by_role("link", name="dns-check.txt")).to_be_visible()
    page.get_by_label("State of DNS records configured").select_option("passed")
    expect(page.locator("tr.item-row")).to_have_class(re.compile("state-row-passed"))

    # Score every category 8: ready with minor adjustments; two 10s make it ready.
    page.get_by_role("link", name=plan.title).click()
    page.get_by_role("link", name="Readiness", exact=True).click()
    expect(page.locator(".readiness-head .band")).to_have_text("Not ready for deployment")
    expect(page.locator(".blockers")).to_have_count(0)
    for category in (
        "Infrastructure",
        "Security",
        "Application",
        "Monitoring",
        "Documentation",
        "Team Readiness",
    ):
        page.get_by_label(f"Score for {category}").fill("8")
        page.get_by_label(f"Rationale for {category}").fill("Reviewed in the go/no-go meeting")
        page.get_by_role("button", name=f"Save score for {category}").click()
        expect(page.get_by_text("Score saved.")).to_be_visible()
    expect(page.locator(".readiness-head .band")).to_have_text("Ready with minor adjustments")
    expect(page.locator(".readiness-head")).to_contain_text("Weighted score 80 / 100")

    page.get_by_label("Score for Infrastructure").fill("11")
    page.get_by_role("button", name="Save score for Infrastructure").click()
    expect(page.get_by_text("Ensure this value is less than or equal to 10.")).to_be_visible()
    for category in ("Infrastructure", "Security"):
        page.get_by_label(f"Score for {category}").fill("10")
        page.get_by_label(f"Rationale for {category}").fill("Everything verified")
        page.get_by_role("button", name=f"Save score for {category}").click()
    expect(page.locator(".readiness-head .band")).to_have_text("Ready for production deployment")
    expect(page.locator(".readiness-head")).to_contain_text("Weighted score 90 / 100")
