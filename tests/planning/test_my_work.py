import datetime

import pytest
from django.urls import reverse

from checklists import services as checklist_services
from checklists.models import ChecklistItem
from planning import services
from planning.models import DeploymentPlan, Task
from signoffs import policies as signoff_policies
from signoffs import services as signoff_services
from signoffs.models import Signoff
from tests.factories import make_plan

URL = "/my-work/"


def tasks_of(plan, count: int) -> list[Task]:
    return list(plan.tasks.order_by("phase__number", "position")[:count])


def assign_task(task, person, **changes) -> Task:
    return services.task_update(task=task, assignee=person, **changes)


def assign_item(item, person, actor, state="open") -> ChecklistItem:
    item = checklist_services.item_assign(item=item, actor=actor, assignee=person, version=None)
    if state != item.state:
        item = checklist_services.item_set_state(
            item=item, actor=actor, state=state, version=None, reason="Not used here"
        )
    return item


def set_status(plan, status: str) -> None:
    # The status rules (readiness, assigned roles) are tested with the sign-offs; here only
    # where the plan stands matters.
    DeploymentPlan.objects.filter(pk=plan.pk).update(status=status)


def page(client) -> str:
    response = client.get(URL)
    assert response.status_code == 200
    return response.content.decode()


def test_the_url_is_named():
    assert reverse("planning:my_work") == URL


def test_anonymous_is_sent_to_log_in(client_for):
    response = client_for(None).get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_it_is_read_only(client_for, outsider, method):
    assert getattr(client_for(outsider), method)(URL).status_code == 405


def test_the_top_navigation_leads_here_and_marks_it_current(client_for, outsider):
    body = page(client_for(outsider))
    assert f'<a href="{URL}" aria-current="page">My work</a>' in body
    assert body.index(">Plans</a>") < body.index(">My work</a>") < body.index(">Verify a packet")
    assert 'aria-current="page">Plans' not in body
    plans = client_for(outsider).get(reverse("planning:plan_list")).content.decode()
    assert f'<a href="{URL}" >My work</a>' in plans


def test_someone_with_nothing_to_do_is_told_what_to_do_next(client_for, outsider):
    body = page(client_for(outsider))
    assert "No open tasks are assigned to you." in body
    assert "No checklist items are waiting for you." in body
    assert "No sign-offs are waiting for you." in body
    assert f'href="{reverse("planning:plan_list")}"' in body


# Tasks


def test_my_open_tasks_come_soonest_due_first_with_the_overdue_marked(
    client_for, plan, editor, owner, time_machine
):
    time_machine.move_to(datetime.datetime(2026, 11, 20, 12, 0, tzinfo=datetime.UTC))
    later, earliest, yesterday, done, theirs = tasks_of(plan, 5)
    assign_task(later, editor, due_on=datetime.date(2026, 11, 25))
    assign_task(earliest, editor, due_on=datetime.date(2026, 11, 10), status="in_progress")
    assign_task(
        yesterday,
        editor,
        due_on=datetime.date(2026, 11, 19),
        status="blocked",
        blocked_reason="Waiting for <the> firewall change",
    )
    assign_task(done, editor, status="done")
    assign_task(theirs, owner)

    body = page(client_for(editor))

    rows = [body.index(f'id="my-task-{task.pk}"') for task in (earliest, yesterday, later)]
    assert rows == sorted(rows)
    assert f'id="my-task-{done.pk}"' not in body
    assert f'id="my-task-{theirs.pk}"' not in body
    for task in (earliest, yesterday):
        assert f'id="my-task-{task.pk}" class="task-row is-overdue"' in body
    assert f'id="my-task-{later.pk}" class="task-row"' in body
    assert "2 overdue" in body
    assert body.count('<span class="badge badge-overdue">Overdue</span>') == 2
    assert "Blocked: Waiting for &lt;the&gt; firewall change" in body
    board = reverse("planning:board", args=[plan.pk])
    assert f'href="{board}#task-{later.pk}"' in body
    assert f'href="{reverse("planning:plan_detail", args=[plan.pk])}"' in body


