import datetime

import pytest
import time_machine

from checklists import history, services
from tests.factories import UserFactory, make_plan

UTC = datetime.UTC
# A Wednesday; the weeks end on the Mondays at midnight: 16, 23, 30 November, 7 December.
NOW = datetime.datetime(2026, 12, 9, 15, 0, tzinfo=UTC)


def _score(plan, actor, at, category, score):
    with time_machine.travel(at, tick=False):
        services.score_set(plan=plan, actor=actor, category=category, score=score, rationale="x")


def test_week_ends_are_the_last_mondays_and_now():
    assert history.week_ends(4, NOW) == [
        datetime.datetime(2026, 11, 23, tzinfo=UTC),
        datetime.datetime(2026, 11, 30, tzinfo=UTC),
        datetime.datetime(2026, 12, 7, tzinfo=UTC),
        NOW,
    ]


def test_the_trend_is_the_weighted_total_at_each_week_end(plan, owner):
    # Security 25 and infrastructure 25: 6 → 15 points, 8 → 20 points.
    _score(plan, owner, datetime.datetime(2026, 11, 18, 9, tzinfo=UTC), "security", 6)
    _score(plan, owner, datetime.datetime(2026, 11, 25, 9, tzinfo=UTC), "infrastructure", 8)
    # Re-scored within the same week: the week end sees the later score only.
    _score(plan, owner, datetime.datetime(2026, 12, 1, 9, tzinfo=UTC), "security", 10)
    _score(plan, owner, datetime.datetime(2026, 12, 3, 9, tzinfo=UTC), "security", 4)
    # Exactly at a week's end belongs to the next week.
    _score(plan, owner, datetime.datetime(2026, 12, 7, tzinfo=UTC), "application", 5)
    with time_machine.travel(NOW, tick=False):
        trends = history.score_trends([plan.pk], weeks=6)
    assert trends == {plan.pk: [None, None, 15.0, 35.0, 30.0, 40.0]}


def test_a_score_given_now_counts_in_the_last_point(plan, owner):
    _score(plan, owner, NOW, "monitoring", 3)
    with time_machine.travel(NOW, tick=False):
        assert history.score_trends([plan.pk], weeks=2) == {plan.pk: [None, 4.5]}


def test_a_plan_without_scores_has_no_trend_values_and_unknown_ids_are_left_out(plan):
    assert history.score_trends([plan.pk, 987654], weeks=3) == {plan.pk: [None, None, None]}
    assert history.score_trends([]) == {}


def test_total_history_steps_through_every_score(plan, owner):
    _score(plan, owner, datetime.datetime(2026, 11, 18, 9, tzinfo=UTC), "security", 6)
    _score(plan, owner, datetime.datetime(2026, 11, 19, 9, tzinfo=UTC), "team_readiness", 10)
    _score(plan, owner, datetime.datetime(2026, 11, 20, 9, tzinfo=UTC), "security", 9)
    steps = history.total_history(plan)
    assert [(step.at.day, float(step.total)) for step in steps] == [
        (18, 15.0),
        (19, 20.0),
        (20, 27.5),
    ]


@pytest.mark.parametrize("count", [3, 30])
def test_score_trends_cost_two_queries_whatever_the_number_of_plans(
    db, django_assert_num_queries, count
):
    owner = UserFactory()
    plans = [make_plan(owner, title=f"Plan {n}") for n in range(count)]
    for plan in plans:
        services.score_set(plan=plan, actor=owner, category="security", score=8, rationale="x")
    with django_assert_num_queries(2):
        trends = history.score_trends([plan.pk for plan in plans], weeks=6)
    assert len(trends) == count
    assert all(values[-1] == 20.0 for values in trends.values())
