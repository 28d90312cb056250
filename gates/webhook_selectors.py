"""Reads of a plan's webhooks and their deliveries."""

from django.db.models import QuerySet

from gates.models import Webhook, WebhookDelivery

# The delivery log shows the newest ones; older ones stay in the table and the API.
LOG_LENGTH = 50


def plan_webhooks(plan) -> QuerySet[Webhook]:
    return Webhook.objects.filter(plan=plan).order_by("id")


def deliveries(plan, *, webhook_id: int | None = None) -> QuerySet[WebhookDelivery]:
    rows = WebhookDelivery.objects.filter(plan=plan).select_related("webhook")
    if webhook_id is not None:
        rows = rows.filter(webhook_id=webhook_id)
    return rows.order_by("-created_at", "-id")


def recent_deliveries(plan) -> list[WebhookDelivery]:
    return list(deliveries(plan)[:LOG_LENGTH])
