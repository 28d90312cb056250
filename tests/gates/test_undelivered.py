"""A decision GitHub or GitLab could not be given through its retries is tried again by beat's
sweep (`gates.tasks.deployments_retry`) for a day, then given up; the owners' Deploy gates tab
says which."""

import datetime
import logging

import time_machine
from django.utils import timezone

from gates import services, tasks
from gates.models import GateAttempt, GateDecision, GateDeployment
from tests.conftest import wait_for
from tests.gates.conftest import fixture, github_delivery, github_post, gitlab_post
from tests.gates.test_github import CALLBACK, callbacks
from tests.gates.test_gitlab import APPROVAL

URL = "/plans/{}/gates/"


def sweep(after: datetime.timedelta) -> list[int] | None:
    """Run the sweep as beat would, `after` from now (its runs are at least 9 minutes apart)."""
    with time_machine.travel(timezone.now() + after):
        return tasks.deployments_retry()


def attempts(action: str) -> list[int]:
    return list(
        GateAttempt.objects.filter(action=action)
        .order_by("id")
        .values_list("status_code", flat=True)
    )


def test_a_decision_github_refused_with_5xx_is_delivered_by_the_sweep_once(
    celery_worker, client, client_for, owner, plan, github_api, gated, nearly_go, settings
):
    settings.GATE_HTTP_ATTEMPTS = 2
    nearly_go()
    gated()
    github_api.fail(CALLBACK, 503)
    github_post(client, github_delivery(github_api.url))
    deployment = wait_for(lambda: GateDeployment.objects.filter(state="failed").first())
    assert attempts("approve") == [503, 503] and attempts("reject") == [503, 503]
    assert deployment.retry_until is not None and deployment.given_up_at is None
    first_failure = deployment.retry_until - datetime.timedelta(hours=24)
    assert abs((first_failure - deployment.decided_at).total_seconds()) < 1

    page = client_for(owner).get(URL.format(plan.pk)).content.decode()
    assert "Not delivered yet" in page
    assert (
        "<strong>Will be tried again</strong> every 10 minutes until "
        f"{deployment.retry_until:%-d %b %Y %H:%M} UTC" in page
    )

    # Still down: tried again, still failing, and the end of the retries does not move.
    assert sweep(datetime.timedelta(minutes=10)) == [deployment.pk]
    wait_for(lambda: len(attempts("reject")) == 4)
    wait_for(
        lambda: GateDeployment.objects.filter(state="failed", reason__contains="Then").exists()
    )
    assert GateDeployment.objects.get().retry_until == deployment.retry_until

    github_api.mend()
    before = len(callbacks(github_api))
    assert sweep(datetime.timedelta(minutes=20)) == [deployment.pk]
    wait_for(lambda: GateDeployment.objects.filter(state="approved").exists())
    assert sweep(datetime.timedelta(minutes=30)) == []  # nothing left to deliver

    delivered = callbacks(github_api)[before:]
    assert [request.body["state"] for request in delivered] == ["approved"]  # exactly one
    assert attempts("approve")[-1] == 204
    assert list(GateDecision.objects.values_list("answer", "decision")) == [("approved", "go")]
    page = client_for(owner).get(URL.format(plan.pk)).content.decode()
    assert '<span class="badge gate-state-approved">Approved</span>' in page
    assert "tried again" not in page and "Not delivered yet" not in page


def test_after_a_day_the_sweep_gives_up_and_the_tab_says_so(
    celery_worker, client, client_for, owner, plan, gitlab_api, gated, nearly_go, settings, caplog
):
    settings.GATE_HTTP_ATTEMPTS = 1
    nearly_go()
    gated("gitlab", "platform/shop")
    gitlab_api.fail(APPROVAL, 502)
    gitlab_post(client, fixture("gitlab_deployment_blocked.json"))
    deployment = wait_for(lambda: GateDeployment.objects.filter(state="failed").first())
    assert deployment.retry_until is not None

    with caplog.at_level(logging.ERROR, logger="gates.services"):
        assert sweep(datetime.timedelta(hours=24, minutes=1)) == []
    deployment.refresh_from_db()
    assert deployment.given_up_at is not None
    assert (
        "Gave up delivering the decision of 1 gated deployment(s) after 24 hours: "
        f"ids [{deployment.pk}]" in caplog.text
    )
    page = client_for(owner).get(URL.format(plan.pk)).content.decode()
    assert '<span class="badge gate-state-failed">Could not be answered</span>' in page
    assert (
        "<strong>Given up:</strong> the decision was tried again until "
        f"{deployment.retry_until:%-d %b %Y %H:%M} UTC and never delivered. Approve or reject "
        "the deployment on GitLab yourself." in page
    )

    gitlab_api.mend()
    posted = len(gitlab_api.to(APPROVAL))
    assert sweep(datetime.timedelta(hours=25)) == []
    services.deployment_answer(deployment_id=deployment.pk)  # a late message does nothing
    assert len(gitlab_api.to(APPROVAL)) == posted
    assert GateDeployment.objects.get().state == "failed"


def test_a_refusal_is_not_retried(
    celery_worker, client, client_for, owner, plan, github_api, gated, nearly_go, settings
):
    nearly_go()
    gated()
    github_api.fail(CALLBACK, 422)
    github_post(client, github_delivery(github_api.url))
    deployment = wait_for(lambda: GateDeployment.objects.filter(state="failed").first())
    assert deployment.retry_until is None
    assert attempts("approve") == [422] and attempts("reject") == [422]
    assert sweep(datetime.timedelta(minutes=10)) == []
    page = client_for(owner).get(URL.format(plan.pk)).content.decode()
    assert "tried again" not in page and "Given up" not in page
