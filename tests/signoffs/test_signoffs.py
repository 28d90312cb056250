import re
import time

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.urls import reverse

from checklists import services as checklist_services
from checklists.models import ChecklistItem
from planning import services as planning_services
from signoffs import policies, services
from signoffs.models import Signoff
from tests.conftest import ROLES
from tests.factories import PASSWORD
from truststream.models import Notification


def sign(plan, role, person, decision="approve", reason=""):
    requirement = plan.roles.get(role=role)
    return services.signoff_record(
        requirement=requirement,
        signer=person,
        decision=decision,
        seen_digest=policies.role_digest(requirement),
        reason=reason,
    )


def states(plan):
    return {r.requirement.role: r.state for r in policies.signoff_state(plan).roles}


def test_a_plan_has_the_guides_five_roles(plan):
    roles = list(plan.roles.order_by("position").values_list("title", "conditional", "required"))
    assert roles == [
        ("Technical Lead", False, True),
        ("Security Officer", False, True),
        ("Operations Manager", False, True),
        ("Business Owner", False, True),
        ("Compliance Officer", True, False),
    ]


def test_one_person_holds_at_most_one_role(plan, editor):
    services.role_assign(requirement=plan.roles.get(role="technical_lead"), assignee=editor)
    with pytest.raises(ValidationError, match="already holds another"):
        services.role_assign(requirement=plan.roles.get(role="security_officer"), assignee=editor)
    assert plan.roles.get(role="security_officer").assignee is None


def test_only_members_can_hold_a_role(plan, outsider):
    with pytest.raises(ValidationError, match="member of this plan"):
        services.role_assign(requirement=plan.roles.get(role="business_owner"), assignee=outsider)


def test_nobody_signs_for_somebody_else(plan, holders):
    requirement = plan.roles.get(role="security_officer")
    with pytest.raises(ValidationError, match="Only the person who holds this role"):
        services.signoff_record(
            requirement=requirement,
            signer=holders["technical_lead"],
            decision="approve",
            seen_digest=policies.role_digest(requirement),
        )
    assert not Signoff.objects.exists()


def test_a_rejection_needs_a_reason(plan, holders):
    with pytest.raises(ValidationError, match="Say why"):
        sign(plan, "security_officer", holders["security_officer"], decision="reject")
    assert not Signoff.objects.exists()


def test_a_form_replayed_after_the_plan_changed_is_refused(plan, holders, editor):
    requirement = plan.roles.get(role="security_officer")
    seen = policies.role_digest(requirement)
    item = ChecklistItem.objects.get(plan=plan, text="Firewall rules configured")
    checklist_services.item_set_state(item=item, actor=editor, state="passed", version=1)
    with pytest.raises(ValidationError, match="changed since you opened"):
        services.signoff_record(
            requirement=requirement,
            signer=holders["security_officer"],
            decision="approve",
            seen_digest=seen,
        )
    assert not Signoff.objects.exists()


def test_every_required_current_approval_signs_the_plan_off(plan, holders, editor):
    for item in ChecklistItem.objects.filter(plan=plan, checklist__key="documentation"):
        checklist_services.item_set_state(item=item, actor=editor, state="passed", version=None)
    for role in ROLES:
        assert not policies.signoff_state(plan).signed_off
        sign(plan, role, holders[role])
    assert policies.signoff_state(plan).signed_off


def test_a_current_rejection_keeps_it_from_being_signed_off(plan, holders):
    for role in ROLES:
        sign(plan, role, holders[role])
    sign(plan, "business_owner", holders["business_owner"], decision="reject", reason="Budget")
    assert states(plan)["business_owner"] == "rejected"
    assert not policies.signoff_state(plan).signed_off


