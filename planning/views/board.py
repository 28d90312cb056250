from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from planning import burnup, selectors, services
from planning.access import CHANGE, get_part, plan_view
from planning.forms import TaskAddForm, TaskForm, TaskStatusForm
from planning.models import Phase, Task
from planning.views.common import form_status, four_weeks
from truststream.forms import apply_validation_error


def _burnup(plan) -> dict:
    points = selectors.burnup(plan, selectors.board(plan))
    return {"chart": burnup.render(points), "summary": burnup.summary(points)}


def _board_context(plan, **extra) -> dict:
    return {
        "plan": plan,
        **four_weeks(plan),
        # Read when the template first asks, inside its cached block: no query when cached.
        "burnup": lambda: _burnup(plan),
        "statuses": Task.Status.choices,
        "tab": "board",
        **extra,
    }


@plan_view()
def board(request: HttpRequest, plan) -> HttpResponse:
    return render(request, "planning/board.html", _board_context(plan))


@plan_view(CHANGE, methods=("POST",))
def task_add(request: HttpRequest, plan, phase_id: int) -> HttpResponse:
    phase = get_part(plan, Phase.objects.all(), phase_id)
    form = TaskAddForm(request.POST)
    if form.is_valid():
        try:
            task = services.task_create(phase=phase, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"Task “{task.title}” added to week {phase.number}.")
            return redirect("planning:board", plan.pk)
    context = _board_context(plan, add_form=form, add_phase=phase.pk)
    return render(request, "planning/board.html", context, status=400)


@plan_view(methods=("GET", "POST"))
def task_edit(request: HttpRequest, plan, task_id: int) -> HttpResponse:
    """The task's page: its form for editors and owners, and its comments for every member."""
    if request.method == "POST" and not plan.editable:
        raise PermissionDenied
    task = get_part(plan, Task.objects.select_related("phase", "assignee"), task_id)
    form = TaskForm(request.POST or None, instance=task, plan=plan)
    if request.method == "POST" and form.is_valid():
        try:
            services.task_update(task=task, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"Task “{form.cleaned_data['title']}” saved.")
            return redirect("planning:board", plan.pk)
    return render(
        request,
        "planning/task_form.html",
        {"plan": plan, "task": task, "form": form, "tab": "board"},
        status=form_status(form),
    )


@plan_view(CHANGE, methods=("POST",))
def task_status(request: HttpRequest, plan, task_id: int) -> HttpResponse:
    """Change a task's status in place; a blocked task asks for its reason in the row."""
    task = get_part(plan, Task.objects.select_related("assignee", "phase"), task_id)
    form = TaskStatusForm(request.POST)
    status = 200
    if form.is_valid():
        try:
            task = services.task_update(task=task, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
    if form.errors:
        status = 200 if request.htmx else 400
    if not request.htmx:
        if not form.errors:
            messages.success(request, f"“{task.title}” is now {task.get_status_display().lower()}.")
        else:
            messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
        return redirect("planning:board", plan.pk)
    selectors.mark_overdue([task], selectors.today())
    return render(
        request,
        "planning/_task_row.html",
        {
            "plan": plan,
            "task": task,
            "statuses": Task.Status.choices,
            "status_form": form if form.errors else None,
        },
        status=status,
    )


@plan_view(CHANGE, methods=("POST",))
def task_move(request: HttpRequest, plan, task_id: int) -> HttpResponse:
    task = get_part(plan, Task.objects.all(), task_id)
    try:
        services.task_move(task=task, direction=request.POST.get("direction", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("planning:board", plan.pk)


@plan_view(CHANGE, methods=("POST",))
def task_delete(request: HttpRequest, plan, task_id: int) -> HttpResponse:
    task = get_part(plan, Task.objects.all(), task_id)
    try:
        services.task_delete(task=task)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Task “{task.title}” removed.")
    return redirect("planning:board", plan.pk)
