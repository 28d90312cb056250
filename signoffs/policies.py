"""Approval roles under their policies: who holds a role, which signatures speak for it, and
whether they approve it now (digests compared, quorum and expiry applied), with the one rule
of separation of duties (`signature_counts`) and each role's policy and progress in words.
Nothing here writes or queues a task."""

import datetime
from dataclasses import dataclass, field

from django.db.models import F
from django.utils import timezone

from checklists.models import ChecklistItem
from planning import reads
from planning.models import DeploymentPlan
from signoffs import snapshot
from signoffs.models import Delegation, Signoff, SignoffRequirement
from truststream.models import TeamMembership


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


def approval_expired(signed_at, approval_days, now) -> bool:
    """`expires_at` over the values a bulk read has loaded: whether an approval given at
    `signed_at` no longer counts at `now`."""
    return approval_days is not None and signed_at + datetime.timedelta(days=approval_days) <= now


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


def quorum_progress(approvals: int, quorum: int, *, title: str = "") -> str:
    """How far a role is from its quorum, in the one wording that every page, export, packet
    and gate reason shows: "1 of 2 approvals", past the quorum "3 approvals, 2 needed". With
    the role's `title`, where the text stands for the role itself (the gate's reasons, the
    plan list, the portfolio): "Security Officer: 1 of 2 approvals"."""
    if approvals > quorum:
        progress = f"{approvals} approvals, {quorum} needed"
    else:
        progress = f"{approvals} of {quorum} approval{'s' if quorum != 1 else ''}"
    return f"{title}: {progress}" if title else progress


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
        """How far the role is from its quorum (`quorum_progress`)."""
        return quorum_progress(len(self.approvals), self.quorum)

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
    members = team_members({r.team_id for r in requirements if r.team_id is not None})
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
            members=members.get(requirement.team_id, frozenset()),
            excluded=frozenset(counted),
            now=now,
        )
        if role.is_team:
            counted |= {signoff.signer_id for signoff in role.approvals}
        roles.append(role)
    return SignoffState(roles, list(sections.get(DOCUMENTATION_SECTION, [])))


def team_members(team_ids: set[int]) -> dict[int, frozenset[int]]:
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