def test_a_task_due_today_is_not_overdue(client_for, plan, editor, time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 20, 12, 0, tzinfo=datetime.UTC))
    (task,) = tasks_of(plan, 1)
    assign_task(task, editor, due_on=datetime.date(2026, 11, 20))
    body = page(client_for(editor))
    assert f'id="my-task-{task.pk}" class="task-row"' in body
    assert "overdue" not in body.lower().replace("badge-overdue", "")


@pytest.mark.parametrize("leaves", ["archived", "deployed", "cancelled"])
def test_plans_no_longer_under_way_are_left_out(client_for, plan, owner, editor, leaves):
    (task,) = tasks_of(plan, 1)
    assign_task(task, editor)
    item = ChecklistItem.objects.filter(plan=plan).first()
    assign_item(item, editor, owner)
    if leaves == "archived":
        services.plan_archive(plan=plan)
    else:
        set_status(plan, leaves)
    body = page(client_for(editor))
    assert f'id="my-task-{task.pk}"' not in body
    assert f'id="my-item-{item.pk}"' not in body
    assert "No open tasks are assigned to you." in body


def test_plan_titles_are_escaped(client_for, outsider):
    plan = make_plan(outsider, title="<script>alert(1)</script>")
    (task,) = tasks_of(plan, 1)
    assign_task(task, outsider)
    body = page(client_for(outsider))
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


# Checklist items


def test_items_waiting_for_me_are_those_open_or_failed(client_for, plan, owner, editor):
    open_item, failed, passed, theirs = ChecklistItem.objects.filter(
        plan=plan, conditional=False
    ).order_by("id")[:4]
    not_applicable = ChecklistItem.objects.get(plan=plan, text="CDN configured")
    assign_item(open_item, editor, owner)
    assign_item(failed, editor, owner, state="failed")
    assign_item(passed, editor, owner, state="passed")
    assign_item(not_applicable, editor, owner, state="not_applicable")
    assign_item(theirs, owner, owner)

    body = page(client_for(editor))

    for item in (open_item, failed):
        assert f'id="my-item-{item.pk}"' in body
        assert f'href="{reverse("checklists:item_detail", args=[plan.pk, item.pk])}"' in body
    for item in (passed, not_applicable, theirs):
        assert f'id="my-item-{item.pk}"' not in body
    assert '<span class="badge state-failed">Failed</span>' in body


# Sign-offs


def change_security(plan) -> None:
    """Change what the Security Officer (and the Business Owner, who covers the whole plan)
    signed, and run the worker's check that finds their signatures stale."""
    item = ChecklistItem.objects.get(plan=plan, text="Security scanning completed")
    checklist_services.item_set_state(
        item=item, actor=plan.created_by, state="failed", version=None
    )
    signoff_services.after_plan_change(plan_id=plan.pk)


def sign(plan, role, person, decision="approve"):
    requirement = plan.roles.get(role=role)
    return signoff_services.signoff_record(
        requirement=requirement,
        signer=person,
        decision=decision,
        seen_digest=signoff_policies.role_digest(requirement),
        reason="Rollback plan untested" if decision == "reject" else "",
    )


def waiting_roles(client, plan) -> set[str]:
    body = page(client)
    return {
        role.role
        for role in plan.roles.all()
        if reverse("signoffs:sign", args=[plan.pk, role.role]) in body
    }


