"""Reads of the gates: a plan's mappings and the deployments waiting on it with their tries."""

from django.db.models import Prefetch

from gates.models import GateAttempt, GateDeployment, GateMapping
from planning.models import DeploymentPlan


def plan_mappings(plan: DeploymentPlan) -> list[GateMapping]:
    return list(plan.gate_mappings.order_by("provider", "repository", "environment"))


def plan_deployments(plan: DeploymentPlan, limit: int = 50) -> list[GateDeployment]:
    """The plan's latest gated deployments, each with its tries in order. Two queries."""
    return list(
        plan.gate_deployments.prefetch_related(
            Prefetch("attempts", queryset=GateAttempt.objects.order_by("started_at", "id"))
        ).order_by("-received_at", "-id")[:limit]
    )


def mapping_for(provider: str, repository: str, environment: str) -> GateMapping | None:
    """The mapping that decides a deployment (repositories compare without case)."""
    return (
        GateMapping.objects.select_related("plan")
        .filter(provider=provider, repository__iexact=repository, environment=environment)
        .first()
    )


def open_deployment_ids(plan_id: int) -> list[int]:
    return list(
        GateDeployment.objects.filter(plan_id=plan_id, state__in=GateDeployment.OPEN)
        .order_by("received_at", "id")
        .values_list("pk", flat=True)
    )
