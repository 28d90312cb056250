import datetime

import pytest
from django.urls import reverse

from planning import services, timeline
from planning.models import Task
from planning.selectors import board, default_playbook
from tests.factories import make_plan

GUIDE_TASKS = {
    1: {
        "Current State Analysis": [
            "Infrastructure audit",
            "Application inventory",
            "Performance baseline",
            "Security assessment",
        ],
        "Requirements Gathering": [
            "Business requirements",
            "Technical requirements",
            "Compliance requirements",
            "Performance targets",
        ],
    },
    4: {
        "Final Preparations": [
            "Environment validation",
            "Team training",
            "Documentation completion",
            "Go-live checklist",
        ]
    },
}


def test_a_plan_gets_four_dated_weeks_with_the_guides_tasks(plan):
    phases = list(plan.phases.order_by("number"))
    assert [(p.number, p.title, p.starts_on, p.ends_on) for p in phases] == [
        (1, "Assessment & Requirements", datetime.date(2026, 11, 2), datetime.date(2026, 11, 8)),
        (2, "Architecture & Design", datetime.date(2026, 11, 9), datetime.date(2026, 11, 15)),
        (3, "Implementation Planning", datetime.date(2026, 11, 16), datetime.date(2026, 11, 22)),
        (4, "Go-Live Preparation", datetime.date(2026, 11, 23), datetime.date(2026, 11, 29)),
    ]
    columns = {c.phase.number: dict(c.groups) for c in board(plan).phases}
    for number, groups in GUIDE_TASKS.items():
        assert {g: [i.title for i in items] for g, items in columns[number].items()} == groups
    assert plan.tasks.count() == 28
    week1 = plan.tasks.filter(phase__number=1)
    assert set(week1.values_list("due_on", flat=True)) == {datetime.date(2026, 11, 8)}
    assert set(plan.tasks.values_list("status", flat=True)) == {"todo"}


def test_the_register_starts_with_the_plans_environment_in_scope(owner):
    plan = make_plan(owner, environment="production")
    status = dict(plan.documents.values_list("key", "status"))
    assert status["production-environment"] == "not_started"
    assert status["staging-environment"] == status["development-environment"] == "not_applicable"
    assert status["multi-environment-strategy"] == "not_started"
    assert status["quantum-encryption-planning"] == "not_applicable"
    assert sum(s == "not_started" for s in status.values()) == 8
    assert plan.documents.count() == 14


def test_a_plan_keeps_its_copy_when_the_playbook_changes(plan, owner, settings):
    text = settings.DEFAULT_PLAYBOOK_PATH.read_text().replace(
        "Infrastructure audit", "Infrastructure survey"
    )
    playbook, created = services.playbook_load(text=text)
    assert created and playbook.revision == default_playbook().revision == 2

    assert plan.tasks.filter(title="Infrastructure audit").exists()
    assert not plan.tasks.filter(title="Infrastructure survey").exists()
    newer = make_plan(owner, playbook=playbook)
    assert newer.tasks.filter(title="Infrastructure survey").exists()


def test_moving_week_one_moves_the_weeks_and_the_due_dates(plan):
    services.plan_update(plan=plan, week1_start=datetime.date(2026, 11, 9))
    assert plan.phases.get(number=1).starts_on == datetime.date(2026, 11, 9)
    assert plan.phases.get(number=4).ends_on == datetime.date(2026, 12, 6)
    assert plan.tasks.filter(phase__number=1).first().due_on == datetime.date(2026, 11, 15)


# Tasks


def _task(plan, title="Infrastructure audit"):
    return plan.tasks.get(title=title)


def status_url(plan, item):
    return reverse("planning:task_status", args=[plan.pk, item.pk])


