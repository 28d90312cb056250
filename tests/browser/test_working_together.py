import re

import pytest
from playwright.sync_api import expect

from checklists.models import ChecklistItem
from tests.browser.test_first_plan import log_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_one_ticks_an_item_and_mentions_the_other_who_sees_both_without_reloading(
    new_page, plan, owner, editor
):
    firewall = ChecklistItem.objects.get(plan=plan, text="Firewall rules configured")
    olivia, eddie = new_page(), new_page()
    log_in(olivia, owner.email, PASSWORD)
    log_in(eddie, editor.email, PASSWORD)
    eddie.goto(f"/plans/{plan.pk}/checklists/")
    eddie.evaluate("window.notReloaded = true")
    expect(eddie.locator("#bell")).to_have_text("Notifications")

    # Olivia ticks the item, then asks Eddie about it in its thread.
    olivia.goto(f"/plans/{plan.pk}/checklists/")
    olivia.locator(f"#state-{firewall.pk}").select_option("passed")
    expect(olivia.locator(f"#item-{firewall.pk}")).to_have_class(re.compile("state-row-passed"))
    olivia.goto(f"/plans/{plan.pk}/checklists/items/{firewall.pk}/")
    box = olivia.get_by_label("Add a comment")
    box.click()
    box.press_sequentially("Rules are in place. @ed")
    suggestion = olivia.get_by_role("option", name=re.compile(f"@{editor.username}"))
    expect(suggestion).to_be_visible()
    box.press("Enter")
    expect(box).to_have_value(f"Rules are in place. @{editor.username} ")
    box.press_sequentially("can you check the evidence?")
    olivia.get_by_role("button", name="Comment").click()
    expect(olivia.locator(".comment-body").last).to_contain_text("can you check the evidence?")

    # Eddie, who never reloaded, sees the item passed and the bell ring.
    expect(eddie.locator(f"#state-{firewall.pk}")).to_have_value("passed", timeout=6000)
    expect(eddie.locator("#bell .bell-count")).to_contain_text("1", timeout=6000)
    assert eddie.evaluate("window.notReloaded") is True

    eddie.locator("#bell").click()
    notification = eddie.get_by_role("button", name=re.compile("mentioned you"))
    expect(notification).to_contain_text("Firewall rules configured")
    notification.click()
    expect(eddie).to_have_url(re.compile(rf"/checklists/items/{firewall.pk}/#comment-\d+$"))
    expect(eddie.locator(".comment-body").last).to_contain_text("can you check the evidence?")
    expect(eddie.locator("#bell")).to_have_text("Notifications")
