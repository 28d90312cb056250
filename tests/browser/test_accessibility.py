"""Every page a user reaches passes an automated accessibility check in the browser: axe-core
(from npm, tests/a11y) run against the WCAG 2.0 and 2.1 A and AA rules, on a plan with real
content, as an owner, as a viewer, signed out, and on a phone's screen. A violation of impact
"serious" or "critical" fails the test with what axe says about it."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect

from checklists import services as checklist_services
from checklists.models import ChecklistItem
from gates import services as gate_services
from gates import webhook_services
from planning import services as planning_services
from signoffs import services as signoff_services
from tests.browser.test_first_plan import log_in
from tests.factories import PASSWORD
from tests.signoffs.test_signoffs import sign
from truststream import services as truststream_services

pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve().parent.parent / "a11y"
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING = {"serious", "critical"}
PHONE = {"width": 390, "height": 844}
# The pages' Content-Security-Policy allows no inline script, which is how Playwright adds axe;
# these contexts bypass it (tests/browser/test_content_security.py checks the policy itself).

# Rules switched off for one page only, each with the reason; never for every page.
# (Empty: nothing found so far needed it.)
DISABLED: dict[str, dict[str, str]] = {}


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe-core, installed once from tests/a11y/package-lock.json when it is missing."""
    if not AXE.is_file():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is missing: run bin/system-packages (nodejs and npm)")
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(HERE)],
            check=True,
            timeout=300,
        )
    return AXE


def check(page, axe_script, path: str, found: list[str], label: str = "") -> None:
    """Open `path`, run axe on it and add each serious or critical violation to `found`."""
    response = page.goto(path)
    assert response is not None and response.ok, f"{path}: {response and response.status}"
    expect(page.locator("main").first).to_be_visible()
    audit(page, axe_script, path, found, label)


def audit(page, axe_script, path: str, found: list[str], label: str = "") -> None:
    """Run axe on the page as it is now."""
    page.add_script_tag(path=str(axe_script))
    options = {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]}
    disabled = DISABLED.get(path.split("?")[0], {})
    if disabled:
        options["rules"] = {rule: {"enabled": False} for rule in disabled}
    results = page.evaluate("(options) => axe.run(document, options)", options)
    for violation in results["violations"]:
        if violation["impact"] not in FAILING:
            continue
        targets = [json.dumps(node["target"]) for node in violation["nodes"]]
        found.append(
            f"{label}{path}: {violation['id']} ({violation['impact']}) on "
            f"{', '.join(targets[:5])}{' ...' if len(targets) > 5 else ''}: {violation['help']}"
            + f"\n    {violation['nodes'][0].get('failureSummary', '').replace(chr(10), ' ')}"
        )


@pytest.fixture
def content(plan, owner, editor, viewer, holders, settings):
    """A plan with the content each page shows: checklist states, readiness scores, an
    approval, a rejection, a packet requested, a task, a contact, a deploy gate, a webhook and a
    team."""
    items = list(ChecklistItem.objects.filter(plan=plan).order_by("pk")[:3])
    checklist_services.item_set_state(item=items[0], actor=owner, state="passed", version=1)
    checklist_services.item_set_state(
        item=items[1], actor=owner, state="failed", version=1, reason="The load test timed out."
    )
    categories = plan.playbook.definition["readiness"]["categories"]
    for category, score in zip(categories, (9, 8, 7, 5), strict=False):
        checklist_services.score_set(
            plan=plan, actor=owner, category=category["key"], score=score, rationale="Reviewed."
        )
    sign(plan, "technical_lead", holders["technical_lead"])
    sign(plan, "security_officer", holders["security_officer"], "reject", "Pen test pending.")
    signoff_services.packet_request(plan=plan, requested_by=owner, kind="draft")
    planning_services.contact_create(
        plan=plan, topic="Database", name="Dana Diaz", email="dana@example.com"
    )
    gate_services.mapping_add(
        plan=plan, actor=owner, provider="github", repository="octo/shop", environment="prod"
    )
    settings.WEBHOOK_ALLOW_PRIVATE = True
    webhook_services.webhook_create(
        plan=plan, actor=owner, url="https://127.0.0.1:8169/hook", events=["packet.ready"]
    )
    team = truststream_services.team_create(actor=owner, name="Security")
    planning_services.plan_team_add(plan=plan, actor=owner, team=team, role="viewer")
    return plan


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
        base + "activity/",
        base + "audit/",
        base + "gates/",
        base + "webhooks/",
        base + "edit/",
        base + "next/",
    ]


