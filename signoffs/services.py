"""Writes of approval roles and signatures. Callers have checked the acting user's access."""

import hashlib
import time
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.urls import reverse
from django.utils import timezone

from planning import live
from planning.models import DeploymentPlan
from planning.services import plan_lock_writable
from signoffs import packets, pdfsign, snapshot
from signoffs.models import ReadinessPacket, Signoff, SignoffRequirement
from signoffs.selectors import signoff_state
from signoffs.status import status_sync
from signoffs.tasks import packet_render as packet_render_task
from truststream.audit import describe_events, plan_events_feed, seal_take
from truststream.models import AuditSeal, NotificationKind
from truststream.services import notification_send


def roles_create(*, plan: DeploymentPlan, **kwargs) -> None:
    """Give a new plan its playbook's approval roles (the receiver of `plan_created`)."""
    SignoffRequirement.objects.bulk_create(
        SignoffRequirement(
            plan=plan,
            role=role["key"],
            title=role["title"],
            approves=role["approves"],
            covers=role["covers"],
            conditional=role.get("conditional", False),
            required=not role.get("conditional", False),
            position=position,
        )
        for position, role in enumerate(plan.playbook.definition["approvals"]["roles"], start=1)
    )


@transaction.atomic
def role_assign(*, requirement: SignoffRequirement, assignee) -> SignoffRequirement:
    """Give a role to a member of the plan (or to nobody); they are told by email."""
    plan = plan_lock_writable(requirement.plan)
    if assignee is not None and not plan.memberships.filter(user=assignee).exists():
        raise ValidationError({"assignee": "Choose a member of this plan."})
    requirement = SignoffRequirement.objects.get(pk=requirement.pk)
    if requirement.assignee_id == (assignee.pk if assignee else None):
        return requirement
    requirement.assignee = assignee
    try:
        with transaction.atomic():
            requirement.save(update_fields=["assignee"])
    except IntegrityError:
        raise ValidationError(
            {"assignee": "This person already holds another approval role on this plan."}
        ) from None
    # Whether the role's latest signature counts depends on who holds the role now.
    status_sync(plan=plan)
    if assignee is not None:
        notification_send(
            user=assignee,
            kind=NotificationKind.ROLE_ASSIGNED,
            key=f"role:{requirement.pk}:{assignee.pk}:{timezone.now().timestamp():.0f}",
            text=f"You are {requirement.title} for {plan} ({requirement.approves}): review it "
            "and record your approval or rejection when it is ready",
            url=reverse("signoffs:signoffs", args=[plan.pk]),
            plan_id=plan.pk,
        )
    return requirement


def roles_release(*, plan: DeploymentPlan, user, **kwargs) -> None:
    """Whoever leaves a plan holds none of its approval roles any more (the receiver of
    `member_removed`, inside the removal's transaction). Their signatures stay on record."""
    if SignoffRequirement.objects.filter(plan=plan, assignee=user).update(assignee=None):
        status_sync(plan=plan)  # their signatures no longer count


@transaction.atomic
def role_set_required(*, requirement: SignoffRequirement, required: bool) -> SignoffRequirement:
    plan_lock_writable(requirement.plan)
    if not requirement.conditional and not required:
        raise ValidationError("Only a conditional role can be made not required.")
    SignoffRequirement.objects.filter(pk=requirement.pk).update(required=required)
    return SignoffRequirement.objects.get(pk=requirement.pk)


def meaning(requirement: SignoffRequirement, decision: str) -> str:
    environment = requirement.plan.get_environment_display().lower()
    verb = "approve" if decision == Signoff.Decision.APPROVE else "reject"
    return f"I {verb} this plan for {environment} deployment as {requirement.title}"


def role_digest(requirement: SignoffRequirement) -> str:
    """The digest of what the role covers, as the plan is now."""
    return snapshot.digest(
        snapshot.covered(snapshot.sections(requirement.plan), requirement.covers)
    )


