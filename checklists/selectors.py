from django.db.models import Prefetch, QuerySet

from checklists import readiness as matrix
from checklists.models import (
    Checklist,
    ChecklistItem,
    EvidenceFile,
    EvidenceLink,
    ReadinessScore,
)
from planning.models import DeploymentPlan


def plan_checklists(plan: DeploymentPlan) -> list[Checklist]:
    """The plan's checklists with their items, evidence and who changed what.

    Four queries whatever the number of items.
    """
    items = ChecklistItem.objects.select_related("changed_by").prefetch_related(
        Prefetch("links", queryset=EvidenceLink.objects.order_by("added_at", "id")),
        Prefetch("files", queryset=EvidenceFile.objects.select_related("added_by").order_by("id")),
    )
    checklists = list(
        plan.checklists.order_by("position").prefetch_related(
            Prefetch("items", queryset=items.order_by("position"))
        )
    )
    for checklist in checklists:
        checklist.item_list = list(checklist.items.all())
        for item in checklist.item_list:
            item.plan = plan
        applicable = [i for i in checklist.item_list if i.state != "not_applicable"]
        checklist.done = sum(i.state == "passed" for i in applicable)
        checklist.total = len(applicable)
        checklist.failed = sum(i.state == "failed" for i in applicable)
        checklist.percent = round(100 * checklist.done / checklist.total) if applicable else 100
    return checklists


def current_scores(plan: DeploymentPlan) -> dict[str, ReadinessScore]:
    latest = (
        plan.readiness_scores.select_related("scored_by")
        .order_by("category", "-scored_at", "-id")
        .distinct("category")
    )
    return {score.category: score for score in latest}


def readiness(plan: DeploymentPlan) -> matrix.Readiness:
    """The plan's readiness matrix. Two queries whatever the number of items."""
    items = ChecklistItem.objects.filter(plan=plan).select_related("checklist")
    return matrix.compute(
        plan.playbook.definition["readiness"],
        list(items.order_by("checklist__position", "position")),
        current_scores(plan),
    )


def score_history(plan: DeploymentPlan, limit: int = 50) -> QuerySet[ReadinessScore]:
    return plan.readiness_scores.select_related("scored_by").order_by("-scored_at", "-id")[:limit]