def test_sign_offs_waiting_for_me_are_the_unsigned_and_the_stale(client_for, plan, holders):
    set_status(plan, "awaiting_signoff")
    sign(plan, "security_officer", holders["security_officer"])
    change_security(plan)
    assert Signoff.objects.get(requirement__role="security_officer").stale_notified_at
    sign(plan, "operations_manager", holders["operations_manager"])
    sign(plan, "business_owner", holders["business_owner"], decision="reject")

    assert waiting_roles(client_for(holders["technical_lead"]), plan) == {"technical_lead"}
    assert waiting_roles(client_for(holders["security_officer"]), plan) == {"security_officer"}
    # An approval that stands, and a rejection, are decisions: nothing waits.
    assert waiting_roles(client_for(holders["operations_manager"]), plan) == set()
    assert waiting_roles(client_for(holders["business_owner"]), plan) == set()

    body = page(client_for(holders["security_officer"]))
    assert "Stale: the plan changed since" in body
    assert "You signed " in body and " UTC" in body
    body = page(client_for(holders["technical_lead"]))
    assert '<span class="badge signoff-missing">Not signed</span>' in body
    assert "Awaiting sign-off" in body


def test_a_rejection_the_plan_changed_since_waits_again(client_for, plan, holders):
    set_status(plan, "awaiting_signoff")
    sign(plan, "business_owner", holders["business_owner"], decision="reject")
    assert waiting_roles(client_for(holders["business_owner"]), plan) == set()
    change_security(plan)
    assert waiting_roles(client_for(holders["business_owner"]), plan) == {"business_owner"}


def test_a_role_signed_by_its_previous_holder_waits_for_the_new_one(
    client_for, plan, holders, owner, editor
):
    set_status(plan, "awaiting_signoff")
    sign(plan, "technical_lead", holders["technical_lead"])
    signoff_services.role_assign(requirement=plan.roles.get(role="technical_lead"), assignee=editor)
    assert waiting_roles(client_for(editor), plan) == {"technical_lead"}


@pytest.mark.parametrize("status", ["draft", "in_progress", "deployed", "cancelled"])
def test_sign_offs_wait_only_while_the_plan_awaits_sign_off_or_is_signed_off(
    client_for, plan, holders, status
):
    set_status(plan, status)
    assert waiting_roles(client_for(holders["technical_lead"]), plan) == set()


def test_a_role_that_is_not_required_does_not_wait(client_for, plan, holders):
    set_status(plan, "awaiting_signoff")
    signoff_services.role_set_required(
        requirement=plan.roles.get(role="compliance_officer"), required=False
    )
    assert waiting_roles(client_for(holders["compliance_officer"]), plan) == set()


# Cost


def load_up(person, times: int) -> None:
    """`times` plans of the person's, each with three tasks, three items, one role of theirs
    waiting and a comment that mentions them, so that ten times the work is ten times
    everything the page lists."""
    from checklists.comments import comment_add
    from planning import services as planning_services
    from tests.factories import UserFactory

    for number in range(times):
        plan = make_plan(person, title=f"Plan {number}")
        colleague = UserFactory()
        planning_services.membership_add(
            plan=plan, actor=person, email=colleague.email, role="editor"
        )
        comment_add(plan=plan, author=colleague, body=f"@{person.username} have a look")
        for task in tasks_of(plan, 3):
            assign_task(task, person)
        for item in ChecklistItem.objects.filter(plan=plan).order_by("id")[:3]:
            assign_item(item, person, person)
        signoff_services.role_assign(
            requirement=plan.roles.get(role="technical_lead"), assignee=person
        )
        set_status(plan, "awaiting_signoff")


@pytest.mark.parametrize("times", [1, 10])
def test_the_page_costs_the_same_queries_for_ten_times_the_work(
    client_for, outsider, django_assert_num_queries, times
):
    load_up(outsider, times)
    client = client_for(outsider)
    client.get(URL)  # the session and the user are loaded and cached once
    # The user, the top bar's unread notifications, then one query per panel (tasks, checklist
    # items, sign-offs, mentions), none per plan or per row.
    with django_assert_num_queries(6):
        body = page(client)
    assert body.count("have a look") == times
    assert body.count('id="my-task-') == 3 * times
    assert body.count('id="my-item-') == 3 * times
    assert body.count('id="my-role-') == times
