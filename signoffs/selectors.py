"""The reads of sign-offs across plans and over time: what waits for a user on My work, the
roles each plan of a list still misses, a plan's signature history and its moments of
sign-off for the score history. A role's state as the plan stands is `policies.py`'s, a
packet's data `packet_selectors.py`'s. Nothing here writes or queues a task."""

from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from checklists.charts import Moment
from checklists.history import total_history
from checklists.models import ChecklistItem
from planning.models import DeploymentPlan
from planning.selectors import active_plan_ids, status_entered
from signoffs.models import Signoff, SignoffRequirement
from signoffs.policies import (
    DOCUMENTATION_DONE,
    approval_expired,
    quorum_progress,
    signature_counts,
    team_members,
)


def _waiting(requirement: SignoffRequirement, user, now) -> str | None:
    if requirement.team_id is None:
        if not signature_counts(
            signer_id=requirement.latest_signer_id,
            holder_id=user.pk,
            on_behalf_of_id=requirement.latest_on_behalf_of_id,
        ):
            return "missing"
        decision = requirement.latest_decision
        signed_at, stale_at = requirement.latest_signed_at, requirement.latest_stale_at
    else:
        if requirement.plan.status != DeploymentPlan.Status.AWAITING_SIGNOFF:
            return None  # the quorum stands without them
        if requirement.mine_decision is None:
            return "missing"
        decision = requirement.mine_decision
        signed_at, stale_at = requirement.mine_signed_at, requirement.mine_stale_at
    if stale_at is not None:
        return "stale"
    if decision == Signoff.Decision.APPROVE and approval_expired(
        signed_at, requirement.approval_days, now
    ):
        return "expired"
    return None


def signoffs_waiting_for(user) -> list[SignoffRequirement]:
    """The required approval roles the user holds, alone or through a team, on plans awaiting
    sign-off or signed off that wait for their decision, each with `waiting` set to
    "missing", "stale" or "expired".

    A person's role waits when nobody has signed it, when its latest signature does not count
    (a previous holder's: `signature_counts`), or when the worker has found the signature
    stale (`stale_notified_at`), which it does after every change. A team's role waits for
    each member without a standing approval of their own while the plan awaits sign-off. A
    current rejection is a decision and does not wait. No digests, as in `missing_signoffs`,
    so that it costs one query whatever the number of plans; the sign page compares digests.
    """
    latest = Signoff.objects.filter(requirement=OuterRef("pk")).order_by("-signed_at", "-id")
    mine = latest.filter(signer=user)
    requirements = (
        SignoffRequirement.objects.filter(
            Q(assignee=user) | Q(team__memberships__user=user),
            required=True,
            plan_id__in=active_plan_ids(user),
            plan__status__in=[
                DeploymentPlan.Status.AWAITING_SIGNOFF,
                DeploymentPlan.Status.SIGNED_OFF,
            ],
        )
        .select_related("plan")
        .annotate(
            latest_signer_id=Subquery(latest.values("signer_id")[:1]),
            latest_on_behalf_of_id=Subquery(latest.values("on_behalf_of_id")[:1]),
            latest_decision=Subquery(latest.values("decision")[:1]),
            latest_signed_at=Subquery(latest.values("signed_at")[:1]),
            latest_stale_at=Subquery(latest.values("stale_notified_at")[:1]),
            mine_decision=Subquery(mine.values("decision")[:1]),
            mine_signed_at=Subquery(mine.values("signed_at")[:1]),
            mine_stale_at=Subquery(mine.values("stale_notified_at")[:1]),
        )
        .order_by("plan__title", "plan_id", "position")
    )
    now = timezone.now()
    waiting = []
    for requirement in requirements:
        requirement.waiting = _waiting(requirement, user, now)
        if requirement.waiting is not None:
            waiting.append(requirement)
    return waiting


