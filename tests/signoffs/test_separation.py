"""Separation of duties that holds, and the guide's two-part approval: a signature counts only
while its signer holds the role, one person counts for one role, and the documentation sign-off
is part of being signed off."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from checklists import services as checklist_services
from checklists.models import ChecklistItem
from signoffs import packet_selectors, policies, selectors, services
from signoffs.models import Signoff
from tests.conftest import ROLES
from tests.signoffs.test_signoffs import move, ready_to_sign, reauthenticated, sign

REQUIRED = ["technical_lead", "security_officer", "operations_manager", "business_owner"]


def assign(client, plan, role, person):
    return client.post(
        reverse("signoffs:role_assign", args=[plan.pk, role]),
        {"assignee": person.pk if person is not None else ""},
    )


def sign_in_page(client, plan, role):
    url = reverse("signoffs:sign", args=[plan.pk, role])
    digest = client.get(url).context["digest"]
    return client.post(url, {"decision": "approve", "digest": digest})


@pytest.fixture
def awaiting(plan, owner, editor, holders):
    """A plan awaiting sign-off, every role held by its own person."""
    ready_to_sign(plan, owner, editor)
    move(plan, "in_progress")
    move(plan, "awaiting_signoff")
    return plan


def test_an_owner_rotating_through_the_roles_signs_nothing_off(awaiting, owner, client_for):
    """The attack: take a role, sign it, hand it to nobody, take the next one."""
    plan = awaiting
    client = reauthenticated(client_for(owner), owner)
    for role in [*REQUIRED, "compliance_officer"]:
        assert assign(client, plan, role, owner).status_code == 302
        assert sign_in_page(client, plan, role).status_code == 302
        assert assign(client, plan, role, None).status_code == 302
    assert Signoff.objects.filter(signer=owner).count() == 5

    plan.refresh_from_db()
    assert plan.status == "awaiting_signoff"
    state = policies.signoff_state(plan)
    assert not state.signed_off
    assert {role.state for role in state.roles} == {"not_holder"}
    with pytest.raises(ValidationError, match="final packet needs a signed-off plan"):
        services.packet_request(plan=plan, requested_by=owner, kind="final")

    page = client.get(reverse("signoffs:signoffs", args=[plan.pk])).content.decode()
    assert "Needs a holder: the signer no longer holds the role" in page
    assert page.count("No longer counts") == 5
    listing = client.get(reverse("planning:plan_list")).content.decode()
    assert "Technical Lead (needs a new signature)" in listing


def test_a_signature_of_a_former_holder_waits_for_the_new_holders(
    awaiting, owner, editor, holders, client_for
):
    plan = awaiting
    for role in [*REQUIRED, "compliance_officer"]:
        sign(plan, role, holders[role])
    plan.refresh_from_db()
    assert plan.status == "signed_off"

    officer = holders["security_officer"]
    services.role_assign(requirement=plan.roles.get(role="security_officer"), assignee=None)
    services.role_assign(requirement=plan.roles.get(role="security_officer"), assignee=editor)
    plan.refresh_from_db()
    assert plan.status == "awaiting_signoff"
    security = next(
        r for r in policies.signoff_state(plan).roles if r.requirement.role == "security_officer"
    )
    assert security.label == f"Needs a new signature from {editor.get_full_name()}"
    assert security.latest.signer == officer  # still on record

    # The new holder is asked on My work; the former one is not.
    my_work = client_for(editor).get(reverse("planning:my_work")).content.decode()
    assert reverse("signoffs:sign", args=[plan.pk, "security_officer"]) in my_work
    assert selectors.signoffs_waiting_for(officer) == []

    sign(plan, "security_officer", editor)
    plan.refresh_from_db()
    assert plan.status == "signed_off"


def test_the_assign_form_says_who_holds_another_role(awaiting, owner, holders, client_for):
    plan = awaiting
    client = client_for(owner)
    page = client.get(reverse("signoffs:signoffs", args=[plan.pk])).content.decode()
    officer = holders["security_officer"]
    # In the Technical Lead's menu, the Security Officer is there but cannot be chosen.
    menu = page.split('id="assignee-technical_lead"', 1)[1].split("</select>", 1)[0]
    assert (
        f'<option value="{officer.pk}" disabled>{officer.get_full_name()} '
        "(holds Security Officer)</option>" in menu
    )

    response = assign(client, plan, "technical_lead", officer)
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "This person already holds another approval role on this plan." in page
    assert plan.roles.get(role="technical_lead").assignee == holders["technical_lead"]


def test_all_approvals_without_the_documentation_signoff_is_not_signed_off(
    plan, owner, editor, holders, client_for
):
    ready_to_sign(plan, owner, editor)
    documentation = list(
        ChecklistItem.objects.filter(plan=plan, checklist__key="documentation").order_by("position")
    )
    for item in documentation:  # open them again
        item.refresh_from_db()
        checklist_services.item_set_state(
            item=item, actor=editor, state="open", version=item.version
        )
    move(plan, "in_progress")
    move(plan, "awaiting_signoff")
    for role in ROLES:
        sign(plan, role, holders[role])
    plan.refresh_from_db()
    assert plan.status == "awaiting_signoff"
    state = policies.signoff_state(plan)
    assert state.approvals_complete and not state.signed_off
    assert not packet_selectors.packet_contents(plan)["signoffs"]["signed_off"]
    with pytest.raises(ValidationError, match="final packet needs a signed-off plan"):
        services.packet_request(plan=plan, requested_by=owner, kind="final")
    page = client_for(editor).get(reverse("signoffs:signoffs", args=[plan.pk])).content.decode()
    assert "Required approvals: complete." in page
    assert "Documentation sign-off: 5 of 5 items not yet confirmed" in page
    listing = client_for(owner).get(reverse("planning:plan_list")).content.decode()
    assert "Sign-offs missing: Documentation sign-off" in listing

    # An editor cannot wave an item through as not applicable; an owner can, with a reason.
    with pytest.raises(ValidationError, match="plan owner"):
        checklist_services.item_set_state(
            item=documentation[3], actor=editor, state="not_applicable", version=None, reason="x"
        )
    checklist_services.item_set_state(
        item=documentation[3],
        actor=owner,
        state="not_applicable",
        version=None,
        reason="No disaster recovery for a stateless edge service",
        actor_is_owner=True,
    )
    for item in documentation[:3] + documentation[4:]:
        checklist_services.item_set_state(item=item, actor=editor, state="passed", version=None)
    # Confirming documentation changes what the Compliance Officer and Business Owner cover.
    for role in ("compliance_officer", "business_owner"):
        sign(plan, role, holders[role])
    plan.refresh_from_db()
    assert plan.status == "signed_off"
    assert services.packet_request(plan=plan, requested_by=owner, kind="final").kind == "final"


def test_only_owners_change_the_threshold_and_doing_so_makes_approvals_stale(
    awaiting, owner, editor, holders, client_for
):
    plan = awaiting
    for role in ROLES:
        sign(plan, role, holders[role])
    url = reverse("planning:plan_edit", args=[plan.pk])
    fields = {
        "title": plan.title,
        "release_version": plan.release_version,
        "environment": plan.environment,
        "week1_start": plan.week1_start.isoformat(),
        "target_go_live": plan.target_go_live.isoformat(),
        "description": plan.description,
    }
    editor_client = client_for(editor)
    assert "signoff_threshold" not in editor_client.get(url).content.decode()
    editor_client.post(url, {**fields, "signoff_threshold": 10})
    plan.refresh_from_db()
    assert (plan.signoff_threshold, plan.status) == (80, "signed_off")

    assert client_for(owner).post(url, {**fields, "signoff_threshold": 85}).status_code == 302
    services.after_plan_change(plan_id=plan.pk)  # what the worker runs after the change
    plan.refresh_from_db()
    assert plan.signoff_threshold == 85
    stale = {r.requirement.role for r in policies.signoff_state(plan).roles if r.state == "stale"}
    assert stale == {"business_owner"}  # the role that covers the header
    assert plan.status == "awaiting_signoff"
