"""Approval policies: a role held by a team with a quorum, approvals that expire, and one person
counting for one role whatever teams they are in."""

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from planning import services as planning_services
from signoffs import packet_selectors, policies, selectors, services
from signoffs.decision import plan_decision
from signoffs.models import Signoff
from tests.conftest import ROLES
from tests.factories import UserFactory, make_plan
from tests.signoffs.test_signoffs import move, ready_to_sign, reauthenticated, sign
from truststream import services as account_services
from truststream import tasks
from truststream.models import Notification


@pytest.fixture
def security_team(db, plan, owner):
    """A team of three, a member of the plan as viewers."""
    team = account_services.team_create(actor=UserFactory(is_staff=True), name="Security")
    for name in ("alice", "bob", "carol"):
        person = UserFactory(username=name)
        account_services.team_member_add(team=team, actor=owner, email=person.email, role="member")
    planning_services.plan_team_add(plan=plan, actor=owner, team=team, role="viewer")
    return team


def members(team):
    return {m.user.username: m.user for m in team.memberships.select_related("user")}


@pytest.fixture
def quorum_plan(plan, owner, editor, holders, security_team):
    """Awaiting sign-off, Security Officer held by the Security team with a quorum of two, every
    other role approved by its holder."""
    ready_to_sign(plan, owner, editor)
    services.role_policy_set(
        requirement=plan.roles.get(role="security_officer"), team=security_team, quorum=2
    )
    move(plan, "in_progress")
    move(plan, "awaiting_signoff")
    for role in ROLES:
        if role != "security_officer":
            sign(plan, role, holders[role])
    return plan


def security(plan):
    return next(
        role
        for role in policies.signoff_state(plan).roles
        if role.requirement.role == "security_officer"
    )


def test_a_team_role_is_approved_once_its_quorum_is(quorum_plan, security_team):
    plan, people = quorum_plan, members(security_team)
    assert security(plan).state == "missing"
    assert security(plan).policy == "Any 2 of Security"

    sign(plan, "security_officer", people["alice"])
    plan.refresh_from_db()
    assert plan.status == "awaiting_signoff"
    assert security(plan).state == "short"
    assert security(plan).label == "1 of 2 approvals: needs 1 more"
    assert selectors.missing_signoffs([plan.pk])[plan.pk] == ["Security Officer: 1 of 2 approvals"]

    sign(plan, "security_officer", people["bob"])
    plan.refresh_from_db()
    assert plan.status == "signed_off"
    assert security(plan).label == "Approved (2 of 2 approvals)"
    assert selectors.missing_signoffs([plan.pk])[plan.pk] == []


def test_one_current_rejection_from_the_team_rejects_the_role(quorum_plan, security_team):
    plan, people = quorum_plan, members(security_team)
    sign(plan, "security_officer", people["alice"])
    sign(plan, "security_officer", people["bob"])
    sign(plan, "security_officer", people["carol"], decision="reject", reason="Open CVE")
    plan.refresh_from_db()
    assert security(plan).state == "rejected"
    assert plan.status == "awaiting_signoff"


def test_a_member_who_leaves_the_team_stops_counting(quorum_plan, security_team):
    plan, people = quorum_plan, members(security_team)
    sign(plan, "security_officer", people["alice"])
    sign(plan, "security_officer", people["bob"])
    plan.refresh_from_db()
    assert plan.status == "signed_off"

    account_services.team_member_remove(
        membership=security_team.memberships.get(user__username="bob")
    )
    plan.refresh_from_db()
    assert plan.status == "awaiting_signoff"
    assert security(plan).progress == "1 of 2 approvals"
    # Bob's signature stays on record, marked as no longer counting.
    history = {s.printed_name: s.counts for s in selectors.signoff_history(plan)}
    assert history[people["bob"].get_full_name() or people["bob"].email] is False