def test_an_editor_changes_a_status_in_place(client_for, plan, editor):
    item = _task(plan)
    response = client_for(editor).post(
        status_url(plan, item), {"status": "in_progress"}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith("<tr") and "<html" not in body
    assert f'id="task-{item.pk}"' in body
    assert _task(plan).status == "in_progress"


def test_blocked_needs_a_reason_asked_for_in_the_row(client_for, plan, editor):
    item = _task(plan)
    client = client_for(editor)
    response = client.post(
        status_url(plan, item), {"status": "blocked"}, headers={"HX-Request": "true"}
    )
    assert "Say why the task is blocked." in response.content.decode()
    assert 'name="blocked_reason"' in response.content.decode()
    assert _task(plan).status == "todo"

    client.post(
        status_url(plan, item),
        {"status": "blocked", "blocked_reason": "Waiting for the firewall change"},
        headers={"HX-Request": "true"},
    )
    item.refresh_from_db()
    assert (item.status, item.blocked_reason) == ("blocked", "Waiting for the firewall change")

    client.post(status_url(plan, item), {"status": "done", "blocked_reason": "stale"})
    item.refresh_from_db()
    assert (item.status, item.blocked_reason) == ("done", "")


def test_an_unknown_status_is_refused(client_for, plan, editor):
    response = client_for(editor).post(status_url(plan, _task(plan)), {"status": "finished"})
    assert response.status_code == 302  # back to the board, with the message
    assert _task(plan).status == "todo"


def test_an_editor_adds_a_task_due_at_the_end_of_its_week(client_for, plan, editor):
    phase = plan.phases.get(number=2)
    response = client_for(editor).post(
        reverse("planning:task_add", args=[plan.pk, phase.pk]),
        {"title": "  Chaos drill ", "group": "Infrastructure Planning"},
    )
    assert response.status_code == 302
    item = plan.tasks.get(title="Chaos drill")
    assert (item.phase, item.due_on, item.status) == (phase, phase.ends_on, "todo")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"title": "", "group": "G"}, "This field is required"),
        ({"title": "x" * 201, "group": "G"}, "at most 200 characters"),
        ({"title": "Drill", "group": ""}, "This field is required"),
    ],
)
def test_adding_a_task_refuses_bad_input(client_for, plan, editor, data, message):
    phase = plan.phases.get(number=2)
    response = client_for(editor).post(reverse("planning:task_add", args=[plan.pk, phase.pk]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert plan.tasks.count() == 28


def _edit(plan, item, **changes):
    data = {
        "title": item.title,
        "group": item.group,
        "phase": item.phase_id,
        "assignee": item.assignee_id or "",
        "due_on": item.due_on.isoformat(),
        "status": item.status,
        "blocked_reason": item.blocked_reason,
        "notes": item.notes,
        **changes,
    }
    return reverse("planning:task_edit", args=[plan.pk, item.pk]), data


def test_an_editor_assigns_a_member_and_a_due_date(client_for, plan, editor, viewer):
    url, data = _edit(
        plan, _task(plan), assignee=viewer.pk, due_on="2026-11-05", notes="Use the CMDB"
    )
    assert client_for(editor).post(url, data).status_code == 302
    item = _task(plan)
    assert (item.assignee, item.due_on, item.notes) == (
        viewer,
        datetime.date(2026, 11, 5),
        "Use the CMDB",
    )


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"assignee": "outsider"}, "assignee", "Select a valid choice"),
        ({"phase": "other-plan"}, "phase", "Select a valid choice"),
        ({"status": "blocked", "blocked_reason": ""}, "blocked_reason", "Say why"),
        ({"due_on": "someday"}, "due_on", "Enter a valid date"),
        ({"notes": "n" * 5001}, "notes", "at most 5000 characters"),
    ],
)
def test_editing_a_task_refuses_bad_input(
    client_for, plan, editor, outsider, change, field, message
):
    other = make_plan(outsider, title="Other")
    values = {"outsider": outsider.pk, "other-plan": other.phases.first().pk}
    change = {k: values.get(v, v) for k, v in change.items()}
    item = _task(plan)
    url, data = _edit(plan, item, **change)
    response = client_for(editor).post(url, data)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    fresh = _task(plan)
    assert (fresh.assignee, fresh.phase_id, fresh.status, fresh.notes) == (
        None,
        item.phase_id,
        "todo",
        "",
    )


def test_tasks_move_up_and_down_within_their_group(client_for, plan, editor):
    client = client_for(editor)
    second = _task(plan, "Application inventory")
    client.post(reverse("planning:task_move", args=[plan.pk, second.pk]), {"direction": "up"})
    group = plan.tasks.filter(group="Current State Analysis").order_by("position")
    assert [i.title for i in group][:2] == ["Application inventory", "Infrastructure audit"]

    last = _task(plan, "Security assessment")
    client.post(reverse("planning:task_move", args=[plan.pk, last.pk]), {"direction": "down"})
    group = plan.tasks.filter(group="Current State Analysis").order_by("position")
    assert [i.title for i in group][-1] == "Security assessment"  # already last: unchanged


