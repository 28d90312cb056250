"""A plan's outgoing webhooks and their delivery log (owners only)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from gates import webhook_selectors, webhook_services
from gates.models import Webhook, WebhookDelivery
from gates.webhook_forms import WebhookForm
from planning.access import MANAGE, get_part, plan_view
from truststream.forms import apply_validation_error


def _page(request, plan, form, *, created: Webhook | None = None, status: int = 200):
    return render(
        request,
        "gates/webhooks.html",
        {
            "plan": plan,
            "tab": "webhooks",
            "form": form,
            "created": created,
            "webhooks": webhook_selectors.plan_webhooks(plan),
            "deliveries": webhook_selectors.recent_deliveries(plan),
        },
        status=status,
    )


@plan_view(MANAGE)
def webhooks(request: HttpRequest, plan) -> HttpResponse:
    return _page(request, plan, WebhookForm())


@plan_view(MANAGE, methods=("POST",))
def webhook_add(request: HttpRequest, plan) -> HttpResponse:
    """Add a webhook and show its secret, this once, on the page that answers."""
    form = WebhookForm(request.POST)
    if form.is_valid():
        try:
            webhook = webhook_services.webhook_create(
                plan=plan, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            return _page(request, plan, WebhookForm(), created=webhook)
    return _page(request, plan, form, status=400)


@plan_view(MANAGE, methods=("POST",))
def webhook_delete(request: HttpRequest, plan, webhook_id: int) -> HttpResponse:
    webhook = get_part(plan, Webhook.objects.all(), webhook_id)
    try:
        webhook_services.webhook_delete(webhook=webhook)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Webhook to {webhook.url} removed; nothing more is sent to it.")
    return redirect("gates:webhooks", plan.pk)


@plan_view(MANAGE, methods=("POST",))
def delivery_redeliver(request: HttpRequest, plan, delivery_id: int) -> HttpResponse:
    delivery = get_part(plan, WebhookDelivery.objects.select_related("plan"), delivery_id)
    try:
        webhook_services.delivery_redeliver(delivery=delivery, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, f"The {delivery.get_event_display().lower()} event is queued again."
        )
    return redirect("gates:webhooks", plan.pk)
