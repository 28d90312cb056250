"""Outgoing webhooks, end to end: a real worker sends each event to a real receiver on
loopback; the receiver checks the signature the way docs/webhooks.md tells receivers to."""

import hashlib
import hmac
import json
import time

import pytest
from django.core.exceptions import ValidationError

from gates import webhook_services
from gates.models import Webhook, WebhookDelivery
from tests.conftest import ROLES, wait_for
from tests.signoffs.test_signoffs import move, ready_to_sign, sign

ALL_EVENTS = ["plan.status_changed", "signoff.recorded", "signoff.stale", "packet.ready"]


def verify(secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300) -> bool:
    """The receiver's check, as docs/webhooks.md gives it."""
    timestamp = headers["x-truststream-timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest("sha256=" + expected.hexdigest(), headers["x-truststream-signature"])


def add_webhook(plan, owner, url, events=ALL_EVENTS) -> Webhook:
    return webhook_services.webhook_create(plan=plan, actor=owner, url=url, events=events)


def settled(delivery_id: int) -> WebhookDelivery:
    def done():
        delivery = WebhookDelivery.objects.get(pk=delivery_id)
        return delivery if delivery.status != "pending" else None

    return wait_for(done)


def test_a_status_change_reaches_the_receiver_signed(
    transactional_db, celery_worker, plan, owner, receiver, settings
):
    settings.SITE_URL = "https://readiness.example"
    webhook = add_webhook(plan, owner, receiver.url)
    move(plan, "in_progress")
    [request] = receiver.wait_for(1)
    assert request.method == "POST"
    assert request.path == "/hooks/readiness"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-truststream-event"] == "plan.status_changed"
    assert verify(webhook.secret, request.headers, request.body)
    assert not verify("another secret", request.headers, request.body)
    assert not verify(webhook.secret, request.headers, request.body + b" ")
    body = json.loads(request.body)
    assert body["event"] == "plan.status_changed"
    assert body["id"] == request.headers["x-truststream-delivery"]
    assert body["data"] == {"from": "draft", "to": "in_progress"}
    assert body["plan"] == {
        "id": plan.pk,
        "title": plan.title,
        "release_version": plan.release_version,
        "environment": plan.environment,
        "status": "in_progress",
        "url": f"https://readiness.example/plans/{plan.pk}/",
    }
    [delivery] = WebhookDelivery.objects.filter(plan=plan)
    delivery = settled(delivery.pk)
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 1, 200)
    assert delivery.response_ms is not None
    assert str(delivery.event_id) == body["id"]


def test_a_500_is_tried_again_after_a_wait_and_then_delivered(
    transactional_db, celery_worker, plan, owner, receiver, settings
):
    settings.WEBHOOK_RETRY_SECONDS = 1
    receiver.answer(500, 200)
    webhook = add_webhook(plan, owner, receiver.url, ["plan.status_changed"])
    move(plan, "in_progress")
    first, second = receiver.wait_for(2)
    assert second.at - first.at >= 0.9
    assert first.body == second.body
    assert first.headers["x-truststream-delivery"] == second.headers["x-truststream-delivery"]
    assert verify(webhook.secret, second.headers, second.body)
    delivery = settled(WebhookDelivery.objects.get(plan=plan).pk)
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 2, 200)


