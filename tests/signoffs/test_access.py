"""Who may use each of a plan's sign-off, status and packet URLs (the harness is
tests/access.py)."""

import pytest

from signoffs import services
from tests.access import PlanAccessTests, PlanURL


def security_officer(plan):
    return ["security_officer"]


def compliance_officer(plan):
    return ["compliance_officer"]


def packet(plan):
    return [plan.packets.get().pk]


URLS = [
    PlanURL("signoffs:signoffs", "get", "view"),
    # Starting the plan needs "change", the other moves "manage" (tests/signoffs/test_signoffs.py).
    PlanURL("signoffs:plan_status", "post", "change"),
    PlanURL("signoffs:role_assign", "post", "manage", security_officer),
    PlanURL("signoffs:role_required", "post", "manage", compliance_officer),
    # Only the role's holder signs, after signing in again (tests/signoffs/test_signoffs.py).
    PlanURL("signoffs:sign", "get", "view", security_officer),
    PlanURL("signoffs:sign", "post", "view", security_officer),
    PlanURL("signoffs:packet_list", "get", "view"),
    PlanURL("signoffs:packet_request", "post", "change"),
    PlanURL("signoffs:packet_download", "get", "view", packet),
]


@pytest.fixture
def plan(plan, owner):
    """The shared plan with a packet asked for (the worker never renders it here)."""
    services.packet_request(plan=plan, requested_by=owner, kind="draft")
    return plan


class TestSignoffsAccess(PlanAccessTests):
    urls = URLS
