import hashlib
from dataclasses import dataclass

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import OuterRef, Subquery

from planning.models import DeploymentPlan
from planning.selectors import active_plan_ids
from signoffs import snapshot
from signoffs.models import ReadinessPacket, Signoff, SignoffRequirement


@dataclass
class RoleState:
    requirement: SignoffRequirement
    latest: Signoff | None
    current_digest: str
    section_digests: dict[str, str]

    @property
    def is_current(self) -> bool:
        """Decided by comparing digests, never by a stored flag."""
        return self.latest is not None and self.latest.digest == self.current_digest

    @property
    def state(self) -> str:
        if self.latest is None:
            return "missing"
        if not self.is_current:
            return "stale"
        return "approved" if self.latest.decision == Signoff.Decision.APPROVE else "rejected"

    @property
    def changed_sections(self) -> list[str]:
        """For a stale signature: the sections that changed since it was given."""
        if self.latest is None or self.is_current:
            return []
        before = self.latest.section_digests
        names = sorted(set(before) | set(self.section_digests))
        return [name for name in names if before.get(name) != self.section_digests.get(name)]

    @property
    def label(self) -> str:
        return {
            "missing": "Not signed",
            "stale": "Stale: the plan changed since",
            "approved": "Approved",
            "rejected": "Rejected",
        }[self.state]


@dataclass
class SignoffState:
    roles: list[RoleState]

    @property
    def required(self) -> list[RoleState]:
        return [role for role in self.roles if role.requirement.required]

    @property
    def signed_off(self) -> bool:
        """Every required role has a current approval, and no role a current rejection."""
        return all(role.state == "approved" for role in self.required) and not any(
            role.state == "rejected" for role in self.roles
        )

    @property
    def missing(self) -> list[RoleState]:
        return [role for role in self.required if role.state != "approved"]


def signoff_state(plan: DeploymentPlan, sections: dict | None = None) -> SignoffState:
    """Each role with its latest decision and whether that decision is still current.

    `sections` is the plan's snapshot when the caller has just taken it."""
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
    return SignoffState(roles)


def heal_status(plan: DeploymentPlan, state: SignoffState) -> None:
    """A plan stored as signed off whose signatures say otherwise (changed in the admin or in
    SQL, which no service saw) is put right by the worker as soon as anyone looks at it."""
    if plan.status == DeploymentPlan.Status.SIGNED_OFF and not state.signed_off:
        from signoffs.tasks import plan_changed

        transaction.on_commit(lambda: plan_changed.delay(plan.pk))


def signoffs_waiting_for(user) -> list[SignoffRequirement]:
    """The required approval roles the user holds on plans awaiting sign-off or signed off
    that wait for their decision, each with `waiting` set to "missing" or "stale".

    A role waits when nobody has signed it, when its latest signature is somebody else's (a
    previous holder's), or when the worker has found the signature stale
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
        if requirement.latest_signer_id != user.pk:
            requirement.waiting = "missing"
        elif requirement.latest_stale_at is not None:
            requirement.waiting = "stale"
        else:
            continue
        waiting.append(requirement)
    return waiting


def signoff_history(plan: DeploymentPlan, limit: int = 50):
    return plan.signoffs.select_related("requirement").order_by("-signed_at", "-id")[:limit]


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
    from signoffs import packets, pdfsign
    from signoffs.services import revision_digest

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
        with default_storage.open(packet.file.name, "rb") as handle:
            signature = pdfsign.check(handle)
    verification = Verification(sha256=sha256, packet=packet, signature=signature)
    if packet is not None:
        # Whether the plan moved on is today's state of the plan, not something the file
        # says: members only.
        verification.member = packet.plan.memberships.filter(user=user).exists()
        if verification.member:
            current = revision_digest(packets.packet_snapshot(packet.plan))
            verification.superseded = packet.content_digest != current
    return verification
