import copy
import hashlib
import hmac
import json
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gates import services
from gates.models import Webhook, WebhookDelivery
from tests.conftest import ROLES
from tests.gates import fakes
from tests.gates import receiver as receivers
from tests.signoffs.test_signoffs import move, ready_to_sign, sign
from truststream.celery import app

FIXTURES = Path(__file__).parent / "fixtures"
APP_ID = "918273"
WEBHOOK_SECRET = "gh-webhook-secret-for-tests"
GITLAB_WEBHOOK_TOKEN = "gl-webhook-token-for-tests"
GITLAB_TOKEN = "glpat-for-tests"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(scope="session")
def app_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def _github_server():
    server = fakes.github_api().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _gitlab_server():
    server = fakes.gitlab_api().start()
    yield server
    server.stop()


@pytest.fixture
def github_api(_github_server, settings, app_key):
    """The fake GitHub API, configured as the instance's GitHub, with a fresh record."""
    _github_server.reset()
    settings.GITHUB_API_URL = _github_server.url
    settings.GITHUB_APP_ID = APP_ID
    settings.GITHUB_APP_PRIVATE_KEY = app_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    settings.GITHUB_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.GATE_RETRY_SECONDS = 0.05
    return _github_server


@pytest.fixture
def gitlab_api(_gitlab_server, settings):
    _gitlab_server.reset()
    settings.GITLAB_API_URL = _gitlab_server.url + "/api/v4"
    settings.GITLAB_WEBHOOK_TOKEN = GITLAB_WEBHOOK_TOKEN
    settings.GITLAB_TOKEN = GITLAB_TOKEN
    settings.GATE_RETRY_SECONDS = 0.05
    return _gitlab_server


def github_delivery(api_url: str, **changes) -> dict:
    """The documented payload, with its callback on the fake API."""
    payload = copy.deepcopy(fixture("github_deployment_protection_rule.json"))
    payload["deployment_callback_url"] = payload["deployment_callback_url"].replace(
        "https://api.github.com", api_url
    )
    payload.update(changes)
    return payload


def github_post(
    client,
    payload: dict,
    *,
    delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958",
    secret=WEBHOOK_SECRET,
    event="deployment_protection_rule",
):
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        "/hooks/github/",
        body,
        content_type="application/json",
        headers={
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": signature,
        },
    )


def gitlab_post(client, payload: dict, *, token=GITLAB_WEBHOOK_TOKEN, event="Deployment Hook"):
    return client.post(
        "/hooks/gitlab/",
        json.dumps(payload),
        content_type="application/json",
        headers={"X-Gitlab-Event": event, "X-Gitlab-Token": token},
    )


@pytest.fixture
def nearly_go(plan, owner, editor, holders):
    """A plan awaiting sign-off with every signature but the Business Owner's: one signature
    away from `go`. Returns the function that gives that signature."""
    ready_to_sign(plan, owner, editor)
    move(plan, "in_progress")
    move(plan, "awaiting_signoff")
    for role in ROLES:
        if role != "business_owner":
            sign(plan, role, holders[role])
    # The setup's own follow-up tasks (signoffs' status checks, one per change above) are not
    # what these tests are about; on a loaded machine they would hold the solo worker for
    # longer than the tests wait. The services above already synced the plan's status.
    app.control.purge()

    def last_signature():
        sign(plan, "business_owner", holders["business_owner"])

    return last_signature


@pytest.fixture
def failed_delivery(owner):
    """`failed_delivery(plan)`: a webhook of the plan, made by its owner, with one delivery
    that failed (no worker sends anything). A factory, so that a module can override `plan`
    with a plan that has one."""

    def make(plan) -> WebhookDelivery:
        hook = Webhook.objects.create(
            plan=plan,
            url="https://hooks.example.com/readiness",
            secret="whsec_test",
            event_types=["plan.status_changed"],
            created_by=owner,
        )
        return WebhookDelivery.objects.create(
            webhook=hook,
            plan=plan,
            event_id=uuid.uuid4(),
            event="plan.status_changed",
            body="{}",
            status="failed",
            attempts=1,
            response_code=500,
        )

    return make


@pytest.fixture
def gated(plan, owner):
    """`gated(provider, repository, environment)`: map them to the plan."""

    def make(provider="github", repository="octo-org/shop", environment="production"):
        return services.mapping_add(
            plan=plan,
            actor=owner,
            provider=provider,
            repository=repository,
            environment=environment,
        )

    return make


@pytest.fixture
def receiver(settings):
    """A webhook receiver on loopback (which the instance is allowed to call in these tests),
    with retries that come back at once."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_RETRY_SECONDS = 0
    served = receivers.start()
    yield served
    served.server.shutdown()
    served.server.server_close()
