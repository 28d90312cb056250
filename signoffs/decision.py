"""A plan's gate decision: may a deployment of it go ahead now, and why (not).

One rule, one JSON shape, for every caller: the deploy gates (GitHub, GitLab, the generic gate
endpoint), outgoing webhooks and the portfolio. A plan is `go` only when all of these hold:

- it is signed off on its current digests (`signoff_state(...).signed_off`: every required
  role holds a current approval from its present holder, no role a current rejection, and the
  documentation sign-off's items are all done);
- its readiness total is at or above the gate's threshold: the higher of the instance's
  `GATE_READINESS_THRESHOLD` (default 80, the guide's "ready with minor adjustments") and the
  plan's own sign-off threshold, so that an owner may ask more of their plan but never less
  than the instance does;
- nothing blocks: no open or failed critical checklist item (which forces the band to "not
  ready"), the decision band is not the lowest one, and the plan is not cancelled, archived,
  a draft or back in progress (an owner who takes a plan back out of sign-off has said it is
  not ready, whatever the signatures still say).

`decide` is the rule itself over values already loaded, so that a caller that reads many plans
at once (the portfolio) applies it without reading each plan again; `plan_decision` loads one
plan's values and returns the whole `Decision`. Nothing here writes: the gates app records
every decision it hands out.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.urls import reverse

from checklists.selectors import readiness
from planning.models import DeploymentPlan
from signoffs import snapshot
from signoffs.models import ReadinessPacket
from signoffs.policies import quorum_progress, signoff_state

GO = "go"
NO_GO = "no-go"

Status = DeploymentPlan.Status

# Statuses in which a plan can be `go`. "Awaiting sign-off" is among them because the status
# follows the signatures a moment later (`status_sync`); the digests are what decide.
GATE_STATUSES = (Status.AWAITING_SIGNOFF, Status.SIGNED_OFF, Status.DEPLOYED)

DOCUMENTATION_SIGNOFF = "Documentation sign-off"


def gate_threshold(plan_threshold: int) -> int:
    """The readiness a plan needs to pass the gate."""
    return max(settings.GATE_READINESS_THRESHOLD, plan_threshold)


def _points(value: Decimal) -> str:
    return format(Decimal(value).quantize(Decimal("0.1")).normalize(), "f")


def _names(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def decide(
    *,
    status: str,
    archived: bool,
    signed_off: bool,
    score: Decimal,
    threshold: int,
    band_title: str,
    lowest_band: bool,
    blockers: list[str],
    missing_roles: list[str],
    stale_roles: list[str],
    rejected_roles: list[str] = (),
    expired_roles: list[str] = (),
) -> tuple[str, list[str]]:
    """The rule, over values the caller has loaded: the decision and its reasons, the most
    decisive reason first. `threshold` is already the gate's (`gate_threshold`)."""
    reasons = []
    if archived:
        reasons.append("The plan is archived.")
    if status == Status.CANCELLED:
        reasons.append("The plan is cancelled.")
    elif status not in GATE_STATUSES:
        reasons.append(
            f"The plan is {Status(status).label.lower()}; it has not been put up for sign-off."
        )
    if blockers:
        count = len(blockers)
        reasons.append(
            f"{count} critical checklist item{'s' if count > 1 else ''} "
            f"block{'' if count > 1 else 's'} readiness: {_names(blockers, 3)}."
        )
    if score < threshold:
        reasons.append(f"Readiness is {_points(score)}; the gate needs {threshold}.")
    elif lowest_band and not blockers:
        reasons.append(f"Readiness is in the band “{band_title}”.")
    if rejected_roles:
        reasons.append(f"Rejected by {_names(list(rejected_roles))}.")
    waiting = [
        name for name in missing_roles if name not in rejected_roles and name not in expired_roles
    ]
    if waiting:
        reasons.append(f"Waiting for sign-off: {_names(waiting)}.")
    if stale_roles:
        reasons.append(f"Signatures made stale by later changes: {_names(stale_roles)}.")
    if expired_roles:
        reasons.append(f"Approvals expired under the role's policy: {_names(list(expired_roles))}.")
    if not signed_off and not (waiting or stale_roles or rejected_roles or expired_roles):
        reasons.append("The plan is not signed off on its current content.")
    if reasons:
        return NO_GO, reasons
    return GO, [
        f"Signed off on its current content; readiness {_points(score)} "
        f"(“{band_title}”, the gate needs {threshold})."
    ]


