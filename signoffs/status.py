"""The plan's status, and the transitions between statuses.

    draft → in progress → awaiting sign-off → signed off → deployed
    (any but deployed) → cancelled; awaiting sign-off → in progress

"Signed off" is reached and left by itself: `status_sync` moves the plan there when every
required role holds a current approval, and back to "awaiting sign-off" as soon as one does
not (a signature went stale, or a rejection came in). Currency is decided by digests.
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from checklists.selectors import readiness
from planning import live
from planning.models import DeploymentPlan
from planning.services import plan_lock_writable
from signoffs.policies import signoff_state
from signoffs.signals import plan_status_changed, send_on_commit

Status = DeploymentPlan.Status

# Transitions people ask for: from → {to: who may}
MANUAL = {
    Status.DRAFT: {Status.IN_PROGRESS: "change", Status.CANCELLED: "manage"},
    Status.IN_PROGRESS: {Status.AWAITING_SIGNOFF: "manage", Status.CANCELLED: "manage"},
    Status.AWAITING_SIGNOFF: {Status.IN_PROGRESS: "manage", Status.CANCELLED: "manage"},
    Status.SIGNED_OFF: {Status.DEPLOYED: "manage", Status.CANCELLED: "manage"},
    Status.DEPLOYED: {},
    Status.CANCELLED: {},
}


def awaiting_signoff_problems(plan: DeploymentPlan) -> list[str]:
    """Why the plan may not await sign-off yet (empty: it may)."""
    problems = []
    state = signoff_state(plan)
    unassigned = [
        r.requirement.title
        for r in state.required
        if r.requirement.assignee_id is None and r.requirement.team_id is None
    ]
    if unassigned:
        problems.append(f"Assign every required role: {', '.join(unassigned)}.")
    result = readiness(plan)
    if result.total < plan.signoff_threshold:
        problems.append(
            f"The readiness score is {result.total:g}; this plan needs {plan.signoff_threshold}."
        )
    if result.blockers:
        problems.append(f"{len(result.blockers)} critical checklist items block readiness.")
    return problems


def actor_may(plan: DeploymentPlan) -> set[str]:
    """What the requesting user may do to the plan's status, as `plan_transition` takes it:
    "change" (an editor or owner) and "manage" (an owner). Read from the permissions that
    `planning.access` loaded onto the plan. Nobody moves an archived plan."""
    if plan.is_archived:
        return set()
    may = set()
    if plan.editable:
        may.add("change")
    if plan.manageable:
        may.add("manage")
    return may


def transitions_for(plan: DeploymentPlan) -> list[str]:
    """The statuses the requesting user may move the plan to by hand now."""
    may = actor_may(plan)
    return [to for to, needed in MANUAL.get(plan.status, {}).items() if needed in may]


@transaction.atomic
def plan_transition(*, plan: DeploymentPlan, to: str, actor_can: set[str]) -> DeploymentPlan:
    """Move the plan by hand; `actor_can` is what the actor may ("change", "manage")."""
    plan = plan_lock_writable(plan)
    needed = MANUAL.get(plan.status, {}).get(to)
    if needed is None:
        target = Status(to).label.lower() if to in Status.values else "that"
        raise ValidationError(
            f"A plan that is {plan.get_status_display().lower()} cannot become {target}."
        )
    if needed not in actor_can:
        raise ValidationError("Only a plan owner can make this change.")
    if to == Status.AWAITING_SIGNOFF:
        problems = awaiting_signoff_problems(plan)
        if problems:
            raise ValidationError(problems)
    DeploymentPlan.objects.filter(pk=plan.pk).update(status=to)
    send_on_commit(plan_status_changed, DeploymentPlan, plan_id=plan.pk, old=plan.status, new=to)
    plan.status = to
    return status_sync(plan=plan)


@transaction.atomic
def status_sync(*, plan: DeploymentPlan) -> DeploymentPlan:
    """Enter or leave "signed off" as the signatures say, comparing digests."""
    plan = DeploymentPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status not in (Status.AWAITING_SIGNOFF, Status.SIGNED_OFF):
        return plan
    target = Status.SIGNED_OFF if signoff_state(plan).signed_off else Status.AWAITING_SIGNOFF
    if target != plan.status:
        # Compare-and-set: only from the status this decision was made on.
        if DeploymentPlan.objects.filter(pk=plan.pk, status=plan.status).update(status=target):
            send_on_commit(
                plan_status_changed, DeploymentPlan, plan_id=plan.pk, old=plan.status, new=target
            )
        plan.status = target
        live.bump_on_commit(plan.pk)
    return plan