def test_it_gives_up_after_the_last_attempt_and_says_why(
    transactional_db, celery_worker, plan, owner, receiver, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    receiver.answer(503)
    add_webhook(plan, owner, receiver.url, ["plan.status_changed"])
    move(plan, "in_progress")
    receiver.wait_for(3)
    delivery = settled(WebhookDelivery.objects.get(plan=plan).pk)
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("failed", 3, 503)
    assert delivery.error == "The receiver answered 503."
    time.sleep(0.5)
    assert len(receiver.requests) == 3


def test_a_refusal_by_the_receiver_is_not_tried_again(
    transactional_db, celery_worker, plan, owner, receiver
):
    receiver.answer(400)
    add_webhook(plan, owner, receiver.url, ["plan.status_changed"])
    move(plan, "in_progress")
    delivery = settled(WebhookDelivery.objects.get(plan=plan).pk)
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("failed", 1, 400)
    assert len(receiver.requests) == 1


def test_an_unreachable_receiver_is_tried_again_and_fails_with_the_reason(
    transactional_db, celery_worker, plan, owner, receiver, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    url = receiver.url
    receiver.server.shutdown()
    receiver.server.server_close()
    add_webhook(plan, owner, url, ["plan.status_changed"])
    move(plan, "in_progress")
    delivery = settled(WebhookDelivery.objects.get(plan=plan).pk)
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("failed", 2, None)
    assert delivery.error.startswith("Could not deliver:")


def test_signatures_and_packets_are_sent_to_those_who_asked_for_them(
    transactional_db, celery_worker, plan, owner, editor, holders, receiver
):
    signatures = add_webhook(plan, owner, receiver.url + "/signatures", ["signoff.recorded"])
    ready_to_sign(plan, owner, editor)
    move(plan, "in_progress")
    move(plan, "awaiting_signoff")
    for role in ROLES:
        sign(plan, role, holders[role])
    requests = receiver.wait_for(len(ROLES))
    time.sleep(0.5)
    assert len(receiver.requests) == len(ROLES)  # no status change: it was not asked for
    assert {r.headers["x-truststream-event"] for r in requests} == {"signoff.recorded"}
    assert all(verify(signatures.secret, r.headers, r.body) for r in requests)
    data = sorted((json.loads(r.body)["data"] for r in requests), key=lambda d: d["role"])
    assert [d["role"] for d in data] == sorted(ROLES)
    assert {d["decision"] for d in data} == {"approve"}
    assert all(len(d["digest"]) == 64 for d in data)


def test_a_stale_signature_is_sent(
    transactional_db, celery_worker, plan, owner, editor, holders, receiver
):
    from planning import services as planning_services
    from signoffs import services as signoff_services

    add_webhook(plan, owner, receiver.url, ["signoff.stale"])
    ready_to_sign(plan, owner, editor)
    move(plan, "in_progress")
    move(plan, "awaiting_signoff")
    sign(plan, "business_owner", holders["business_owner"])
    planning_services.plan_update(plan=plan, title="A new title")
    signoff_services.after_plan_change(plan_id=plan.pk)
    [request] = receiver.wait_for(1)
    body = json.loads(request.body)
    assert body["event"] == "signoff.stale"
    assert body["data"]["role"] == "business_owner"


def test_a_ready_packet_is_sent_with_its_digest(
    transactional_db, celery_worker, plan, owner, receiver, settings
):
    from signoffs import services as signoff_services

    settings.SITE_URL = "https://readiness.example"
    add_webhook(plan, owner, receiver.url, ["packet.ready"])
    packet = signoff_services.packet_request(plan=plan, requested_by=owner, kind="draft")
    signoff_services.packet_render(packet_id=packet.pk)
    packet.refresh_from_db()
    [request] = receiver.wait_for(1)
    data = json.loads(request.body)["data"]
    assert data == {
        "packet": packet.pk,
        "revision": packet.revision,
        "kind": "draft",
        "sha256": packet.sha256,
        "size": packet.size,
        "download": f"https://readiness.example/api/v1/plans/{plan.pk}/packets/{packet.pk}/download",
    }


def test_an_event_nobody_asked_for_queues_nothing(transactional_db, plan, owner, receiver):
    add_webhook(plan, owner, receiver.url, ["packet.ready"])
    assert (
        webhook_services.deliveries_queue(plan_id=plan.pk, event="plan.status_changed", data={})
        == []
    )
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://hooks.example.com/x", "Only http:// and https://"),
        ("https://user:pw@hooks.example.com/x", "Leave credentials out"),
        ("http://127.0.0.1:9/x", "inside a private or reserved network"),
        ("http://10.1.2.3/x", "inside a private or reserved network"),
        ("http://169.254.169.254/latest/meta-data", "inside a private or reserved network"),
        ("http://[::1]/x", "inside a private or reserved network"),
    ],
)
def test_addresses_the_server_must_not_call_are_refused(db, plan, owner, url, message):
    with pytest.raises(ValidationError, match=message):
        add_webhook(plan, owner, url)
    assert not Webhook.objects.exists()


def test_an_archived_plan_takes_no_new_webhook(db, plan, owner, receiver):
    from planning import services as planning_services

    planning_services.plan_archive(plan=plan)
    with pytest.raises(ValidationError, match="archived"):
        add_webhook(plan, owner, receiver.url)