def test_an_editor_removes_a_task(client_for, plan, editor):
    item = _task(plan)
    client_for(editor).post(reverse("planning:task_delete", args=[plan.pk, item.pk]))
    assert not Task.objects.filter(pk=item.pk).exists()


def test_a_removed_member_is_unassigned(plan, owner, editor, membership_of):
    item = _task(plan)
    services.task_update(task=item, assignee=editor)
    services.membership_remove(membership=membership_of(plan, editor))
    assert _task(plan).assignee is None


def test_an_archived_plans_board_is_read_only(client_for, plan, editor):
    services.plan_archive(plan=plan)
    item = _task(plan)
    response = client_for(editor).post(status_url(plan, item), {"status": "done"})
    assert response.status_code == 302
    assert _task(plan).status == "todo"
    board_page = client_for(editor).get(reverse("planning:board", args=[plan.pk])).content.decode()
    assert "Add task" not in board_page


def test_the_board_shows_progress_and_overdue_tasks(client_for, plan, viewer, time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 20, 12, 0, tzinfo=datetime.UTC))
    services.task_update(task=_task(plan), status="done")
    body = client_for(viewer).get(reverse("planning:board", args=[plan.pk])).content.decode()
    assert "Tasks done: 1 of 28 (4%)" in body
    assert body.count("badge-overdue") == 15  # weeks 1 and 2, less the task that is done
    assert "Today" in body


def test_the_timeline_escapes_task_titles(plan):
    services.task_update(task=_task(plan), title="<script>alert(1)</script>")
    svg = str(timeline.render(board(plan, today=datetime.date(2026, 11, 10))))
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert svg.startswith("<svg") and "Today" in svg


@pytest.mark.parametrize("copies", [1, 10])
def test_the_board_costs_the_same_queries_for_ten_times_the_tasks(
    client_for, plan, editor, django_assert_num_queries, copies
):
    extra = [
        Task(
            plan=plan,
            phase=item.phase,
            group=item.group,
            title=f"{item.title} {n}",
            position=100 + n * 100 + i,
            due_on=item.due_on,
            assignee=editor,
        )
        for n in range(copies - 1)
        for i, item in enumerate(plan.tasks.all())
    ]
    Task.objects.bulk_create(extra)
    assert plan.tasks.count() == 28 * copies
    client = client_for(editor)
    client.get(reverse("planning:board", args=[plan.pk]))
    # the user, the plan with the user's permissions on it, phases, tasks with assignees, the
    # tasks' events for the burn-up, and the bell's unread count
    with django_assert_num_queries(6):
        response = client.get(reverse("planning:board", args=[plan.pk]))
    assert response.content.decode().count('class="task-row') == 28 * copies
    # Then from the cache: the user, the plan and the bell.
    with django_assert_num_queries(3):
        client.get(reverse("planning:board", args=[plan.pk]))


def test_a_cleared_due_date_falls_back_to_the_end_of_the_week(client_for, plan, editor):
    item = _task(plan)
    week2 = plan.phases.get(number=2)
    url, data = _edit(plan, item, due_on="", phase=week2.pk)
    assert client_for(editor).post(url, data).status_code == 302
    assert _task(plan).due_on == week2.ends_on


@pytest.mark.parametrize("due", ["9999-12-31", "1899-01-01"])
def test_a_due_date_nobody_means_is_refused(client_for, plan, editor, due):
    url, data = _edit(plan, _task(plan), due_on=due)
    response = client_for(editor).post(url, data)
    assert response.status_code == 400
    assert _task(plan).due_on == datetime.date(2026, 11, 8)


def test_the_timeline_stays_small_whatever_the_dates(plan):
    services.task_update(task=_task(plan), due_on=datetime.date(2100, 12, 31))
    svg = str(timeline.render(board(plan, today=datetime.date(2026, 11, 10))))
    assert len(svg) < 100_000


def test_task_changes_are_in_the_audit_trail_with_who_made_them(client_for, plan, editor):
    import pghistory.models

    item = _task(plan)
    client_for(editor).post(status_url(plan, item), {"status": "in_progress"})
    event = Task.pgh_event_model.objects.filter(pgh_obj=item).latest("pgh_id")
    assert (event.pgh_label, event.status) == ("update", "in_progress")
    context = pghistory.models.Context.objects.get(pk=event.pgh_context_id)
    assert context.metadata["user"] == editor.pk