def missing_signoffs(plan_ids: list[int]) -> dict[int, list[str]]:
    """For a page of plans: the required roles of each without a standing approval, and the
    documentation sign-off while any of its items is open. Three queries for the page (four
    when a team holds a role), so no digests: an approval counts as gone once the worker has
    found it stale (`stale_notified_at`), which it does after every change. The plan's own
    pages compare digests."""
    by_role: dict[int, list[Signoff]] = {}
    for signoff in (
        Signoff.objects.filter(plan_id__in=plan_ids)
        .order_by("requirement_id", "signer_id", "-signed_at", "-id")
        .distinct("requirement_id", "signer_id")
    ):
        by_role.setdefault(signoff.requirement_id, []).append(signoff)
    missing: dict[int, list[str]] = {pk: [] for pk in plan_ids}
    requirements = list(
        SignoffRequirement.objects.filter(plan_id__in=plan_ids).order_by("plan_id", "position")
    )
    members = team_members({r.team_id for r in requirements if r.team_id is not None})
    holders: dict[int, set[int]] = {}
    for requirement in requirements:
        if requirement.assignee_id is not None:
            holders.setdefault(requirement.plan_id, set()).add(requirement.assignee_id)
    now = timezone.now()
    for requirement in requirements:
        if not requirement.required:
            continue
        signatures = sorted(
            by_role.get(requirement.pk, []), key=lambda s: (s.signed_at, s.pk), reverse=True
        )
        if requirement.team_id is not None:
            team = members.get(requirement.team_id, frozenset())
            others = holders.get(requirement.plan_id, set())
            standing = [
                s
                for s in signatures
                if s.signer_id in team
                and s.signer_id not in others
                and s.decision == Signoff.Decision.APPROVE
                and s.stale_notified_at is None
                and not approval_expired(s.signed_at, requirement.approval_days, now)
            ]
            if len(standing) < requirement.quorum:
                missing[requirement.plan_id].append(
                    quorum_progress(len(standing), requirement.quorum, title=requirement.title)
                )
            continue
        signoff = signatures[0] if signatures else None
        if signoff is None or signoff.decision != Signoff.Decision.APPROVE:
            missing[requirement.plan_id].append(requirement.title)
        elif not signature_counts(
            signer_id=signoff.signer_id,
            holder_id=requirement.assignee_id,
            on_behalf_of_id=signoff.on_behalf_of_id,
        ):
            missing[requirement.plan_id].append(f"{requirement.title} (needs a new signature)")
        elif signoff.stale_notified_at is not None:
            missing[requirement.plan_id].append(f"{requirement.title} (stale)")
        elif approval_expired(signoff.signed_at, requirement.approval_days, now):
            missing[requirement.plan_id].append(f"{requirement.title} (expired)")
    documentation_open = (
        ChecklistItem.objects.filter(plan_id__in=plan_ids, checklist__key="documentation")
        .exclude(state__in=DOCUMENTATION_DONE)
        # Without order_by(), the items' own ordering joins DISTINCT: one plan per open item.
        .order_by()
        .values_list("plan_id", flat=True)
        .distinct()
    )
    for plan_id in documentation_open:
        missing[plan_id].append("Documentation sign-off")
    return missing


def signoff_history(plan: DeploymentPlan, limit: int = 50) -> list[Signoff]:
    """The plan's latest signatures, each with `counts`: whether its signer still holds the
    role it was given for (a former holder's signature stays on record, but no longer counts;
    for a team's role, whether the signer is still one of its members)."""
    history = list(
        plan.signoffs.select_related("requirement").order_by("-signed_at", "-id")[:limit]
    )
    members = team_members(
        {s.requirement.team_id for s in history if s.requirement.team_id is not None}
    )
    for signoff in history:
        requirement = signoff.requirement
        if requirement.team_id is not None:
            signoff.counts = signoff.signer_id in members.get(requirement.team_id, frozenset())
        else:
            signoff.counts = signature_counts(
                signer_id=signoff.signer_id,
                holder_id=requirement.assignee_id,
                on_behalf_of_id=signoff.on_behalf_of_id,
            )
    return history


def signoff_moments(plan: DeploymentPlan) -> list[Moment]:
    """The moments of sign-off marked on the plan's score history, oldest first: each
    approval recorded (superseded ones too: they happened) and each time the plan entered
    "signed off" (from its audit trail, which dates an event at the start of its transaction:
    a plan signed off by an approval enters the state a moment before that approval's own
    time). Two queries."""
    approvals = [
        Moment(signed_at, "approval", f"{role} approved ({name})")
        for signed_at, role, name in plan.signoffs.filter(decision=Signoff.Decision.APPROVE)
        .order_by("signed_at", "id")
        .values_list("signed_at", "role_title", "printed_name")
    ]
    signed = [
        Moment(at, "signed_off", "Plan signed off")
        for at in status_entered(plan, DeploymentPlan.Status.SIGNED_OFF)
    ]
    return sorted(approvals + signed, key=lambda moment: moment.at)


def score_history(plan: DeploymentPlan) -> dict:
    """The plan's score history as its chart draws it: the weighted total's steps and the
    moments of sign-off, from the plan's creation on. Three queries."""
    return {
        "steps": total_history(plan),
        "moments": signoff_moments(plan),
        "bands": plan.playbook.definition["readiness"]["bands"],
        "start": plan.created_at,
    }
