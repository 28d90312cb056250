"""Panels cached under the plan's version (`planning.reads.cached`, `{% plan_cached %}`): each
one changes with the change that should change it, and never shows what was there before.

After each change the page is read twice: once as any member would read it next (through
the cache), and once more after an extra version bump, which no cached panel can answer. The
two must agree, and differ from what the panel showed before the change."""

import datetime
import re

import pytest
from django.urls import reverse

from checklists import services as checklist_services
from checklists.models import ChecklistItem
from planning import live
from planning import services as planning_services
from planning.models import Task
from signoffs import services as signoff_services


def _section(html: str, title_id: str) -> str:
    match = re.search(
        rf'<section class="panel" aria-labelledby="{title_id}">.*?</section>', html, re.S
    )
    assert match, title_id
    return match[0]


def _timeline(html: str) -> str:
    match = re.search(r'<div class="timeline-wrap">.*?</svg>', html, re.S)
    assert match
    return match[0]


def _packets(html: str) -> str:
    match = re.search(r"<table.*?</table>", html, re.S)
    assert match
    return match[0]


def _first_task_row(html: str) -> str:
    match = re.search(r'<tr id="task-.*?</tr>', html, re.S)
    assert match
    return match[0]


def _task(plan) -> Task:
    return Task.objects.filter(plan=plan).order_by("phase__number", "position").first()


def _item(plan, checklist: str) -> ChecklistItem:
    return ChecklistItem.objects.filter(plan=plan, checklist__key=checklist).order_by("id").first()


def task_done(plan, owner):
    planning_services.task_update(task=_task(plan), actor=owner, status="done")


def task_blocked(plan, owner):
    planning_services.task_update(
        task=_task(plan), actor=owner, status="blocked", blocked_reason="Waiting for the VPN"
    )


def security_item_failed(plan, owner):
    item = _item(plan, "security")
    checklist_services.item_set_state(item=item, actor=owner, state="failed", version=item.version)


def documentation_item_passed(plan, owner):
    item = _item(plan, "documentation")
    checklist_services.item_set_state(item=item, actor=owner, state="passed", version=item.version)


def security_scored(plan, owner):
    checklist_services.score_set(
        plan=plan, actor=owner, category="security", score=9, rationale="Pen test passed"
    )


OVERVIEW = "planning:plan_detail"
BOARD = "planning:board"
PACKETS = "signoffs:packet_list"


def _weeks(html):
    return _section(html, "weeks-title")


def _checklists(html):
    return _section(html, "checklists-title")


def _readiness(html):
    return _section(html, "readiness-title")


def _signoffs(html):
    return _section(html, "signoffs-title")


CASES = [
    # (the page, the cached panel, how to find it in the page, the change)
    (OVERVIEW, "the four weeks' summary and timeline", _weeks, task_done),
    (BOARD, "the board's timeline", _timeline, task_blocked),
    (BOARD, "the board's tasks", _first_task_row, task_done),
    (OVERVIEW, "the checklists panel", _checklists, security_item_failed),
    (OVERVIEW, "the readiness panel", _readiness, security_scored),
    (OVERVIEW, "the sign-offs panel", _signoffs, documentation_item_passed),
    (PACKETS, "whether a packet is superseded", _packets, security_item_failed),
]


@pytest.mark.parametrize(("page", "panel", "find", "change"), CASES, ids=[c[1] for c in CASES])
def test_every_cached_panel_changes_with_its_change(
    client_for, plan, owner, viewer, django_capture_on_commit_callbacks, page, panel, find, change
):
    if page == PACKETS:
        with django_capture_on_commit_callbacks(execute=False):
            signoff_services.packet_request(plan=plan, requested_by=owner, kind="draft")
    live.bump(plan.pk)
    client = client_for(viewer)
    url = reverse(page, args=[plan.pk])
    client.get(url)
    before = find(client.get(url).content.decode())  # from the cache

    with django_capture_on_commit_callbacks(execute=True):
        change(plan, owner)
    after = find(client.get(url).content.decode())
    live.bump(plan.pk)
    fresh = find(client.get(url).content.decode())

    assert after == fresh, f"{panel} showed what it was before the change"
    assert after != before, f"{panel} did not change"


def test_a_cached_panel_is_read_from_the_cache(client_for, plan, viewer, django_assert_num_queries):
    """The second reader of an unchanged plan is answered from the cache: the overview costs
    the user, the plan with the user's permissions, the bell's count, the plans of the other
    environments linked to it, the latest packet, the comment thread, the members and the
    plan's teams (a viewer is shown no invitations), none per panel."""
    live.bump(plan.pk)
    client = client_for(viewer)
    url = reverse(OVERVIEW, args=[plan.pk])
    client.get(url)
    with django_assert_num_queries(8):
        assert client.get(url).status_code == 200


def test_the_timeline_marks_a_new_day_without_any_change(client_for, plan, viewer, time_machine):
    """The pictures that mark today are cached per day as well as per version."""
    first_day = plan.phases.order_by("number").first().starts_on
    noon = datetime.time(12, tzinfo=datetime.UTC)
    time_machine.move_to(datetime.datetime.combine(first_day + datetime.timedelta(days=1), noon))
    live.bump(plan.pk)
    client = client_for(viewer)
    url = reverse(BOARD, args=[plan.pk])
    today = _timeline(client.get(url).content.decode())
    time_machine.move_to(datetime.datetime.combine(first_day + datetime.timedelta(days=2), noon))
    tomorrow = _timeline(client.get(url).content.decode())
    live.bump(plan.pk)
    assert tomorrow == _timeline(client.get(url).content.decode())
    assert tomorrow != today


def test_a_cached_form_carries_each_readers_own_csrf_token(client_for, plan, owner, editor):
    """The board's task forms are cached once for everyone who may edit; each reader's page
    carries that reader's own token, and the form it holds is accepted."""
    live.bump(plan.pk)
    client_for(owner).get(reverse(BOARD, args=[plan.pk]))  # fills the cache
    client = client_for(editor, send_token=False)
    page = client.get(reverse(BOARD, args=[plan.pk])).content.decode()
    task = _task(plan)
    form = re.search(
        rf'action="/plans/{plan.pk}/tasks/{task.pk}/status/".*?'
        r'name="csrfmiddlewaretoken" value="([^"]+)"',
        page,
        re.S,
    )
    assert form and "csrf-token-slot" not in page
    response = client.post(
        reverse("planning:task_status", args=[plan.pk, task.pk]),
        {"csrfmiddlewaretoken": form[1], "status": "in_progress", "blocked_reason": ""},
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == "in_progress"
