import re

import pytest
from playwright.sync_api import expect

from planning.models import DeploymentPlan
from tests.browser.test_first_plan import log_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_a_team_works_its_four_weeks_and_requirements(new_page, owner, tmp_path):
    page = new_page()
    log_in(page, owner.email, PASSWORD)

    # A plan from the default playbook, preselected.
    page.goto("/plans/new/")
    expect(page.get_by_label("Playbook")).to_have_value(re.compile(r"\d+"))
    expect(page.get_by_label("Playbook")).to_contain_text("TrustStram v4.4")
    page.get_by_label("Title").fill("Search cluster upgrade")
    page.get_by_label("Release version").fill("4.4.1")
    page.get_by_label("Environment").select_option("staging")
    page.get_by_label("Week 1 starts").fill("2026-11-16")
    page.get_by_label("Target go-live").fill("2026-12-14")
    page.locator("main").get_by_role("button", name="Create plan").click()
    expect(page.get_by_role("heading", name="Four-week plan")).to_be_visible()
    expect(page.locator("svg.timeline")).to_be_visible()
    plan = DeploymentPlan.objects.get(title="Search cluster upgrade")

    # Move a task to done in place: no reload, the row changes and the count follows.
    page.get_by_role("link", name="Four weeks").click()
    expect(page.get_by_role("heading", name=re.compile("Week 1: Assessment"))).to_be_visible()
    page.evaluate("window.__still_here = true")
    page.get_by_label("Status of Infrastructure audit").select_option("done")
    row = page.locator("tr", has=page.get_by_label("Status of Infrastructure audit"))
    expect(row).to_have_class(re.compile("status-row-done"))
    assert page.evaluate("window.__still_here") is True
    assert plan.tasks.get(title="Infrastructure audit").status == "done"

    # Blocked asks why, in the row.
    page.get_by_label("Status of Application inventory").select_option("blocked")
    page.get_by_label("Why is it blocked?").fill("CMDB export is broken")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Blocked: CMDB export is broken")).to_be_visible()

    # Performance requirements: one invalid value first, then a valid one.
    page.get_by_role("link", name="Requirements", exact=True).click()
    page.get_by_role("link", name="Performance").click()
    page.get_by_label("Uptime").fill("99.99999%")
    page.get_by_role("button", name="Save performance requirements").click()
    expect(page.get_by_text("Nothing was saved")).to_be_visible()
    expect(page.get_by_text("Use at most three decimals.")).to_be_visible()
    assert plan.requirements.get(kind="performance").values["availability"]["uptime"] == "99.95%"
    page.get_by_label("Uptime").fill("99.99%")
    page.get_by_role("button", name="Save performance requirements").click()
    expect(page.get_by_text("Performance requirements saved.")).to_be_visible()
    expect(page.get_by_label("Uptime")).to_have_value("99.99%")

    # Export the YAML, change it outside, and import it back.
    with page.expect_download() as download:
        page.get_by_role("link", name="Export YAML").click()
    exported = tmp_path / "performance.yaml"
    download.value.save_as(exported)
    text = exported.read_text()
    assert "uptime: 99.99%" in text
    exported.write_text(text.replace("max_replicas: 50", "max_replicas: 64"))
    page.get_by_label("YAML file").set_input_files(str(exported))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("Performance requirements imported.")).to_be_visible()
    expect(page.get_by_label("Max replicas")).to_have_value("64")

    # A bad paste is explained by line, and changes nothing.
    page.get_by_label("Or paste YAML").fill(text.replace("rto: 15min", "rto: quickly"))
    page.get_by_role("button", name="Import").click()
    expect(
        page.get_by_text(re.compile(r"Line \d+: availability.rto: Enter a duration"))
    ).to_be_visible()
    expect(page.get_by_label("Max replicas")).to_have_value("64")

    # The register: bring an advanced document into scope with one action.
    page.get_by_role("link", name="Documents").click()
    page.get_by_role("button", name="Include Quantum Encryption Planning").click()
    expect(page.get_by_text("“Quantum Encryption Planning” is now in scope.")).to_be_visible()
    assert plan.documents.get(key="quantum-encryption-planning").status == "not_started"


def test_no_label_of_the_timeline_runs_into_a_bar_or_another_label(new_page, plan, viewer):
    page = new_page()
    log_in(page, viewer.email, PASSWORD)
    page.goto(f"/plans/{plan.pk}/board/")
    # Each row's label ends left of where that row's bar starts; each date left of the next.
    overlaps = page.locator("svg.timeline").evaluate(
        """svg => {
          const clashes = [];
          svg.querySelectorAll("g.phase, g.task").forEach(row => {
            const label = row.querySelector("text").getBBox();
            const bar = row.querySelector("rect:last-of-type").getBBox();
            if (label.x + label.width >= bar.x) clashes.push(row.textContent.trim());
          });
          const dates = Array.from(svg.querySelectorAll(':scope > text[y="14"]'))
            .map(t => t.getBBox());
          dates.slice(1).forEach((date, i) => {
            if (dates[i].x + dates[i].width >= date.x) clashes.push(`date ${i + 1}`);
          });
          return clashes;
        }"""
    )
    assert overlaps == []
