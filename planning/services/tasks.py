"""A plan's tasks, and the notifications of their assignees (given a task, overdue)."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from planning.models import DeploymentPlan, Phase, Task
from planning.services._common import _check_member, _only
from planning.services.locks import plan_lock_writable
from truststream.models import NotificationKind
from truststream.services import notification_send

TASK_FIELDS = ("title", "group", "assignee", "due_on", "status", "blocked_reason", "notes")


def _clean_task(task: Task) -> None:
    if task.status != Task.Status.BLOCKED:
        task.blocked_reason = ""
    elif not task.blocked_reason.strip():
        raise ValidationError({"blocked_reason": "Say why the task is blocked."})
    task.full_clean()


@transaction.atomic
def task_create(*, phase: Phase, title: str, group: str, actor=None, **fields) -> Task:
    """Add a task at the end of its phase; due by default at the end of the phase's week.
    Its assignee, unless they made it themselves, is notified."""
    plan = plan_lock_writable(phase.plan)
    _check_member(plan, fields.get("assignee"), "assignee")
    last = plan.tasks.aggregate(last=Max("position"))["last"] or 0
    task = Task(
        plan=plan,
        phase=phase,
        title=title,
        group=group,
        position=last + 1,
        due_on=fields.pop("due_on", None) or phase.ends_on,
        **fields,
    )
    _clean_task(task)
    task.save()
    _tell_assignee(task, actor)
    return task


def _tell_assignee(task: Task, actor) -> None:
    if task.assignee_id is None or (actor is not None and task.assignee_id == actor.pk):
        return
    notification_send(
        user=task.assignee,
        kind=NotificationKind.TASK_ASSIGNED,
        key=f"task:{task.pk}:assigned:{timezone.now().timestamp():.0f}",
        text=f"{_name(actor)} gave you the task “{task.title}” on {task.plan}, due "
        f"{task.due_on:%d %b %Y}",
        url=reverse("planning:board", args=[task.plan_id]) + f"#task-{task.pk}",
        plan_id=task.plan_id,
    )


def _name(user) -> str:
    return (user.get_full_name() or user.email) if user is not None else "Someone"


@transaction.atomic
def task_update(*, task: Task, actor=None, **changes) -> Task:
    """Change a task; a new assignee, unless they gave it to themselves, is notified."""
    _only(changes, (*TASK_FIELDS, "phase"))
    plan = plan_lock_writable(task.plan)
    task = Task.objects.select_related("phase").get(pk=task.pk)
    assignee_before = task.assignee_id
    if "assignee" in changes:
        _check_member(plan, changes["assignee"], "assignee")
    if "phase" in changes and changes["phase"].plan_id != plan.pk:
        raise ValidationError({"phase": "Choose a phase of this plan."})
    for field, value in changes.items():
        setattr(task, field, value)
    if task.due_on is None:  # cleared: due at the end of its (perhaps new) week
        task.due_on = task.phase.ends_on
    _clean_task(task)
    task.save()
    if task.assignee_id != assignee_before:
        _tell_assignee(task, actor)
    return task


@transaction.atomic
def task_move(*, task: Task, direction: str) -> Task:
    """Swap the task with its neighbour above or below in the same phase and group."""
    if direction not in ("up", "down"):
        raise ValidationError("Move a task up or down.")
    plan_lock_writable(task.plan)
    task = Task.objects.get(pk=task.pk)
    siblings = Task.objects.filter(phase_id=task.phase_id, group=task.group)
    if direction == "up":
        neighbour = siblings.filter(position__lt=task.position).order_by("-position").first()
    else:
        neighbour = siblings.filter(position__gt=task.position).order_by("position").first()
    if neighbour is None:
        return task
    task.position, neighbour.position = neighbour.position, task.position
    Task.objects.bulk_update([task, neighbour], ["position"])
    return task


@transaction.atomic
def task_delete(*, task: Task) -> None:
    plan_lock_writable(task.plan)
    Task.objects.filter(pk=task.pk).delete()


@transaction.atomic
def overdue_notify(today: datetime.date | None = None) -> int:
    """Notify the assignees of open tasks past their due date on plans still in play."""
    today = today or timezone.localdate()
    overdue = (
        Task.objects.filter(due_on__lt=today, assignee__isnull=False, plan__archived_at=None)
        .exclude(status=Task.Status.DONE)
        .exclude(plan__status__in=[DeploymentPlan.Status.DEPLOYED, DeploymentPlan.Status.CANCELLED])
        .select_related("assignee", "plan")
    )
    told = 0
    for item in overdue:
        told += (
            notification_send(
                user=item.assignee,
                kind=NotificationKind.TASK_OVERDUE,
                key=f"task:{item.pk}:overdue:{item.due_on.isoformat()}",
                text=f"Your task “{item.title}” on {item.plan} was due {item.due_on:%d %b %Y}",
                url=reverse("planning:board", args=[item.plan_id]) + f"#task-{item.pk}",
                plan_id=item.plan_id,
            )
            is not None
        )
    return told
