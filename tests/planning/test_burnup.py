"""The four-weeks page's burn-up: tasks done against the scope at each week's end, replayed
from the tasks' audit trail, drawn as SVG with its text alternative."""

import datetime
import re

import pytest
import time_machine
from django.urls import reverse

from planning import burnup, services
from planning.selectors import board
from planning.selectors import burnup as burnup_points
from tests.factories import UserFactory, make_plan

UTC = datetime.UTC
# The plan's weeks: 2–8, 9–15, 16–22 and 23–29 November 2026.
BEFORE = datetime.datetime(2026, 10, 30, 9, tzinfo=UTC)


def _at(moment):
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def history_plan(db):
    owner = UserFactory(username="olga")
    with _at(BEFORE):
        plan = make_plan(owner)
    tasks = list(plan.tasks.order_by("phase__number", "position"))
    assert len(tasks) == 28

    def done(task, day):
        with _at(datetime.datetime(2026, 11, day, 12, tzinfo=UTC)):
            services.task_update(task=task, actor=owner, status="done")

    done(tasks[0], 4)
    done(tasks[1], 6)
    done(tasks[2], 12)
    # Scope grows in week 2; a done task is reopened in week 3.
    with _at(datetime.datetime(2026, 11, 10, 12, tzinfo=UTC)):
        services.task_create(phase=plan.phases.get(number=2), title="Extra", group="More")
    with _at(datetime.datetime(2026, 11, 17, 12, tzinfo=UTC)):
        services.task_update(task=tasks[1], actor=owner, status="in_progress")
    return plan


def test_the_points_count_done_tasks_and_scope_at_each_weeks_end(history_plan):
    with _at(datetime.datetime(2026, 11, 19, 8, tzinfo=UTC)):
        points = burnup_points(history_plan, board(history_plan))
    assert [(p.label, p.done, p.scope) for p in points] == [
        ("Start", 0, 28),
        ("Week 1", 2, 28),
        ("Week 2", 3, 29),
        ("Week 3 so far", 2, 29),
        ("Week 4", None, None),
    ]
    assert points[1].at == datetime.datetime(2026, 11, 9, tzinfo=UTC)


def test_after_the_four_weeks_every_point_is_known(history_plan):
    with _at(datetime.datetime(2026, 12, 5, tzinfo=UTC)):
        points = burnup_points(history_plan, board(history_plan))
    assert [(p.label, p.done, p.scope) for p in points][-2:] == [
        ("Week 4", 2, 29),
        ("Now", 2, 29),
    ]
    svg = burnup.render(points)
    assert "still to come" not in svg
    assert svg.count('class="done"') == 1 and svg.count("<circle") == 12


def test_weeks_before_the_plan_was_made_have_no_counts_and_a_deletion_counts(plan, editor):
    # The fixture's plan is made now, after its four weeks (2–29 November 2026) ended.
    services.task_update(task=plan.tasks.first(), actor=editor, status="done")
    services.task_delete(task=plan.tasks.last())
    with _at(datetime.datetime.now(tz=UTC) + datetime.timedelta(days=1)):
        points = burnup_points(plan, board(plan))
    assert [(p.label, p.done, p.scope, p.missing) for p in points] == [
        *[
            (label, None, None, "before the plan")
            for label in ("Start", "Week 1", "Week 2", "Week 3", "Week 4")
        ],
        ("Now", 1, 27, ""),
    ]
    assert burnup.summary(points).endswith(
        "Now: 1 of 27 done; before the plan was made: Start, Week 1, Week 2, Week 3, Week 4."
    )


@pytest.mark.parametrize(
    "who, status", [("owner", 200), ("editor", 200), ("viewer", 200), ("outsider", 404)]
)
def test_the_board_shows_the_burnup_to_members_only(client_for, plan, request, who, status):
    response = client_for(request.getfixturevalue(who)).get(
        reverse("planning:board", args=[plan.pk])
    )
    assert response.status_code == status
    body = response.content.decode()
    if status == 200:
        svg = re.search(r'<svg[^>]*class="burnup".*?</svg>', body, re.S).group(0)
        assert 'role="img"' in svg and "<desc>" in svg and "style=" not in svg
        assert "<title>Burn-up of tasks done against the scope. " in svg
        assert '<figcaption id="burnup-caption"' in body
    else:
        assert 'class="burnup"' not in body


def test_a_task_done_changes_the_cached_burnup(
    client_for, plan, editor, django_capture_on_commit_callbacks
):
    client = client_for(editor)
    url = reverse("planning:board", args=[plan.pk])
    client.get(url)

    def caption():
        body = client.get(url).content.decode()
        return re.search(r'<figcaption id="burnup-caption"[^>]*>(.*?)</figcaption>', body).group(1)

    before = caption()
    with django_capture_on_commit_callbacks(execute=True):
        services.task_update(task=plan.tasks.first(), actor=editor, status="done")
    after = caption()
    assert before != after and "Now: 1 of 28 done" in after and "Now: 0 of 28 done" in before
