"""Writes of readiness packets: asking for one, rendering it in the worker, failing it with a
reason, and queueing again those whose message was lost. Callers have checked the acting
user's access."""

import hashlib
import time
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Max
from django.urls import reverse
from django.utils import timezone

from planning import live, reads
from planning.models import DeploymentPlan
from planning.services import plan_lock_writable
from signoffs import packets, pdfsign
from signoffs.models import ReadinessPacket
from signoffs.selectors import packet_audit_events, packet_snapshot
from signoffs.tasks import packet_render as packet_render_task
from truststream.audit import describe_events, seal_take
from truststream.models import NotificationKind
from truststream.services import notification_send


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
    # Nothing changes the locked plan before the snapshot is taken: its parts are read once.
    reads.remember(plan)
    data = packet_snapshot(plan)
    if kind == ReadinessPacket.Kind.FINAL and not packets.packet_may_be_final(plan, data):
        raise ValidationError(
            {
                "kind": "A final packet needs a signed-off plan: every required role approved "
                "on the plan as it is now. Ask for a draft instead."
            }
        )
    digest = packets.revision_digest(data)
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
