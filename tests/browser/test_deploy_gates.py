"""An owner gates a repository's production environment with the plan, from a phone."""

import pytest
from playwright.sync_api import expect

from gates.models import GateAttempt, GateDeployment, GateMapping
from tests.browser.test_first_plan import log_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_an_owner_maps_an_environment_and_reads_the_calls_on_a_phone(new_page, plan, owner):
    deployment = GateDeployment.objects.create(
        provider="github",
        delivery_id="d-1",
        plan=plan,
        repository="a-rather-long-organisation-name/an-even-longer-repository-name",
        environment="production-europe-west-and-more",
        deployment_id=1834429901,
        payload={},
        state="waiting",
        reason="Status report not delivered: GitHub answered HTTP 502.",
    )
    GateAttempt.objects.create(
        deployment=deployment,
        action="status",
        number=1,
        url="https://api.github.com/repos/x/y/actions/runs/1/deployment_protection_rule",
        error="Network error: [Errno 111] Connection refused, a long message that must wrap",
        started_at=deployment.received_at,
        seconds=0.02,
    )
    page = new_page(viewport=PHONE)
    log_in(page, owner.email, PASSWORD)
    page.goto(f"/plans/{plan.pk}/")
    page.get_by_role("link", name="Deploy gates").click()
    expect(page.get_by_role("heading", name="Gate decision: No-go")).to_be_visible()
    expect(page.get_by_text("Network error: [Errno 111]")).to_be_visible()

    # A repository that is not owner/name is refused, saying why, at the field.
    page.get_by_label("Service", exact=True).select_option("github")
    page.get_by_label("Repository", exact=True).fill("shop")
    page.get_by_label("Environment", exact=True).fill("production")
    page.get_by_role("button", name="Add gate").click()
    expect(page.get_by_text("Give the repository as owner/name.")).to_be_visible()

    page.get_by_label("Repository", exact=True).fill("octo-org/shop")
    page.get_by_label("Repository", exact=True).press("Enter")
    expect(page.get_by_text("GitHub octo-org/shop → production now waits")).to_be_visible()
    assert GateMapping.objects.filter(plan=plan, repository="octo-org/shop").exists()

    width, screen = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= screen

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove GitHub octo-org/shop → production").click()
    expect(page.get_by_text("no longer waits for this plan")).to_be_visible()
    assert not GateMapping.objects.exists()
