"""Plans: creating one from its playbook, changing its header, archiving and restoring it."""

import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from planning import live, requirements
from planning.access import sync_permissions
from planning.models import (
    DeploymentPlan,
    Phase,
    PlanMembership,
    PlanningDocument,
    Playbook,
    RequirementSpec,
    SupportContact,
    Task,
)
from planning.services._common import Role, _only
from planning.services.locks import plan_lock_writable
from planning.signals import plan_archived, plan_created


def _document_status(document: dict, environment: str) -> str:
    """Which register entries a new plan starts with in scope."""
    if document["category"] == "advanced":
        return PlanningDocument.Status.NOT_APPLICABLE
    if document.get("environment") not in (None, environment):
        return PlanningDocument.Status.NOT_APPLICABLE
    return PlanningDocument.Status.NOT_STARTED


def _copy_playbook(plan: DeploymentPlan) -> None:
    """Give a new plan its own copy of its playbook; later playbook changes never reach it."""
    definition = plan.playbook.definition
    items = []
    for phase_definition in definition["phases"]:
        starts_on = plan.week1_start + datetime.timedelta(weeks=phase_definition["week"] - 1)
        phase = Phase.objects.create(
            plan=plan,
            number=phase_definition["number"],
            title=phase_definition["title"],
            starts_on=starts_on,
            ends_on=starts_on + datetime.timedelta(days=6),
        )
        for group in phase_definition["groups"]:
            items.extend(
                Task(
                    plan=plan,
                    phase=phase,
                    group=group["title"],
                    title=title,
                    position=len(items) + 1,
                    due_on=phase.ends_on,
                )
                for title in group["tasks"]
            )
    Task.objects.bulk_create(items)
    PlanningDocument.objects.bulk_create(
        PlanningDocument(
            plan=plan,
            key=document["key"],
            title=document["title"],
            category=document["category"],
            description=document.get("description", ""),
            position=position,
            status=_document_status(document, plan.environment),
        )
        for position, document in enumerate(definition["documents"], start=1)
    )
    RequirementSpec.objects.bulk_create(
        RequirementSpec(
            plan=plan,
            kind=template["kind"],
            title=template["title"],
            definition={"sections": template["sections"]},
            values=requirements.defaults(template),
        )
        for template in definition["requirements"]
    )
    SupportContact.objects.bulk_create(
        SupportContact(plan=plan, position=position, **contact)
        for position, contact in enumerate(definition["support_contacts"], start=1)
    )


@transaction.atomic
def plan_create(
    *,
    user,
    playbook: Playbook,
    title: str,
    release_version: str,
    environment: str,
    week1_start: datetime.date,
    target_go_live: datetime.date,
    description: str = "",
    signoff_threshold: int = 80,
) -> DeploymentPlan:
    """Create a plan; its creator becomes its first owner."""
    plan = DeploymentPlan(
        playbook=playbook,
        signoff_threshold=signoff_threshold,
        title=title,
        release_version=release_version,
        environment=environment,
        week1_start=week1_start,
        target_go_live=target_go_live,
        description=description,
        created_by=user,
    )
    plan.full_clean()
    plan.save()
    PlanMembership.objects.create(plan=plan, user=user, role=Role.OWNER, added_by=user)
    sync_permissions(plan=plan, user=user, role=Role.OWNER)
    _copy_playbook(plan)
    # Checklists and later parts come from apps above this one (imports flow one way).
    plan_created.send(sender=DeploymentPlan, plan=plan)
    return plan


PLAN_EDITABLE_FIELDS = (
    "signoff_threshold",
    "title",
    "release_version",
    "environment",
    "week1_start",
    "target_go_live",
    "description",
)


@transaction.atomic
def plan_update(*, plan: DeploymentPlan, **changes) -> DeploymentPlan:
    """Change the plan's header fields. An archived plan is read-only until restored."""
    _only(changes, PLAN_EDITABLE_FIELDS)
    plan = plan_lock_writable(plan)
    shift = changes.get("week1_start", plan.week1_start) - plan.week1_start
    for field, value in changes.items():
        setattr(plan, field, value)
    plan.full_clean()
    plan.save()
    if shift:
        # The four weeks move with week 1, and the tasks' due dates with them.
        plan.phases.update(starts_on=F("starts_on") + shift, ends_on=F("ends_on") + shift)
        plan.tasks.update(due_on=F("due_on") + shift)
    return plan


@transaction.atomic
def plan_archive(*, plan: DeploymentPlan) -> DeploymentPlan:
    # Compare-and-set: archiving twice (two tabs, a double click) changes nothing the second time.
    DeploymentPlan.objects.filter(pk=plan.pk, archived_at__isnull=True).update(
        archived_at=timezone.now(), updated_at=timezone.now()
    )
    live.bump_on_commit(plan.pk)
    plan_id = plan.pk
    transaction.on_commit(lambda: plan_archived.send_robust(sender=DeploymentPlan, plan_id=plan_id))
    return DeploymentPlan.objects.get(pk=plan.pk)


@transaction.atomic
def plan_restore(*, plan: DeploymentPlan) -> DeploymentPlan:
    DeploymentPlan.objects.filter(pk=plan.pk, archived_at__isnull=False).update(
        archived_at=None, updated_at=timezone.now()
    )
    live.bump_on_commit(plan.pk)
    return DeploymentPlan.objects.get(pk=plan.pk)
