"""Writes of outgoing webhooks: adding and removing one, queueing an event's deliveries, an
attempt and its record, a redelivery. Callers have checked that the user owns the plan."""

import time
import urllib.error
import urllib.request
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from gates import webhooks
from gates.models import Webhook, WebhookDelivery
from gates.webhook_tasks import webhook_deliver as webhook_deliver_task
from planning.models import DeploymentPlan
from planning.services import plan_lock_writable

# Answers worth trying again: the receiver is down, slow or busy. Any other 4xx is the
# receiver refusing this body, which another attempt would not change.
RETRY_CODES = {408, 425, 429}


@transaction.atomic
def webhook_create(*, plan: DeploymentPlan, actor, url: str, events: list[str]) -> Webhook:
    """Add a webhook with a new secret (the caller shows `webhook.secret` once)."""
    plan = plan_lock_writable(plan, content=False)
    try:
        webhooks.check_url(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
    except webhooks.AddressRefused as refusal:
        raise ValidationError({"url": str(refusal)}) from None
    if Webhook.objects.filter(plan=plan, url=url).exists():
        raise ValidationError({"url": "This plan already sends webhooks to this URL."})
    webhook = Webhook(
        plan=plan,
        url=url,
        secret=webhooks.secret_new(),
        event_types=sorted(set(events)),
        created_by=actor,
    )
    webhook.full_clean()
    webhook.save()
    return webhook


@transaction.atomic
def webhook_delete(*, webhook: Webhook) -> None:
    plan_lock_writable(webhook.plan, content=False)
    Webhook.objects.filter(pk=webhook.pk).delete()


def _plan_data(plan: DeploymentPlan) -> dict:
    return {
        "id": plan.pk,
        "title": plan.title,
        "release_version": plan.release_version,
        "environment": plan.environment,
        "status": plan.status,
        "url": settings.SITE_URL + reverse("planning:plan_detail", args=[plan.pk]),
    }


@transaction.atomic
def deliveries_queue(*, plan_id: int, event: str, data: dict) -> list[WebhookDelivery]:
    """Queue the event for every webhook of the plan that asked for it; each is sent by the
    worker once this commits. One body per event: every webhook gets the same bytes."""
    plan = DeploymentPlan.objects.filter(pk=plan_id).first()
    if plan is None:
        return []
    targets = list(Webhook.objects.filter(plan=plan, event_types__contains=[event]))
    if not targets:
        return []
    event_id = uuid.uuid4()
    text = webhooks.body(
        delivery=str(event_id),
        event=event,
        created_at=timezone.now().isoformat(),
        plan=_plan_data(plan),
        data=data,
    )
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(webhook=webhook, plan=plan, event_id=event_id, event=event, body=text)
        for webhook in targets
    )
    for delivery in deliveries:
        _send_on_commit(delivery.pk)
    return deliveries


def _send_on_commit(delivery_id: int) -> None:
    transaction.on_commit(lambda: webhook_deliver_task.delay(delivery_id), robust=True)


@transaction.atomic
def delivery_redeliver(*, delivery: WebhookDelivery, actor) -> WebhookDelivery:
    """Send a delivery's body again, as a new delivery (the same event id, a new signature)."""
    plan_lock_writable(delivery.plan, content=False)
    again = WebhookDelivery.objects.create(
        webhook_id=delivery.webhook_id,
        plan_id=delivery.plan_id,
        event_id=delivery.event_id,
        event=delivery.event,
        body=delivery.body,
        redelivery_of=delivery,
        requested_by=actor,
    )
    _send_on_commit(again.pk)
    return again


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not an instruction: following it could lead inside."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _post(url: str, data: bytes, headers: dict) -> int:
    # The scheme was checked to be http or https (webhooks.check_url).
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            response.read(65536)
            return response.status
    except urllib.error.HTTPError as answer:
        answer.close()
        return answer.code


def delivery_attempt(*, delivery_id: int) -> bool:
    """Send the delivery once and record the outcome; True when it should be tried again
    (network error, 5xx, 408, 425, 429, and attempts left). Run by the worker only."""
    delivery = (
        WebhookDelivery.objects.select_related("webhook")
        .filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
        .first()
    )
    if delivery is None:
        return False  # sent already, or its webhook was removed
    data = delivery.body.encode()
    code, error, retry = None, "", False
    started = time.monotonic()
    try:
        webhooks.check_url(delivery.webhook.url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
        code = _post(
            delivery.webhook.url,
            data,
            webhooks.headers(
                secret=delivery.webhook.secret,
                timestamp=int(time.time()),
                body=data,
                event=delivery.event,
                delivery=str(delivery.event_id),
            ),
        )
    except webhooks.AddressRefused as refusal:
        error = str(refusal)
    except (OSError, ValueError) as failure:
        reason = getattr(failure, "reason", None) or failure
        error, retry = f"Could not deliver: {reason}"[:500], True
    elapsed = round((time.monotonic() - started) * 1000)
    if code is not None and not 200 <= code < 300:
        error = f"The receiver answered {code}."
        retry = code >= 500 or code in RETRY_CODES
    attempts = delivery.attempts + 1
    retry = retry and attempts < settings.WEBHOOK_MAX_ATTEMPTS
    if code is not None and 200 <= code < 300:
        status = WebhookDelivery.Status.DELIVERED
    else:
        status = WebhookDelivery.Status.PENDING if retry else WebhookDelivery.Status.FAILED
    # Compare-and-set on the attempt count: a second copy of the task records nothing.
    WebhookDelivery.objects.filter(pk=delivery.pk, attempts=delivery.attempts).update(
        attempts=F("attempts") + 1,
        status=status,
        response_code=code,
        response_ms=elapsed,
        error=error,
        attempted_at=timezone.now(),
    )
    return retry


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt after `attempts` attempts: doubling each time."""
    return settings.WEBHOOK_RETRY_SECONDS * 2 ** max(0, attempts - 1)
