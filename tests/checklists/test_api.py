"""The JSON API for CI pipelines (/api/v1/), called with personal tokens."""

import datetime
import json

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from checklists import services
from checklists.models import ChecklistItem, EvidenceLink
from planning import services as planning_services
from tests.factories import make_plan
from truststream.services import token_create, token_revoke

CI_LINK = "https://ci.example.com/run/1"


def call(method, path, token=None, body=None, raw=None):
    """Call the API as a pipeline would: a plain client, a bearer token, a JSON body."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    kwargs = {"headers": headers}
    if body is not None or raw is not None:
        kwargs["data"] = raw if raw is not None else json.dumps(body)
        kwargs["content_type"] = "application/json"
    return getattr(Client(), method)(f"/api/v1{path}", **kwargs)


def token_of(user, name="ci"):
    _, plain = token_create(user=user, name=name)
    return plain


def item_named(plan, text):
    return ChecklistItem.objects.get(plan=plan, text=text)


def first_item(plan):
    return ChecklistItem.objects.filter(plan=plan).order_by("checklist__position", "position")[0]


def snapshot(plan) -> tuple:
    """Everything about a plan's items and evidence links that a call could change."""
    return (
        list(
            ChecklistItem.objects.filter(plan=plan)
            .order_by("id")
            .values_list("id", "state", "na_reason", "note", "version", "changed_by_id")
        ),
        list(EvidenceLink.objects.filter(item__plan=plan).values_list("id", "url").order_by("id")),
    )


def assert_error(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert "detail" in body
    return body


def test_a_viewer_lists_the_plans_four_checklists(plan, viewer):
    response = call("get", f"/plans/{plan.pk}/checklists", token_of(viewer))
    assert response.status_code == 200
    checklists = response.json()
    assert [c["key"] for c in checklists] == [
        "infrastructure",
        "security",
        "application",
        "documentation",
    ]
    assert [len(c["items"]) for c in checklists] == [10, 10, 10, 5]
    first = checklists[0]["items"][0]
    assert first["checklist"] == "infrastructure"
    assert first["state"] == "open"
    assert first["version"] == 1
    assert first["links"] == []


def test_an_editor_passes_an_item_with_a_note_and_a_link(plan, editor):
    item = first_item(plan)
    response = call(
        "post",
        f"/items/{item.pk}/state",
        token_of(editor),
        {"state": "passed", "note": "Green on the nightly run.", "links": [CI_LINK]},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "passed"
    assert body["version"] == 2
    assert body["note"] == "Green on the nightly run."
    assert [link["url"] for link in body["links"]] == [CI_LINK]
    item.refresh_from_db()
    assert item.state == "passed"
    assert item.version == 2
    assert item.note == "Green on the nightly run."
    assert item.changed_by == editor
    assert item.changed_at is not None
    [link] = EvidenceLink.objects.filter(item=item)
    assert link.url == CI_LINK
    assert link.added_by == editor


def test_an_item_change_costs_a_fixed_number_of_queries(plan, editor, django_assert_num_queries):
    """The token (and its first use recorded), the item, the plan with the token owner's
    permissions, the audit context, the plan's shared lock, the compare-and-set update, the
    link, the links read back; the item is not read again after its update (11 before)."""
    item = first_item(plan)
    token = token_of(editor)
    with django_assert_num_queries(10):
        response = call(
            "post",
            f"/items/{item.pk}/state",
            token,
            {"state": "failed", "version": item.version, "links": [CI_LINK]},
        )
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 2


def test_the_item_read_back_shows_the_change(plan, editor, viewer):
    item = first_item(plan)
    call("post", f"/items/{item.pk}/state", token_of(editor), {"state": "failed", "note": "x"})
    response = call("get", f"/items/{item.pk}", token_of(viewer))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == item.pk
    assert body["state"] == "failed"
    assert body["changed_by"] == (editor.get_full_name() or editor.email)


def test_a_viewers_token_cannot_change_an_item(plan, viewer):
    item = first_item(plan)
    before = snapshot(plan)
    response = call(
        "post", f"/items/{item.pk}/state", token_of(viewer), {"state": "passed", "links": [CI_LINK]}
    )
    assert_error(response, 403)
    assert snapshot(plan) == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/items/{item}", None),
        ("post", "/items/{item}/state", {"state": "passed"}),
        ("get", "/plans/{plan}/checklists", None),
        ("get", "/plans/{plan}/readiness", None),
    ],
)
def test_an_outsider_gets_404_for_everything_of_the_plan(plan, outsider, method, path, body):
    before = snapshot(plan)
    url = path.format(item=first_item(plan).pk, plan=plan.pk)
    response = call(method, url, token_of(outsider), body)
    assert_error(response, 404)
    assert snapshot(plan) == before


@pytest.mark.parametrize(("method", "body"), [("get", None), ("post", {"state": "passed"})])
def test_an_unknown_item_is_404(plan, owner, method, body):
    missing = ChecklistItem.objects.order_by("-pk")[0].pk + 1000
    suffix = "/state" if method == "post" else ""
    response = call(method, f"/items/{missing}{suffix}", token_of(owner), body)
    assert_error(response, 404)