def test_only_members_of_the_team_sign_for_it(quorum_plan, editor):
    with pytest.raises(ValidationError, match="Only a member of Security"):
        sign(quorum_plan, "security_officer", editor)
    assert not Signoff.objects.filter(signer=editor).exists()


def test_one_person_counts_for_one_role_through_a_team_too(
    quorum_plan, security_team, holders, owner
):
    plan = quorum_plan
    lead = holders["technical_lead"]
    account_services.team_member_add(
        team=security_team, actor=owner, email=lead.email, role="member"
    )
    with pytest.raises(ValidationError, match="You hold Technical Lead on this plan"):
        sign(plan, "security_officer", lead)


def test_a_member_of_two_teams_counts_for_the_first_role_they_approve(
    quorum_plan, security_team, holders, owner
):
    plan, people = quorum_plan, members(security_team)
    ops = account_services.team_create(actor=owner, name="Operations")
    account_services.team_member_add(
        team=ops, actor=owner, email=people["alice"].email, role="member"
    )
    planning_services.plan_team_add(plan=plan, actor=owner, team=ops, role="viewer")
    services.role_policy_set(
        requirement=plan.roles.get(role="operations_manager"), team=ops, quorum=1
    )
    sign(plan, "security_officer", people["alice"])
    with pytest.raises(ValidationError, match="Your approval counts for Security Officer"):
        sign(plan, "operations_manager", people["alice"])


def test_a_policy_needs_a_team_of_the_plan_and_a_reachable_quorum(plan, owner, security_team):
    requirement = plan.roles.get(role="security_officer")
    with pytest.raises(ValidationError, match="could never be reached"):
        services.role_policy_set(requirement=requirement, team=security_team, quorum=4)
    other = account_services.team_create(actor=owner, name="SRE")
    with pytest.raises(ValidationError, match="Add SRE to this plan's members first"):
        services.role_policy_set(requirement=requirement, team=other, quorum=1)
    with pytest.raises(ValidationError, match="1 to 3650 days"):
        services.role_policy_set(requirement=requirement, team=None, approval_days=0)
    requirement.refresh_from_db()
    assert (requirement.team_id, requirement.quorum, requirement.approval_days) == (None, 1, None)


def test_taking_the_team_off_the_plan_releases_its_role(quorum_plan, security_team):
    plan = quorum_plan
    planning_services.plan_team_remove(plan_team=plan.plan_teams.get(team=security_team))
    requirement = plan.roles.get(role="security_officer")
    assert requirement.team_id is None and requirement.quorum == 1


def test_an_expired_approval_stops_counting_and_its_signer_is_told_first(
    plan, owner, editor, holders, mailoutbox
):
    ready_to_sign(plan, owner, editor)
    services.role_policy_set(
        requirement=plan.roles.get(role="business_owner"), team=None, approval_days=30
    )
    move(plan, "in_progress")
    move(plan, "awaiting_signoff")
    start = timezone.now()
    for role in ROLES:
        sign(plan, role, holders[role])
    plan.refresh_from_db()
    assert plan.status == "signed_off"
    account_services.notification_preferences_set(
        user=holders["business_owner"], choices={"signature_stale": "never"}
    )

    with time_machine.travel(start + datetime.timedelta(days=28), tick=False):
        services.after_plan_change(plan_id=plan.pk)
        services.after_plan_change(plan_id=plan.pk)
        plan.refresh_from_db()
        assert plan.status == "signed_off"
        [notice] = Notification.objects.filter(
            user=holders["business_owner"], key__endswith=":expiry"
        )
        until = start + datetime.timedelta(days=30)
        assert notice.kind == "approval_expiring"
        assert notice.text == (
            f"Your approval of {plan} as Business Owner expires on {until:%d %b %Y %H:%M} UTC, "
            "as the role's policy has it. Review the plan and approve it again before then: "
            "once it expires, it no longer counts and the plan is no longer signed off"
        )
        assert notice.url == reverse("signoffs:signoffs", args=[plan.pk])
        tasks.notification_email(notice.pk)  # what the worker does once it commits
        [email] = mailoutbox
        assert email.to == [holders["business_owner"].email]
        assert email.subject == f"[TrustStram] Your approval of {plan} expires on {until:%d %b %Y}"
        assert notice.text in email.body
        # Nothing says the signature is stale: it is not (yet).
        assert not Notification.objects.filter(kind="signature_stale").exists()

    with time_machine.travel(start + datetime.timedelta(days=30, minutes=1), tick=False):
        services.after_plan_change(plan_id=plan.pk)
        plan.refresh_from_db()
        assert plan.status == "awaiting_signoff"
        role = next(
            r for r in policies.signoff_state(plan).roles if r.requirement.role == "business_owner"
        )
        assert role.state == "expired"
        assert selectors.missing_signoffs([plan.pk])[plan.pk] == ["Business Owner (expired)"]
        waiting = selectors.signoffs_waiting_for(holders["business_owner"])
        assert [(r.role, r.waiting) for r in waiting] == [("business_owner", "expired")]


