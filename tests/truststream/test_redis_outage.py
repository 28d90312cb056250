"""The site while Redis is away: a private redis-server, started for these tests on a port of
their own, is stopped and started again empty. The shared Redis is never touched."""

import os
import shutil
import socket
import subprocess
import time

import pytest
from django.urls import reverse

from checklists.models import ChecklistItem
from planning import live
from planning.models import Task
from truststream.services import token_create


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


class PrivateRedis:
    """A redis-server of this test alone, without persistence: a restart starts it empty."""

    def __init__(self, tmp_path):
        self.port = next(p for p in range(8310, 8330) if _port_free(p))
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
    import redis

    private_redis.stop()
    shared = redis.Redis.from_url(os.environ["REDIS_URL"])
    assert shared.ping()
