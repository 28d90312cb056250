"""The API a pipeline needs (/api/v1/): plans, tasks, sign-offs, packets, the gate and webhook
deliveries, with who may do what and what bad input gets. Checklists and readiness have
their own tests (tests/checklists/test_api.py)."""

import hashlib
import uuid

import pytest

from gates.models import GateDecision, Webhook, WebhookDelivery
from planning import services as planning_services
from planning.models import Task
from signoffs import services as signoff_services
from tests.access import database_state
from tests.checklists.test_api import assert_error, call, token_of
from tests.conftest import ROLES
from tests.factories import make_plan
from tests.signoffs.test_signoffs import move, ready_to_sign, sign


@pytest.fixture
def plan(plan, owner, failed_delivery):
    """The shared plan with a packet asked for and a webhook with one failed delivery."""
    signoff_services.packet_request(plan=plan, requested_by=owner, kind="draft")
    failed_delivery(plan)
    return plan


def used_token(user, name="ci") -> str:
    """A token already used once: its first use records when (once a minute), which is no
    change a refused call made."""
    token = token_of(user, name=name)
    assert call("get", "/plans", token).status_code == 200
    return token


def first_task(plan) -> Task:
    return Task.objects.filter(plan=plan).order_by("phase__number", "group", "position")[0]


def delivery_of(plan) -> WebhookDelivery:
    return WebhookDelivery.objects.filter(plan=plan).order_by("id")[0]


# (method, path, the permission it needs, a body, the status a permitted call gets)
ENDPOINTS = [
    ("get", lambda p: f"/plans/{p.pk}", "view", None, 200),
    ("get", lambda p: f"/plans/{p.pk}/tasks", "view", None, 200),
    ("get", lambda p: f"/tasks/{first_task(p).pk}", "view", None, 200),
    ("post", lambda p: f"/tasks/{first_task(p).pk}/status", "change", {"status": "done"}, 200),
    ("get", lambda p: f"/plans/{p.pk}/signoffs", "view", None, 200),
    ("get", lambda p: f"/plans/{p.pk}/packets", "view", None, 200),
    ("post", lambda p: f"/plans/{p.pk}/packets", "change", {"kind": "draft"}, 202),
    ("get", lambda p: f"/plans/{p.pk}/gate", "view", None, 200),
    ("get", lambda p: f"/plans/{p.pk}/webhooks/deliveries", "manage", None, 200),
    (
        "post",
        lambda p: f"/plans/{p.pk}/webhooks/deliveries/{delivery_of(p).pk}/redeliver",
        "manage",
        None,
        202,
    ),
]
ROLE_MAY = {"viewer": {"view"}, "editor": {"view", "change"}, "owner": {"view", "change", "manage"}}
ids = [f"{method}-{perm}-{n}" for n, (method, _, perm, _, _) in enumerate(ENDPOINTS)]


@pytest.mark.parametrize(("method", "path", "perm", "body", "ok"), ENDPOINTS, ids=ids)
def test_each_role_gets_what_its_permission_allows(request, plan, method, path, perm, body, ok):
    for role, may in ROLE_MAY.items():
        token = used_token(request.getfixturevalue(role), name=role)
        before = database_state()
        response = call(method, path(plan), token, body)
        if perm in may:
            assert response.status_code == ok, (role, response.content)
        else:
            assert_error(response, 403)
            assert database_state() == before, role


@pytest.mark.parametrize(("method", "path", "perm", "body", "ok"), ENDPOINTS, ids=ids)
def test_an_outsider_gets_404_and_no_token_401(plan, outsider, method, path, perm, body, ok):
    token = used_token(outsider)
    before = database_state()
    assert_error(call(method, path(plan), token, body), 404)
    assert_error(call(method, path(plan), None, body), 401)
    assert_error(call(method, path(plan), "ts_not-a-token", body), 401)
    assert database_state() == before


# Plans


def test_the_plan_list_has_the_callers_plans_only(plan, owner, viewer, outsider):
    theirs = make_plan(outsider)
    response = call("get", "/plans", token_of(viewer))
    assert response.status_code == 200
    [listed] = response.json()
    assert listed["id"] == plan.pk
    assert listed["role"] == "viewer"
    assert listed["status"] == "draft"
    assert listed["url"] == f"http://testserver/plans/{plan.pk}/"
    assert [p["id"] for p in call("get", "/plans", token_of(outsider)).json()] == [theirs.pk]


