"""The plan of the next environment, made from the previous environment's plan."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from planning import selectors
from planning.access import sync_permissions
from planning.models import (
    DeploymentPlan,
    Phase,
    PlanMembership,
    PlanningDocument,
    RequirementSpec,
    SupportContact,
    Task,
)
from planning.services._common import Role
from planning.services.locks import _lock_plan
from planning.signals import plan_carried_forward, plan_created


class NoNextEnvironment(ValidationError):
    """The plan cannot lead to a next environment's plan (production, archived, or one in
    play already); the message says which."""


@transaction.atomic
def plan_create_next(
    *,
    plan: DeploymentPlan,
    user,
    week1_start: datetime.date,
    target_go_live: datetime.date | None = None,
) -> DeploymentPlan:
    """Make the plan of the next environment (development, then staging, then production)
    from `plan`, in one transaction; the caller has checked that `user` may change `plan`.

    The new plan gets `plan`'s four weeks re-dated from `week1_start` (every task to do
    again), its requirement templates, documents register and support contacts, and its
    members with their roles, `user` as an owner. Its checklists and approval roles come from
    `plan_created`, as any plan's do; then `plan_carried_forward` lets the apps above carry
    forward what they own (checklist evidence, to be confirmed). Approvals, role-holders,
    readiness scores, packets, comments and invitations are not carried. `target_go_live`
    defaults to the same distance from week 1 as `plan`'s.

    Raises `NoNextEnvironment` for a production plan, an archived one, or one whose next plan
    is still in play (neither archived nor cancelled).
    """
    # The previous plan's lock serialises two people planning its next environment at once,
    # so that only one of them makes it; nothing of the previous plan changes.
    previous = _lock_plan(plan)
    refusal = selectors.next_environment_refusal(previous)
    if refusal:
        raise NoNextEnvironment(refusal)
    environment = previous.next_environment
    shift = week1_start - previous.week1_start
    new = DeploymentPlan(
        playbook_id=previous.playbook_id,  # the same revision: the checklists pair item by item
        previous_plan=previous,
        signoff_threshold=previous.signoff_threshold,
        title=previous.title,
        release_version=previous.release_version,
        environment=environment,
        week1_start=week1_start,
        target_go_live=target_go_live or previous.target_go_live + shift,
        description=previous.description,
        created_by=user,
    )
    new.full_clean()
    new.save()
    members = _copy_members(previous, new, user)
    _copy_weeks(previous, new, shift, members)
    _copy_register(previous, new, members)
    plan_created.send(sender=DeploymentPlan, plan=new)
    plan_carried_forward.send(sender=DeploymentPlan, plan=new, previous=previous)
    return new


def _copy_members(previous: DeploymentPlan, new: DeploymentPlan, user) -> set[int]:
    """The previous plan's active members join with their roles, and `user` as an owner;
    the ids of the new plan's members."""
    roles = {
        membership.user: membership.role
        for membership in previous.memberships.select_related("user").filter(user__is_active=True)
    }
    roles[user] = Role.OWNER
    for member, role in roles.items():
        PlanMembership.objects.create(plan=new, user=member, role=role, added_by=user)
        sync_permissions(plan=new, user=member, role=role)
    return {member.pk for member in roles}


def _copy_weeks(
    previous: DeploymentPlan, new: DeploymentPlan, shift: datetime.timedelta, members: set[int]
) -> None:
    """The four weeks, moved by `shift`, each task to do again with its assignee and notes."""
    phases = {}
    for phase in previous.phases.order_by("number"):
        phases[phase.pk] = Phase.objects.create(
            plan=new,
            number=phase.number,
            title=phase.title,
            starts_on=phase.starts_on + shift,
            ends_on=phase.ends_on + shift,
        )
    Task.objects.bulk_create(
        Task(
            plan=new,
            phase=phases[task.phase_id],
            group=task.group,
            title=task.title,
            position=task.position,
            assignee_id=task.assignee_id if task.assignee_id in members else None,
            due_on=task.due_on + shift,
            notes=task.notes,
        )
        for task in previous.tasks.order_by("phase__number", "position", "id")
    )


def _copy_register(previous: DeploymentPlan, new: DeploymentPlan, members: set[int]) -> None:
    """Requirement templates, documents register and support contacts, as they are. A document
    for one environment is in scope in that environment's plan only."""
    RequirementSpec.objects.bulk_create(
        RequirementSpec(
            plan=new,
            kind=spec.kind,
            title=spec.title,
            definition=spec.definition,
            values=spec.values,
        )
        for spec in previous.requirements.order_by("id")
    )
    scoped = {
        document["key"]: document.get("environment")
        for document in previous.playbook.definition["documents"]
    }
    documents = []
    for document in previous.documents.order_by("position"):
        status = document.status
        environment = scoped.get(document.key)
        if environment not in (None, new.environment):
            status = PlanningDocument.Status.NOT_APPLICABLE
        elif environment == new.environment and status == PlanningDocument.Status.NOT_APPLICABLE:
            status = PlanningDocument.Status.NOT_STARTED
        documents.append(
            PlanningDocument(
                plan=new,
                key=document.key,
                title=document.title,
                category=document.category,
                description=document.description,
                position=document.position,
                status=status,
                owner_id=document.owner_id if document.owner_id in members else None,
                link=document.link,
                notes=document.notes,
            )
        )
    PlanningDocument.objects.bulk_create(documents)
    SupportContact.objects.bulk_create(
        SupportContact(
            plan=new,
            topic=contact.topic,
            name=contact.name,
            email=contact.email,
            position=contact.position,
        )
        for contact in previous.support_contacts.order_by("position", "id")
    )