def test_the_packet_contents_show_the_policy_and_each_members_signature(quorum_plan, security_team):
    plan, people = quorum_plan, members(security_team)
    sign(plan, "security_officer", people["alice"])
    role = next(
        r
        for r in packet_selectors.packet_contents(plan)["signoffs"]["roles"]
        if r["role"] == "security_officer"
    )
    assert role["policy"] == "Any 2 of Security"
    assert role["progress"] == "1 of 2 approvals"
    assert role["quorum"] == 2
    assert [s["printed_name"] for s in role["signatures"]] == [
        people["alice"].get_full_name() or people["alice"].email
    ]
    other = next(
        r
        for r in packet_selectors.packet_contents(plan)["signoffs"]["roles"]
        if r["role"] == "technical_lead"
    )
    assert "policy" not in other  # the default policy reads as packets always did


# Who may set a policy, and the page.


def policy(client, plan, **data):
    return client.post(reverse("signoffs:role_policy", args=[plan.pk, "security_officer"]), data)


@pytest.mark.parametrize("who, status", [("editor", 403), ("viewer", 403), ("outsider", 404)])
def test_only_owners_set_a_policy(who, status, plan, security_team, client_for, request):
    user = request.getfixturevalue(who)
    response = policy(client_for(user), plan, holder="team", team=security_team.pk, quorum=2)
    assert response.status_code == status
    assert plan.roles.get(role="security_officer").team_id is None


def test_an_owner_sets_a_team_policy_in_the_page(plan, owner, security_team, client_for):
    client = client_for(owner)
    response = policy(
        client, plan, holder="team", team=security_team.pk, quorum=2, approval_days=90
    )
    assert response.status_code == 302
    requirement = plan.roles.get(role="security_officer")
    assert (requirement.team, requirement.quorum, requirement.approval_days) == (
        security_team,
        2,
        90,
    )
    page = client.get(reverse("signoffs:signoffs", args=[plan.pk])).content.decode()
    assert "Security Officer: Any 2 of Security; approvals expire after 90 days." in page


def test_a_bad_policy_says_why_and_changes_nothing(plan, owner, security_team, client_for):
    client = client_for(owner)
    response = policy(client, plan, holder="team", team="", quorum="two")
    assert response.status_code == 302
    page = client.get(reverse("signoffs:signoffs", args=[plan.pk])).content.decode()
    assert "Choose which of the plan&#x27;s teams holds the role." in page
    assert "Approvals needed: Enter a whole number." in page
    assert plan.roles.get(role="security_officer").team_id is None


def test_a_team_member_signs_in_the_browser_flow(quorum_plan, security_team, client_for):
    alice = members(security_team)["alice"]
    client = reauthenticated(client_for(alice), alice)
    url = reverse("signoffs:sign", args=[quorum_plan.pk, "security_officer"])
    digest = client.get(url).context["digest"]
    assert client.post(url, {"decision": "approve", "digest": digest}).status_code == 302
    page = client.get(reverse("signoffs:signoffs", args=[quorum_plan.pk])).content.decode()
    assert "1 of 2 approvals: needs 1 more" in page
    mine = client.get(reverse("planning:my_work")).content.decode()
    assert "any 2 of your team" not in mine  # her approval stands: nothing waits for her


