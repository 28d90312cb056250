"""Who may use the Deploy gates tab's URLs (the harness is tests/access.py): owners only."""

import pytest

from gates import services
from tests.access import PlanAccessTests, PlanURL


def mapping(plan):
    return [plan.gate_mappings.get().pk]


URLS = [
    PlanURL("gates:deploy_gates", "get", "manage"),
    PlanURL("gates:mapping_add", "post", "manage"),
    PlanURL("gates:mapping_remove", "post", "manage", mapping),
]


@pytest.fixture
def plan(plan, owner):
    """The shared plan, gating one environment."""
    services.mapping_add(
        plan=plan, actor=owner, provider="github", repository="octo/shop", environment="prod"
    )
    return plan


class TestGatesAccess(PlanAccessTests):
    urls = URLS
