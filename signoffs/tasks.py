"""The worker's tasks. Each loads what it needs by id and calls a service.

The services queue these tasks, so this module imports `signoffs.services` inside each task
body rather than at the top: the usual Celery pattern, and the one import that points back
up the stack.

Every task is retried on a database or broker error (truststream.celery.AuditedTask); the
periodic ones claim their run first (truststream.locks), so that two beats do the work once.
"""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError

from signoffs import policies
from truststream.celery import TRANSIENT
from truststream.locks import once_per

logger = logging.getLogger(__name__)


@shared_task
def plan_changed(plan_id: int) -> None:
    """After a plan's content changed: leave "signed off" if a signature went stale, and tell
    each holder whose signature did."""
    from signoffs import services

    services.after_plan_change(plan_id=plan_id)


# Routed to the `packets` queue. A worker that dies mid-render leaves the message
# unacknowledged (acks_late) and the packet's lease runs out, so the sweep queues it again.
@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    # Its own retries, below: a transient error first gives the packet back.
    autoretry_for=(),
    max_retries=5,
    soft_time_limit=settings.PACKET_RENDER_SECONDS,
    time_limit=settings.PACKET_RENDER_SECONDS + 30,
)
def packet_render(self, packet_id: int) -> None:
    """Render, sign and store a readiness packet."""
    from signoffs import services

    try:
        services.packet_render(packet_id=packet_id)
    except SoftTimeLimitExceeded:
        services.packet_fail(
            packet_id,
            f"Rendering took longer than the {settings.PACKET_RENDER_SECONDS} seconds allowed.",
        )
    except TRANSIENT as error:
        if self.request.retries >= self.max_retries:
            services.packet_fail(
                packet_id, "Rendering kept failing on a database or storage error; it is logged."
            )
            raise
        try:
            services.packet_release(packet_id)
        except DatabaseError:
            logger.warning("Packet %s keeps its lease until it runs out", packet_id)
        raise self.retry(exc=error, countdown=2 ** (self.request.retries + 1)) from error
    except Exception:
        # Logged by Celery with its traceback; the requester sees that it failed, not how.
        services.packet_fail(packet_id, "Rendering failed on an unexpected error; it is logged.")
        raise


@shared_task
@once_per(max(1, settings.CELERY_BEAT_SCHEDULE["signatures-sweep"]["schedule"] * 9 // 10))
def signatures_sweep() -> None:
    """Every few minutes (SIGNOFF_SWEEP_SECONDS): check the plans with signatures that are
    still in play, so that a change no service saw (the admin, SQL) also takes a plan out of
    "signed off" and tells the holders whose signature went stale."""
    for plan_id in policies.plans_to_sweep():
        plan_changed.delay(plan_id)


@shared_task
@once_per(max(1, settings.CELERY_BEAT_SCHEDULE["packets-requeue"]["schedule"] * 9 // 10))
def packets_requeue() -> None:
    """Every PACKET_SWEEP_SECONDS: queue again the packets whose task is gone."""
    from signoffs import services

    services.packets_requeue()
