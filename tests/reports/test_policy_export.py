"""The auditor export under approval policies: each approval's state as its role's policy
judges it, the policy and the role's progress towards its quorum, and when an approval
expired."""

import csv
import datetime
import io

import time_machine
from django.urls import reverse
from django.utils import timezone

from planning import services as planning_services
from reports import exports
from reports.selectors import change_population
from signoffs import services
from signoffs.decision import plan_decision
from tests.conftest import ROLES
from tests.factories import UserFactory
from tests.signoffs.test_policies import members, quorum_plan, security_team  # noqa: F401
from tests.signoffs.test_signoffs import move, ready_to_sign, sign


def rows(owner, day) -> list[dict]:
    population = change_population(owner, start=day, end=day)
    return list(csv.DictReader(io.StringIO(exports.population_csv(population))))


def test_the_export_shows_the_policy_the_progress_and_the_expiry(
    quorum_plan,  # noqa: F811
    security_team,  # noqa: F811
    owner,
):
    plan, people = quorum_plan, members(security_team)
    services.role_policy_set(
        requirement=plan.roles.get(role="security_officer"),
        team=security_team,
        quorum=2,
        approval_days=30,
    )
    day = timezone.localdate()
    sign(plan, "security_officer", people["alice"])
    bob = sign(plan, "security_officer", people["bob"])
    plan.refresh_from_db()
    assert plan.status == "signed_off"

    security = [row for row in rows(owner, day) if row["role"] == "security_officer"]
    assert [(row["approver_email"], row["state"]) for row in security] == [
        (people["alice"].email, "current"),
        (people["bob"].email, "current"),
    ]
    for row in security:
        assert row["role_policy"] == "Any 2 of Security; approvals expire after 30 days"
        assert row["role_progress"] == "2 of 2 approvals"
        assert row["expired_at"] == ""

    later = bob.signed_at + datetime.timedelta(days=30, minutes=1)
    with time_machine.travel(later, tick=False):
        services.after_plan_change(plan_id=plan.pk)
        security = [row for row in rows(owner, day) if row["role"] == "security_officer"]
    assert [row["state"] for row in security] == ["expired", "expired"]
    expiry = bob.signed_at + datetime.timedelta(days=30)
    assert security[1]["expired_at"] == (
        expiry.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")
    )
    assert {row["role_progress"] for row in security} == {"0 of 2 approvals"}
    # A person's role without expiry keeps its approval current and its expiry cell empty.
    business = next(row for row in rows(owner, day) if row["role"] == "business_owner")
    assert (business["state"], business["expired_at"]) == ("current", "")


def test_the_portfolio_the_plan_list_and_the_gate_word_a_team_roles_progress_alike(
    quorum_plan,  # noqa: F811
    security_team,  # noqa: F811
    owner,
    client_for,
):
    sign(quorum_plan, "security_officer", members(security_team)["alice"])
    client = client_for(owner)
    page = client.get(reverse("reports:portfolio")).content.decode()
    assert "Security Officer: 1 of 2 approvals" in page
    response = client.get(reverse("reports:portfolio_csv"))
    [row] = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert row["Missing or stale roles"] == "Security Officer: 1 of 2 approvals"
    assert "Waiting for sign-off: Security Officer: 1 of 2 approvals." in row["Why"]
    listing = client.get(reverse("planning:plan_list")).content.decode()
    assert "Sign-offs missing: Security Officer: 1 of 2 approvals<" in listing
    decision = plan_decision(quorum_plan)
    assert "Waiting for sign-off: Security Officer: 1 of 2 approvals." in decision.reasons


def test_a_deputys_approval_is_current_in_the_export(plan, owner, editor, holders):
    """A deputy's signature counts for the holder, so the export calls it current (it used to
    say not_holder) and names both."""
    deputy = UserFactory(first_name="Dana", last_name="Deputy")
    planning_services.membership_add(plan=plan, actor=owner, email=deputy.email, role="viewer")
    officer = holders["security_officer"]
    today = timezone.localdate()
    services.delegation_create(
        requirement=plan.roles.get(role="security_officer"),
        holder=officer,
        deputy=deputy,
        starts_on=today,
        ends_on=today + datetime.timedelta(days=3),
    )
    ready_to_sign(plan, owner, editor)
    move(plan, "in_progress")
    move(plan, "awaiting_signoff")
    for role in ROLES:
        sign(plan, role, deputy if role == "security_officer" else holders[role])
    plan.refresh_from_db()
    assert plan.status == "signed_off"
    [row] = [row for row in rows(owner, today) if row["role"] == "security_officer"]
    officer_name = officer.get_full_name() or officer.email
    assert row["approver"] == f"Dana Deputy on behalf of {officer_name}"
    assert (row["state"], row["role_policy"], row["role_progress"]) == (
        "current",
        "One person",
        "1 of 1 approval",
    )