@dataclass
class Decision:
    plan_id: int
    title: str
    release_version: str
    status: str
    decision: str
    reasons: list[str]
    score: Decimal
    threshold: int
    band: dict
    blockers: list[str] = field(default_factory=list)
    missing_roles: list[str] = field(default_factory=list)
    stale_roles: list[str] = field(default_factory=list)
    plan_digest: str = ""
    packet_sha256: str | None = None
    url: str = ""

    @property
    def go(self) -> bool:
        return self.decision == GO

    def as_json(self) -> dict:
        """The one JSON shape of a decision (the API, the webhooks and the audit record)."""
        return {
            "plan": {
                "id": self.plan_id,
                "title": self.title,
                "release_version": self.release_version,
                "status": self.status,
            },
            "decision": self.decision,
            "reasons": list(self.reasons),
            "score": float(Decimal(self.score).quantize(Decimal("0.1"))),
            "threshold": self.threshold,
            "band": {"key": self.band["key"], "title": self.band["title"]},
            "blockers": list(self.blockers),
            "missing_roles": list(self.missing_roles),
            "stale_roles": list(self.stale_roles),
            "plan_digest": self.plan_digest,
            "packet_sha256": self.packet_sha256,
            "url": self.url,
        }


def newest_final_packet_sha256(plan: DeploymentPlan) -> str | None:
    return (
        ReadinessPacket.objects.filter(
            plan=plan, kind=ReadinessPacket.Kind.FINAL, status=ReadinessPacket.Status.READY
        )
        .order_by("-revision")
        .values_list("sha256", flat=True)
        .first()
    )


def plan_decision(plan: DeploymentPlan) -> Decision:
    """The plan's gate decision as it stands now, comparing digests. A fixed number of queries
    whatever the plan's size; the caller has checked that the asker may see the plan."""
    sections = snapshot.sections(plan)
    state = signoff_state(plan, sections)
    result = readiness(plan)
    missing, stale, rejected, expired = [], [], [], []
    for role in state.roles:
        title = role.requirement.title
        # A team's role says how far it is from its quorum: "Security Officer: 1 of 2
        # approvals" (expired approvals are not among them).
        name = (
            quorum_progress(len(role.approvals), role.quorum, title=title)
            if role.is_team
            else title
        )
        if role.state == "rejected":
            rejected.append(title)
            missing.append(title)
        elif not role.requirement.required:
            continue
        elif role.state == "stale":
            stale.append(name)
        elif role.state == "expired":
            # Not approved: among the missing roles for callers that read those, and a
            # reason of its own.
            expired.append(name)
            missing.append(name)
        elif role.state != "approved":
            missing.append(name)
    if not state.documentation_complete:
        missing.append(DOCUMENTATION_SIGNOFF)
    blockers = [item.text for item in result.blockers]
    threshold = gate_threshold(plan.signoff_threshold)
    verdict, reasons = decide(
        status=plan.status,
        archived=plan.is_archived,
        signed_off=state.signed_off,
        score=result.total,
        threshold=threshold,
        band_title=result.band["title"],
        lowest_band=result.band is result.bands[-1],
        blockers=blockers,
        missing_roles=missing,
        stale_roles=stale,
        rejected_roles=rejected,
        expired_roles=expired,
    )
    return Decision(
        plan_id=plan.pk,
        title=plan.title,
        release_version=plan.release_version,
        status=plan.status,
        decision=verdict,
        reasons=reasons,
        score=result.total,
        threshold=threshold,
        band=result.band,
        blockers=blockers,
        missing_roles=missing,
        stale_roles=stale,
        plan_digest=snapshot.digest(snapshot.covered(sections, ["plan"])),
        packet_sha256=newest_final_packet_sha256(plan),
        url=settings.SITE_URL + reverse("planning:plan_detail", args=[plan.pk]),
    )
