"""Reads of approval roles, signatures and packets. Nothing here writes or queues a task:
the services and the periodic sweep keep the stored status right, and every page compares
digests itself."""

import datetime
import hashlib
from dataclasses import dataclass, field

from django.core.files import File
from django.core.files.storage import default_storage
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from checklists.charts import Moment
from checklists.history import total_history
from checklists.models import ChecklistItem
from checklists.selectors import plan_checklists, readiness
from planning import fieldtypes, reads, requirements
from planning.models import DeploymentPlan
from planning.selectors import (
    active_plan_ids,
    document_rows,
    plan_members,
    requirement_specs,
    status_entered,
)
from signoffs import packets, pdfsign, snapshot
from signoffs.models import Delegation, ReadinessPacket, Signoff, SignoffRequirement
from truststream.audit import current_marks, plan_events_feed
from truststream.models import AuditSeal, TeamMembership


def signature_counts(
    *, signer_id: int | None, holder_id: int | None, on_behalf_of_id: int | None = None
) -> bool:
    """The one rule of separation of duties: a signature counts as its role's decision only
    while its signer holds that role, or signed as the deputy of the person who holds it now.
    With one role per person on a plan (a database constraint), nobody counts for two roles; a
    signature given by a former holder stays on record but waits for the present holder's own.

    Every place that says whether a person's role is approved (the sign-off page, the status
    machine, packets, the plan list, My work) asks this; a team's role asks whether the signer
    is one of its members (`RoleState.counting`)."""
    return holder_id is not None and holder_id in (signer_id, on_behalf_of_id)


# What the guide's documentation sign-off accepts of each of its items: confirmed, or marked
# not applicable (which, for these items, only an owner can do, with a reason).
DOCUMENTATION_DONE = {ChecklistItem.State.PASSED, ChecklistItem.State.NOT_APPLICABLE}
DOCUMENTATION_SECTION = "checklists.documentation"


def expires_at(signoff: Signoff, requirement: SignoffRequirement):
    """When an approval stops counting under the role's policy (None: it does not expire)."""
    if requirement.approval_days is None:
        return None
    return signoff.signed_at + datetime.timedelta(days=requirement.approval_days)


def policy_text(requirement: SignoffRequirement) -> str:
    """The role's approval policy, in words."""
    if requirement.team_id is not None:
        holder = f"Any {requirement.quorum} of {requirement.team.name}"
    else:
        holder = "One person"
    days = requirement.approval_days
    if days:
        return f"{holder}; approvals expire after {days} day{'s' if days != 1 else ''}"
    return holder