def test_the_plan_list_filters_and_refuses_a_bad_filter(plan, owner):
    token = token_of(owner)
    assert [p["id"] for p in call("get", "/plans?status=draft", token).json()] == [plan.pk]
    assert call("get", "/plans?status=signed_off", token).json() == []
    assert call("get", "/plans?archived=true", token).json() == []
    planning_services.plan_archive(plan=plan)
    assert [p["archived"] for p in call("get", "/plans?archived=true", token).json()] == [True]
    body = assert_error(call("get", "/plans?status=sunny", token), 422)
    assert body["errors"][0]["loc"][-1] == "status"
    assert_error(call("get", "/plans?q=a%00b", token), 422)


def test_a_plans_detail_has_its_four_weeks(plan, editor):
    body = call("get", f"/plans/{plan.pk}", token_of(editor)).json()
    assert body["role"] == "editor"
    assert [phase["number"] for phase in body["phases"]] == [1, 2, 3, 4]
    assert body["signoff_threshold"] == plan.signoff_threshold


@pytest.mark.parametrize("plan_id", ["0", "-1", str(2**63), "x"])
def test_an_id_out_of_range_is_refused_as_json(plan, owner, plan_id):
    response = call("get", f"/plans/{plan_id}/gate", token_of(owner))
    assert response.status_code in (404, 422)
    assert response["Content-Type"].startswith("application/json")


# Tasks


def test_tasks_are_listed_in_board_order_and_filtered(plan, viewer):
    token = token_of(viewer)
    tasks = call("get", f"/plans/{plan.pk}/tasks", token).json()
    assert len(tasks) == Task.objects.filter(plan=plan).count() > 0
    assert [t["phase"] for t in tasks] == sorted(t["phase"] for t in tasks)
    week2 = call("get", f"/plans/{plan.pk}/tasks?phase=2", token).json()
    assert week2 and {t["phase"] for t in week2} == {2}
    assert_error(call("get", f"/plans/{plan.pk}/tasks?phase=5", token), 422)


def test_an_editor_blocks_a_task_with_its_reason(plan, editor):
    task = first_task(plan)
    response = call(
        "post",
        f"/tasks/{task.pk}/status",
        token_of(editor),
        {"status": "blocked", "blocked_reason": "Waiting for the firewall change"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "blocked"
    task.refresh_from_db()
    assert (task.status, task.blocked_reason) == ("blocked", "Waiting for the firewall change")
    read = call("get", f"/tasks/{task.pk}", token_of(editor)).json()
    assert read["blocked_reason"] == "Waiting for the firewall change"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"status": "blocked"}, 400, "blocked_reason"),
        ({"status": "blocked", "blocked_reason": "two\nlines"}, 400, "blocked_reason"),
        ({"status": "finished"}, 422, "status"),
        ({}, 422, "status"),
        ({"status": "done", "blocked_reason": "x" * 501}, 422, "blocked_reason"),
    ],
)
def test_a_bad_task_status_changes_nothing(plan, editor, body, status, field):
    task = first_task(plan)
    token = used_token(editor)
    before = database_state()
    response = call("post", f"/tasks/{task.pk}/status", token, body)
    errors = assert_error(response, status)["errors"]
    if status == 400:
        assert field in errors
    else:
        assert errors[0]["loc"][-1] == field
    assert database_state() == before


def test_a_body_that_is_not_json_is_400(plan, editor):
    response = call("post", f"/tasks/{first_task(plan).pk}/status", token_of(editor), raw="{")
    assert assert_error(response, 400)["detail"] == "Cannot parse request body"


def test_a_task_of_an_archived_plan_is_not_changed(plan, owner):
    planning_services.plan_archive(plan=plan)
    task = first_task(plan)
    response = call("post", f"/tasks/{task.pk}/status", token_of(owner), {"status": "done"})
    assert "archived" in str(assert_error(response, 400)["errors"])
    task.refresh_from_db()
    assert task.status == "todo"


# Sign-offs and the gate


def test_the_signoff_state_and_the_gate_follow_the_signatures(plan, owner, editor, holders):
    token = token_of(owner)
    state = call("get", f"/plans/{plan.pk}/signoffs", token).json()
    assert state["signed_off"] is False
    assert {role["state"] for role in state["roles"]} == {"missing"}
    gate = call("get", f"/plans/{plan.pk}/gate", token)
    assert gate.status_code == 200
    assert gate.json()["decision"] == "no-go"
    assert gate.json()["reasons"]

    ready_to_sign(plan, owner, editor)
    move(plan, "in_progress")
    move(plan, "awaiting_signoff")
    for role in ROLES:
        sign(plan, role, holders[role])
    state = call("get", f"/plans/{plan.pk}/signoffs", token).json()
    assert state["signed_off"] is True
    assert state["status"] == "signed_off"
    security = next(role for role in state["roles"] if role["role"] == "security_officer")
    assert security["state"] == "approved"
    assert security["latest"]["digest"] == security["current_digest"]
    assert security["holder"] == holders["security_officer"].email
    gate = call("get", f"/plans/{plan.pk}/gate", token_of(holders["business_owner"]))
    assert gate.status_code == 200
    assert gate.json()["decision"] == "go"
    assert gate.json()["missing_roles"] == []
    assert len(gate.json()["plan_digest"]) == 64

    planning_services.plan_update(plan=plan, title="Changed after signing")
    gate = call("get", f"/plans/{plan.pk}/gate", token).json()
    assert gate["decision"] == "no-go"
    assert "Business Owner" in gate["stale_roles"]


