"""How the work is split between processes: queues by kind of work, periodic tasks that run
once however many beats send them, and retries on database and broker errors."""

import logging
import threading

import pytest
import redis
from django.conf import settings
from django.core import mail
from django.db import OperationalError

from signoffs import policies
from signoffs import services as signoff_services
from signoffs import tasks as signoff_tasks
from truststream import tasks as core_tasks
from truststream.celery import app
from truststream.models import Delivery, Notification, NotificationKind
from truststream.services import notification_send


@pytest.fixture
def broker():
    """The run's queues on the real Redis, emptied before and after the test."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"]
    names = [f"{prefix}{queue}" for queue in ("packets", "mail", "default")]
    client.delete(*names)

    def waiting(queue: str) -> int:
        return client.llen(f"{prefix}{queue}")

    yield waiting
    client.delete(*names)


def test_each_kind_of_work_goes_to_its_queue(broker):
    signoff_tasks.packet_render.delay(1)
    core_tasks.notification_email.delay(1)
    core_tasks.outbox_email_send.delay(1)
    signoff_tasks.plan_changed.delay(1)
    signoff_tasks.plan_changed.delay(2)
    assert (broker("packets"), broker("mail"), broker("default")) == (1, 2, 2)


def test_workers_take_one_packet_at_a_time_and_acknowledge_after_the_work():
    render = app.tasks["signoffs.tasks.packet_render"]
    assert render.acks_late and render.reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1


def test_two_beats_sweep_the_signatures_once(transactional_db, broker, plan, holders):
    signature_owner = holders["technical_lead"]
    requirement = plan.roles.get(role="technical_lead")
    signoff_services.signoff_record(
        requirement=requirement,
        signer=signature_owner,
        decision="approve",
        seen_digest=policies.role_digest(requirement),
    )
    broker_before = broker("default")
    # Two beats each send the sweep in the same period; the workers run both at once.
    threads = [threading.Thread(target=signoff_tasks.signatures_sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert broker("default") - broker_before == 1  # plan_changed for the one plan, once


def test_two_beats_send_the_digest_once(plan, owner):
    notification_send(
        user=owner,
        kind=NotificationKind.PACKET_READY,
        key="digest-test",
        text="Something happened",
        url="/plans/",
        plan_id=plan.pk,
    )
    Notification.objects.filter(user=owner).update(delivery=Delivery.DAILY)
    core_tasks.notifications_digest()
    Notification.objects.filter(user=owner).update(emailed_at=None)  # as if a beat raced
    core_tasks.notifications_digest()
    assert len(mail.outbox) == 1


def test_a_task_retries_on_a_database_error_and_says_when_it_gives_up(caplog):
    """The task class every task shares: a database error is retried with backoff, and a task
    that runs out of retries logs it."""
    retries = app.tasks["signoffs.tasks.plan_changed"]
    assert OperationalError in retries.autoretry_for
    assert retries.retry_backoff and retries.max_retries == 8
    with caplog.at_level(logging.ERROR, logger="truststream.celery"):
        retries.on_failure(
            OperationalError("the database system is shutting down"), "id-1", (7,), {}, None
        )
    assert "Task signoffs.tasks.plan_changed[id-1] gave up after" in caplog.text
    assert "OperationalError" in caplog.text


def test_a_periodic_run_that_failed_lets_its_retry_run(db):
    """The claim is given back when the run fails, so that the retry is not taken for the
    second beat's copy."""
    from truststream.locks import once_per

    runs = []

    @once_per(3600)
    def sweep(fail: bool):
        runs.append(fail)
        if fail:
            raise OperationalError("the database system is starting up")

    with pytest.raises(OperationalError):
        sweep(True)
    sweep(False)
    sweep(False)  # within the hour: skipped
    assert runs == [True, False]
