"""Panels cached under the plan's version (`planning.reads.cached`, `{% plan_cached %}`): each
one changes with the change that should change it, and never shows what was there before.

After each change the page is read twice: once as any member would read it next (through
the cache), and once more after an extra version bump, which no cached panel can answer. The
two must agree, and differ from what the panel showed before the change."""

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import update_last_login
from django.urls import reverse

from checklists import services as checklist_services
from checklists.models import ChecklistItem
from planning import live
from planning import services as planning_services
from planning.models import Task
from signoffs import services as signoff_services
from signoffs.policies import role_digest


def _section(html: str, title_id: str) -> str:
    match = re.search(
        rf'<section class="panel" aria-labelledby="{title_id}">.*?</section>', html, re.S
    )
    assert match, title_id
    return match[0]


def _timeline(html: str) -> str:
    match = re.search(r'<div class="timeline-wrap"[^>]*>.*?</svg>', html, re.S)
    assert match
    return match[0]


def _packets(html: str) -> str:
    match = re.search(r"<table.*?</table>", html, re.S)
    assert match
    return match[0]


def _first_task_row(html: str) -> str:
    match = re.search(r'<tr id="task-.*?</tr>', html, re.S)
    assert match
    # Each response masks its CSRF token afresh; the rest of the row is the panel.
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", match[0])


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


def critical_item_passed(plan, owner):
    item = ChecklistItem.objects.filter(plan=plan, critical=True).order_by("id").first()
    checklist_services.item_set_state(item=item, actor=owner, state="passed", version=item.version)


def security_scored(plan, owner):
    checklist_services.score_set(
        plan=plan, actor=owner, category="security", score=9, rationale="Pen test passed"
    )


def _editor():
    return get_user_model().objects.get(username="eddie")  # the `editor` fixture


def task_assigned_to_editor(plan, owner):
    editor = _editor()
    planning_services.task_update(task=_task(plan), actor=owner, assignee=editor)


def editor_renamed(plan, owner):
    """As the admin, the account pages or single sign-on rename someone: a save of the user."""
    editor = _editor()
    editor.first_name, editor.last_name = "Edwina", "Renamed"
    editor.save()


def editor_email_changed(plan, owner):
    editor = _editor()
    editor.email = "edwina@example.org"
    editor.save(update_fields=["email"])


def editor_removed(plan, owner):
    planning_services.membership_remove(membership=plan.memberships.get(user=_editor()))


def viewer_made_editor(plan, owner):
    planning_services.membership_change_role(
        membership=plan.memberships.get(role="viewer"), role="editor"
    )


def week1_moved(plan, owner):
    planning_services.plan_update(
        plan=plan, week1_start=plan.phases.get(number=1).starts_on + datetime.timedelta(days=7)
    )


LEAD = "technical_lead"


def lead_signed_by_owner(plan, owner):
    requirement = plan.roles.get(role=LEAD)
    signoff_services.role_assign(requirement=requirement, assignee=owner)
    signoff_services.signoff_record(
        requirement=requirement,
        signer=owner,
        decision="approve",
        seen_digest=role_digest(plan.roles.get(role=LEAD)),
    )


def lead_signed_then_passed_to_editor(plan, owner):
    """The owner approves as the lead, then the role goes to the editor: the panel asks for
    the editor's own signature, by name."""
    lead_signed_by_owner(plan, owner)
    lead_passed_to_editor(plan, owner)


def lead_passed_to_editor(plan, owner):
    editor = _editor()
    signoff_services.role_assign(requirement=plan.roles.get(role=LEAD), assignee=editor)


def nothing(plan, owner):
    pass


def security_item_link(plan, owner):
    checklist_services.link_add(
        item=_item(plan, "security"), actor=owner, url="https://ci.example/scan/1"
    )


def security_item_assigned_to_editor(plan, owner):
    editor = _editor()
    checklist_services.item_assign(
        item=_item(plan, "security"), actor=owner, assignee=editor, version=None
    )


def security_item_changed_by_editor_who_left(plan, owner):
    """The editor changes an item and leaves: the page still names them as its last changer."""
    editor = _editor()
    item = _item(plan, "security")
    checklist_services.item_set_state(item=item, actor=editor, state="passed", version=None)
    editor_removed(plan, owner)


def editor_scored_and_left(plan, owner):
    checklist_services.score_set(
        plan=plan, actor=_editor(), category="monitoring", score=6, rationale="Dashboards only"
    )
    editor_removed(plan, owner)


