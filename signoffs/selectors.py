"""Reads of approval roles, signatures and packets. Nothing here writes or queues a task:
the services and the periodic sweep keep the stored status right, and every page compares
digests itself."""

import hashlib
from dataclasses import dataclass

from django.core.files import File
from django.core.files.storage import default_storage
from django.db.models import OuterRef, Q, Subquery

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
from signoffs.models import ReadinessPacket, Signoff, SignoffRequirement
from truststream.audit import current_marks, plan_events_feed
from truststream.models import AuditSeal


def signature_counts(*, signer_id: int | None, holder_id: int | None) -> bool:
    """The one rule of separation of duties: a signature counts as its role's decision only
    while its signer holds that role. With one role per person on a plan (a database
    constraint), nobody counts for two roles; a signature given by a former holder stays on
    record but waits for the present holder's own.

    Every place that says whether a role is approved (the sign-off page, the status machine,
    packets, the plan list, My work) asks this."""
    return holder_id is not None and signer_id == holder_id


# What the guide's documentation sign-off accepts of each of its items: confirmed, or marked
# not applicable (which, for these items, only an owner can do, with a reason).
DOCUMENTATION_DONE = {ChecklistItem.State.PASSED, ChecklistItem.State.NOT_APPLICABLE}
DOCUMENTATION_SECTION = "checklists.documentation"


@dataclass
class RoleState:
    requirement: SignoffRequirement
    latest: Signoff | None
    current_digest: str
    section_digests: dict[str, str]

    @property
    def counts(self) -> bool:
        """The latest signature is the present holder's own."""
        return self.latest is not None and signature_counts(
            signer_id=self.latest.signer_id, holder_id=self.requirement.assignee_id
        )

    @property
    def is_current(self) -> bool:
        """Decided by comparing digests, never by a stored flag."""
        return self.counts and self.latest.digest == self.current_digest

    @property
    def state(self) -> str:
        if self.latest is None:
            return "missing"
        if not self.counts:
            return "not_holder"
        if not self.is_current:
            return "stale"
        return "approved" if self.latest.decision == Signoff.Decision.APPROVE else "rejected"

    @property
    def changed_sections(self) -> list[str]:
        """For a stale signature: the sections that changed since it was given."""
        if self.state != "stale":
            return []
        before = self.latest.section_digests
        names = sorted(set(before) | set(self.section_digests))
        return [name for name in names if before.get(name) != self.section_digests.get(name)]

    @property
    def label(self) -> str:
        if self.state == "not_holder":
            holder = self.requirement.assignee
            if holder is None:
                return "Needs a holder: the signer no longer holds the role"
            return f"Needs a new signature from {holder.get_full_name() or holder.email}"
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
    requirements = list(plan.roles.select_related("assignee").order_by("position"))
    latest = {
        signoff.requirement_id: signoff
        for signoff in plan.signoffs.order_by("requirement_id", "-signed_at", "-id").distinct(
            "requirement_id"
        )
    }
    sections = sections if sections is not None else snapshot.sections(plan)
    digests = {name: snapshot.digest(data) for name, data in sections.items()}
    roles = []
    for requirement in requirements:
        covered = snapshot.covered(sections, requirement.covers)
        roles.append(
            RoleState(
                requirement,
                latest.get(requirement.pk),
                snapshot.digest(covered),
                {name: digests[name] for name in covered},
            )
        )
    return SignoffState(roles, list(sections.get(DOCUMENTATION_SECTION, [])))


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


def signoffs_waiting_for(user) -> list[SignoffRequirement]:
    """The required approval roles the user holds on plans awaiting sign-off or signed off
    that wait for their decision, each with `waiting` set to "missing" or "stale".

    A role waits when nobody has signed it, when its latest signature does not count (a
    previous holder's: `signature_counts`), or when the worker has found the signature stale
    (`stale_notified_at`), which it does after every change. A current rejection is a
    decision and does not wait. No digests, as in `missing_signoffs`, so that it costs one
    query whatever the number of plans; the sign page compares digests.
    """
    latest = Signoff.objects.filter(requirement=OuterRef("pk")).order_by("-signed_at", "-id")
    requirements = (
        SignoffRequirement.objects.filter(
            assignee=user,
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
            latest_signed_at=Subquery(latest.values("signed_at")[:1]),
            latest_stale_at=Subquery(latest.values("stale_notified_at")[:1]),
        )
        .order_by("plan__title", "plan_id", "position")
    )
    waiting = []
    for requirement in requirements:
        if not signature_counts(signer_id=requirement.latest_signer_id, holder_id=user.pk):
            requirement.waiting = "missing"
        elif requirement.latest_stale_at is not None:
            requirement.waiting = "stale"
        else:
            continue
        waiting.append(requirement)
    return waiting


def missing_signoffs(plan_ids: list[int]) -> dict[int, list[str]]:
    """For a page of plans: the required roles of each without a standing approval, and the
    documentation sign-off while any of its items is open. Three queries for the page, so no
    digests: an approval counts as gone once the worker has found it stale
    (`stale_notified_at`), which it does after every change. The plan's own pages compare
    digests."""
    latest = {
        s.requirement_id: s
        for s in Signoff.objects.filter(plan_id__in=plan_ids)
        .order_by("requirement_id", "-signed_at", "-id")
        .distinct("requirement_id")
    }
    missing: dict[int, list[str]] = {pk: [] for pk in plan_ids}
    requirements = SignoffRequirement.objects.filter(plan_id__in=plan_ids, required=True)
    for requirement in requirements.order_by("position"):
        signoff = latest.get(requirement.pk)
        if signoff is None or signoff.decision != Signoff.Decision.APPROVE:
            missing[requirement.plan_id].append(requirement.title)
        elif not signature_counts(signer_id=signoff.signer_id, holder_id=requirement.assignee_id):
            missing[requirement.plan_id].append(f"{requirement.title} (needs a new signature)")
        elif signoff.stale_notified_at is not None:
            missing[requirement.plan_id].append(f"{requirement.title} (stale)")
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
    role it was given for (a former holder's signature stays on record, but no longer counts)."""
    history = list(
        plan.signoffs.select_related("requirement").order_by("-signed_at", "-id")[:limit]
    )
    for signoff in history:
        signoff.counts = signature_counts(
            signer_id=signoff.signer_id, holder_id=signoff.requirement.assignee_id
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
                    "signature": (
                        {
                            "printed_name": role.latest.printed_name,
                            "role_title": role.latest.role_title,
                            "decision": role.latest.get_decision_display(),
                            "meaning": role.latest.meaning,
                            "signed_at": _iso(role.latest.signed_at),
                            "digest": role.latest.digest,
                            # What each covered section was when it was signed: a reader of
                            # the packet recomputes them from its sections to see what changed.
                            "section_digests": role.latest.section_digests,
                            "comment": role.latest.comment,
                            "reason": role.latest.reason,
                        }
                        if role.latest
                        else None
                    ),
                }
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
