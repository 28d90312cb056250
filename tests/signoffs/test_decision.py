from decimal import Decimal

import pytest

from checklists import services as checklist_services
from checklists.models import ChecklistItem
from planning import services as planning_services
from signoffs import decision
from tests.conftest import ROLES
from tests.signoffs.test_signoffs import move, ready_to_sign, sign


@pytest.fixture
def signed_off(plan, owner, editor, holders):
    ready_to_sign(plan, owner, editor)
    move(plan, "in_progress")
    move(plan, "awaiting_signoff")
    for role in ROLES:
        sign(plan, role, holders[role])
    plan.refresh_from_db()
    return plan


def test_a_new_plan_is_no_go_with_every_reason(plan, settings):
    settings.SITE_URL = "https://readiness.example"
    result = decision.plan_decision(plan).as_json()
    assert result["decision"] == "no-go"
    assert result["reasons"][0] == "The plan is draft; it has not been put up for sign-off."
    assert result["reasons"][1].startswith("13 critical checklist items block readiness: ")
    assert "Readiness is 0; the gate needs 80." in result["reasons"]
    assert result["band"] == {"key": "not_ready", "title": "Not ready for deployment"}
    assert result["score"] == 0.0
    assert result["threshold"] == 80
    assert len(result["blockers"]) == 13
    assert result["missing_roles"] == [
        "Technical Lead",
        "Security Officer",
        "Operations Manager",
        "Business Owner",
        decision.DOCUMENTATION_SIGNOFF,
    ]
    assert result["stale_roles"] == []
    assert result["packet_sha256"] is None
    assert len(result["plan_digest"]) == 64
    assert result["url"] == f"https://readiness.example/plans/{plan.pk}/"
    assert set(result) == {
        "plan",
        "decision",
        "reasons",
        "score",
        "threshold",
        "band",
        "blockers",
        "missing_roles",
        "stale_roles",
        "plan_digest",
        "packet_sha256",
        "url",
    }


def test_a_plan_signed_off_on_its_current_content_is_go(signed_off):
    result = decision.plan_decision(signed_off)
    assert result.go
    assert result.reasons == [
        "Signed off on its current content; readiness 90 (“Ready for production deployment”, "
        "the gate needs 80)."
    ]
    assert result.missing_roles == result.stale_roles == result.blockers == []


def test_a_change_that_makes_signatures_stale_makes_it_no_go(signed_off, editor):
    before = decision.plan_decision(signed_off).plan_digest
    item = ChecklistItem.objects.get(plan=signed_off, text="VPN access configured")
    checklist_services.item_set_state(item=item, actor=editor, state="passed", version=item.version)
    result = decision.plan_decision(signed_off)
    assert result.decision == "no-go"
    assert result.stale_roles == ["Security Officer", "Business Owner", "Compliance Officer"]
    assert result.reasons == [
        "Signatures made stale by later changes: Security Officer, Business Owner, "
        "Compliance Officer."
    ]
    assert result.plan_digest != before


def test_the_instance_threshold_is_a_floor_the_plan_can_raise(signed_off, settings):
    settings.GATE_READINESS_THRESHOLD = 95
    result = decision.plan_decision(signed_off)
    assert result.decision == "no-go"
    assert result.reasons == ["Readiness is 90; the gate needs 95."]


def test_a_cancelled_or_archived_plan_is_no_go(signed_off):
    planning_services.plan_archive(plan=signed_off)
    signed_off.refresh_from_db()
    assert decision.plan_decision(signed_off).reasons == ["The plan is archived."]
    planning_services.plan_restore(plan=signed_off)
    signed_off.refresh_from_db()
    cancelled = move(signed_off, "cancelled")
    assert decision.plan_decision(cancelled).reasons == ["The plan is cancelled."]


def test_a_rejection_is_named(signed_off, holders):
    sign(signed_off, "business_owner", holders["business_owner"], "reject", "Budget")
    result = decision.plan_decision(signed_off)
    assert result.reasons == ["Rejected by Business Owner."]
    assert result.missing_roles == ["Business Owner"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "go"),
        ({"score": Decimal("79.9")}, "no-go"),
        ({"lowest_band": True}, "no-go"),
        ({"blockers": ["Backups tested"]}, "no-go"),
        ({"signed_off": False}, "no-go"),
        ({"status": "in_progress"}, "no-go"),
        ({"status": "deployed"}, "go"),
        ({"archived": True}, "no-go"),
    ],
)
def test_the_pure_rule_decides_from_loaded_values(changes, expected):
    values = {
        "status": "signed_off",
        "archived": False,
        "signed_off": True,
        "score": Decimal(80),
        "threshold": 80,
        "band_title": "Ready with minor adjustments",
        "lowest_band": False,
        "blockers": [],
        "missing_roles": [],
        "stale_roles": [],
    }
    verdict, reasons = decision.decide(**{**values, **changes})
    assert verdict == expected
    assert reasons