@dataclass
class RoleState:
    """One approval role as the plan stands: who holds it under its policy, the signatures
    given for it, and whether they approve it now.

    A person's role goes by its latest signature (`latest`), which counts only while its signer
    holds the role. A team's role goes by each current member's own latest signature
    (`signatures`): it is approved once `quorum` of them are current approvals, and one
    current rejection rejects it. Nobody counts for two roles of a plan: `excluded` are the
    people who hold or count for another role. An approval older than the policy's
    `approval_days` no longer counts.
    """

    requirement: SignoffRequirement
    latest: Signoff | None
    current_digest: str
    section_digests: dict[str, str]
    signatures: list[Signoff] = field(default_factory=list)
    members: frozenset[int] = frozenset()
    excluded: frozenset[int] = frozenset()
    now: datetime.datetime | None = None

    @property
    def is_team(self) -> bool:
        return self.requirement.team_id is not None

    @property
    def quorum(self) -> int:
        return self.requirement.quorum if self.is_team else 1

    def _expired(self, signoff: Signoff) -> bool:
        until = expires_at(signoff, self.requirement)
        return (
            until is not None
            and signoff.decision == Signoff.Decision.APPROVE
            and (until <= (self.now or timezone.now()))
        )

    def _current(self, signoff: Signoff) -> bool:
        return signoff.digest == self.current_digest and not self._expired(signoff)

    @property
    def counting(self) -> list[Signoff]:
        """The signatures that speak for the role now, current or not."""
        if not self.is_team:
            return [self.latest] if self.counts else []
        return [
            signoff
            for signoff in self.signatures
            if signoff.signer_id in self.members and signoff.signer_id not in self.excluded
        ]

    @property
    def approvals(self) -> list[Signoff]:
        """The current approvals that count towards the quorum."""
        return [
            signoff
            for signoff in self.counting
            if signoff.decision == Signoff.Decision.APPROVE and self._current(signoff)
        ]

    @property
    def counts(self) -> bool:
        """A person's role: the latest signature is the present holder's own."""
        return self.latest is not None and signature_counts(
            signer_id=self.latest.signer_id,
            holder_id=self.requirement.assignee_id,
            on_behalf_of_id=self.latest.on_behalf_of_id,
        )

    @property
    def is_current(self) -> bool:
        """Decided by comparing digests, never by a stored flag."""
        return self.counts and self._current(self.latest)

    @property
    def state(self) -> str:
        counting = self.counting
        if not counting:
            return "not_holder" if (self.latest or self.signatures) else "missing"
        if any(
            signoff.decision == Signoff.Decision.REJECT and self._current(signoff)
            for signoff in counting
        ):
            return "rejected"
        if len(self.approvals) >= self.quorum:
            return "approved"
        if any(signoff.digest != self.current_digest for signoff in counting):
            return "stale"
        if any(self._expired(signoff) for signoff in counting):
            return "expired"
        return "short"

    @property
    def stale_signoffs(self) -> list[Signoff]:
        """The signatures that went stale and would count again once renewed."""
        return [signoff for signoff in self.counting if signoff.digest != self.current_digest]

    @property
    def changed_sections(self) -> list[str]:
        """For a stale signature: the sections that changed since it was given."""
        if self.state != "stale":
            return []
        before = self.stale_signoffs[0].section_digests
        names = sorted(set(before) | set(self.section_digests))
        return [name for name in names if before.get(name) != self.section_digests.get(name)]

    @property
    def policy(self) -> str:
        return policy_text(self.requirement)

    @property
    def progress(self) -> str:
        """How far the role is from its quorum ("1 of 2 approvals"; past it, "5 approvals, 2
        needed")."""
        count = len(self.approvals)
        if count > self.quorum:
            return f"{count} approvals, {self.quorum} needed"
        return f"{count} of {self.quorum} approval{'s' if self.quorum != 1 else ''}"

    @property
    def label(self) -> str:
        if self.state == "not_holder":
            if self.is_team:
                return f"Needs approvals from current members of {self.requirement.team.name}"
            holder = self.requirement.assignee
            if holder is None:
                return "Needs a holder: the signer no longer holds the role"
            return f"Needs a new signature from {holder.get_full_name() or holder.email}"
        if self.state == "short":
            return f"{self.progress}: needs {self.quorum - len(self.approvals)} more"
        if self.state == "expired":
            days = self.requirement.approval_days
            expired = f"Expired: approvals count for {days} day{'s' if days != 1 else ''}"
            return f"{expired} ({self.progress})" if self.is_team else expired
        if self.state == "missing" and self.is_team:
            return f"Not signed: {self.progress}"
        if self.state == "approved" and self.is_team:
            return f"Approved ({self.progress})"
        return {
            "missing": "Not signed",
            "stale": "Stale: the plan changed since",
            "approved": "Approved",
            "rejected": "Rejected",
        }[self.state]


@dataclass
class SignoffState:
    """The two parts of the guide's approval process: the required approvals, and the
    documentation sign-off (its checklist's items, as the plan's snapshot has them)."""

    roles: list[RoleState]
    documentation: list[dict]

    @property
    def required(self) -> list[RoleState]:
        return [role for role in self.roles if role.requirement.required]

    @property
    def approvals_complete(self) -> bool:
        """Every required role has a current approval, and no role a current rejection."""
        return all(role.state == "approved" for role in self.required) and not any(
            role.state == "rejected" for role in self.roles
        )

    @property
    def documentation_open(self) -> list[dict]:
        return [item for item in self.documentation if item["state"] not in DOCUMENTATION_DONE]

    @property
    def documentation_complete(self) -> bool:
        return not self.documentation_open

    @property
    def signed_off(self) -> bool:
        return self.approvals_complete and self.documentation_complete

    @property
    def missing(self) -> list[RoleState]:
        return [role for role in self.required if role.state != "approved"]


def signoff_state(plan: DeploymentPlan, sections: dict | None = None) -> SignoffState:
    """Each role with its latest decision and whether that decision still counts and is
    current, and the documentation sign-off's items.

    `sections` is the plan's snapshot when the caller has just taken it. Once per request."""
    return reads.once(plan, "signoff_state", lambda: _signoff_state(plan, sections))


