"""The Webhooks tab: owners add and remove webhooks, see the delivery log and redeliver."""

import json
import re
import uuid

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gates.models import Webhook, WebhookDelivery
from tests.gates.test_webhooks import add_webhook, settled, verify
from tests.signoffs.test_signoffs import move


def page(plan):
    return reverse("gates:webhooks", args=[plan.pk])


def add(client, plan, url, events=("plan.status_changed", "packet.ready")):
    return client.post(
        reverse("gates:webhook_add", args=[plan.pk]), {"url": url, "events": list(events)}
    )


def test_an_owner_adds_a_webhook_and_sees_its_secret_once(db, plan, owner, client_for, receiver):
    client = client_for(owner)
    response = add(client, plan, receiver.url)
    assert response.status_code == 200
    webhook = Webhook.objects.get(plan=plan)
    assert webhook.url == receiver.url
    assert webhook.event_types == ["packet.ready", "plan.status_changed"]
    assert webhook.created_by == owner
    assert webhook.secret.startswith("whsec_")
    text = response.content.decode()
    assert "Copy this secret now" in text
    assert f'value="{webhook.secret}"' in text
    again = client.get(page(plan)).content.decode()
    assert webhook.secret not in again
    assert receiver.url in again


def test_the_tab_is_shown_to_owners_only(db, plan, owner, editor, client_for):
    overview = reverse("planning:plan_detail", args=[plan.pk])
    assert page(plan) in client_for(owner).get(overview).content.decode()
    assert page(plan) not in client_for(editor).get(overview).content.decode()


def field_errors(response) -> str:
    return " ".join(re.findall(r'<ul class="errorlist"[^>]*>(.*?)</ul>', response.content.decode()))


def test_bad_input_is_a_field_error_and_adds_nothing(db, plan, owner, client_for, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    client = client_for(owner)
    cases = [
        ("https://hooks.example.com/x", [], "Choose at least one event."),
        ("not a url", ["packet.ready"], "Enter a valid URL."),
        ("ftp://hooks.example.com/x", ["packet.ready"], "Only http:// and https://"),
        ("http://127.0.0.1:8000/x", ["packet.ready"], "inside a private or reserved network"),
        ("https://hooks.example.com/x", ["plan.deleted"], "Select a valid choice."),
    ]
    for url, events, message in cases:
        response = add(client, plan, url, events)
        assert response.status_code == 400, url
        assert message in field_errors(response), (url, field_errors(response))
    assert not Webhook.objects.exists()


def test_the_same_url_twice_is_refused(db, plan, owner, client_for, receiver):
    client = client_for(owner)
    add(client, plan, receiver.url)
    response = add(client, plan, receiver.url)
    assert response.status_code == 400
    assert "already sends webhooks to this URL" in field_errors(response)
    assert Webhook.objects.count() == 1


def test_an_owner_removes_a_webhook(db, plan, owner, client_for, receiver):
    webhook = add_webhook(plan, owner, receiver.url)
    client = client_for(owner)
    response = client.post(reverse("gates:webhook_delete", args=[plan.pk, webhook.pk]))
    assert response.status_code == 302
    assert not Webhook.objects.exists()
    assert "removed" in client.get(response["Location"]).content.decode()


def test_the_log_shows_each_delivery_and_redelivers_one(
    transactional_db, celery_worker, plan, owner, client_for, receiver
):
    receiver.answer(400, 200)
    webhook = add_webhook(plan, owner, receiver.url, ["plan.status_changed"])
    move(plan, "in_progress")
    first = settled(WebhookDelivery.objects.get(plan=plan).pk)
    assert first.status == "failed"
    client = client_for(owner)
    log = client.get(page(plan)).content.decode()
    row = re.search(rf'<tr id="delivery-{first.pk}">(.*?)</tr>', log, re.S).group(1)
    assert "Status change" in row and "Failed" in row and "400" in row
    assert f"in {first.response_ms} ms" in row
    assert "The receiver answered 400." in row
    assert "Redeliver" in row

    response = client.post(reverse("gates:delivery_redeliver", args=[plan.pk, first.pk]))
    assert response.status_code == 302
    again = settled(WebhookDelivery.objects.exclude(pk=first.pk).get(plan=plan).pk)
    assert (again.status, again.response_code, again.redelivery_of_id) == (
        "delivered",
        200,
        first.pk,
    )
    assert again.requested_by == owner
    one, two = receiver.wait_for(2)
    assert one.body == two.body
    assert (
        json.loads(two.body)["id"] == str(first.event_id) == two.headers["x-truststream-delivery"]
    )
    assert verify(webhook.secret, two.headers, two.body)
    log = client.get(page(plan)).content.decode()
    row = re.search(rf'<tr id="delivery-{again.pk}">(.*?)</tr>', log, re.S).group(1)
    assert "(redelivery)" in row and "Delivered" in row and "200" in row


def test_a_delivery_of_another_plan_is_not_found(db, plan, owner, client_for, receiver):
    from tests.factories import make_plan

    other = make_plan(owner)
    webhook = add_webhook(other, owner, receiver.url)
    foreign = WebhookDelivery.objects.create(
        webhook=webhook, plan=other, event_id=uuid.uuid4(), event="packet.ready", body="{}"
    )
    response = client_for(owner).post(
        reverse("gates:delivery_redeliver", args=[plan.pk, foreign.pk])
    )
    assert response.status_code == 404
    assert WebhookDelivery.objects.count() == 1


def test_the_page_costs_the_same_queries_with_ten_times_the_deliveries(
    db, plan, owner, client_for, receiver
):
    webhook = add_webhook(plan, owner, receiver.url)
    client = client_for(owner)

    def deliveries(count):
        WebhookDelivery.objects.bulk_create(
            WebhookDelivery(
                webhook=webhook, plan=plan, event_id=uuid.uuid4(), event="packet.ready", body="{}"
            )
            for _ in range(count)
        )
        with CaptureQueriesContext(connection) as queries:
            assert client.get(page(plan)).status_code == 200
        return len(queries)

    assert deliveries(2) == deliveries(18)
