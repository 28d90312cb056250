from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from checklists import charts, selectors, services
from checklists.forms import (
    FileForm,
    ItemAssignForm,
    ItemNoteForm,
    ItemStateForm,
    LinkForm,
    ScoreForm,
)
from checklists.models import ChecklistItem, EvidenceFile, EvidenceLink
from checklists.readiness import SUGGESTION_RULE
from planning.access import CHANGE, get_part, get_plan_for_user, plan_view
from truststream.forms import apply_validation_error
from truststream.uploads import upload_limit


def _errors(error: ValidationError) -> str:
    return " ".join(error.messages)


@plan_view()
def checklists(request: HttpRequest, plan) -> HttpResponse:
    return render(
        request,
        "checklists/checklists.html",
        {"plan": plan, "checklists": selectors.plan_checklists(plan), "tab": "checklists"},
    )


def _item(plan, item_id) -> ChecklistItem:
    return get_part(
        plan,
        ChecklistItem.objects.select_related("changed_by", "checklist", "assignee"),
        item_id,
    )


def _row(request, plan, item, *, error="", stale=False, status=200) -> HttpResponse:
    item.plan = plan
    return render(
        request,
        "checklists/_item_row.html",
        {"plan": plan, "item": item, "error": error, "stale": stale},
        status=status,
    )


@plan_view(CHANGE, methods=("POST",))
def item_state(request: HttpRequest, plan, item_id: int) -> HttpResponse:
    """Set an item's state in place; a stale version or a missing reason is explained in the row."""
    item = _item(plan, item_id)
    form = ItemStateForm(request.POST)
    error, stale = "", False
    if not form.is_valid():
        error = " ".join(e for errors in form.errors.values() for e in errors)
    else:
        try:
            item = services.item_set_state(
                item=item,
                actor=request.user,
                state=form.cleaned_data["state"],
                version=form.cleaned_data["version"],
                reason=form.cleaned_data["reason"],
                actor_is_owner=plan.manageable and form.cleaned_data["override"],
            )
        except services.StaleItem as conflict:
            item, stale = conflict.current, True
            who = conflict.current.changed_by
            error = (
                f"{who.get_full_name() or who.email if who else 'Someone'} changed this item "
                f"in the meantime: it is now {item.get_state_display().lower()}. "
                "Nothing of yours was saved; choose again if you still want to change it."
            )
        except ValidationError as invalid:
            error = _errors(invalid)
    if request.htmx:
        return _row(request, plan, item, error=error, stale=stale)
    if error:
        messages.error(request, f"“{item.text}”: {error}")
    else:
        messages.success(request, f"“{item.text}” is now {item.get_state_display().lower()}.")
    return redirect(reverse("checklists:checklists", args=[plan.pk]) + f"#item-{item.pk}")


@plan_view(methods=("GET",))
def item_detail(request: HttpRequest, plan, item_id: int) -> HttpResponse:
    item = _item(plan, item_id)
    return _item_page(request, plan, item)


def _item_page(
    request,
    plan,
    item,
    *,
    assign_form=None,
    note_form=None,
    link_form=None,
    file_form=None,
    status=200,
):
    item.plan = plan
    return render(
        request,
        "checklists/item_detail.html",
        {
            "plan": plan,
            "item": item,
            "assign_form": assign_form
            or ItemAssignForm(
                plan=plan, initial={"assignee": item.assignee_id, "version": item.version}
            ),
            "links": item.links.select_related("added_by").order_by("added_at", "id"),
            "files": item.files.select_related("added_by").order_by("id"),
            "note_form": note_form
            or ItemNoteForm(initial={"note": item.note, "version": item.version}),
            "link_form": link_form or LinkForm(),
            "file_form": file_form or FileForm(),
            "tab": "checklists",
        },
        status=status,
    )


@plan_view(CHANGE, methods=("POST",))
def item_note(request: HttpRequest, plan, item_id: int) -> HttpResponse:
    item = _item(plan, item_id)
    form = ItemNoteForm(request.POST)
    if form.is_valid():
        try:
            services.item_update_note(
                item=item,
                actor=request.user,
                note=form.cleaned_data["note"],
                version=form.cleaned_data["version"],
            )
        except services.StaleItem as conflict:
            form.add_error(
                None,
                "Someone else changed this item in the meantime; their version is shown "
                "below. Your text is kept in the box: merge it and save again.",
            )
            item = conflict.current
            form.data = form.data.copy()
            form.data["version"] = item.version
        except ValidationError as invalid:
            form.add_error("note", _errors(invalid))
        else:
            messages.success(request, "Note saved.")
            return redirect("checklists:item_detail", plan.pk, item.pk)
    return _item_page(request, plan, item, note_form=form, status=400)


def _who(user) -> str:
    return (user.get_full_name() or user.email) if user else "nobody"