# Deputies.


@pytest.fixture
def deputy(plan, owner):
    person = UserFactory(username="dana", first_name="Dana", last_name="Deputy")
    planning_services.membership_add(plan=plan, actor=owner, email=person.email, role="viewer")
    return person


def name_deputy(plan, holder, deputy, days=(0, 6)):
    today = timezone.localdate()
    return services.delegation_create(
        requirement=plan.roles.get(role="security_officer"),
        holder=holder,
        deputy=deputy,
        starts_on=today + datetime.timedelta(days=days[0]),
        ends_on=today + datetime.timedelta(days=days[1]),
    )


def test_a_deputy_signs_on_the_holders_behalf_and_both_names_show(
    plan, owner, editor, holders, deputy
):
    ready_to_sign(plan, owner, editor)
    move(plan, "in_progress")
    move(plan, "awaiting_signoff")
    officer = holders["security_officer"]
    name_deputy(plan, officer, deputy)
    for role in ROLES:
        sign(plan, role, deputy if role == "security_officer" else holders[role])
    plan.refresh_from_db()
    assert plan.status == "signed_off"
    signoff = Signoff.objects.get(signer=deputy)
    officer_name = officer.get_full_name() or officer.email
    assert signoff.on_behalf_of == officer
    assert signoff.printed_name == f"Dana Deputy on behalf of {officer_name}"
    assert signoff.meaning.endswith(f"as Security Officer on behalf of {officer_name}")
    role = next(
        r
        for r in packet_selectors.packet_contents(plan)["signoffs"]["roles"]
        if r["role"] == "security_officer"
    )
    assert role["signature"]["on_behalf_of"] == officer_name

    # A new holder needs their own signature (or their own deputy's).
    services.role_assign(requirement=plan.roles.get(role="security_officer"), assignee=None)
    plan.refresh_from_db()
    assert plan.status == "awaiting_signoff"


def test_a_deputy_signs_only_within_the_range_and_until_it_is_ended(plan, holders, deputy):
    officer = holders["security_officer"]
    name_deputy(plan, officer, deputy, days=(2, 5))
    with pytest.raises(ValidationError, match="Only the person who holds this role"):
        sign(plan, "security_officer", deputy)
    current = name_deputy(plan, officer, deputy, days=(0, 1))
    services.delegation_end(delegation=current)
    with pytest.raises(ValidationError, match="Only the person who holds this role"):
        sign(plan, "security_officer", deputy)
    assert not Signoff.objects.filter(signer=deputy).exists()


def test_a_deputy_is_a_member_who_holds_no_other_role(plan, holders, outsider):
    officer = holders["security_officer"]
    with pytest.raises(ValidationError, match="one person, one role"):
        name_deputy(plan, officer, holders["technical_lead"])
    with pytest.raises(ValidationError, match="Choose a member of this plan"):
        name_deputy(plan, officer, outsider)
    with pytest.raises(ValidationError, match="last day comes on or after"):
        name_deputy(plan, officer, holders["business_owner"], days=(3, 1))


def test_only_the_holder_names_a_deputy_in_the_page(plan, owner, holders, deputy, client_for):
    url = reverse("signoffs:delegation_create", args=[plan.pk, "security_officer"])
    today = timezone.localdate().isoformat()
    data = {"deputy": deputy.pk, "starts_on": today, "ends_on": today}
    assert client_for(owner).post(url, data).status_code == 403
    officer = client_for(holders["security_officer"])
    assert officer.post(url, {**data, "ends_on": "someday"}).status_code == 302
    page = officer.get(reverse("signoffs:signoffs", args=[plan.pk])).content.decode()
    assert "To (included): Enter a valid date." in page
    assert officer.post(url, data).status_code == 302
    page = client_for(deputy).get(reverse("signoffs:signoffs", args=[plan.pk])).content.decode()
    assert "Review and sign on behalf of" in page


