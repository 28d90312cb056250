"""Who may use each of a plan's webhook URLs: owners only (the harness is tests/access.py)."""

import uuid

import pytest

from gates.models import Webhook, WebhookDelivery
from tests.access import PlanAccessTests, PlanURL


def webhook(plan):
    return [plan.webhooks.get().pk]


def delivery(plan):
    return [WebhookDelivery.objects.get(plan=plan).pk]


URLS = [
    PlanURL("gates:webhooks", "get", "manage"),
    PlanURL("gates:webhook_add", "post", "manage"),
    PlanURL("gates:webhook_delete", "post", "manage", webhook),
    PlanURL("gates:delivery_redeliver", "post", "manage", delivery),
]


@pytest.fixture
def plan(plan, owner):
    """The shared plan with a webhook and one failed delivery (no worker sends anything)."""
    hook = Webhook.objects.create(
        plan=plan,
        url="https://hooks.example.com/readiness",
        secret="whsec_test",
        event_types=["plan.status_changed"],
        created_by=owner,
    )
    WebhookDelivery.objects.create(
        webhook=hook,
        plan=plan,
        event_id=uuid.uuid4(),
        event="plan.status_changed",
        body="{}",
        status="failed",
        attempts=1,
        response_code=500,
    )
    return plan


class TestWebhooksAccess(PlanAccessTests):
    urls = URLS
