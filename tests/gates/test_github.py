import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from gates.models import GateAttempt, GateDecision, GateDeployment
from tests.conftest import wait_for
from tests.gates import fakes
from tests.gates.conftest import APP_ID, github_delivery, github_post
from tests.signoffs.test_signoffs import move

CALLBACK = "/repos/octo-org/shop/actions/runs/7311284501/deployment_protection_rule"
TOKEN = "/app/installations/45012876/access_tokens"


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verified_claims(authorization: str, public_key) -> dict:
    """The JWT's claims, once its RS256 signature checks with the app's public key."""
    assert authorization.startswith("Bearer ")
    header, claims, signature = authorization.removeprefix("Bearer ").split(".")
    assert json.loads(_b64decode(header)) == {"alg": "RS256", "typ": "JWT"}
    public_key.verify(
        _b64decode(signature),
        f"{header}.{claims}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    return json.loads(_b64decode(claims))


def callbacks(api):
    return api.to(CALLBACK)


# The webhook


def test_a_bad_signature_is_refused_and_nothing_is_queued(
    client, github_api, gated, django_capture_on_commit_callbacks
):
    gated()
    with django_capture_on_commit_callbacks() as queued:
        response = github_post(client, github_delivery(github_api.url), secret="not-the-secret")
    assert response.status_code == 401
    assert response.json() == {"detail": "The X-Hub-Signature-256 signature does not match."}
    assert queued == []
    assert not GateDeployment.objects.exists()


def test_an_unsigned_delivery_and_bad_bodies_get_4xx_with_json(db, client, github_api):
    response = client.post("/hooks/github/", b"{}", content_type="application/json")
    assert response.status_code == 401
    assert "detail" in response.json()
    response = github_post(client, ["not", "an", "object"])
    assert response.status_code == 400
    assert response.json() == {"detail": "The body is not a JSON object."}
    payload = github_delivery(github_api.url)
    del payload["installation"]
    response = github_post(client, payload)
    assert response.status_code == 400
    assert response.json() == {"detail": "The delivery lacks 'installation'."}
    assert client.get("/hooks/github/").status_code == 405
    assert not GateDeployment.objects.exists()


def test_a_ping_and_other_events_are_acknowledged_and_ignored(db, client, github_api):
    assert github_post(client, {"zen": "Keep it simple."}, event="ping").json() == {
        "detail": "pong"
    }
    response = github_post(client, {"action": "created"}, event="deployment")
    assert response.status_code == 202
    assert not GateDeployment.objects.exists()


def test_without_a_webhook_secret_the_hook_is_not_there(client, settings):
    settings.GITHUB_WEBHOOK_SECRET = ""
    response = client.post("/hooks/github/", b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json()["detail"].startswith("GitHub deploy gates are not configured")


def test_the_ack_is_quick_and_a_duplicate_delivery_is_taken_once(
    client, github_api, gated, plan, django_capture_on_commit_callbacks
):
    gated()
    payload = github_delivery(github_api.url)
    with django_capture_on_commit_callbacks() as queued:
        started = time.monotonic()
        first = github_post(client, payload)
        elapsed = time.monotonic() - started
        again = github_post(client, payload)
    assert first.status_code == 202
    assert elapsed < 1
    assert first.json() == {
        "delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "queued": True,
        "gated_by_plan": plan.pk,
    }
    assert again.status_code == 202
    assert again.json()["queued"] is False
    assert len(queued) == 1
    deployment = GateDeployment.objects.get()
    assert (deployment.repository, deployment.environment) == ("octo-org/shop", "production")
    assert deployment.installation_id == 45012876
    assert deployment.deployment_id == 1834429901
    assert deployment.state == "queued"
    assert github_api.requests == []  # nothing is called in the request


# The worker, end to end


def test_a_status_report_then_the_decision_once_the_plan_becomes_go(
    celery_worker, client, github_api, app_key, gated, nearly_go, plan, settings
):
    settings.SITE_URL = "https://readiness.example"
    gated()
    assert github_post(client, github_delivery(github_api.url)).status_code == 202

    report = wait_for(lambda: callbacks(github_api))[0]
    # The token exchange: the app's JWT, signed with its private key.
    exchange = github_api.to(TOKEN)
    assert len(exchange) == 1
    assert exchange[0].body is None
    assert exchange[0].headers["Accept"] == "application/vnd.github+json"
    assert exchange[0].headers["X-GitHub-Api-Version"] == "2022-11-28"
    claims = verified_claims(exchange[0].headers["Authorization"], app_key.public_key())
    assert claims["iss"] == APP_ID
    assert claims["exp"] - claims["iat"] == 600
    assert claims["iat"] <= time.time() <= claims["exp"]
    # The status report: no state.
    assert report.headers["Authorization"] == f"Bearer {fakes.INSTALLATION_TOKEN}"
    assert report.headers["Accept"] == "application/vnd.github+json"
    assert report.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert report.headers["Content-Type"] == "application/json"
    assert report.body == {
        "environment_name": "production",
        "comment": "TrustStram Readiness: NO-GO for Checkout service rollout 4.4.0.\n"
        "Readiness 90 (Ready for production deployment); the gate needs 80.\n"
        "Missing sign-offs: Business Owner.\n"
        f"https://readiness.example/plans/{plan.pk}/",
    }
    wait_for(lambda: GateDeployment.objects.filter(state="waiting").exists())

    nearly_go()  # the last signature: the plan becomes go

    decision = wait_for(lambda: callbacks(github_api)[1:])[0]
    assert decision.body == {
        "environment_name": "production",
        "state": "approved",
        "comment": "TrustStram Readiness: GO for Checkout service rollout 4.4.0.\n"
        "Readiness 90 (Ready for production deployment); the gate needs 80.\n"
        f"https://readiness.example/plans/{plan.pk}/",
    }
    deployment = wait_for(lambda: GateDeployment.objects.filter(state="approved").first())
    assert deployment.reason.startswith("Signed off on its current content")
    assert len(github_api.to(TOKEN)) == 1  # the token is kept for its hour
    assert len(callbacks(github_api)) == 2  # the report once, then the decision
    records = list(GateDecision.objects.order_by("id").values_list("answer", "decision"))
    assert records == [("status", "no-go"), ("approved", "go")]
    record = GateDecision.objects.order_by("id").last()
    assert record.integration == "github"
    assert record.deployment_label == "octo-org/shop → production #1834429901"
    assert record.document["packet_sha256"] is None
    assert [a.action for a in GateAttempt.objects.order_by("id")] == ["token", "status", "approve"]


def test_a_5xx_is_retried_with_backoff_and_every_try_recorded(
    celery_worker, client, github_api, gated, nearly_go
):
    nearly_go()
    gated()
    github_api.script(CALLBACK, 502)
    github_post(client, github_delivery(github_api.url))
    wait_for(lambda: GateDeployment.objects.filter(state="approved").exists())
    tries = callbacks(github_api)
    assert [t.body["state"] for t in tries] == ["approved", "approved"]
    attempts = list(
        GateAttempt.objects.filter(action="approve").values_list("number", "status_code")
    )
    assert attempts == [(1, 502), (2, 204)]


def test_after_the_retries_the_run_is_rejected_with_the_reason(
    celery_worker, client, github_api, gated, nearly_go, settings
):
    settings.GATE_HTTP_ATTEMPTS = 3
    nearly_go()
    gated()
    github_api.script(CALLBACK, 502, 503, 502)
    github_post(client, github_delivery(github_api.url))
    deployment = wait_for(lambda: GateDeployment.objects.filter(state="rejected").first())
    tries = callbacks(github_api)
    assert [t.body.get("state") for t in tries] == ["approved"] * 3 + ["rejected"]
    assert tries[-1].body == {
        "environment_name": "production",
        "state": "rejected",
        "comment": "TrustStram Readiness could not deliver its decision: GitHub answered HTTP 502.",
    }
    assert deployment.reason == tries[-1].body["comment"]
    assert list(GateAttempt.objects.values_list("action", "status_code").order_by("id")) == [
        ("token", 201),
        ("approve", 502),
        ("approve", 503),
        ("approve", 502),
        ("reject", 204),
    ]


def test_a_network_error_is_retried_too(
    celery_worker, client, github_api, gated, nearly_go, settings
):
    nearly_go()
    gated()
    settings.GATE_HTTP_ATTEMPTS = 2
    settings.GITHUB_API_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    payload = github_delivery(github_api.url)
    payload["deployment_callback_url"] = "http://127.0.0.1:9" + CALLBACK
    github_post(client, payload)
    deployment = wait_for(lambda: GateDeployment.objects.filter(state="failed").first())
    errors = list(GateAttempt.objects.values_list("action", "error").order_by("id"))
    assert [action for action, _ in errors] == ["token", "token", "token", "token"]
    assert all(error.startswith("Network error") for _, error in errors)
    assert deployment.reason.startswith("GitHub refused an installation token (Network error")


def test_a_cancelled_plan_rejects_what_waits_on_it(
    celery_worker, client, github_api, gated, plan, settings
):
    settings.SITE_URL = "https://readiness.example"
    gated()
    github_post(client, github_delivery(github_api.url))
    wait_for(lambda: GateDeployment.objects.filter(state="waiting").exists())
    move(plan, "cancelled")
    rejected = wait_for(lambda: callbacks(github_api)[1:])[0]
    assert rejected.body["state"] == "rejected"
    assert rejected.body["environment_name"] == "production"
    assert "The plan is cancelled." in rejected.body["comment"]
    deployment = wait_for(lambda: GateDeployment.objects.filter(state="rejected").first())
    assert deployment.reason == "The plan is cancelled."


def test_an_archived_plan_rejects_what_waits_on_it(celery_worker, client, github_api, gated, plan):
    from planning import services as planning_services

    gated()
    github_post(client, github_delivery(github_api.url))
    wait_for(lambda: GateDeployment.objects.filter(state="waiting").exists())
    planning_services.plan_archive(plan=plan)
    rejected = wait_for(lambda: callbacks(github_api)[1:])[0]
    assert rejected.body["state"] == "rejected"
    assert "The plan is archived." in rejected.body["comment"]


def test_a_deployment_no_plan_gates_is_rejected_with_the_reason(celery_worker, client, github_api):
    github_post(client, github_delivery(github_api.url))
    rejected = wait_for(lambda: callbacks(github_api))[0]
    assert rejected.body == {
        "environment_name": "production",
        "state": "rejected",
        "comment": "TrustStram Readiness: no plan gates octo-org/shop → production. An owner "
        "maps it on the plan's Deploy gates tab.",
    }


@pytest.mark.parametrize("host", ["https://evil.example", "http://127.0.0.1:1"])
def test_the_token_never_goes_to_a_callback_off_the_api(
    celery_worker, client, github_api, gated, host
):
    gated()
    payload = github_delivery(github_api.url)
    payload["deployment_callback_url"] = host + CALLBACK
    github_post(client, payload)
    deployment = wait_for(lambda: GateDeployment.objects.filter(state="failed").first())
    assert deployment.reason.startswith("The delivery's callback URL is not on the configured")
    assert github_api.requests == []