def test_the_gates_reasons_say_how_far_a_team_role_is_from_its_quorum(quorum_plan, security_team):
    plan, people = quorum_plan, members(security_team)
    services.role_policy_set(
        requirement=plan.roles.get(role="security_officer"),
        team=security_team,
        quorum=2,
        approval_days=30,
    )
    start = timezone.now()
    sign(plan, "security_officer", people["alice"])
    decision = plan_decision(plan)
    assert decision.decision == "no-go"
    assert "Waiting for sign-off: Security Officer: 1 of 2 approvals." in decision.reasons
    assert decision.missing_roles == ["Security Officer: 1 of 2 approvals"]

    sign(plan, "security_officer", people["bob"])
    plan.refresh_from_db()
    assert not any("Security Officer" in reason for reason in plan_decision(plan).reasons)

    # Expired approvals count as none: the role is back to 0 of 2, for its own reason.
    with time_machine.travel(start + datetime.timedelta(days=30, minutes=1), tick=False):
        services.after_plan_change(plan_id=plan.pk)
        plan.refresh_from_db()
        decision = plan_decision(plan)
        assert decision.decision == "no-go"
        assert (
            "Approvals expired under the role's policy: Security Officer: 0 of 2 approvals."
            in decision.reasons
        )
        assert not any(reason.startswith("Waiting for sign-off") for reason in decision.reasons)
        assert decision.missing_roles == ["Security Officer: 0 of 2 approvals"]


# Query counts.


def team_plan(owner, editor, teams: dict[str, int]):
    """A plan awaiting sign-off whose roles `teams` (role: team size) are each held by a team of
    that size with a quorum of two, every member but the last having approved."""
    plan = make_plan(owner, title=f"Teams {sorted(teams)}")
    planning_services.membership_add(plan=plan, actor=owner, email=editor.email, role="editor")
    ready_to_sign(plan, owner, editor)
    admin = UserFactory(is_staff=True)
    for role, size in teams.items():
        team = account_services.team_create(actor=admin, name=f"Team {role} {plan.pk}")
        for _ in range(size):
            person = UserFactory()
            account_services.team_member_add(
                team=team, actor=admin, email=person.email, role="member"
            )
        planning_services.plan_team_add(plan=plan, actor=owner, team=team, role="viewer")
        services.role_policy_set(requirement=plan.roles.get(role=role), team=team, quorum=2)
    for requirement in plan.roles.filter(team=None):
        person = UserFactory()
        planning_services.membership_add(plan=plan, actor=owner, email=person.email, role="viewer")
        services.role_assign(requirement=requirement, assignee=person)
    move(plan, "in_progress")
    move(plan, "awaiting_signoff")
    for role in teams:
        team = plan.roles.get(role=role).team
        for membership in list(team.memberships.select_related("user"))[:-1]:
            sign(plan, role, membership.user, decision="approve")
    return plan


def test_the_signoff_page_costs_the_same_queries_with_more_teams_and_members(
    owner, editor, client_for
):
    """One team role of three members, or two team roles of six: the same queries, none per
    team, member or signature."""
    small = team_plan(owner, editor, {"security_officer": 3})
    large = team_plan(owner, editor, {"security_officer": 6, "business_owner": 6})
    assert Signoff.objects.filter(plan=small).count() == 2
    assert Signoff.objects.filter(plan=large).count() == 10
    client = client_for(owner)
    counts = []
    for plan in (small, large):
        url = reverse("signoffs:signoffs", args=[plan.pk])
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            page = client.get(url)
        assert page.status_code == 200
        # Past the quorum, the page counts the approvals against it.
        expected = "Approved (2 of 2 approvals)" if plan == small else "5 approvals, 2 needed"
        assert expected in page.content.decode()
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