def test_a_security_change_makes_only_the_covering_signatures_stale(plan, holders, editor):
    for role in ROLES:
        sign(plan, role, holders[role])
    item = ChecklistItem.objects.get(plan=plan, text="VPN access configured")
    checklist_services.item_set_state(item=item, actor=editor, state="passed", version=1)
    assert states(plan) == {
        "technical_lead": "approved",
        "security_officer": "stale",
        "operations_manager": "approved",
        "business_owner": "stale",
        "compliance_officer": "stale",
    }
    assert not policies.signoff_state(plan).signed_off

    sign(plan, "security_officer", holders["security_officer"])
    assert states(plan)["security_officer"] == "approved"


def test_a_change_made_with_raw_sql_makes_a_signature_stale_too(plan, holders):
    from django.db import connection

    sign(plan, "technical_lead", holders["technical_lead"])
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE planning_task SET status = 'done' WHERE plan_id = %s AND title = %s",
            [plan.pk, "Infrastructure audit"],
        )
    assert states(plan)["technical_lead"] == "stale"


def test_the_assignee_is_told_by_email(plan, editor, django_capture_on_commit_callbacks):
    from truststream.models import Notification
    from truststream.tasks import notification_email

    requirement = plan.roles.get(role="technical_lead")
    with django_capture_on_commit_callbacks() as callbacks:
        services.role_assign(requirement=requirement, assignee=editor)
    # queued for the worker once the assignment is committed (with the plan-changed check)
    assert len(callbacks) == 2
    notification = Notification.objects.get(user=editor, kind="role_assigned")
    notification_email(notification.pk)  # what the worker runs
    [message] = mail.outbox
    assert message.to == [editor.email]
    assert "You are Technical Lead for Checkout service rollout" in message.subject
    assert f"/plans/{plan.pk}/signoffs/" in message.body


# Views


def reauthenticated(client, user):
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    return client


def sign_url(plan, role="security_officer"):
    return reverse("signoffs:sign", args=[plan.pk, role])


def test_signing_needs_a_fresh_reauthentication(client_for, plan, holders):
    client = client_for(holders["security_officer"])
    response = client.get(sign_url(plan))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    response = client.post(sign_url(plan), {"decision": "approve", "digest": "x"})
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not Signoff.objects.exists()