def _signoff_state(plan: DeploymentPlan, sections: dict | None) -> SignoffState:
    requirements = list(plan.roles.select_related("assignee", "team").order_by("position"))
    # Each signer's latest signature per role: a team's role counts them one by one, and the
    # newest of them is a person's role's latest.
    by_role: dict[int, list[Signoff]] = {}
    for signoff in (
        plan.signoffs.select_related("on_behalf_of")
        .order_by("requirement_id", "signer_id", "-signed_at", "-id")
        .distinct("requirement_id", "signer_id")
    ):
        by_role.setdefault(signoff.requirement_id, []).append(signoff)
    for signatures in by_role.values():
        signatures.sort(key=lambda signoff: (signoff.signed_at, signoff.pk), reverse=True)
    team_members = _team_members({r.team_id for r in requirements if r.team_id is not None})
    sections = sections if sections is not None else snapshot.sections(plan)
    digests = {name: snapshot.digest(data) for name, data in sections.items()}
    now = timezone.now()
    # One person counts for one role: a person's role keeps its holder, and a member of the
    # teams of several roles counts for the first of them (in the plan's order) they approve.
    counted = {r.assignee_id for r in requirements if r.assignee_id is not None}
    roles = []
    for requirement in requirements:
        covered = snapshot.covered(sections, requirement.covers)
        signatures = by_role.get(requirement.pk, [])
        role = RoleState(
            requirement,
            signatures[0] if signatures else None,
            snapshot.digest(covered),
            {name: digests[name] for name in covered},
            signatures=signatures,
            members=team_members.get(requirement.team_id, frozenset()),
            excluded=frozenset(counted),
            now=now,
        )
        if role.is_team:
            counted |= {signoff.signer_id for signoff in role.approvals}
        roles.append(role)
    return SignoffState(roles, list(sections.get(DOCUMENTATION_SECTION, [])))


def _team_members(team_ids: set[int]) -> dict[int, frozenset[int]]:
    """The present members of the teams that hold roles; no query when none does."""
    if not team_ids:
        return {}
    members: dict[int, set[int]] = {}
    pairs = TeamMembership.objects.filter(team_id__in=team_ids).values_list("team_id", "user_id")
    for team_id, user_id in pairs:
        members.setdefault(team_id, set()).add(user_id)
    return {team_id: frozenset(users) for team_id, users in members.items()}


def active_delegation(requirement: SignoffRequirement, deputy) -> Delegation | None:
    """The present holder's delegation of the role to `deputy` that covers today, if any."""
    if requirement.assignee_id is None:
        return None
    today = timezone.localdate()
    return (
        Delegation.objects.filter(
            requirement=requirement,
            holder_id=requirement.assignee_id,
            deputy=deputy,
            starts_on__lte=today,
            ends_on__gte=today,
            ended_at__isnull=True,
        )
        .select_related("holder")
        .first()
    )


def role_delegations(plan: DeploymentPlan) -> dict[int, list[Delegation]]:
    """The delegations of the plan's present holders that have not run out, by role."""
    delegations: dict[int, list[Delegation]] = {}
    for delegation in (
        Delegation.objects.filter(
            plan=plan,
            holder_id=F("requirement__assignee_id"),
            ends_on__gte=timezone.localdate(),
            ended_at__isnull=True,
        )
        .select_related("deputy")
        .order_by("starts_on", "pk")
    ):
        delegations.setdefault(delegation.requirement_id, []).append(delegation)
    return delegations


def signs_for(requirement: SignoffRequirement, user) -> bool:
    """Whether the user may open the role's sign page: its holder, their deputy today, or a
    member of its team."""
    if requirement.team_id is None:
        return requirement.assignee_id == user.pk or (
            active_delegation(requirement, user) is not None
        )
    return TeamMembership.objects.filter(team_id=requirement.team_id, user=user).exists()


def role_digest(requirement: SignoffRequirement) -> str:
    """The digest of what the role covers, as the plan is now."""
    return snapshot.digest(
        snapshot.covered(snapshot.sections(requirement.plan), requirement.covers)
    )


def plans_to_sweep() -> list[int]:
    """Plans whose signatures can still go stale: not archived, deployed or cancelled, with at
    least one signature."""
    return list(
        DeploymentPlan.objects.filter(archived_at__isnull=True, signoffs__isnull=False)
        .exclude(status__in=[DeploymentPlan.Status.DEPLOYED, DeploymentPlan.Status.CANCELLED])
        .values_list("pk", flat=True)
        .distinct()
        .order_by("pk")
    )