@transaction.atomic
def signoff_record(
    *,
    requirement: SignoffRequirement,
    signer,
    decision: str,
    seen_digest: str,
    comment: str = "",
    reason: str = "",
    ip_address: str | None = None,
    user_agent: str = "",
) -> Signoff:
    """Record a signature bound to the digest the signer saw.

    The caller has checked that the signer re-authenticated in the last few minutes. Nobody
    signs for somebody else, and a plan that changed since the signer looked is not signed.
    """
    plan = plan_lock_writable(requirement.plan)
    requirement = SignoffRequirement.objects.select_related("plan").get(pk=requirement.pk)
    if requirement.assignee_id != signer.pk:
        raise ValidationError("Only the person who holds this role can sign for it.")
    if decision not in Signoff.Decision.values:
        raise ValidationError({"decision": "Choose approve or reject."})
    reason, comment = reason.strip(), comment.strip()
    if decision == Signoff.Decision.REJECT and not reason:
        raise ValidationError({"reason": "Say why you reject the plan."})
    # One snapshot, taken under the plan's lock, gives both the digest and its sections'.
    covered = snapshot.covered(snapshot.sections(plan), requirement.covers)
    current = snapshot.digest(covered)
    if seen_digest != current:
        raise ValidationError(
            "The plan changed since you opened this page, so what you reviewed is not what "
            "would be signed. Review it again and sign the current version."
        )
    signoff = Signoff(
        plan=plan,
        requirement=requirement,
        signer=signer,
        printed_name=signer.get_full_name() or signer.email,
        role_title=requirement.title,
        decision=decision,
        meaning=meaning(requirement, decision),
        comment=comment,
        reason=reason if decision == Signoff.Decision.REJECT else "",
        sections=requirement.covers,
        digest=current,
        section_digests={name: snapshot.digest(data) for name, data in covered.items()},
        ip_address=ip_address,
        user_agent=user_agent[:300],
    )
    signoff.full_clean()
    signoff.save()
    status_sync(plan=plan)
    # Seal the trail with the signature inside it: what was signed can be shown unedited.
    seal_take(
        plan_id=plan.pk,
        reason=f"{signoff.get_decision_display()} by {signoff.printed_name}"
        f" as {signoff.role_title}",
    )
    return signoff


def after_plan_change(*, plan_id: int) -> None:
    """Sync the plan's status with its signatures and tell holders whose signature went stale.

    Each stale signature is reported once (`stale_notified_at`).
    """
    plan = DeploymentPlan.objects.filter(pk=plan_id).first()
    if plan is None:
        return
    status_sync(plan=plan)
    for role in signoff_state(plan).roles:
        signoff = role.latest
        if role.state != "stale" or signoff.stale_notified_at is not None:
            continue
        if not plan.memberships.filter(user_id=signoff.signer_id).exists():
            continue  # they left the plan: nothing to tell them, nothing they could do
        # Compare-and-set, so that two workers never send the same notice.
        with transaction.atomic():
            if Signoff.objects.filter(pk=signoff.pk, stale_notified_at__isnull=True).update(
                stale_notified_at=timezone.now()
            ):
                notification_send(
                    user=signoff.signer,
                    kind=NotificationKind.SIGNATURE_STALE,
                    key=f"signoff:{signoff.pk}:stale",
                    text=f"Your signature on {plan} is stale: the plan changed in a part your "
                    f"signature as {signoff.role_title} covers. Review it and sign again",
                    url=reverse("signoffs:signoffs", args=[plan.pk]),
                    plan_id=plan.pk,
                )


def revision_digest(data: dict) -> str:
    """The digest that names a revision of the plan: its snapshot without the plan's status,
    so that moving a signed-off plan to "deployed" does not supersede its final packet."""
    plan = {k: v for k, v in data["plan"].items() if k not in ("status", "status_label")}
    return packets.snapshot_digest({**data, "plan": plan})


def packet_may_be_final(plan: DeploymentPlan, data: dict) -> bool:
    """A final packet needs a plan signed off on its content as it is now (digests compared)."""
    return data["signoffs"]["signed_off"] and plan.status in (
        DeploymentPlan.Status.SIGNED_OFF,
        DeploymentPlan.Status.DEPLOYED,
    )


