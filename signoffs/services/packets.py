"""Writes of readiness packets: asking for one, rendering it in the worker, failing it with a
reason, and queueing again those whose message was lost. Callers have checked the acting
user's access."""

import contextlib
import functools
import hashlib
import logging
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, connections, transaction
from django.db.models import F, Max, Q
from django.urls import reverse
from django.utils import timezone

from planning import live, reads
from planning.models import DeploymentPlan
from planning.services import plan_lock_writable
from signoffs import packets, pdfsign
from signoffs.models import ReadinessPacket
from signoffs.packet_selectors import packet_audit_events, packet_contents
from signoffs.signals import packet_ready, send_on_commit
from signoffs.tasks import packet_render as packet_render_task
from truststream.audit import describe_events, seal_take
from truststream.models import NotificationKind
from truststream.services import notification_send

logger = logging.getLogger(__name__)


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
    data = packet_contents(plan)
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
        else:
            _requeue_lost(ReadinessPacket.objects.filter(pk=existing.pk))
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


def _queue(packet_id: int) -> None:
    ReadinessPacket.objects.filter(pk=packet_id).update(queued_at=timezone.now())
    # robust: with Redis away the request still answers; the sweep queues it again later.
    transaction.on_commit(lambda: packet_render_task.delay(packet_id), robust=True)


def _lost(now) -> Q:
    """Pending packets whose task is gone. Postgres is the record of what must be rendered:
    a queued packet is expected to be taken within PACKET_QUEUED_SECONDS (else its message was
    lost: Redis restarted empty, or it was down when the packet was asked for), and a rendering
    one holds a lease its worker renews (else the worker died mid-render)."""
    queued_too_long = Q(
        status=ReadinessPacket.Status.QUEUED,
        queued_at__lt=now - timedelta(seconds=settings.PACKET_QUEUED_SECONDS),
    )
    lease_ran_out = Q(status=ReadinessPacket.Status.RENDERING) & (
        Q(leased_until__lt=now) | Q(leased_until__isnull=True)
    )
    return queued_too_long | lease_ran_out


def _requeue_lost(packets) -> int:
    """Queue again each of `packets` that is lost, once: of two sweeps (or a sweep and a
    request) that see the same lost packet, only the one whose compare-and-set changes the row
    sends a message. A message that was only late, not lost, is harmless: the render claims
    the packet first, and a claimed or ready packet is not rendered again."""
    now = timezone.now()
    requeued = 0
    fields = ("pk", "status", "queued_at", "leased_until")
    for packet_id, status, queued_at, leased_until in packets.filter(_lost(now)).values_list(
        *fields
    ):
        if ReadinessPacket.objects.filter(
            pk=packet_id, status=status, queued_at=queued_at, leased_until=leased_until
        ).update(status=ReadinessPacket.Status.QUEUED, leased_until=None, queued_at=now):
            logger.warning(
                "Packet %s was %s with no task behind it; queued again", packet_id, status
            )
            transaction.on_commit(
                functools.partial(packet_render_task.delay, packet_id), robust=True
            )
            requeued += 1
    return requeued


@transaction.atomic
def packets_requeue() -> int:
    """Queue again every packet whose task is gone (run by beat every PACKET_SWEEP_SECONDS).
    Returns how many."""
    return _requeue_lost(ReadinessPacket.objects.all())


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
    now = timezone.now()
    # The claim: a queued packet, or a rendering one whose lease ran out (its worker died). A
    # packet another worker is rendering, or one already ready, is left alone.
    claimed = (
        ReadinessPacket.objects.filter(pk=packet_id)
        .filter(
            Q(status=ReadinessPacket.Status.QUEUED)
            | (
                Q(status=ReadinessPacket.Status.RENDERING)
                & (Q(leased_until__lt=now) | Q(leased_until__isnull=True))
            )
        )
        .update(
            status=ReadinessPacket.Status.RENDERING,
            attempts=F("attempts") + 1,
            leased_until=now + timedelta(seconds=settings.PACKET_LEASE_SECONDS),
        )
    )
    if not claimed:
        return
    with _lease_kept(packet_id):
        _packet_render_claimed(packet_id)