def test_a_holder_signs_in_the_browser_flow(client_for, plan, holders):
    client = reauthenticated(client_for(holders["security_officer"]), holders["security_officer"])
    page = client.get(sign_url(plan))
    digest = page.context["digest"]
    assert digest in page.content.decode()
    assert "I approve this plan for staging deployment as Security Officer" in page.content.decode()
    response = client.post(
        sign_url(plan),
        {"decision": "approve", "digest": digest, "comment": "Pen test clean"},
        HTTP_USER_AGENT="Test browser",
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 302
    signoff = Signoff.objects.get()
    assert (signoff.printed_name, signoff.role_title, signoff.digest) == (
        holders["security_officer"].get_full_name(),
        "Security Officer",
        digest,
    )
    assert (signoff.ip_address, signoff.user_agent, signoff.comment) == (
        "10.1.2.3",
        "Test browser",
        "Pen test clean",
    )


def test_a_member_cannot_sign_a_role_that_is_not_theirs(client_for, plan, holders):
    client = reauthenticated(client_for(holders["technical_lead"]), holders["technical_lead"])
    assert client.get(sign_url(plan)).status_code == 403
    assert client.post(sign_url(plan), {"decision": "approve"}).status_code == 403


def test_only_owners_assign_roles(client_for, plan, editor, viewer):
    url = reverse("signoffs:role_assign", args=[plan.pk, "security_officer"])
    assert client_for(editor).post(url, {"assignee": editor.pk}).status_code == 403
    client_for(plan.memberships.get(role="owner").user).post(url, {"assignee": viewer.pk})
    assert plan.roles.get(role="security_officer").assignee == viewer


def test_a_replayed_form_shows_why_and_records_nothing(client_for, plan, holders, editor):
    client = reauthenticated(client_for(holders["security_officer"]), holders["security_officer"])
    digest = client.get(sign_url(plan)).context["digest"]
    item = ChecklistItem.objects.get(plan=plan, text="Firewall rules configured")
    checklist_services.item_set_state(item=item, actor=editor, state="failed", version=1)
    response = client.post(sign_url(plan), {"decision": "approve", "digest": digest})
    assert response.status_code == 400
    assert "The plan changed since you opened this page" in response.content.decode()
    assert not Signoff.objects.exists()


# The plan's status


def ready_to_sign(plan, owner, editor):
    """Every critical item and the documentation sign-off passed, and every category scored
    9: readiness 90, no blockers."""
    for item in ChecklistItem.objects.filter(
        Q(critical=True) | Q(checklist__key="documentation"), plan=plan
    ):
        checklist_services.item_set_state(
            item=item, actor=editor, state="passed", version=item.version
        )
    for category in (
        "infrastructure",
        "security",
        "application",
        "monitoring",
        "documentation",
        "team_readiness",
    ):
        checklist_services.score_set(
            plan=plan, actor=owner, category=category, score=9, rationale="ok"
        )


def move(plan, to, can=("change", "manage")):
    from signoffs.status import plan_transition

    return plan_transition(plan=plan, to=to, actor_can=set(can))


def test_the_plan_moves_from_draft_to_signed_off_and_deployed(plan, owner, editor, holders):
    ready_to_sign(plan, owner, editor)
    assert move(plan, "in_progress").status == "in_progress"
    assert move(plan, "awaiting_signoff").status == "awaiting_signoff"
    for role in ROLES:
        sign(plan, role, holders[role])
    plan.refresh_from_db()
    assert plan.status == "signed_off"
    assert move(plan, "deployed").status == "deployed"
    with pytest.raises(ValidationError, match="cannot become"):
        move(plan, "in_progress")


def test_awaiting_signoff_needs_roles_readiness_and_no_blockers(plan, owner):
    move(plan, "in_progress")
    with pytest.raises(ValidationError) as caught:
        move(plan, "awaiting_signoff")
    text = " ".join(caught.value.messages)
    assert "Assign every required role: Technical Lead, Security Officer" in text
    assert "The readiness score is 0; this plan needs 80." in text
    assert "13 critical checklist items block readiness." in text
    plan.refresh_from_db()
    assert plan.status == "in_progress"


def test_only_owners_request_signoff_and_nobody_jumps_to_signed_off(plan, owner, editor, holders):
    ready_to_sign(plan, owner, editor)
    move(plan, "in_progress", can=("change",))
    with pytest.raises(ValidationError, match="Only a plan owner"):
        move(plan, "awaiting_signoff", can=("change",))
    with pytest.raises(ValidationError, match="cannot become"):
        move(plan, "signed_off")


def test_a_stale_signature_takes_the_plan_out_of_signed_off_by_itself(plan, owner, editor, holders):
    ready_to_sign(plan, owner, editor)
    move(plan, "in_progress")
    move(plan, "awaiting_signoff")
    for role in ROLES:
        sign(plan, role, holders[role])
    item = ChecklistItem.objects.get(plan=plan, text="VPN access configured")
    checklist_services.item_set_state(item=item, actor=editor, state="passed", version=item.version)
    mail.outbox.clear()

    services.after_plan_change(plan_id=plan.pk)  # what the worker runs after the change
    plan.refresh_from_db()
    assert plan.status == "awaiting_signoff"
    stale = Notification.objects.filter(kind="signature_stale")
    assert sorted(n.user.email for n in stale) == sorted(
        holders[r].email for r in ("security_officer", "business_owner", "compliance_officer")
    )
    assert "Your signature on Checkout service rollout 4.4.0 is stale" in stale[0].text
    services.after_plan_change(plan_id=plan.pk)
    assert stale.count() == 3  # each stale signature is reported once

    role = next(
        r for r in policies.signoff_state(plan).roles if r.requirement.role == "security_officer"
    )
    assert role.changed_sections == ["checklists.security"]

    sign(plan, "security_officer", holders["security_officer"])
    sign(plan, "business_owner", holders["business_owner"])
    sign(plan, "compliance_officer", holders["compliance_officer"])
    plan.refresh_from_db()
    assert plan.status == "signed_off"


def test_the_status_buttons_follow_the_role(client_for, plan, owner, editor, viewer):
    url = reverse("planning:plan_detail", args=[plan.pk])
    assert "Start the plan" in client_for(editor).get(url).content.decode()
    assert "Start the plan" not in client_for(viewer).get(url).content.decode()
    status_url = reverse("signoffs:plan_status", args=[plan.pk])
    assert client_for(viewer).post(status_url, {"status": "in_progress"}).status_code == 403
    client_for(editor).post(status_url, {"status": "in_progress"})
    plan.refresh_from_db()
    assert plan.status == "in_progress"
    response = client_for(owner).post(status_url, {"status": "signed_off"}, follow=True)
    assert "cannot become signed off" in response.content.decode()
    response = client_for(owner).post(status_url, {"status": "bogus"}, follow=True)
    assert "cannot become that" in response.content.decode()


def test_the_plan_list_says_which_signoffs_are_missing(client_for, plan, owner, holders):
    for role in ("technical_lead", "security_officer", "operations_manager"):
        sign(plan, role, holders[role])
    body = client_for(owner).get(reverse("planning:plan_list")).content.decode()
    missing = re.search(r"Sign-offs missing: ([^<]*)<", body).group(1)
    assert missing == "Business Owner, Compliance Officer, Documentation sign-off"

    item = ChecklistItem.objects.get(plan=plan, text="VPN access configured")
    checklist_services.item_set_state(item=item, actor=owner, state="passed", version=1)
    services.after_plan_change(plan_id=plan.pk)  # what the worker runs after the change
    body = client_for(owner).get(reverse("planning:plan_list")).content.decode()
    assert "Sign-offs missing: Security Officer (stale), Business Owner, Compliance Officer" in body


def test_signing_can_require_a_second_factor(client_for, plan, holders, settings):
    settings.SIGNOFF_REQUIRE_MFA = True
    client = reauthenticated(client_for(holders["security_officer"]), holders["security_officer"])
    response = client.get(sign_url(plan))
    assert response["Location"] == reverse("mfa_activate_totp")
    assert not Signoff.objects.exists()


def test_role_holders_set_up_a_second_factor_before_anything_else(
    client_for, plan, holders, viewer, settings
):
    from allauth.mfa.totp.internal.auth import TOTP

    officer = holders["security_officer"]
    client = client_for(officer)
    assert client.get(reverse("planning:plan_list")).status_code == 200  # setting off

    settings.SIGNOFF_REQUIRE_MFA = True
    for url in (reverse("planning:plan_list"), reverse("signoffs:signoffs", args=[plan.pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == reverse("mfa_activate_totp")
    htmx = client.get(reverse("planning:plan_list"), headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"] == reverse("mfa_activate_totp")
    # Their account stays open, so that they can set the factor up (or log out).
    assert client.get(reverse("mfa_index")).status_code == 200
    # People without a role are not asked.
    assert client_for(viewer).get(reverse("planning:plan_list")).status_code == 200

    TOTP.activate(officer, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    assert client.get(reverse("planning:plan_list")).status_code == 200


def test_the_documentation_signoff_items_show_who_confirmed_them(client_for, plan, editor, viewer):
    item = ChecklistItem.objects.get(plan=plan, text="Runbooks created and tested")
    checklist_services.item_set_state(item=item, actor=editor, state="passed", version=1)
    body = client_for(viewer).get(reverse("signoffs:signoffs", args=[plan.pk])).content.decode()
    section = body.split("Documentation sign-off", 1)[1]
    assert "Runbooks created and tested" in section
    assert editor.get_full_name() in section


def test_a_signer_with_a_second_factor_gives_both(client_for, plan, holders):
    from allauth.mfa.totp.internal.auth import TOTP

    from tests.truststream.test_accounts import totp_code

    officer = holders["security_officer"]
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    TOTP.activate(officer, secret)
    client = reauthenticated(client_for(officer), officer)
    response = client.get(sign_url(plan))
    assert response["Location"].startswith(reverse("mfa_reauthenticate"))
    client.post(reverse("mfa_reauthenticate"), {"code": totp_code(secret, time.time())})
    page = client.get(sign_url(plan))
    assert page.status_code == 200
    client.post(sign_url(plan), {"decision": "approve", "digest": page.context["digest"]})
    assert Signoff.objects.get().signer == officer


@pytest.mark.django_db(transaction=True)
def test_a_change_made_in_sql_shows_at_once_and_the_sweep_takes_the_plan_out_of_signed_off(
    client_for, plan, owner, editor, holders, celery_worker
):
    from django.db import connection

    from planning.models import DeploymentPlan
    from signoffs.tasks import signatures_sweep
    from tests.conftest import wait_for

    ready_to_sign(plan, owner, editor)
    move(plan, "in_progress")
    move(plan, "awaiting_signoff")
    for role in ROLES:
        sign(plan, role, holders[role])
    assert DeploymentPlan.objects.get(pk=plan.pk).status == "signed_off"
    with connection.cursor() as cursor:  # no service sees this change
        cursor.execute(
            "UPDATE checklists_checklistitem SET note = 'edited in SQL' WHERE plan_id = %s "
            "AND text = 'VPN access configured'",
            [plan.pk],
        )
    stale = {"security_officer", "business_owner", "compliance_officer"}
    # The pages compare digests, so they tell the truth before any worker has run.
    for url in ("planning:plan_detail", "signoffs:signoffs"):
        page = client_for(owner).get(reverse(url, args=[plan.pk]))
        assert "Not signed off" in page.content.decode()
        assert page.content.decode().count("Stale: the plan changed since") == len(stale)
    assert {r.requirement.role for r in page.context["state"].roles if r.state == "stale"} == stale
    signatures_sweep.delay()  # what beat sends every SIGNOFF_SWEEP_SECONDS
    wait_for(lambda: DeploymentPlan.objects.get(pk=plan.pk).status == "awaiting_signoff")
    expected = {holders[r].email for r in stale}

    def told():
        return {m.to[0] for m in mail.outbox if "is stale" in m.subject} == expected

    wait_for(told)


def test_a_removed_member_holds_no_role_any_more(plan, holders, membership_of):
    sign(plan, "security_officer", holders["security_officer"])
    planning_services.membership_remove(membership=membership_of(plan, holders["security_officer"]))
    assert plan.roles.get(role="security_officer").assignee is None
    assert Signoff.objects.filter(signer=holders["security_officer"]).exists()


@pytest.mark.django_db(transaction=True)
def test_the_periodic_sweep_finds_a_change_made_in_sql_when_nobody_looks(
    plan, owner, editor, holders, celery_worker
):
    from django.db import connection

    from planning.models import DeploymentPlan
    from signoffs.tasks import signatures_sweep
    from tests.conftest import wait_for
    from tests.factories import make_plan

    unsigned = make_plan(owner)
    ready_to_sign(plan, owner, editor)
    move(plan, "in_progress")
    move(plan, "awaiting_signoff")
    for role in ROLES:
        sign(plan, role, holders[role])
    assert policies.plans_to_sweep() == [plan.pk]
    assert unsigned.pk not in policies.plans_to_sweep()
    mail.outbox.clear()
    with connection.cursor() as cursor:  # no service sees this change
        cursor.execute(
            "UPDATE checklists_checklistitem SET state = 'failed' WHERE plan_id = %s "
            "AND text = 'VPN access configured'",
            [plan.pk],
        )
    signatures_sweep.delay()  # what beat sends every SIGNOFF_SWEEP_SECONDS
    wait_for(lambda: DeploymentPlan.objects.get(pk=plan.pk).status == "awaiting_signoff")
    wait_for(lambda: len([m for m in mail.outbox if "is stale" in m.subject]) == 3)
    # The sweep tells each holder once, however often it runs.
    services.after_plan_change(plan_id=plan.pk)
    services.after_plan_change(plan_id=plan.pk)
    assert len([m for m in mail.outbox if "is stale" in m.subject]) == 3