@transaction.atomic
def packet_request(*, plan: DeploymentPlan, requested_by, kind: str) -> ReadinessPacket:
    """Ask for a packet of the plan as it is now; the worker renders it after commit.

    The caller has checked that the user may change the plan. The same revision and kind is
    rendered once: asking again returns the packet already made (or re-queues a failed one).
    """
    if kind not in ReadinessPacket.Kind.values:
        raise ValidationError({"kind": "Choose a final or a draft packet."})
    # The plan's lock keeps two requests from numbering the same revision twice.
    plan = plan_lock_writable(plan, content=False)
    data = packets.packet_snapshot(plan)
    if kind == ReadinessPacket.Kind.FINAL and not packet_may_be_final(plan, data):
        raise ValidationError(
            {
                "kind": "A final packet needs a signed-off plan: every required role approved "
                "on the plan as it is now. Ask for a draft instead."
            }
        )
    digest = revision_digest(data)
    existing = ReadinessPacket.objects.filter(plan=plan, content_digest=digest, kind=kind).first()
    if existing is not None:
        if existing.status == ReadinessPacket.Status.FAILED:
            ReadinessPacket.objects.filter(pk=existing.pk).update(
                status=ReadinessPacket.Status.QUEUED, failure="", attempts=0
            )
            _queue(existing.pk)
        elif existing.pending and existing.queued_at < _stuck_before():
            _queue(existing.pk)
        existing.refresh_from_db()
        return existing
    same_content = ReadinessPacket.objects.filter(plan=plan, content_digest=digest).first()
    if same_content is not None:
        revision = same_content.revision
    else:
        latest = ReadinessPacket.objects.filter(plan=plan).aggregate(n=Max("revision"))["n"]
        revision = (latest or 0) + 1
    # The seal covers every event up to this request: the trail the packet prints is sealed.
    seal = seal_take(plan_id=plan.pk, reason=f"Packet requested: revision {revision}, {kind}")
    packet = ReadinessPacket.objects.create(
        plan=plan,
        revision=revision,
        kind=kind,
        content_digest=digest,
        snapshot=data,
        requested_by=requested_by,
        requested_at=timezone.now(),
        queued_at=timezone.now(),
        seal_number=seal.number,
        seal_digest=seal.digest,
    )
    transaction.on_commit(lambda: packet_render_task.delay(packet.pk), robust=True)
    return packet


def _stuck_before():
    """A packet queued before this and still not rendered lost its message (Redis was down,
    or the worker was killed at the hard time limit): it is queued again."""
    return timezone.now() - timedelta(seconds=settings.PACKET_RENDER_SECONDS + 60)


def _queue(packet_id: int) -> None:
    ReadinessPacket.objects.filter(pk=packet_id).update(queued_at=timezone.now())
    # robust: with Redis away the request still answers; the packet is queued again later.
    transaction.on_commit(lambda: packet_render_task.delay(packet_id), robust=True)


@transaction.atomic
def packets_requeue() -> int:
    """Queue again every packet whose message was lost (run periodically by beat)."""
    stuck = list(
        ReadinessPacket.objects.filter(
            status__in=[ReadinessPacket.Status.QUEUED, ReadinessPacket.Status.RENDERING],
            queued_at__lt=_stuck_before(),
        ).values_list("pk", flat=True)
    )
    for packet_id in stuck:
        _queue(packet_id)
    return len(stuck)


class PacketFailure(Exception):
    """A packet that cannot be rendered, with the reason its requester is shown."""


def packet_fail(packet_id: int, reason: str) -> None:
    failed = ReadinessPacket.objects.filter(
        pk=packet_id,
        status__in=[ReadinessPacket.Status.QUEUED, ReadinessPacket.Status.RENDERING],
    ).update(status=ReadinessPacket.Status.FAILED, failure=reason[:500])
    if failed:
        _refresh_open_pages(packet_id)


def _refresh_open_pages(packet_id: int) -> None:
    """A packet is ready or failed: open pages of its plan show it without a reload."""
    plan_id = ReadinessPacket.objects.filter(pk=packet_id).values_list("plan_id", flat=True)[0]
    live.bump(plan_id)


