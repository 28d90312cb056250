"""Comment threads of a plan, its tasks and its checklist items. Every member may comment."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from checklists import comments
from checklists.models import ChecklistItem, Comment
from checklists.selectors import thread_context
from planning.access import get_part, plan_view
from planning.models import Task
from truststream.parsing import parse_id


def _target(plan, value: str) -> tuple[Task | None, ChecklistItem | None]:
    """`plan`, `task:<id>` or `item:<id>`, found within this plan, or 404."""
    kind, _, sent = (value or "").partition(":")
    if kind == "plan" and not sent:
        return None, None
    number = parse_id(sent)
    if number is None:
        raise Http404
    if kind == "task":
        return get_part(plan, Task.objects.all(), number), None
    if kind == "item":
        return None, get_part(plan, ChecklistItem.objects.select_related("checklist"), number)
    raise Http404


def _comment(plan, comment_id: int) -> Comment:
    return get_part(plan, Comment.objects.select_related("item", "task"), comment_id)


def _answer(request, plan, comment, *, error: str = "", body: str = ""):
    """htmx gets the thread again; a plain form post goes back to the page it came from."""
    task, item = (comment.task, comment.item) if comment else (None, None)
    if request.htmx:
        # With its error too, as 200: htmx swaps in only 2xx answers (base.html's htmx-config),
        # and the error is shown in the thread.
        context = thread_context(plan, request.user, task=task, item=item)
        return render(
            request, "checklists/_thread.html", {**context, "error": error, "draft": body}
        )
    if error:
        messages.error(request, error)
    anchor = f"#comment-{comment.pk}" if comment and comment.pk and not error else "#comments"
    return redirect(comments.target_of(comment)[2] + anchor if comment else "/")


@plan_view(methods=("POST",))
def comment_add(request: HttpRequest, plan) -> HttpResponse:
    task, item = _target(plan, request.POST.get("target", ""))
    body = request.POST.get("body", "")
    try:
        comment = comments.comment_add(
            plan=plan, author=request.user, body=body, task=task, item=item
        )
    except ValidationError as error:
        unsaved = Comment(plan=plan, task=task, item=item)
        return _answer(request, plan, unsaved, error=" ".join(error.messages), body=body)
    return _answer(request, plan, comment)


@plan_view(methods=("POST",))
def comment_edit(request: HttpRequest, plan, comment_id: int) -> HttpResponse:
    comment = _comment(plan, comment_id)
    if comment.author_id != request.user.pk:
        raise PermissionDenied
    try:
        comment = comments.comment_edit(
            comment=comment, actor=request.user, body=request.POST.get("body", "")
        )
    except ValidationError as error:
        return _answer(request, plan, comment, error=" ".join(error.messages))
    return _answer(request, plan, comment)


@plan_view(methods=("POST",))
def comment_delete(request: HttpRequest, plan, comment_id: int) -> HttpResponse:
    comment = _comment(plan, comment_id)
    if comment.author_id != request.user.pk and not plan.manageable:
        raise PermissionDenied
    try:
        comments.comment_delete(comment=comment, actor=request.user)
    except ValidationError as error:  # an archived plan
        return _answer(request, plan, comment, error=" ".join(error.messages))
    comment.pk = None
    return _answer(request, plan, comment)