def report(found: list[str]) -> str:
    return f"{len(found)} serious or critical accessibility violations:\n" + "\n".join(found)


def test_every_page_passes_the_check_for_an_owner(new_page, axe_script, content, owner):
    page = new_page(bypass_csp=True)
    log_in(page, owner.email, PASSWORD)
    expect(page.locator("main h1").first).to_be_visible()
    found: list[str] = []
    for path in [
        "/plans/",
        "/portfolio/",
        "/my-work/",
        "/notifications/",
        "/teams/",
        "/teams/security/",
        *plan_pages(content),
        "/packets/verify/",
        "/accounts/email/",
        "/accounts/password/change/",
        "/accounts/notifications/",
        "/accounts/tokens/",
    ]:
        check(page, axe_script, path, found)

    # A state changed in place: the swapped row passes too, and the keyboard focus stays on
    # the row's select rather than falling back to the top of the page.
    path = f"/plans/{content.pk}/checklists/"
    page.goto(path)
    item = ChecklistItem.objects.filter(plan=content, state="open").order_by("pk").first()
    select = page.locator(f"#state-{item.pk}")
    select.focus()
    select.select_option("passed")
    expect(page.locator(f"#item-{item.pk}")).to_have_class(re.compile("state-row-passed"))
    expect(page.locator(f"#state-{item.pk}")).to_be_focused()
    audit(page, axe_script, path, found, "after a change in place ")

    # On a phone's screen tables, charts and the tab row scroll sideways: each must still be
    # reachable by keyboard.
    phone = new_page(viewport=PHONE, bypass_csp=True)
    log_in(phone, owner.email, PASSWORD)
    expect(phone.locator("main h1").first).to_be_visible()
    for path in ["/plans/", "/portfolio/", "/my-work/", *plan_pages(content)[:12]]:
        check(phone, axe_script, path, found, "phone ")
    assert found == [], report(found)


def test_every_page_passes_the_check_for_a_viewer(new_page, axe_script, content, viewer):
    found: list[str] = []
    page = new_page(bypass_csp=True)
    log_in(page, viewer.email, PASSWORD)
    expect(page.locator("main h1").first).to_be_visible()
    base = f"/plans/{content.pk}/"
    for path in ["/plans/", "/my-work/", base, base + "board/", base + "checklists/"]:
        check(page, axe_script, path, found, "viewer ")
    for path in [base + "readiness/", base + "signoffs/", base + "packets/"]:
        check(page, axe_script, path, found, "viewer ")
    assert found == [], report(found)


def test_the_signed_out_pages_pass_the_check(new_page, axe_script, db):
    found: list[str] = []
    page = new_page(bypass_csp=True)
    for path in [
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password/reset/",
        "/packets/verify/",
    ]:
        check(page, axe_script, path, found, "signed out ")
    phone = new_page(viewport=PHONE, bypass_csp=True)
    check(phone, axe_script, "/accounts/login/", found, "phone ")
    assert found == [], report(found)


# What the focused element shows: its tag and text, and its ring (outline or box-shadow).
FOCUSED = """() => {
  const element = document.activeElement;
  if (!element || element === document.body) return null;
  const style = getComputedStyle(element);
  const name = (element.getAttribute("aria-label") || element.textContent || element.name || "")
    .trim().replace(/\\s+/g, " ").slice(0, 40);
  return {
    element: `${element.tagName.toLowerCase()} "${name}"`,
    ring: `${style.outlineStyle} ${style.outlineColor} | ${style.boxShadow}`,
  };
}"""
FOCUS_YELLOW = "rgb(255, 191, 71)"


def test_every_control_shows_the_focus_ring_from_the_keyboard(new_page, content, owner):
    """axe cannot see a focus ring: tab through the top of two busy pages and check that each
    control the keyboard reaches draws the ring."""
    page = new_page()
    log_in(page, owner.email, PASSWORD)
    expect(page.locator("main h1").first).to_be_visible()
    missing = []
    for path in [f"/plans/{content.pk}/", f"/plans/{content.pk}/checklists/"]:
        page.goto(path)
        seen = 0
        for _ in range(60):
            page.keyboard.press("Tab")
            focused = page.evaluate(FOCUSED)
            if focused is None:
                continue
            seen += 1
            if FOCUS_YELLOW not in focused["ring"]:
                missing.append(f"{path}: {focused['element']}: {focused['ring']}")
        assert seen > 30, path
    assert missing == [], "no visible focus ring:\n" + "\n".join(missing)
