from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from planning import selectors, services
from planning.access import CHANGE, get_part, plan_view
from planning.forms import WorkItemAddForm, WorkItemForm, WorkItemStatusForm
from planning.models import Phase, WorkItem
from planning.views.common import form_status, four_weeks
from truststream.forms import apply_validation_error


def _board_context(plan, **extra) -> dict:
    return {
        "plan": plan,
        **four_weeks(plan),
        "statuses": WorkItem.Status.choices,
        "tab": "board",
        **extra,
    }


@plan_view()
def board(request: HttpRequest, plan) -> HttpResponse:
    return render(request, "planning/board.html", _board_context(plan))


@plan_view(CHANGE, methods=("POST",))
def work_item_add(request: HttpRequest, plan, phase_id: int) -> HttpResponse:
    phase = get_part(plan, Phase.objects.all(), phase_id)
    form = WorkItemAddForm(request.POST)
    if form.is_valid():
        try:
            item = services.work_item_create(phase=phase, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"Task “{item.title}” added to week {phase.number}.")
            return redirect("planning:board", plan.pk)
    context = _board_context(plan, add_form=form, add_phase=phase.pk)
    return render(request, "planning/board.html", context, status=400)


@plan_view(methods=("GET", "POST"))
def work_item_edit(request: HttpRequest, plan, item_id: int) -> HttpResponse:
    """The task's page: its form for editors and owners, and its comments for every member."""
    if request.method == "POST" and not plan.editable:
        raise PermissionDenied
    item = get_part(plan, WorkItem.objects.select_related("phase", "assignee"), item_id)
    form = WorkItemForm(request.POST or None, instance=item, plan=plan)
    if request.method == "POST" and form.is_valid():
        try:
            services.work_item_update(item=item, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"Task “{form.cleaned_data['title']}” saved.")
            return redirect("planning:board", plan.pk)
    return render(
        request,
        "planning/work_item_form.html",
        {"plan": plan, "item": item, "form": form, "tab": "board"},
        status=form_status(form),
    )


@plan_view(CHANGE, methods=("POST",))
def work_item_status(request: HttpRequest, plan, item_id: int) -> HttpResponse:
    """Change a task's status in place; a blocked task asks for its reason in the row."""
    item = get_part(plan, WorkItem.objects.select_related("assignee", "phase"), item_id)
    form = WorkItemStatusForm(request.POST)
    status = 200
    if form.is_valid():
        try:
            item = services.work_item_update(item=item, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
    if form.errors:
        status = 200 if request.htmx else 400
    if not request.htmx:
        if not form.errors:
            messages.success(request, f"“{item.title}” is now {item.get_status_display().lower()}.")
        else:
            messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
        return redirect("planning:board", plan.pk)
    selectors.mark_overdue([item], selectors.today())
    return render(
        request,
        "planning/_work_item_row.html",
        {
            "plan": plan,
            "item": item,
            "statuses": WorkItem.Status.choices,
            "status_form": form if form.errors else None,
        },
        status=status,
    )


@plan_view(CHANGE, methods=("POST",))
def work_item_move(request: HttpRequest, plan, item_id: int) -> HttpResponse:
    item = get_part(plan, WorkItem.objects.all(), item_id)
    try:
        services.work_item_move(item=item, direction=request.POST.get("direction", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("planning:board", plan.pk)


@plan_view(CHANGE, methods=("POST",))
def work_item_delete(request: HttpRequest, plan, item_id: int) -> HttpResponse:
    item = get_part(plan, WorkItem.objects.all(), item_id)
    try:
        services.work_item_delete(item=item)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Task “{item.title}” removed.")
    return redirect("planning:board", plan.pk)
