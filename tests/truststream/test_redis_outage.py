"""The site while Redis is away: a private redis-server, started for these tests on a port of
their own, is stopped and started again empty. The shared Redis is never touched."""

import datetime
import os
import re
import shutil
import socket
import subprocess
import time

import pytest
import redis
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from checklists.models import ChecklistItem
from planning import live
from planning.models import Task
from tests.conftest import wait_for
from truststream import tasks
from truststream.celery import app
from truststream.models import Notification
from truststream.services import token_create


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


class PrivateRedis:
    """A redis-server of this test alone, without persistence: a restart starts it empty."""

    def __init__(self, tmp_path):
        # PRIVATE_REDIS_PORTS="8140-8149" keeps runs that share a machine on ports of their own.
        first, last = os.environ.get("PRIVATE_REDIS_PORTS", "8310-8329").split("-")
        self.port = next(p for p in range(int(first), int(last) + 1) if _port_free(p))
        self.dir = tmp_path
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while _port_free(self.port):
            assert time.monotonic() < deadline, "the private redis-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis(settings, tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is needed (bin/system-packages installs it)")
    server = PrivateRedis(tmp_path)
    server.start()
    settings.REDIS_URL = server.url
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": server.url},
    }
    live._client.cache_clear()
    yield server
    server.stop()
    live._client.cache_clear()


def test_pages_keep_answering_while_redis_is_down(private_redis, plan, editor, client_for):
    client = client_for(editor)
    pages = [
        reverse("planning:plan_list"),
        reverse("planning:plan_detail", args=[plan.pk]),
        reverse("planning:board", args=[plan.pk]),
        reverse("notifications"),
    ]
    for page in pages:
        assert client.get(page).status_code == 200
    item = Task.objects.filter(plan=plan).order_by("pk").first()
    assert client.get("/healthz").status_code == 200

    private_redis.stop()
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page  # still signed in: the session is in Postgres
        assert b"Sign out" in response.content or b"sign out" in response.content.lower()
    poll = client.get(reverse("planning:live", args=[plan.pk]))
    assert poll.status_code in (200, 304)
    changed = client.post(
        reverse("planning:task_status", args=[plan.pk, item.pk]), {"status": "in_progress"}
    )
    assert changed.status_code == 302
    assert Task.objects.get(pk=item.pk).status == "in_progress"
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json()["down"] == ["redis"]
    assert health.json()["checks"] == {"postgres": "ok", "redis": "down"}

    private_redis.start()  # empty: nothing it held survived
    for page in pages:
        assert client.get(page).status_code == 200
    assert client.get("/healthz").status_code == 200


def test_the_api_answers_without_rate_limits_while_redis_is_down(private_redis, plan, editor):
    from django.test import Client

    _, token = token_create(user=editor, name="ci")
    item = ChecklistItem.objects.filter(plan=plan).order_by("pk").first()
    private_redis.stop()
    response = Client().post(
        f"/api/v1/items/{item.pk}/state",
        data={"state": "passed", "note": "green"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.content
    assert ChecklistItem.objects.get(pk=item.pk).state == "passed"


def test_the_private_server_is_the_one_stopped(private_redis):
    """The shared Redis of the other tests still answers while this one is down."""
    private_redis.stop()
    shared = redis.Redis.from_url(os.environ["REDIS_URL"])
    assert shared.ping()


def _use_broker(url: str) -> None:
    app.conf.broker_url = url
    # Drop the connections to the other server, as Celery does in a forked process.
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def private_broker(private_redis, transactional_db):
    """The private server is the Celery broker too: what the site queues goes to it."""
    shared = app.conf.broker_url
    _use_broker(private_redis.url)
    yield private_redis
    _use_broker(shared)


def test_an_email_queued_while_redis_was_down_is_sent_once_it_is_back(
    private_broker, client_for, plan, owner, editor, viewer, mailoutbox
):
    from celery.contrib.testing.worker import start_worker

    def mention(name):
        response = client_for(owner).post(
            reverse("checklists:comment_add", args=[plan.pk]),
            {"target": "plan", "body": f"@{name} please look at the DNS change"},
        )
        assert response.status_code == 302

    def emails_to(user):
        return [m for m in mail.outbox if m.to == [user.email] and "mentioned" in m.subject]

    private_broker.stop()
    mention("eddie")  # the email cannot be queued: the comment is saved all the same
    lost = Notification.objects.get(user=editor, kind="mention")
    private_broker.start()
    mention("vera")  # queued now, and queued again by the sweep below: sent once all the same
    late = Notification.objects.get(user=viewer, kind="mention")

    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=2)):
        tasks.notification_emails_requeue()  # too early: either may still be on its way
    assert Notification.objects.filter(email_queued_at__isnull=False).count() == 0
    later = timezone.now() + datetime.timedelta(minutes=8)
    with time_machine.travel(later):
        tasks.notification_emails_requeue()
    assert Notification.objects.filter(email_queued_at__isnull=False).count() == 2

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        wait_for(lambda: emails_to(editor) and emails_to(viewer))
        queue = f"{app.conf.broker_transport_options['global_keyprefix']}mail"
        client = redis.Redis.from_url(private_broker.url)
        wait_for(lambda: client.llen(queue) == 0)
    # The worker stopped after the message it held: each person was emailed once.
    assert len(emails_to(editor)) == 1 and len(emails_to(viewer)) == 1
    for notification in (lost, late):
        notification.refresh_from_db()
        assert notification.emailed_at is not None

    with time_machine.travel(later + datetime.timedelta(minutes=10)):
        tasks.notification_emails_requeue()  # nothing left to send
    assert len(emails_to(editor)) == 1 and len(emails_to(viewer)) == 1


