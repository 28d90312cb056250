"""The Deploy gates tab, the comment posted, and the audit record of decisions."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from gates import services
from gates.comment import LIMIT, gate_comment
from gates.models import GateAttempt, GateDecision, GateDeployment, GateMapping
from signoffs.decision import plan_decision
from tests.factories import make_plan

URL = "/plans/{}/gates/"


def test_owners_see_the_tab_others_do_not(client_for, plan, owner, editor):
    page = client_for(owner).get(URL.format(plan.pk))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Deploy gates" in text
    assert 'Gate decision: <span class="badge gate-no-go">No-go</span>' in text
    assert "No repository waits for this plan yet." in text
    assert ">Deploy gates</a>" not in client_for(editor).get(f"/plans/{plan.pk}/").content.decode()
    assert ">Deploy gates</a>" in client_for(owner).get(f"/plans/{plan.pk}/").content.decode()


def test_an_owner_maps_a_repository_and_environment(client_for, plan, owner):
    client = client_for(owner)
    response = client.post(
        f"/plans/{plan.pk}/gates/mappings/",
        {"provider": "github", "repository": " Octo-Org/Shop ", "environment": "production"},
    )
    assert response.status_code == 302
    mapping = GateMapping.objects.get()
    assert (mapping.provider, mapping.repository, mapping.environment) == (
        "github",
        "octo-org/shop",
        "production",
    )
    assert "<code>octo-org/shop</code>" in client.get(URL.format(plan.pk)).content.decode()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"provider": "github", "repository": "shop", "environment": "prod"},
            "repository",
            "Give the repository as owner/name.",
        ),
        (
            {"provider": "gitlab", "repository": "a b/c", "environment": "prod"},
            "repository",
            "Give the repository as group/project.",
        ),
        (
            {"provider": "bitbucket", "repository": "o/r", "environment": "prod"},
            "provider",
            "Select a valid choice.",
        ),
        (
            {"provider": "github", "repository": "o/r", "environment": ""},
            "environment",
            "This field is required.",
        ),
    ],
)
def test_bad_input_shows_the_field_error(client_for, plan, owner, data, field, message):
    response = client_for(owner).post(f"/plans/{plan.pk}/gates/mappings/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not GateMapping.objects.exists()


def test_one_plan_per_repository_and_environment(client_for, plan, owner):
    other = make_plan(owner, title="Other plan")
    services.mapping_add(
        plan=other, actor=owner, provider="github", repository="octo/shop", environment="prod"
    )
    response = client_for(owner).post(
        f"/plans/{plan.pk}/gates/mappings/",
        {"provider": "github", "repository": "OCTO/shop", "environment": "prod"},
    )
    assert response.status_code == 400
    assert "Another plan already gates this repository and environment" in (
        response.content.decode()
    )
    # The same repository's other environment, or GitLab's project of that name, is free.
    services.mapping_add(
        plan=plan, actor=owner, provider="github", repository="octo/shop", environment="staging"
    )
    services.mapping_add(
        plan=plan, actor=owner, provider="gitlab", repository="octo/shop", environment="prod"
    )


def test_removing_a_mapping(client_for, plan, owner):
    mapping = services.mapping_add(
        plan=plan, actor=owner, provider="github", repository="octo/shop", environment="prod"
    )
    response = client_for(owner).post(f"/plans/{plan.pk}/gates/mappings/{mapping.pk}/remove/")
    assert response.status_code == 302
    assert not GateMapping.objects.exists()


def _deployment(plan, number):
    deployment = GateDeployment.objects.create(
        provider="github",
        delivery_id=f"delivery-{number}",
        plan=plan,
        repository="octo/shop",
        environment="prod",
        deployment_id=number,
        payload={},
        state="waiting",
    )
    for action, code in (("token", 201), ("status", 502), ("status", 204)):
        GateAttempt.objects.create(
            deployment=deployment,
            action=action,
            number=1,
            url="https://api.github.com/x",
            status_code=code,
            started_at=deployment.received_at,
            seconds=0.1,
        )
    return deployment


def test_the_tab_shows_every_attempt_and_its_cost_does_not_grow(client_for, plan, owner):
    client = client_for(owner)
    _deployment(plan, 1)
    client.get(URL.format(plan.pk))
    with CaptureQueriesContext(connection) as one:
        page = client.get(URL.format(plan.pk)).content.decode()
    assert "octo/shop → prod #1" in page
    assert "HTTP 502" in page and "HTTP 204" in page and "Status report" in page
    for number in range(2, 8):
        _deployment(plan, number)
    with CaptureQueriesContext(connection) as seven:
        client.get(URL.format(plan.pk))
    assert len(seven) == len(one)


def test_the_comment_keeps_within_1024_characters_and_keeps_the_link(plan, settings):
    settings.SITE_URL = "https://readiness.example"
    decision = plan_decision(plan)
    decision.blockers = [f"A very long critical item number {n} " * 5 for n in range(40)]
    text = gate_comment(decision)
    assert len(text) <= LIMIT
    assert text.startswith("TrustStram Readiness: NO-GO for Checkout service rollout 4.4.0.")
    assert text.endswith(f"https://readiness.example/plans/{plan.pk}/")
    assert "Readiness 0 (Not ready for deployment); the gate needs 80." in text
    assert "…" in text


def test_a_decision_record_cannot_be_changed_or_deleted(plan, owner):
    record = services.decision_record(
        decision=plan_decision(plan), integration="api", asked_by=owner, label="curl in CI"
    )
    assert record.document["decision"] == "no-go"
    assert (record.answer, record.deployment_label) == ("no-go", "curl in CI")
    with pytest.raises(DatabaseError), transaction.atomic():
        GateDecision.objects.filter(pk=record.pk).update(decision="go")
    with pytest.raises(DatabaseError), transaction.atomic():
        GateDecision.objects.filter(pk=record.pk).delete()
    # Its history is in the plan's audit trail, with the other tables' events.
    assert record.events.count() == 1


def test_the_activity_feed_tells_of_gates(client_for, plan, owner):
    services.mapping_add(
        plan=plan, actor=owner, provider="github", repository="octo/shop", environment="prod"
    )
    services.decision_record(decision=plan_decision(plan), integration="api", label="curl")
    page = client_for(owner).get(f"/plans/{plan.pk}/activity/?kind=gates").content.decode()
    assert "deploy gate GitHub octo/shop → prod" in page
    assert "answered no-go for curl (no-go)" in page