def _no_tokens(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def _matrix(html):
    return _no_tokens(_section(html, "matrix-title"))


def _history(html):
    return _section(html, "history-title")


def _security_checklist(html):
    section = _section(html, "checklist-security")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", section)


OVERVIEW = "planning:plan_detail"
BOARD = "planning:board"
PACKETS = "signoffs:packet_list"
CHECKLISTS = "checklists:checklists"
READINESS = "checklists:readiness"


def _weeks(html):
    return _section(html, "weeks-title")


def _checklists(html):
    return _section(html, "checklists-title")


def _readiness(html):
    return _section(html, "readiness-title")


def _signoffs(html):
    return _section(html, "signoffs-title")


CASES = [
    # (the page, the cached panel and what changes it, how to find it in the page, what the
    # plan had before, the change)
    (OVERVIEW, "four weeks: a task done", _weeks, nothing, task_done),
    (OVERVIEW, "four weeks: the weeks moved", _weeks, nothing, week1_moved),
    (BOARD, "timeline: a task blocked", _timeline, nothing, task_blocked),
    (BOARD, "timeline: the weeks moved", _timeline, nothing, week1_moved),
    (BOARD, "tasks: a task done", _first_task_row, nothing, task_done),
    (BOARD, "tasks: the weeks moved (a bulk update)", _first_task_row, nothing, week1_moved),
    (BOARD, "tasks: blocked, with the reason", _first_task_row, nothing, task_blocked),
    (BOARD, "tasks: assigned", _first_task_row, nothing, task_assigned_to_editor),
    (
        BOARD,
        "tasks: the assignee renamed",
        _first_task_row,
        task_assigned_to_editor,
        editor_renamed,
    ),
    (BOARD, "tasks: the assignee left", _first_task_row, task_assigned_to_editor, editor_removed),
    (BOARD, "tasks: the reader may edit now", _first_task_row, nothing, viewer_made_editor),
    (OVERVIEW, "checklists: an item failed", _checklists, nothing, security_item_failed),
    (OVERVIEW, "readiness: a score", _readiness, nothing, security_scored),
    (OVERVIEW, "readiness: a critical item passed", _readiness, nothing, critical_item_passed),
    (OVERVIEW, "sign-offs: documentation", _signoffs, nothing, documentation_item_passed),
    (OVERVIEW, "sign-offs: a signature", _signoffs, nothing, lead_signed_by_owner),
    (
        OVERVIEW,
        "sign-offs: the role reassigned",
        _signoffs,
        lead_signed_by_owner,
        lead_passed_to_editor,
    ),
    (
        OVERVIEW,
        "sign-offs: the holder renamed",
        _signoffs,
        lead_signed_then_passed_to_editor,
        editor_renamed,
    ),
    (
        OVERVIEW,
        "sign-offs: the holder left",
        _signoffs,
        lead_signed_then_passed_to_editor,
        editor_removed,
    ),
    (OVERVIEW, "sign-offs: a signed section changed", _signoffs, lead_signed_by_owner, task_done),
    (CHECKLISTS, "items: a state", _security_checklist, nothing, security_item_failed),
    (CHECKLISTS, "items: evidence", _security_checklist, nothing, security_item_link),
    (CHECKLISTS, "items: assigned", _security_checklist, nothing, security_item_assigned_to_editor),
    (
        CHECKLISTS,
        "items: the assignee renamed",
        _security_checklist,
        security_item_assigned_to_editor,
        editor_renamed,
    ),
    (
        CHECKLISTS,
        "items: who changed one, gone from the plan, renamed",
        _security_checklist,
        security_item_changed_by_editor_who_left,
        editor_renamed,
    ),
    (
        CHECKLISTS,
        "items: the reader may edit now",
        _security_checklist,
        nothing,
        viewer_made_editor,
    ),
    (READINESS, "matrix: a score", _matrix, nothing, security_scored),
    (READINESS, "matrix: an item passed", _matrix, nothing, documentation_item_passed),
    (READINESS, "matrix: the reader may edit now", _matrix, nothing, viewer_made_editor),
    (READINESS, "score history: a score", _history, nothing, security_scored),
    (
        READINESS,
        "score history: the scorer, gone from the plan, renamed",
        _history,
        editor_scored_and_left,
        editor_renamed,
    ),
    (PACKETS, "packets: superseded by an item", _packets, nothing, security_item_failed),
    (
        PACKETS,
        "packets: an assignee's new email",
        _packets,
        task_assigned_to_editor,
        editor_email_changed,
    ),
]


@pytest.mark.parametrize(
    ("page", "panel", "find", "prepare", "change"), CASES, ids=[c[1] for c in CASES]
)
def test_every_cached_panel_changes_with_its_change(
    client_for,
    plan,
    owner,
    viewer,
    django_capture_on_commit_callbacks,
    page,
    panel,
    find,
    prepare,
    change,
):
    """One case for each cached panel and each kind of change it shows: the plan's content,
    the weeks' dates, assignees and their names, memberships and roles, signatures."""
    with django_capture_on_commit_callbacks(execute=True):
        prepare(plan, owner)
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


# The next reader of an unchanged plan: the user, the plan with the reader's permissions and
# the bell's count on every page, then what each page shows beside its cached body (the
# overview: the plans of the other environments linked to it, the latest packet, the comment
# thread, the members and the plan's teams, a viewer being shown no invitations; the packets
# page: its list).
STEADY_QUERIES = [
    (OVERVIEW, 8),
    (BOARD, 3),
    (CHECKLISTS, 3),
    (READINESS, 3),
    (PACKETS, 4),
]


@pytest.mark.parametrize(("page", "queries"), STEADY_QUERIES, ids=[p for p, _ in STEADY_QUERIES])
def test_a_cached_page_body_is_read_from_the_cache(
    client_for, plan, viewer, django_assert_num_queries, page, queries
):
    live.bump(plan.pk)
    client = client_for(viewer)
    url = reverse(page, args=[plan.pk])
    client.get(url)
    with django_assert_num_queries(queries):
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


def test_a_save_that_shows_nothing_new_keeps_the_cache(
    plan, editor, django_capture_on_commit_callbacks
):
    """A login (which saves `last_login`) or a save that leaves the name and email as they
    were is no change of the plans the person belongs to."""
    live.bump(plan.pk)
    version = live.peek(plan.pk)
    with django_capture_on_commit_callbacks(execute=True):
        update_last_login(None, editor)
        editor.save()
    assert live.peek(plan.pk) == version