def packet_release(packet_id: int) -> None:
    """A render stopped on a transient error and will be tried again: give up the lease, so
    that the retry (or the sweep) may claim the packet at once."""
    ReadinessPacket.objects.filter(pk=packet_id, status=ReadinessPacket.Status.RENDERING).update(
        status=ReadinessPacket.Status.QUEUED, leased_until=None, queued_at=timezone.now()
    )


@contextlib.contextmanager
def _lease_kept(packet_id: int):
    """Renew the packet's lease every third of PACKET_LEASE_SECONDS while the render runs, from
    a thread with its own database connection. When the worker dies, so does the thread, and
    the lease runs out: the sweep then queues the packet again."""
    stop = threading.Event()
    every = max(1.0, settings.PACKET_LEASE_SECONDS / 3)

    def renew():
        try:
            while not stop.wait(every):
                try:
                    ReadinessPacket.objects.filter(
                        pk=packet_id, status=ReadinessPacket.Status.RENDERING
                    ).update(
                        leased_until=timezone.now()
                        + timedelta(seconds=settings.PACKET_LEASE_SECONDS)
                    )
                except DatabaseError as error:
                    logger.warning("Could not renew the lease of packet %s: %s", packet_id, error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=renew, name=f"packet-{packet_id}-lease", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _packet_render_claimed(packet_id: int) -> None:
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
    try:
        finished = _packet_record(packet, name=name, pdf=pdf, sha256=sha256, elapsed=elapsed)
    except DatabaseError:
        # The file is stored but not recorded (the database went away): remove it, so that
        # the render that the retry or the sweep does leaves the packet's one file.
        try:
            default_storage.delete(name)
        except Exception:  # any storage's error: the database error is the one to report
            logger.warning("Packet %s: could not remove the unrecorded file %s", packet.pk, name)
        raise
    if not finished:
        # Another render of the same packet finished first; keep one file only.
        default_storage.delete(name)
    else:
        _refresh_open_pages(packet_id)


@transaction.atomic
def _packet_record(packet, *, name: str, pdf: bytes, sha256: str, elapsed: float) -> bool:
    """Mark the packet ready with its stored file and tell its requester; False when another
    render finished first."""
    finished = ReadinessPacket.objects.filter(
        pk=packet.pk, status=ReadinessPacket.Status.RENDERING
    ).update(
        status=ReadinessPacket.Status.READY,
        file=name,
        size=len(pdf),
        sha256=sha256,
        rendered_at=timezone.now(),
        render_seconds=round(elapsed, 3),
    )
    if finished:
        send_on_commit(packet_ready, ReadinessPacket, plan_id=packet.plan_id, packet_id=packet.pk)
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
    return bool(finished)


def _packet_pdf(packet: ReadinessPacket) -> bytes:
    size = packets.contents_size(packet.snapshot)
    if size > settings.PACKET_MAX_SNAPSHOT_BYTES:
        raise PacketFailure(
            f"The plan is too large to render: its packet contents are {size / 1_000_000:.1f} MB, "
            f"the limit is {settings.PACKET_MAX_SNAPSHOT_BYTES / 1_000_000:.1f} MB."
        )
    events = packet_audit_events(packet)
    latest = list(events[: settings.PACKET_AUDIT_EVENTS])
    total = len(latest) if len(latest) < settings.PACKET_AUDIT_EVENTS else events.count()
    html = packets.packet_html(
        packet,
        # Every member may download the packet: no addresses or browsers in its appendix.
        audit_rows=describe_events(list(reversed(latest)), client_details=False),
        audit_total=total,
        signature_profile=pdfsign.profile(),
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