def packet_render(*, packet_id: int) -> None:
    """Render, sign and store a queued packet. Run by the worker, never in a request.

    Safe to run again for the same packet (a worker died, the message came back): a ready
    packet is left alone, and of two renders racing, the first to finish is kept.
    """
    claimed = ReadinessPacket.objects.filter(
        pk=packet_id,
        status__in=[ReadinessPacket.Status.QUEUED, ReadinessPacket.Status.RENDERING],
    ).update(status=ReadinessPacket.Status.RENDERING, attempts=F("attempts") + 1)
    if not claimed:
        return
    packet = ReadinessPacket.objects.select_related("plan").get(pk=packet_id)
    if packet.attempts > settings.PACKET_MAX_ATTEMPTS:
        # Each attempt claims the packet first: this many claims and no result means the
        # worker died every time (out of memory, say). Rendering it again would kill another.
        packet_fail(
            packet_id,
            f"The worker stopped while rendering this packet {packet.attempts - 1} times; the "
            "plan may be too large to render.",
        )
        return
    started = time.monotonic()
    try:
        pdf = _packet_pdf(packet)
    except PacketFailure as failure:
        packet_fail(packet_id, str(failure))
        return
    elapsed = time.monotonic() - started
    if elapsed > settings.PACKET_RENDER_SECONDS:
        packet_fail(
            packet_id,
            f"Rendering took {elapsed:.0f} seconds, longer than the "
            f"{settings.PACKET_RENDER_SECONDS} seconds allowed.",
        )
        return
    sha256 = hashlib.sha256(pdf).hexdigest()
    name = default_storage.save(
        f"packets/plan-{packet.plan_id}/revision-{packet.revision}-{packet.kind}-{sha256[:16]}.pdf",
        ContentFile(pdf),
    )
    with transaction.atomic():
        finished = ReadinessPacket.objects.filter(
            pk=packet_id, status=ReadinessPacket.Status.RENDERING
        ).update(
            status=ReadinessPacket.Status.READY,
            file=name,
            size=len(pdf),
            sha256=sha256,
            rendered_at=timezone.now(),
            render_seconds=round(elapsed, 3),
        )
        requester_is_member = (
            packet.requested_by_id is not None
            and packet.plan.memberships.filter(user_id=packet.requested_by_id).exists()
        )
        if finished and requester_is_member:
            notification_send(
                user=packet.requested_by,
                kind=NotificationKind.PACKET_READY,
                key=f"packet:{packet.pk}:ready",
                text=f"Readiness packet revision {packet.revision} "
                f"({packet.get_kind_display().lower()}) of {packet.plan} is ready",
                url=reverse("signoffs:packet_list", args=[packet.plan_id]),
                plan_id=packet.plan_id,
            )
    if not finished:
        # Another render of the same packet finished first; keep one file only.
        default_storage.delete(name)
    else:
        _refresh_open_pages(packet_id)


def packet_audit_events(packet: ReadinessPacket):
    """The plan's events that the packet's seal covers (up to its mark in each table), newest
    first: what the packet prints is exactly what was sealed."""
    seal = AuditSeal.objects.get(plan_id=packet.plan_id, number=packet.seal_number)
    sealed = Q(pk__in=[])
    for label, mark in seal.marks.items():
        sealed |= Q(pgh_model=label, pgh_id__lte=mark)
    return plan_events_feed(packet.plan_id).filter(sealed)


def _packet_pdf(packet: ReadinessPacket) -> bytes:
    size = packets.snapshot_size(packet.snapshot)
    if size > settings.PACKET_MAX_SNAPSHOT_BYTES:
        raise PacketFailure(
            f"The plan is too large to render: its snapshot is {size / 1_000_000:.1f} MB, the "
            f"limit is {settings.PACKET_MAX_SNAPSHOT_BYTES / 1_000_000:.1f} MB."
        )
    events = packet_audit_events(packet)
    latest = list(events[: settings.PACKET_AUDIT_EVENTS])
    total = len(latest) if len(latest) < settings.PACKET_AUDIT_EVENTS else events.count()
    html = packets.packet_html(
        packet, audit_rows=describe_events(list(reversed(latest))), audit_total=total
    )
    pdf = packets.render_pdf(html, packet.snapshot)
    if len(pdf) > settings.PACKET_MAX_BYTES:
        raise PacketFailure(
            f"The packet came out at {len(pdf) / 1_000_000:.1f} MB, more than the "
            f"{settings.PACKET_MAX_BYTES / 1_000_000:.1f} MB allowed."
        )
    return pdfsign.sign(
        pdf,
        reason=f"Readiness packet of record: {packet.plan.title}, revision {packet.revision}, "
        f"{packet.get_kind_display().lower()}",
    )


def packet_superseded(packet: ReadinessPacket, current_digest: str) -> bool:
    return packet.content_digest != current_digest


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
