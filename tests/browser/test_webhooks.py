"""An owner adds a webhook from a phone, copies its secret, and redelivers from the log."""

import pytest
from playwright.sync_api import expect

from gates.models import Webhook, WebhookDelivery
from tests.browser.test_first_plan import log_in
from tests.factories import PASSWORD
from tests.gates import receiver as receivers
from tests.gates.test_webhooks import settled, verify
from tests.signoffs.test_signoffs import move

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def receiver(settings):
    """A webhook receiver on loopback, as in tests/gates, which the instance may call here."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_RETRY_SECONDS = 0
    served = receivers.start()
    yield served
    served.server.shutdown()
    served.server.server_close()


def fits(page) -> bool:
    width, screen = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return width <= screen


def test_an_owner_adds_a_webhook_and_redelivers_from_the_log(
    new_page, celery_worker, plan, owner, receiver, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    page = new_page(viewport=PHONE)
    log_in(page, owner.email, PASSWORD)
    page.goto(f"/plans/{plan.pk}/")
    page.locator("nav.tabs").get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Add a webhook")).to_be_visible()
    assert fits(page)

    page.get_by_label("Payload URL").fill(receiver.url)
    page.get_by_label("Sign-off").uncheck()
    page.get_by_label("Stale signature").uncheck()
    page.get_by_label("Packet ready").uncheck()
    page.get_by_role("button", name="Add webhook").press("Enter")
    expect(page.get_by_text("Copy this secret now")).to_be_visible()
    webhook = Webhook.objects.get(plan=plan)
    assert webhook.event_types == ["plan.status_changed"]
    expect(page.get_by_label(f"Secret for {receiver.url}")).to_have_value(webhook.secret)
    assert fits(page)

    receiver.answer(500)
    move(plan, "in_progress")
    first = settled(WebhookDelivery.objects.get(plan=plan).pk)
    assert first.status == "failed"

    receiver.answer(200)
    page.goto(f"/plans/{plan.pk}/webhooks/")
    row = page.locator(f"#delivery-{first.pk}")
    expect(row).to_contain_text("Failed")
    expect(row).to_contain_text("500")
    assert fits(page)
    row.get_by_role("button", name="Redeliver").press("Enter")
    expect(page.get_by_text("The status change event is queued again.")).to_be_visible()
    again = settled(WebhookDelivery.objects.exclude(pk=first.pk).get(plan=plan).pk)
    assert again.status == "delivered"
    last = receiver.requests[-1]
    assert verify(webhook.secret, last.headers, last.body)
    page.reload()
    expect(page.locator(f"#delivery-{again.pk}")).to_contain_text("Delivered")
    assert fits(page)
