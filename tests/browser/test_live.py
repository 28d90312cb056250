import re

import pytest
from playwright.sync_api import expect

from checklists import services as checklist_services
from checklists.models import ChecklistItem
from tests.browser.test_first_plan import log_in
from tests.browser.test_signoffs import sign_in_browser
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_two_people_see_each_others_changes_without_losing_what_they_type(
    new_page, plan, owner, editor
):
    firewall = ChecklistItem.objects.get(plan=plan, text="Firewall rules configured")
    vpn = ChecklistItem.objects.get(plan=plan, text="VPN access configured")
    olivia, eddie = new_page(), new_page()
    for page, person in ((olivia, owner), (eddie, editor)):
        log_in(page, person.email, PASSWORD)
        page.goto(f"/plans/{plan.pk}/checklists/")
    # A mark that a reload would wipe out.
    olivia.evaluate("window.notReloaded = true")

    # Each sees that the other is here.
    expect(olivia.locator("#live")).to_contain_text("Also looking at this plan", timeout=8000)
    expect(olivia.locator("#live .avatar")).to_have_attribute("title", editor.get_full_name())

    # Eddie passes an item; Olivia's page shows it within five seconds, without a reload.
    eddie.locator(f"#state-{firewall.pk}").select_option("passed")
    expect(eddie.locator(f"#item-{firewall.pk}")).to_have_class(re.compile("state-row-passed"))
    expect(olivia.locator(f"#state-{firewall.pk}")).to_have_value("passed", timeout=5000)
    assert olivia.evaluate("window.notReloaded") is True

    # While Olivia types, a change by Eddie waits; her text stays where it is.
    olivia.locator(f"#item-{vpn.pk} summary").click()
    reason = olivia.locator(f"#reason-{vpn.pk}")
    reason.fill("Only for the staff network")
    eddie.locator(f"#state-{vpn.pk}").select_option("failed")
    # Longer than a change takes to arrive when nobody is typing (see above).
    olivia.wait_for_timeout(5000)
    expect(reason).to_have_value("Only for the staff network")
    expect(olivia.locator(f"#state-{vpn.pk}")).to_have_value("open")

    # Once she gives up on it and leaves the field, the change arrives.
    reason.fill("")
    reason.blur()
    expect(olivia.locator(f"#state-{vpn.pk}")).to_have_value("failed", timeout=5000)
    assert olivia.evaluate("window.notReloaded") is True


def test_a_confirmation_goes_once_someone_elses_change_overtakes_it(
    new_page, plan, editor, holders
):
    lead = sign_in_browser(new_page, plan, holders["technical_lead"], "technical_lead")
    recorded = lead.locator(".messages").get_by_text("Recorded:")
    expect(recorded).to_be_visible()
    role = lead.locator("#role-technical_lead")
    expect(role).to_contain_text("Approved")
    lead.evaluate("window.notReloaded = true")

    # Eddie fails an item the Technical Lead's signature covers: it is stale now.
    item = ChecklistItem.objects.get(plan=plan, text="Load balancers configured")
    checklist_services.item_set_state(item=item, actor=editor, state="failed", version=None)

    expect(role).to_contain_text("Stale", timeout=6000)
    expect(recorded).to_have_count(0)
    assert lead.evaluate("window.notReloaded") is True