def test_each_answer_of_the_gate_is_recorded_with_who_asked_and_for_what(plan, viewer):
    path = f"/plans/{plan.pk}/gate?deployment=shop%404f2a9c1%20%E2%86%92%20production"
    body = call("get", path, token_of(viewer)).json()
    [record] = GateDecision.objects.filter(plan=plan)
    assert (record.integration, record.asked_by, record.decision) == ("api", viewer, "no-go")
    assert record.deployment_label == "shop@4f2a9c1 → production"
    assert record.answer == "no-go"
    assert record.document == body
    assert_error(
        call("get", f"/plans/{plan.pk}/gate?deployment=" + "x" * 301, token_of(viewer)), 422
    )
    assert GateDecision.objects.filter(plan=plan).count() == 1


# Packets


def test_an_editor_asks_for_a_packet_and_downloads_it_when_ready(plan, editor, viewer):
    response = call("post", f"/plans/{plan.pk}/packets", token_of(editor), {"kind": "draft"})
    assert response.status_code == 202, response.content
    asked = response.json()
    assert (asked["kind"], asked["status"], asked["download"]) == ("draft", "queued", None)
    assert_error(
        call("get", f"/plans/{plan.pk}/packets/{asked['id']}/download", token_of(viewer)), 404
    )

    signoff_services.packet_render(packet_id=asked["id"])
    [listed] = call("get", f"/plans/{plan.pk}/packets", token_of(viewer)).json()
    assert (listed["id"], listed["status"], listed["superseded"]) == (asked["id"], "ready", False)
    download = call(
        "get", listed["download"].removeprefix("http://testserver/api/v1"), token_of(viewer)
    )
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    pdf = b"".join(download.streaming_content)
    assert pdf.startswith(b"%PDF")
    assert hashlib.sha256(pdf).hexdigest() == listed["sha256"]
    assert len(pdf) == listed["size"]


def test_a_final_packet_of_an_unsigned_plan_is_refused(plan, editor):
    token = used_token(editor)
    before = database_state()
    response = call("post", f"/plans/{plan.pk}/packets", token, {"kind": "final"})
    assert_error(response, 400)
    assert_error(call("post", f"/plans/{plan.pk}/packets", token, {"kind": "x"}), 422)
    assert database_state() == before


def test_a_packet_of_another_plan_is_not_found(plan, owner):
    other = make_plan(owner)
    packet = signoff_services.packet_request(plan=other, requested_by=owner, kind="draft")
    response = call("get", f"/plans/{plan.pk}/packets/{packet.pk}/download", token_of(owner))
    assert_error(response, 404)


# Webhook deliveries


def test_owners_list_the_deliveries_and_redeliver_one(plan, owner):
    token = token_of(owner)
    failed = delivery_of(plan)
    [listed] = call("get", f"/plans/{plan.pk}/webhooks/deliveries", token).json()
    assert (listed["id"], listed["status"], listed["response_code"]) == (failed.pk, "failed", 500)
    assert listed["url"] == "https://hooks.example.com/readiness"
    response = call("post", f"/plans/{plan.pk}/webhooks/deliveries/{failed.pk}/redeliver", token)
    assert response.status_code == 202
    again = response.json()
    assert (again["status"], again["redelivery_of"]) == ("pending", failed.pk)
    assert again["event_id"] == str(failed.event_id)
    pending = call("get", f"/plans/{plan.pk}/webhooks/deliveries?status=pending", token).json()
    assert [d["id"] for d in pending] == [again["id"]]
    assert_error(call("get", f"/plans/{plan.pk}/webhooks/deliveries?limit=0", token), 422)


def test_a_delivery_of_another_plan_is_not_redelivered(plan, owner):
    other = make_plan(owner)
    hook = Webhook.objects.create(
        plan=other, url="https://x.example/h", secret="s", event_types=["packet.ready"]
    )
    foreign = WebhookDelivery.objects.create(
        webhook=hook, plan=other, event_id=uuid.uuid4(), event="packet.ready", body="{}"
    )
    path = f"/plans/{plan.pk}/webhooks/deliveries/{foreign.pk}/redeliver"
    assert_error(call("post", path, token_of(owner)), 404)
    assert WebhookDelivery.objects.filter(plan=other).count() == 1