def test_an_unknown_plan_is_404(plan, owner):
    response = call("get", f"/plans/{plan.pk + 1000}/readiness", token_of(owner))
    assert_error(response, 404)


@pytest.mark.parametrize(
    "token",
    [
        None,
        "tsr_not-a-real-token",
        "not-even-our-prefix",
        "tsr_" + "x" * 500,
    ],
)
def test_a_call_without_a_valid_token_is_401(plan, editor, token):
    item = first_item(plan)
    before = snapshot(plan)
    response = call("post", f"/items/{item.pk}/state", token, {"state": "passed"})
    assert_error(response, 401)
    assert_error(call("get", f"/plans/{plan.pk}/checklists", token), 401)
    assert snapshot(plan) == before


def test_a_revoked_token_is_401(plan, editor):
    token, plain = token_create(user=editor, name="old pipeline")
    item = first_item(plan)
    assert call("get", f"/items/{item.pk}", plain).status_code == 200
    token_revoke(token=token)
    before = snapshot(plan)
    assert_error(call("get", f"/items/{item.pk}", plain), 401)
    assert_error(call("post", f"/items/{item.pk}/state", plain, {"state": "passed"}), 401)
    assert snapshot(plan) == before


def test_an_expired_token_is_401(plan, editor, time_machine):
    now = timezone.now()
    _, plain = token_create(
        user=editor, name="short-lived", expires_at=now + datetime.timedelta(hours=1)
    )
    item = first_item(plan)
    assert call("get", f"/items/{item.pk}", plain).status_code == 200
    time_machine.move_to(now + datetime.timedelta(hours=1, minutes=1))
    before = snapshot(plan)
    assert_error(call("get", f"/items/{item.pk}", plain), 401)
    assert_error(call("post", f"/items/{item.pk}/state", plain, {"state": "passed"}), 401)
    assert snapshot(plan) == before


def test_an_inactive_users_token_is_401(plan, editor):
    plain = token_of(editor)
    editor.is_active = False
    editor.save(update_fields=["is_active"])
    assert_error(call("get", f"/plans/{plan.pk}/checklists", plain), 401)


def test_malformed_json_is_400(plan, editor):
    item = first_item(plan)
    before = snapshot(plan)
    response = call("post", f"/items/{item.pk}/state", token_of(editor), raw='{"state": "passed"')
    assert_error(response, 400)
    assert snapshot(plan) == before


def test_an_unknown_state_is_422(plan, editor):
    item = first_item(plan)
    before = snapshot(plan)
    response = call("post", f"/items/{item.pk}/state", token_of(editor), {"state": "done"})
    body = assert_error(response, 422)
    assert body["errors"]
    assert snapshot(plan) == before


def test_not_applicable_needs_a_reason(plan, editor):
    item = item_named(plan, "CDN configured")
    before = snapshot(plan)
    response = call(
        "post", f"/items/{item.pk}/state", token_of(editor), {"state": "not_applicable"}
    )
    body = assert_error(response, 400)
    assert "reason" in body["errors"]
    assert snapshot(plan) == before


def test_not_applicable_is_refused_on_an_item_that_is_not_conditional(plan, owner):
    item = item_named(plan, "Network connectivity verified")
    assert not item.conditional
    before = snapshot(plan)
    response = call(
        "post",
        f"/items/{item.pk}/state",
        token_of(owner),
        {"state": "not_applicable", "reason": "We have no network."},
    )
    body = assert_error(response, 400)
    assert "state" in body["errors"]
    assert snapshot(plan) == before


def test_a_conditional_item_can_be_not_applicable_with_a_reason(plan, editor):
    item = item_named(plan, "CDN configured")
    response = call(
        "post",
        f"/items/{item.pk}/state",
        token_of(editor),
        {"state": "not_applicable", "reason": "Internal service, no public assets."},
    )
    assert response.status_code == 200, response.content
    assert response.json()["reason"] == "Internal service, no public assets."
    item.refresh_from_db()
    assert item.state == "not_applicable"
    assert item.na_reason == "Internal service, no public assets."


def test_a_change_from_a_stale_version_is_409_and_shows_the_current_item(plan, editor, owner):
    item = first_item(plan)
    ok = call("post", f"/items/{item.pk}/state", token_of(owner), {"state": "failed", "version": 1})
    assert ok.status_code == 200
    before = snapshot(plan)
    response = call(
        "post",
        f"/items/{item.pk}/state",
        token_of(editor),
        {"state": "passed", "version": 1, "note": "mine", "links": [CI_LINK]},
    )
    body = assert_error(response, 409)
    assert body["current"]["state"] == "failed"
    assert body["current"]["version"] == 2
    assert body["current"]["id"] == item.pk
    assert snapshot(plan) == before


