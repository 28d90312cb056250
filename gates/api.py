"""The JSON API, version 1: every app's operations under one NinjaAPI, mounted at /api/v1/
(OpenAPI at /api/v1/openapi.json), and the gates' own: the plan's gate decision and its
webhook deliveries. It lives in the top app because it names every app below."""

import datetime
import uuid
from typing import Literal

from ninja import NinjaAPI, Query, Router, Schema, Status
from pydantic import Field

from checklists.api import router as checklists_router
from gates import services, webhook_selectors, webhook_services
from gates.models import GateDecision, WebhookDelivery, WebhookEventType
from planning.access import MANAGE, VIEW, get_part, get_plan_for_user
from planning.api import router as planning_router
from signoffs.api import router as signoffs_router
from signoffs.decision import plan_decision
from truststream.api import (
    ERRORS,
    InvalidOut,
    PathId,
    Text,
    TokenAuth,
    install_error_handlers,
)

api = NinjaAPI(
    title="TrustStram Readiness API",
    version="1",
    description="Plans, tasks, checklists, readiness, sign-offs, packets, the deploy gate and "
    "webhook deliveries, for CI pipelines. Authenticate with a personal token from your "
    "account page: `Authorization: Bearer <token>`. A token acts with its owner's "
    "permissions: a plan its owner cannot see is 404, a change they may not make 403.",
    urls_namespace="api-v1",
    auth=TokenAuth(),
    docs_url=None,  # the interactive docs load their assets from a CDN; the schema is enough
)
install_error_handlers(api)

router = Router(tags=["gate and webhooks"])

Event = Literal[tuple(WebhookEventType.values)]


class GatePlanOut(Schema):
    id: int
    title: str
    release_version: str
    status: str


class GateBandOut(Schema):
    key: str
    title: str


class GateOut(Schema):
    plan: GatePlanOut
    decision: Literal["go", "no-go"]
    reasons: list[str] = Field(description="Why, the most decisive reason first")
    score: float = Field(description="The weighted readiness total, 0 to 100")
    threshold: int = Field(description="The readiness the gate needs")
    band: GateBandOut
    blockers: list[str] = Field(description="Critical checklist items that block readiness")
    missing_roles: list[str] = Field(description="Roles whose approval is missing or rejected")
    stale_roles: list[str] = Field(description="Roles whose signature a later change made stale")
    plan_digest: str = Field(description="The SHA-256 of the plan's canonical snapshot now")
    packet_sha256: str | None = Field(description="The newest final packet's SHA-256")
    url: str = Field(description="The plan's page")


class GateQuery(Schema):
    deployment: Text = Field(
        "",
        max_length=300,
        description="What is being deployed, recorded with the decision in the audit trail "
        "(for example `shop@4f2a9c1 → production, run 812`)",
    )


class DeliveryOut(Schema):
    id: int
    event_id: uuid.UUID = Field(description="The body's id; the same in a redelivery")
    event: Event
    url: str = Field(description="The webhook's URL")
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    response_code: int | None
    response_ms: int | None = Field(description="How long the last attempt took")
    error: str
    redelivery_of: int | None
    created_at: datetime.datetime
    attempted_at: datetime.datetime | None


class DeliveryFilters(Schema):
    status: Literal["pending", "delivered", "failed"] | None = None
    limit: int = Field(50, ge=1, le=200)


def _delivery_out(delivery: WebhookDelivery) -> dict:
    return {
        "id": delivery.pk,
        "event_id": delivery.event_id,
        "event": delivery.event,
        "url": delivery.webhook.url,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "response_code": delivery.response_code,
        "response_ms": delivery.response_ms,
        "error": delivery.error,
        "redelivery_of": delivery.redelivery_of_id,
        "created_at": delivery.created_at,
        "attempted_at": delivery.attempted_at,
    }


@router.get("/plans/{plan_id}/gate", response={200: GateOut, **ERRORS})
def gate(request, plan_id: PathId, query: Query[GateQuery]):
    """May a deployment of the plan go ahead now? 200 whatever the answer, so that a pipeline
    tests the body: `jq -e '.decision == "go"'`, or Argo Rollouts' web metric
    `result.decision == "go"`. Anyone who may see the plan may ask; each answer is recorded
    in the audit trail with who asked and the `deployment` they named."""
    plan = get_plan_for_user(request.user, plan_id, VIEW)
    decision = plan_decision(plan)
    services.decision_record(
        decision=decision,
        integration=GateDecision.Integration.API,
        asked_by=request.user,
        label=query.deployment.strip(),
    )
    return decision.as_json()


@router.get("/plans/{plan_id}/webhooks/deliveries", response={200: list[DeliveryOut], **ERRORS})
def list_deliveries(request, plan_id: PathId, filters: Query[DeliveryFilters]):
    """The plan's webhook deliveries, newest first (owners, who manage the webhooks)."""
    plan = get_plan_for_user(request.user, plan_id, MANAGE)
    rows = webhook_selectors.deliveries(plan)
    if filters.status:
        rows = rows.filter(status=filters.status)
    return [_delivery_out(delivery) for delivery in rows[: filters.limit]]


@router.post(
    "/plans/{plan_id}/webhooks/deliveries/{delivery_id}/redeliver",
    response={202: DeliveryOut, 400: InvalidOut, **ERRORS},
)
def redeliver(request, plan_id: PathId, delivery_id: PathId):
    """Send a delivery's body again, as a new delivery with the same event id (owners)."""
    plan = get_plan_for_user(request.user, plan_id, MANAGE)
    delivery = get_part(plan, WebhookDelivery.objects.select_related("plan"), delivery_id)
    again = webhook_services.delivery_redeliver(delivery=delivery, actor=request.user)
    again = WebhookDelivery.objects.select_related("webhook").get(pk=again.pk)
    return Status(202, _delivery_out(again))


api.add_router("", planning_router)
api.add_router("", checklists_router)
api.add_router("", signoffs_router)
api.add_router("", router)
