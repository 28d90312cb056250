from decimal import Decimal
from types import SimpleNamespace

import pytest

from checklists import readiness as matrix
from checklists import services
from checklists.selectors import readiness
from planning.selectors import default_playbook

DEFINITION = None


@pytest.fixture
def definition(db):
    return default_playbook().definition["readiness"]


def item(checklist, state="open", critical=False):
    return SimpleNamespace(
        checklist=SimpleNamespace(key=checklist), state=state, critical=critical, text="item"
    )


def scores(**values):
    return {
        key: SimpleNamespace(score=value, rationale="r", scored_by=None, scored_at=None)
        for key, value in values.items()
    }


ALL = dict(
    infrastructure=0, security=0, application=0, monitoring=0, documentation=0, team_readiness=0
)


def test_the_weights_are_the_guides(definition):
    result = matrix.compute(definition, [], {})
    assert [(c.title, c.weight) for c in result.categories] == [
        ("Infrastructure", 25),
        ("Security", 25),
        ("Application", 20),
        ("Monitoring", 15),
        ("Documentation", 10),
        ("Team Readiness", 5),
    ]


def test_full_marks_are_100_and_ready(definition):
    result = matrix.compute(definition, [], scores(**{k: 10 for k in ALL}))
    assert result.total == 100
    assert result.band["key"] == "ready"
    assert result.next_band is None


def test_the_weighted_total_follows_the_guides_table(definition):
    # 25×8 + 25×7 + 20×9 + 15×6 + 10×5 + 5×10 = 200+175+180+90+50+50 = 745 → 74.5
    result = matrix.compute(
        definition,
        [],
        scores(
            infrastructure=8,
            security=7,
            application=9,
            monitoring=6,
            documentation=5,
            team_readiness=10,
        ),
    )
    assert result.total == Decimal("74.5")
    assert result.band["title"] == "Requires significant preparation"


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (Decimal(100), "ready"),
        (Decimal(90), "ready"),
        (Decimal("89.5"), "minor_adjustments"),
        (Decimal(80), "minor_adjustments"),
        (Decimal("79.5"), "significant_preparation"),
        (Decimal(70), "significant_preparation"),
        (Decimal("69.5"), "not_ready"),
        (Decimal(10), "not_ready"),
        (Decimal(0), "not_ready"),
    ],
)
def test_each_bands_edges(definition, total, band):
    bands = sorted(definition["bands"], key=lambda b: b["min"], reverse=True)
    assert matrix.band_for(total, bands)["key"] == band


def test_a_failed_critical_item_forces_not_ready_whatever_the_score(definition):
    items = [item("security", "failed", critical=True), item("security", "passed")]
    result = matrix.compute(definition, items, scores(**{k: 10 for k in ALL}))
    assert result.total == 100
    assert result.score_band["key"] == "ready"
    assert result.band["key"] == "not_ready"
    assert len(result.blockers) == 1
    assert "Resolve the 1 blocker" in result.advice[0].text


def test_an_open_critical_item_blocks_and_a_passed_or_not_applicable_one_does_not(definition):
    items = [
        item("infrastructure", "open", critical=True),
        item("infrastructure", "passed", critical=True),
        item("infrastructure", "not_applicable", critical=True),
    ]
    assert len(matrix.compute(definition, items, {}).blockers) == 1


@pytest.mark.parametrize(
    ("states", "suggested"),
    [
        (["passed"] * 10, 10),
        (["open"] * 10, 1),
        (["passed"] * 5 + ["open"] * 5, 6),  # 1 + 4.5 rounds half up
        (["passed"] * 9 + ["not_applicable"], 10),
        (["not_applicable"] * 10, None),
        (["passed", "failed", "failed"], 4),
    ],
)
def test_the_suggested_score_comes_from_checklist_progress(definition, states, suggested):
    result = matrix.compute(definition, [item("security", s) for s in states], {})
    security = next(c for c in result.categories if c.key == "security")
    assert security.suggested == suggested


def test_categories_without_a_checklist_have_no_suggestion(definition):
    result = matrix.compute(definition, [item("security", "passed")], {})
    assert next(c for c in result.categories if c.key == "monitoring").suggested is None


def test_the_advice_names_the_points_needed_for_the_next_band(definition):
    # 25×7 + 25×7 + 20×7 + 15×7 + 10×7 + 5×7 = 70 → next band needs 10 more points
    result = matrix.compute(definition, [], scores(**{k: 7 for k in ALL}))
    assert result.band["key"] == "significant_preparation"
    text = " ".join(a.text for a in result.advice)
    # No single category can add 10 points from 7 (25 × 3 / 10 = 7.5 at most), so two are named.
    assert "needs 10 more points" in text
    assert "raise Infrastructure from 7 to 10 and Security from 7 to 8." in text


def test_one_category_is_named_when_it_is_enough(definition):
    # 70 + 2.5 points short of 80 → 7.5: Infrastructure 7 → 10 adds 7.5
    result = matrix.compute(
        definition, [], scores(**{**{k: 7 for k in ALL}, "monitoring": 7, "team_readiness": 2})
    )
    assert result.total == Decimal("67.5")
    text = " ".join(a.text for a in result.advice)
    assert "needs 2.5 more points" in text
    assert "raise Infrastructure from 7 to 8; or Security from 7 to 8; or Application" in text


def test_unscored_categories_are_named(definition):
    result = matrix.compute(definition, [], scores(infrastructure=9))
    assert "not yet scored: Security, Application" in result.advice[0].text
    assert not result.complete


def test_the_plans_readiness_uses_its_items_and_latest_scores(plan, owner):
    services.score_set(plan=plan, actor=owner, category="security", score=4, rationale="early")
    services.score_set(plan=plan, actor=owner, category="security", score=9, rationale="later")
    result = readiness(plan)
    security = next(c for c in result.categories if c.key == "security")
    assert (security.score, security.rationale) == (9, "later")
    assert result.total == Decimal("22.5")
    assert len(result.blockers) == 13  # the playbook's critical items, all still open