def test_a_change_with_the_current_version_is_accepted(plan, editor):
    item = first_item(plan)
    plain = token_of(editor)
    call("post", f"/items/{item.pk}/state", plain, {"state": "failed"})
    response = call("post", f"/items/{item.pk}/state", plain, {"state": "passed", "version": 2})
    assert response.status_code == 200
    assert response.json()["version"] == 3


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "ftp://example.com/report", "not a url", "//example.com/x"]
)
def test_a_link_that_is_not_http_is_refused(plan, editor, link):
    item = first_item(plan)
    before = snapshot(plan)
    response = call(
        "post",
        f"/items/{item.pk}/state",
        token_of(editor),
        {"state": "passed", "links": [CI_LINK, link]},
    )
    body = assert_error(response, 400)
    assert "links" in body["errors"]
    assert not EvidenceLink.objects.filter(item__plan=plan).exists()
    assert snapshot(plan) == before


def test_the_readiness_of_a_fresh_plan(plan, viewer):
    response = call("get", f"/plans/{plan.pk}/readiness", token_of(viewer))
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 0.0
    assert body["decision"]["key"] == "not_ready"
    assert body["complete"] is False
    critical = ChecklistItem.objects.filter(plan=plan, critical=True)
    assert critical.count() == 13  # 5 infrastructure, 6 security, 2 application
    assert sorted(b["id"] for b in body["blockers"]) == sorted(
        critical.values_list("pk", flat=True)
    )
    assert {b["state"] for b in body["blockers"]} == {"open"}
    assert len(body["categories"]) == 6
    assert [c["key"] for c in body["categories"]] == [
        "infrastructure",
        "security",
        "application",
        "monitoring",
        "documentation",
        "team_readiness",
    ]
    assert sum(c["weight"] for c in body["categories"]) == 100


def test_passing_a_critical_item_removes_it_from_the_blockers(plan, editor):
    item = item_named(plan, "SSL certificates installed")
    plain = token_of(editor)
    call("post", f"/items/{item.pk}/state", plain, {"state": "passed"})
    body = call("get", f"/plans/{plan.pk}/readiness", plain).json()
    assert item.pk not in {b["id"] for b in body["blockers"]}
    assert (
        len(body["blockers"]) == ChecklistItem.objects.filter(plan=plan, critical=True).count() - 1
    )


def test_the_openapi_schema_is_public_and_lists_the_state_endpoint(db):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert "/api/v1/items/{item_id}/state" in schema["paths"]
    assert "post" in schema["paths"]["/api/v1/items/{item_id}/state"]


def test_a_token_acts_only_with_its_owners_role_on_each_plan(plan, owner, editor):
    other = make_plan(owner, title="Billing rollout")
    planning_services.membership_add(plan=other, actor=owner, email=editor.email, role="viewer")
    plain = token_of(editor)
    item = first_item(other)
    before = snapshot(other)
    response = call("post", f"/items/{item.pk}/state", plain, {"state": "passed"})
    assert_error(response, 403)
    assert snapshot(other) == before
    # ... while on the plan where the editor edits, the same token may change items.
    mine = first_item(plan)
    assert call("post", f"/items/{mine.pk}/state", plain, {"state": "passed"}).status_code == 200


def test_an_archived_plan_cannot_be_changed_through_the_api(plan, owner):
    planning_services.plan_archive(plan=plan)
    item = first_item(plan)
    before = snapshot(plan)
    response = call("post", f"/items/{item.pk}/state", token_of(owner), {"state": "passed"})
    body = assert_error(response, 400)
    assert "archived" in json.dumps(body["errors"])
    assert snapshot(plan) == before


def test_an_item_says_who_it_is_assigned_to(plan, editor, viewer):
    item = first_item(plan)
    path = f"/items/{item.pk}"
    assert call("get", path, token_of(viewer)).json()["assignee"] is None
    services.item_assign(item=item, actor=editor, assignee=viewer, version=None)
    assert call("get", path, token_of(viewer, "second")).json()["assignee"] == viewer.email


def test_calls_past_the_rate_limit_are_429_with_retry_after(plan, editor, viewer, settings):
    settings.API_RATE_PER_MINUTE = 3
    busy, other = token_of(editor, "busy"), token_of(editor, "other")
    start = datetime.datetime(2026, 11, 10, 12, 0, 10, tzinfo=datetime.UTC)
    path = f"/plans/{plan.pk}/readiness"
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            assert call("get", path, busy).status_code == 200
        refused = call("get", path, busy)
        body = assert_error(refused, 429)
        assert refused["Retry-After"] == "50"  # the rest of this minute
        assert "at most 3 a minute" in body["detail"]
        # A refused change changes nothing.
        item = first_item(plan)
        before = snapshot(plan)
        assert_error(call("post", f"/items/{item.pk}/state", busy, {"state": "passed"}), 429)
        assert snapshot(plan) == before
        # The limit is per token: another token of the same person still works.
        assert call("get", path, other).status_code == 200
    with time_machine.travel(start + datetime.timedelta(seconds=50), tick=False):
        assert call("get", path, busy).status_code == 200
