"""The plan's Deploy gates tab (owners) and the webhooks GitHub and GitLab call.

The webhooks answer at once (202) and leave the work to the worker: GitHub gives a delivery
ten seconds, and the decision may need to wait for days anyway."""

import json

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from gates import github, gitlab, selectors, services
from gates.forms import MappingForm
from gates.models import GateMapping
from planning.access import MANAGE, get_part, plan_view
from signoffs.decision import plan_decision
from truststream.forms import apply_validation_error


def _page(request: HttpRequest, plan, *, form=None, status: int = 200) -> HttpResponse:
    return render(
        request,
        "gates/deploy_gates.html",
        {
            "plan": plan,
            "tab": "gates",
            "form": form or MappingForm(),
            "mappings": selectors.plan_mappings(plan),
            "deployments": selectors.plan_deployments(plan),
            "decision": plan_decision(plan),
            "github_hook": settings.SITE_URL + reverse("gates:github_hook"),
            "gitlab_hook": settings.SITE_URL + reverse("gates:gitlab_hook"),
            "github_ready": github.configured() and bool(settings.GITHUB_APP_ID),
            "gitlab_ready": gitlab.configured() and bool(settings.GITLAB_TOKEN),
            "retry_minutes": max(
                1, settings.CELERY_BEAT_SCHEDULE["gate-deployments-retry"]["schedule"] // 60
            ),
        },
        status=status,
    )


@plan_view(MANAGE)
def deploy_gates(request: HttpRequest, plan) -> HttpResponse:
    return _page(request, plan)


@plan_view(MANAGE, methods=("POST",))
def mapping_add(request: HttpRequest, plan) -> HttpResponse:
    form = MappingForm(request.POST)
    if form.is_valid():
        try:
            mapping = services.mapping_add(plan=plan, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"{mapping} now waits for this plan's decision.")
            return redirect("gates:deploy_gates", plan.pk)
    return _page(request, plan, form=form, status=400)


@plan_view(MANAGE, methods=("POST",))
def mapping_remove(request: HttpRequest, plan, mapping_id: int) -> HttpResponse:
    mapping = get_part(plan, GateMapping.objects.all(), mapping_id)
    services.mapping_remove(mapping=mapping)
    messages.success(request, f"{mapping} no longer waits for this plan.")
    return redirect("gates:deploy_gates", plan.pk)


# Webhooks


def _problem(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def _body(request: HttpRequest) -> bytes | None:
    length = request.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > settings.GATE_WEBHOOK_MAX_BYTES:
        return None
    body = request.body
    return body if len(body) <= settings.GATE_WEBHOOK_MAX_BYTES else None


def _json(body: bytes) -> dict | None:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


@csrf_exempt
@require_POST
def github_hook(request: HttpRequest) -> HttpResponse:
    """GitHub App webhook: `deployment_protection_rule` deliveries (and `ping`)."""
    if not github.configured():
        return _problem(404, "GitHub deploy gates are not configured on this instance.")
    body = _body(request)
    if body is None:
        return _problem(413, "The delivery is too large.")
    if not github.signature_valid(body, request.headers.get("X-Hub-Signature-256", "")):
        return _problem(401, "The X-Hub-Signature-256 signature does not match.")
    event = request.headers.get("X-GitHub-Event", "")
    delivery = request.headers.get("X-GitHub-Delivery", "").strip()
    if not delivery or len(delivery) > 100:
        return _problem(400, "The X-GitHub-Delivery header is missing.")
    if event == "ping":
        return JsonResponse({"detail": "pong"})
    payload = _json(body)
    if payload is None:
        return _problem(400, "The body is not a JSON object.")
    if event != github.EVENT or payload.get("action") != "requested":
        return JsonResponse({"detail": f"Ignored: {event or 'no'} event."}, status=202)
    try:
        deployment, created = services.github_delivery_receive(
            delivery_id=delivery, payload=payload
        )
    except ValueError as error:
        return _problem(400, str(error))
    return JsonResponse(
        {"delivery": delivery, "queued": created, "gated_by_plan": deployment.plan_id},
        status=202,
    )


@csrf_exempt
@require_POST
def gitlab_hook(request: HttpRequest) -> HttpResponse:
    """GitLab webhook for deployment events."""
    if not gitlab.configured():
        return _problem(404, "GitLab deploy gates are not configured on this instance.")
    if not gitlab.token_valid(request.headers.get("X-Gitlab-Token", "")):
        return _problem(401, "The X-Gitlab-Token does not match.")
    body = _body(request)
    if body is None:
        return _problem(413, "The event is too large.")
    payload = _json(body)
    if payload is None:
        return _problem(400, "The body is not a JSON object.")
    if request.headers.get("X-Gitlab-Event", "") != gitlab.EVENT:
        return JsonResponse({"detail": "Ignored: not a deployment event."}, status=202)
    try:
        deployment, created = services.gitlab_event_receive(payload=payload)
    except ValueError as error:
        return _problem(400, str(error))
    return JsonResponse(
        {
            "deployment": deployment.delivery_id if deployment else None,
            "queued": created,
            "gated_by_plan": deployment.plan_id if deployment else None,
        },
        status=202,
    )