def test_an_email_still_unsent_after_a_day_is_given_up_and_logged(
    private_broker, client_for, plan, owner, editor, caplog
):
    private_broker.stop()
    client_for(owner).post(
        reverse("checklists:comment_add", args=[plan.pk]),
        {"target": "plan", "body": "@eddie please look"},
    )
    private_broker.start()
    notification = Notification.objects.get(user=editor, kind="mention")
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=25)):
        tasks.notification_emails_requeue()
    notification.refresh_from_db()
    assert notification.email_given_up_at is not None and notification.emailed_at is None
    assert (
        f"Gave up emailing 1 notification(s), still unsent after 24 hours: ids [{notification.pk}]"
        in caplog.text
    )
    tasks.notification_email(notification.pk)  # a late message does not send it either
    assert not [m for m in mail.outbox if "mentioned" in m.subject]


def test_an_invitation_made_while_redis_was_down_is_emailed_once_it_is_back(
    private_broker, client_for, plan, owner, mailoutbox
):
    from celery.contrib.testing.worker import start_worker

    from truststream.models import OutboxEmail

    def invite(address):
        response = client_for(owner).post(
            reverse("planning:member_add", args=[plan.pk]), {"email": address, "role": "editor"}
        )
        assert response.status_code == 302  # the page answers as it always does

    def invitations_to(address):
        return [m for m in mail.outbox if m.to == [address] and "invited" in m.subject]

    private_broker.stop()
    invite("newcomer@example.com")  # its email cannot be queued: the invitation is made
    invite("changed-mind@example.com")
    withdrawn = plan.invitations.get(email="changed-mind@example.com")
    response = client_for(owner).post(
        reverse("planning:invitation_withdraw", args=[plan.pk, withdrawn.pk])
    )
    assert response.status_code == 302
    private_broker.start()
    invite("late@example.com")  # queued now, and queued again by the sweep below

    later = timezone.now() + datetime.timedelta(minutes=8)
    with time_machine.travel(later):
        tasks.notification_emails_requeue()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        wait_for(
            lambda: invitations_to("newcomer@example.com") and invitations_to("late@example.com")
        )
        queue = f"{app.conf.broker_transport_options['global_keyprefix']}mail"
        client = redis.Redis.from_url(private_broker.url)
        wait_for(lambda: client.llen(queue) == 0)
    # Each invitation was emailed once, with its link; the withdrawn one was not emailed.
    [message] = invitations_to("newcomer@example.com")
    link = re.search(r"http://127\.0\.0\.1:8000(/invitations/\S+/)", message.body).group(1)
    page = client_for(owner).get(link)  # the link opens the invitation (not an expired one)
    assert page.status_code == 200 and b"newcomer@example.com" in page.content
    assert len(invitations_to("late@example.com")) == 1
    assert invitations_to("changed-mind@example.com") == []
    assert OutboxEmail.objects.get(to="changed-mind@example.com").cancelled_at is not None

    with time_machine.travel(later + datetime.timedelta(minutes=10)):
        tasks.notification_emails_requeue()  # nothing left to send
    assert len(invitations_to("newcomer@example.com")) == 1
    assert len(invitations_to("late@example.com")) == 1
