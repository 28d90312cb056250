"""The planning part of the JSON API: plans and their tasks (mounted with the rest in
`gates.api`; the authentication and errors are `truststream.api`'s)."""

import datetime
from typing import Literal

from django.http import Http404
from django.urls import reverse
from ninja import Query, Router, Schema
from pydantic import Field

from planning import selectors, services
from planning.access import CHANGE, VIEW, get_plan_for_user
from planning.models import DeploymentPlan, Task
from truststream.api import ERRORS, InvalidOut, PathId, Text

router = Router(tags=["plans and tasks"])

PlanStatus = Literal[tuple(DeploymentPlan.Status.values)]
Environment = Literal[tuple(DeploymentPlan.Environment.values)]
TaskStatus = Literal[tuple(Task.Status.values)]
Role = Literal["owner", "editor", "viewer"]


class PlanOut(Schema):
    id: int
    title: str
    release_version: str
    environment: str
    status: str
    archived: bool
    role: Role | None = Field(description="Your role on the plan")
    week1_start: datetime.date
    target_go_live: datetime.date
    updated_at: datetime.datetime
    url: str = Field(description="The plan's page")


class PhaseOut(Schema):
    number: int
    title: str
    starts_on: datetime.date
    ends_on: datetime.date


class PlanDetailOut(PlanOut):
    description: str
    signoff_threshold: int = Field(description="The readiness score the plan needs to be signed")
    created_at: datetime.datetime
    phases: list[PhaseOut]


class TaskOut(Schema):
    id: int
    plan: int
    phase: int = Field(description="The week (1 to 4)")
    group: str
    title: str
    status: str
    blocked_reason: str
    assignee: str | None = Field(None, description="The email of the member it is assigned to")
    due_on: datetime.date
    notes: str
    updated_at: datetime.datetime


class PlanFilters(Schema):
    archived: bool = Field(False, description="Archived plans instead of active ones")
    status: PlanStatus | None = None
    environment: Environment | None = None
    q: Text = Field("", max_length=200, description="Words in the title or release")


class TaskFilters(Schema):
    status: TaskStatus | None = None
    phase: int | None = Field(None, ge=1, le=4)


class TaskStatusIn(Schema):
    status: TaskStatus
    blocked_reason: Text = Field(
        "", max_length=500, description="Required for blocked: one line saying why."
    )


def _plan_out(request, plan: DeploymentPlan, role: str | None) -> dict:
    return {
        "id": plan.pk,
        "title": plan.title,
        "release_version": plan.release_version,
        "environment": plan.environment,
        "status": plan.status,
        "archived": plan.is_archived,
        "role": role,
        "week1_start": plan.week1_start,
        "target_go_live": plan.target_go_live,
        "updated_at": plan.updated_at,
        "url": request.build_absolute_uri(reverse("planning:plan_detail", args=[plan.pk])),
    }


def _role(plan: DeploymentPlan) -> str | None:
    """The role the permissions `get_plan_for_user` loaded amount to."""
    if "manage_deploymentplan" in plan.permissions:
        return "owner"
    return "editor" if CHANGE in plan.permissions else "viewer"


def _task_out(task: Task) -> dict:
    return {
        "id": task.pk,
        "plan": task.plan_id,
        "phase": task.phase.number,
        "group": task.group,
        "title": task.title,
        "status": task.status,
        "blocked_reason": task.blocked_reason,
        "assignee": task.assignee.email if task.assignee_id else None,
        "due_on": task.due_on,
        "notes": task.notes,
        "updated_at": task.updated_at,
    }


@router.get("/plans", response={200: list[PlanOut], **ERRORS})
def list_plans(request, filters: Query[PlanFilters]):
    """The plans you are a member of, most recently changed first."""
    plans = selectors.plans_for_user(
        request.user,
        q=filters.q,
        environment=filters.environment or "",
        status=filters.status or "",
        archived=filters.archived,
    )
    return [_plan_out(request, plan, plan.my_role) for plan in plans]


@router.get("/plans/{plan_id}", response={200: PlanDetailOut, **ERRORS})
def get_plan(request, plan_id: PathId):
    plan = get_plan_for_user(request.user, plan_id, VIEW)
    return {
        **_plan_out(request, plan, _role(plan)),
        "description": plan.description,
        "signoff_threshold": plan.signoff_threshold,
        "created_at": plan.created_at,
        "phases": [
            {
                "number": phase.number,
                "title": phase.title,
                "starts_on": phase.starts_on,
                "ends_on": phase.ends_on,
            }
            for phase in plan.phases.order_by("number")
        ],
    }


_TASKS = Task.objects.select_related("phase", "assignee")


@router.get("/plans/{plan_id}/tasks", response={200: list[TaskOut], **ERRORS})
def list_tasks(request, plan_id: PathId, filters: Query[TaskFilters]):
    """The plan's tasks, week by week, in board order."""
    plan = get_plan_for_user(request.user, plan_id, VIEW)
    tasks = _TASKS.filter(plan=plan).order_by("phase__number", "group", "position")
    if filters.status:
        tasks = tasks.filter(status=filters.status)
    if filters.phase:
        tasks = tasks.filter(phase__number=filters.phase)
    return [_task_out(task) for task in tasks]


def _task_for(request, task_id: int, perm: str) -> Task:
    task = _TASKS.filter(pk=task_id).first()
    if task is None:
        raise Http404
    task.plan = get_plan_for_user(request.user, task.plan_id, perm)
    return task


@router.get("/tasks/{task_id}", response={200: TaskOut, **ERRORS})
def get_task(request, task_id: PathId):
    return _task_out(_task_for(request, task_id, VIEW))


@router.post("/tasks/{task_id}/status", response={200: TaskOut, 400: InvalidOut, **ERRORS})
def set_task_status(request, task_id: PathId, payload: TaskStatusIn):
    """Set a task's status, as the board's status menu does (editors and owners; a blocked
    task says why). Refused with 400 on an archived plan."""
    task = _task_for(request, task_id, CHANGE)
    task = services.task_update(
        task=task,
        actor=request.user,
        status=payload.status,
        blocked_reason=payload.blocked_reason,
    )
    task = _TASKS.get(pk=task.pk)
    return _task_out(task)
