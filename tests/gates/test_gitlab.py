import time

from gates.models import GateAttempt, GateDecision, GateDeployment
from tests.conftest import wait_for
from tests.gates.conftest import GITLAB_TOKEN, fixture, gitlab_post
from tests.signoffs.test_signoffs import move

APPROVAL = "/api/v4/projects/312/deployments/4417/approval"


def test_a_wrong_token_is_refused_and_nothing_is_taken(
    db, client, gitlab_api, gated, django_capture_on_commit_callbacks
):
    gated("gitlab", "platform/shop")
    with django_capture_on_commit_callbacks() as queued:
        response = gitlab_post(client, fixture("gitlab_deployment_blocked.json"), token="guess")
    assert response.status_code == 401
    assert response.json() == {"detail": "The X-Gitlab-Token does not match."}
    assert queued == []
    assert not GateDeployment.objects.exists()


def test_bad_events_get_4xx_with_json(db, client, gitlab_api):
    response = gitlab_post(client, {"object_kind": "push"})
    assert response.status_code == 400
    assert response.json() == {"detail": "The event is not a deployment event."}
    payload = fixture("gitlab_deployment_blocked.json")
    payload["deployment_id"] = "many"
    assert gitlab_post(client, payload).status_code == 400
    assert gitlab_post(client, {}, event="Push Hook").status_code == 202
    assert not GateDeployment.objects.exists()


def test_a_blocked_deployment_is_taken_once(
    db, client, gitlab_api, gated, plan, django_capture_on_commit_callbacks
):
    gated("gitlab", "Platform/Shop")
    payload = fixture("gitlab_deployment_blocked.json")
    with django_capture_on_commit_callbacks() as queued:
        started = time.monotonic()
        first = gitlab_post(client, payload)
        elapsed = time.monotonic() - started
        again = gitlab_post(client, payload)
    assert first.status_code == 202
    assert elapsed < 1
    assert first.json() == {"deployment": "312/4417", "queued": True, "gated_by_plan": plan.pk}
    assert again.json()["queued"] is False
    assert len(queued) == 1


def test_the_waiting_deployment_is_approved_once_the_plan_becomes_go(
    celery_worker, client, gitlab_api, gated, nearly_go, plan, settings
):
    settings.SITE_URL = "https://readiness.example"
    gated("gitlab", "platform/shop")
    gitlab_post(client, fixture("gitlab_deployment_blocked.json"))
    wait_for(lambda: GateDeployment.objects.filter(state="waiting").exists())
    assert gitlab_api.requests == []  # GitLab has no status report: nothing until go

    nearly_go()

    approval = wait_for(lambda: gitlab_api.to(APPROVAL))[0]
    assert approval.headers["PRIVATE-TOKEN"] == GITLAB_TOKEN
    assert approval.headers["Content-Type"] == "application/json"
    assert approval.body == {
        "status": "approved",
        "comment": "TrustStram Readiness: GO for Checkout service rollout 4.4.0.\n"
        "Readiness 90 (Ready for production deployment); the gate needs 80.\n"
        f"https://readiness.example/plans/{plan.pk}/",
    }
    wait_for(lambda: GateDeployment.objects.filter(state="approved").exists())
    record = GateDecision.objects.get()
    assert (record.integration, record.answer, record.decision) == ("gitlab", "approved", "go")
    assert record.deployment_label == "platform/shop → production #4417"


def test_a_5xx_from_gitlab_is_retried(celery_worker, client, gitlab_api, gated, nearly_go):
    nearly_go()
    gated("gitlab", "platform/shop")
    gitlab_api.script(APPROVAL, 502)
    gitlab_post(client, fixture("gitlab_deployment_blocked.json"))
    wait_for(lambda: GateDeployment.objects.filter(state="approved").exists())
    assert [r.body["status"] for r in gitlab_api.to(APPROVAL)] == ["approved", "approved"]
    assert list(GateAttempt.objects.values_list("number", "status_code").order_by("id")) == [
        (1, 502),
        (2, 201),
    ]


def test_a_cancelled_plan_rejects_the_deployment(celery_worker, client, gitlab_api, gated, plan):
    gated("gitlab", "platform/shop")
    gitlab_post(client, fixture("gitlab_deployment_blocked.json"))
    wait_for(lambda: GateDeployment.objects.filter(state="waiting").exists())
    move(plan, "cancelled")
    rejection = wait_for(lambda: gitlab_api.to(APPROVAL))[0]
    assert rejection.body["status"] == "rejected"
    assert "The plan is cancelled." in rejection.body["comment"]


def test_a_deployment_that_went_ahead_no_longer_waits(db, client, gitlab_api, gated):
    gated("gitlab", "platform/shop")
    gitlab_post(client, fixture("gitlab_deployment_blocked.json"))
    gitlab_post(client, fixture("gitlab_deployment_success.json"))
    deployment = GateDeployment.objects.get()
    assert deployment.state == "closed"
    assert deployment.reason == "GitLab reported the deployment success."


def test_an_unmapped_project_is_left_to_others(celery_worker, client, gitlab_api):
    gitlab_post(client, fixture("gitlab_deployment_blocked.json"))
    deployment = wait_for(lambda: GateDeployment.objects.filter(state="unmapped").first())
    assert deployment.plan is None
    assert gitlab_api.requests == []
