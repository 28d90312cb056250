"""Who may use each of a plan's sign-off, status and packet URLs (the harness is
tests/access.py)."""

import pytest
from django.utils import timezone

from signoffs import services
from tests.access import PlanAccessTests, PlanURL


def security_officer(plan):
    return ["security_officer"]


def compliance_officer(plan):
    return ["compliance_officer"]


def packet(plan):
    return [plan.packets.get().pk]


def delegation(plan):
    return ["security_officer", plan.delegations.get().pk]


URLS = [
    PlanURL("signoffs:signoffs", "get", "view"),
    # Starting the plan needs "change", the other moves "manage" (tests/signoffs/test_signoffs.py).
    PlanURL("signoffs:plan_status", "post", "change"),
    PlanURL("signoffs:role_assign", "post", "manage", security_officer),
    PlanURL("signoffs:role_required", "post", "manage", compliance_officer),
    PlanURL("signoffs:role_policy", "post", "manage", security_officer),
    # Only the role's holder names a deputy; they or an owner end it (test_policies.py).
    PlanURL("signoffs:delegation_create", "post", "view", security_officer),
    PlanURL("signoffs:delegation_end", "post", "view", delegation),
    # Only the role's holder signs, after signing in again (tests/signoffs/test_signoffs.py).
    PlanURL("signoffs:sign", "get", "view", security_officer),
    PlanURL("signoffs:sign", "post", "view", security_officer),
    PlanURL("signoffs:packet_list", "get", "view"),
    PlanURL("signoffs:packet_request", "post", "change"),
    PlanURL("signoffs:packet_download", "get", "view", packet),
]


@pytest.fixture
def plan(plan, owner, editor, viewer):
    """The shared plan with a packet asked for (the worker never renders it here), and the
    editor named deputy of the viewer, who holds the Security Officer role."""
    services.packet_request(plan=plan, requested_by=owner, kind="draft")
    requirement = plan.roles.get(role="security_officer")
    services.role_assign(requirement=requirement, assignee=viewer)
    today = timezone.localdate()
    services.delegation_create(
        requirement=requirement, holder=viewer, deputy=editor, starts_on=today, ends_on=today
    )
    return plan


class TestSignoffsAccess(PlanAccessTests):
    urls = URLS