@plan_view(CHANGE, methods=("POST",))
def item_assign(request: HttpRequest, plan, item_id: int) -> HttpResponse:
    item = _item(plan, item_id)
    form = ItemAssignForm(request.POST, plan=plan)
    if form.is_valid():
        try:
            item = services.item_assign(
                item=item,
                actor=request.user,
                assignee=form.cleaned_data["assignee"],
                version=form.cleaned_data["version"],
            )
        except services.StaleItem as conflict:
            item = conflict.current
            form.add_error(
                None,
                f"Someone else changed this item in the meantime; it is assigned to "
                f"{_who(item.assignee)} now. Your choice is kept below: assign again to apply it.",
            )
            form.data = form.data.copy()
            form.data["version"] = item.version
        except ValidationError as invalid:
            apply_validation_error(form, invalid)
        else:
            messages.success(request, f"“{item.text}” is assigned to {_who(item.assignee)}.")
            return redirect("checklists:item_detail", plan.pk, item.pk)
    return _item_page(request, plan, item, assign_form=form, status=400)


@plan_view(CHANGE, methods=("POST",))
def link_add(request: HttpRequest, plan, item_id: int) -> HttpResponse:
    item = _item(plan, item_id)
    form = LinkForm(request.POST)
    if form.is_valid():
        try:
            services.link_add(item=item, actor=request.user, url=form.cleaned_data["url"])
        except ValidationError as invalid:
            form.add_error("url", _errors(invalid))
        else:
            messages.success(request, "Link added.")
            return redirect("checklists:item_detail", plan.pk, item.pk)
    return _item_page(request, plan, item, link_form=form, status=400)


@plan_view(CHANGE, methods=("POST",))
def link_remove(request: HttpRequest, plan, item_id: int, link_id: int) -> HttpResponse:
    item = _item(plan, item_id)
    try:
        link = item.links.get(pk=link_id)
    except (EvidenceLink.DoesNotExist, ValueError):
        raise Http404 from None
    services.link_remove(link=link)
    messages.success(request, "Link removed.")
    return redirect("checklists:item_detail", plan.pk, item.pk)


@upload_limit("EVIDENCE_MAX_BYTES")
@plan_view(CHANGE, methods=("POST",))
def file_add(request: HttpRequest, plan, item_id: int) -> HttpResponse:
    item = _item(plan, item_id)
    form = FileForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            evidence = services.file_add(
                item=item, actor=request.user, upload=form.cleaned_data["file"]
            )
        except ValidationError as invalid:
            form.add_error("file", _errors(invalid))
        else:
            messages.success(request, f"{evidence.name} attached.")
            return redirect("checklists:item_detail", plan.pk, item.pk)
    return _item_page(request, plan, item, file_form=form, status=400)


def _evidence(item, file_id) -> EvidenceFile:
    try:
        return item.files.get(pk=file_id)
    except (EvidenceFile.DoesNotExist, ValueError):
        raise Http404 from None


@plan_view(CHANGE, methods=("POST",))
def file_remove(request: HttpRequest, plan, item_id: int, file_id: int) -> HttpResponse:
    item = _item(plan, item_id)
    services.file_remove(evidence=_evidence(item, file_id))
    messages.success(request, "File removed from the item.")
    return redirect("checklists:item_detail", plan.pk, item.pk)


@never_cache
@plan_view()
def file_download(request: HttpRequest, plan, item_id: int, file_id: int) -> FileResponse:
    """Members only; always a download, with the type we recorded, never shown inline."""
    evidence = _evidence(_item(plan, item_id), file_id)
    try:
        handle = evidence.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle, as_attachment=True, filename=evidence.name, content_type=evidence.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@plan_view()
def readiness(request: HttpRequest, plan) -> HttpResponse:
    return _readiness_page(request, plan)


def _readiness_page(request, plan, *, form=None, form_category=None, status=200):
    result = selectors.readiness(plan)
    titles = {category.key: category.title for category in result.categories}
    history = list(selectors.score_history(plan))
    for entry in history:
        entry.category_title = titles.get(entry.category, entry.category)
    return render(
        request,
        "checklists/readiness.html",
        {
            "plan": plan,
            "readiness": result,
            "chart": charts.readiness_chart(result),
            "history": history,
            "rule": SUGGESTION_RULE,
            "form": form,
            "form_category": form_category,
            "tab": "readiness",
        },
        status=status,
    )


@plan_view(CHANGE, methods=("POST",))
def score_set(request: HttpRequest, plan, category: str) -> HttpResponse:
    form = ScoreForm(request.POST)
    if form.is_valid():
        try:
            services.score_set(
                plan=plan, actor=request.user, category=category, **form.cleaned_data
            )
        except ValidationError as invalid:
            if "category" in getattr(invalid, "error_dict", {}):
                raise Http404 from None
            form.add_error(None, _errors(invalid))
        else:
            messages.success(request, "Score saved.")
            return redirect("checklists:readiness", plan.pk)
    return _readiness_page(request, plan, form=form, form_category=category, status=400)


@plan_view()
def compare(request: HttpRequest, plan) -> HttpResponse:
    """This plan beside the plan of the previous environment it was made from: requirement
    templates and checklist states, differences marked. Only for someone who may see both
    (404 otherwise, as for any plan one may not see)."""
    if plan.previous_plan_id is None:
        raise Http404
    previous = get_plan_for_user(request.user, plan.previous_plan_id)
    only_differences = request.GET.get("show") == "differences"
    return render(
        request,
        "checklists/compare.html",
        {
            "plan": plan,
            "previous": previous,
            "comparison": selectors.comparison(plan, previous),
            "only_differences": only_differences,
        },
    )
