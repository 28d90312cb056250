"""Who may use each of a plan's webhook URLs: owners only (the harness is tests/access.py)."""

import pytest

from gates.models import WebhookDelivery
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
def plan(plan, failed_delivery):
    """The shared plan with a webhook and one failed delivery."""
    failed_delivery(plan)
    return plan


class TestWebhooksAccess(PlanAccessTests):
    urls = URLS