def _expired(signed_at, approval_days, now) -> bool:
    return approval_days is not None and signed_at + datetime.timedelta(days=approval_days) <= now


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
    if decision == Signoff.Decision.APPROVE and _expired(signed_at, requirement.approval_days, now):
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
    members = _team_members({r.team_id for r in requirements if r.team_id is not None})
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
                and not _expired(s.signed_at, requirement.approval_days, now)
            ]
            if len(standing) < requirement.quorum:
                missing[requirement.plan_id].append(
                    f"{requirement.title} ({len(standing)} of {requirement.quorum})"
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
        elif _expired(signoff.signed_at, requirement.approval_days, now):
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
    members = _team_members(
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


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def _name(user) -> str | None:
    return (user.get_full_name() or user.email) if user is not None else None


def packet_contents(plan: DeploymentPlan) -> dict:
    """Everything a packet shows, as plain data: the signed sections exactly as signatures
    bind to them (`snapshot.sections`), plus what a reader needs beside them (names, who
    changed what and when, the readiness decision, the sign-off manifest). Its
    `packets.revision_digest` names the plan's revision. A fixed number of queries."""
    sections = snapshot.sections(plan)
    state = signoff_state(plan, sections)
    sections = {name: data for name, data in sections.items() if name != "phases"}
    result = readiness(plan)
    checklists = plan_checklists(plan)
    members = plan_members(plan)
    return {
        "format": packets.FORMAT,
        "plan": {
            "id": plan.pk,
            "title": plan.title,
            "release_version": plan.release_version,
            "environment": plan.get_environment_display(),
            "week1_start": plan.week1_start.isoformat(),
            "target_go_live": plan.target_go_live.isoformat(),
            "status": plan.status,
            "status_label": plan.get_status_display(),
            "signoff_threshold": plan.signoff_threshold,
            "playbook": {
                "key": plan.playbook.key,
                "revision": plan.playbook.revision,
                "title": plan.playbook.name,
            },
        },
        "sections": sections,
        "people": {m.user.email: _name(m.user) for m in members},
        "members": [
            {"email": m.user.email, "name": _name(m.user), "role": m.get_role_display()}
            for m in members
        ],
        "readiness_definition": plan.playbook.definition["readiness"],
        "readiness": {
            "total": str(result.total),
            "band": result.band["title"],
            "band_key": result.band["key"],
            "score_band": result.score_band["title"],
            "complete": result.complete,
            "blockers": [item.text for item in result.blockers],
            "advice": [advice.text for advice in result.advice],
            "categories": [
                {
                    "key": c.key,
                    "title": c.title,
                    "weight": c.weight,
                    "score": c.score,
                    "suggested": c.suggested,
                    "weighted": str(c.weighted),
                    "rationale": c.rationale,
                    "scored_by": _name(c.scored_by),
                    "scored_at": _iso(c.scored_at),
                }
                for c in result.categories
            ],
        },
        "checklists": [
            {
                "key": checklist.key,
                "title": checklist.title,
                "done": checklist.done,
                "total": checklist.total,
                "items": [
                    {
                        "id": item.pk,
                        "text": item.text,
                        "critical": item.critical,
                        "state": item.get_state_display(),
                        "reason": item.na_reason,
                        "note": item.note,
                        "links": [link.url for link in item.links.all()],
                        "files": [
                            {"name": f.name, "sha256": f.sha256, "size": f.size}
                            for f in item.files.all()
                        ],
                        "changed_by": _name(item.changed_by),
                        "changed_at": _iso(item.changed_at),
                    }
                    for item in checklist.item_list
                ],
            }
            for checklist in checklists
        ],
        "requirements": [
            {
                "kind": spec.kind,
                "title": spec.title,
                "rows": [
                    [
                        section.replace("_", " ").capitalize(),
                        requirements.label(name, field),
                        fieldtypes.display(field, spec.values.get(section, {}).get(name)),
                    ]
                    for section, name, field in requirements.fields(spec.definition)
                ],
            }
            for spec in requirement_specs(plan)
        ],
        "documents": [
            {
                "title": d.title,
                "category": d.get_category_display(),
                "status": d.get_status_display(),
                "owner": _name(d.owner),
                "link": d.link,
            }
            for d in document_rows(plan)
        ],
        "signoffs": {
            "signed_off": state.signed_off,
            "approvals_complete": state.approvals_complete,
            "documentation_open": [item["text"] for item in state.documentation_open],
            "roles": [
                {
                    "role": role.requirement.role,
                    "title": role.requirement.title,
                    "approves": role.requirement.approves,
                    "covers": role.requirement.covers,
                    "required": role.requirement.required,
                    "holder": _name(role.requirement.assignee),
                    "state": role.state,
                    "state_label": role.label,
                    "current_digest": role.current_digest,
                    "changed_sections": role.changed_sections,
                    # A team's role has its members' `signatures` instead (_role_policy).
                    "signature": _signature(role.latest)
                    if role.latest and not role.is_team
                    else None,
                }
                | _role_policy(role)
                for role in state.roles
            ],
        },
        # The score history chart's data: the weighted total's steps and the moments of
        # sign-off (the packet draws it up to when it was asked for).
        "readiness_history": {
            "start": _iso(plan.created_at),
            "steps": [{"at": _iso(s.at), "total": str(s.total)} for s in total_history(plan)],
            "moments": [
                {"at": _iso(m.at), "kind": m.kind, "label": m.label} for m in signoff_moments(plan)
            ],
        },
    }


def _signature(signoff: Signoff) -> dict:
    return {
        "printed_name": signoff.printed_name,
        "role_title": signoff.role_title,
        "decision": signoff.get_decision_display(),
        "meaning": signoff.meaning,
        "signed_at": _iso(signoff.signed_at),
        "digest": signoff.digest,
        # What each covered section was when it was signed: a reader of the packet
        # recomputes them from its sections to see what changed.
        "section_digests": signoff.section_digests,
        "comment": signoff.comment,
        "reason": signoff.reason,
    } | ({"on_behalf_of": _name(signoff.on_behalf_of)} if signoff.on_behalf_of_id else {})


def _role_policy(role: RoleState) -> dict:
    """A role's policy in the packet, where it is not the guide's default (one person, no
    expiry), so that packets of plans that keep the default read as they always did. A team's
    role lists each current member's signature that speaks for it."""
    if not role.is_team and not role.requirement.approval_days:
        return {}
    policy = {"policy": role.policy, "progress": role.progress}
    if role.is_team:
        policy["team"] = role.requirement.team.name
        policy["quorum"] = role.quorum
        policy["signatures"] = [_signature(signoff) for signoff in role.counting]
    return policy


def packet_audit_events(packet: ReadinessPacket):
    """The plan's events that the packet's seal covers (up to its mark in each table), newest
    first: what the packet prints is exactly what was sealed."""
    seal = AuditSeal.objects.get(plan_id=packet.plan_id, number=packet.seal_number)
    sealed = Q(pk__in=[])
    for label, mark in current_marks(seal.marks).items():
        sealed |= Q(pgh_model=label, pgh_id__lte=mark)
    return plan_events_feed(packet.plan_id).filter(sealed)


@dataclass
class Verification:
    """What the verify page says about a file or a SHA-256."""

    sha256: str
    packet: ReadinessPacket | None
    signature: object = None  # pdfsign.SignatureCheck, when there is a file to check
    superseded: bool = False
    member: bool = False

    @property
    def of_record(self) -> bool:
        return self.packet is not None


def packet_verify(*, upload: File | None, sha256: str, user) -> Verification:
    """Find the packet of record a file (or its SHA-256) is, and check its signature.

    `upload` is read a chunk at a time, never whole; the caller has checked its size."""
    if upload is not None:
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        sha256 = digest.hexdigest()
    packet = (
        ReadinessPacket.objects.select_related("plan", "requested_by")
        .filter(sha256=sha256, status=ReadinessPacket.Status.READY)
        .first()
    )
    signature = None
    if upload is not None:
        signature = pdfsign.check(upload)
    elif packet is not None:
        # Read from the shared storage (the worker that rendered it may be on another machine).
        try:
            with default_storage.open(packet.file.name, "rb") as handle:
                signature = pdfsign.check(handle)
        except FileNotFoundError:
            signature = pdfsign.SignatureCheck(
                present=False,
                problem="The stored copy of this packet is missing, so its signature could "
                "not be checked; upload the file instead.",
            )
    verification = Verification(sha256=sha256, packet=packet, signature=signature)
    if packet is not None:
        # Whether the plan moved on is today's state of the plan, not something the file
        # says: members only.
        verification.member = packet.plan.memberships.filter(user=user).exists()
        if verification.member:
            current = packets.revision_digest(packet_contents(packet.plan))
            verification.superseded = packets.packet_superseded(packet, current)
    return verification
