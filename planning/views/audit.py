import csv

from django import forms
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.text import slugify

from planning.access import MANAGE, plan_view
from truststream import audit
from truststream.models import AuditSeal


def _sections() -> list[tuple[str, str]]:
    choices = []
    for model in audit.plan_event_models():
        tracked = model.pgh_tracked_model
        choices.append((model._meta.label, str(tracked._meta.verbose_name).capitalize()))
    return sorted(choices, key=lambda choice: choice[1])


class AuditFilterForm(forms.Form):
    section = forms.ChoiceField(required=False)
    person = forms.ChoiceField(required=False)
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, plan, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["section"].choices = [("", "Every section"), *_sections()]
        people = get_user_model().objects.filter(plan_memberships__plan=plan).order_by("email")
        self.fields["person"].choices = [("", "Everyone"), *((str(u.pk), u.email) for u in people)]


AUDIT_PAGE_SIZE = 50


def _filters(form) -> audit.EventFilter:
    if not form.is_valid():
        return audit.EventFilter()
    data = form.cleaned_data
    return audit.EventFilter(
        table=data["section"],
        user_id=int(data["person"]) if data["person"] else None,
        since=data["since"],
        until=data["until"],
    )


def _is_owner(plan) -> bool:
    # IP addresses and user agents say where people were: plan owners (and superusers, who
    # hold every permission) see them, no one else. The page is not cached, so nothing one
    # reader saw is shown to another.
    return MANAGE in plan.permissions


@plan_view()
def audit_trail(request: HttpRequest, plan) -> HttpResponse:
    """A page of the trail by keyset: `before` (older than) or `after` (newer than) an event."""
    form = AuditFilterForm(request.GET or None, plan=plan)
    filters = _filters(form)
    before = audit.Cursor.parse(request.GET.get("before", ""))
    after = audit.Cursor.parse(request.GET.get("after", ""))
    if after is not None:
        events, newer = audit.plan_events_page(
            plan.pk, size=AUDIT_PAGE_SIZE, filters=filters, newer_than=after
        )
        older = True
        if not newer:
            after = None  # back at the newest: show a full first page
    if after is None:
        events, older = audit.plan_events_page(
            plan.pk, size=AUDIT_PAGE_SIZE, filters=filters, older_than=before
        )
        newer = before is not None
    query = request.GET.copy()
    query.pop("before", None)
    query.pop("after", None)
    return render(
        request,
        "planning/audit.html",
        {
            "plan": plan,
            "form": form,
            "rows": audit.describe_events(events, client_details=_is_owner(plan)),
            "newer": events[0].cursor if newer and events else None,
            "older": events[-1].cursor if older and events else None,
            "query": query.urlencode(),
            "seals": AuditSeal.objects.filter(plan_id=plan.pk).order_by("-number")[:10],
            "tab": "audit",
        },
    )


class _Echo:
    def write(self, value):
        return value


@plan_view()
def audit_csv(request: HttpRequest, plan) -> StreamingHttpResponse:
    """The filtered trail as CSV, all of it, streamed; no cell can start a spreadsheet
    formula. The IP address column is there for plan owners only."""
    form = AuditFilterForm(request.GET or None, plan=plan)
    filters = _filters(form)
    owner = _is_owner(plan)
    writer = csv.writer(_Echo())
    header = ["time (UTC)", "who", "via", "what", "field", "before", "after", "request id"]

    def lines():
        yield writer.writerow([*header, "ip"] if owner else header)
        for events in audit.plan_event_chunks(plan.pk, filters=filters):
            yield from _csv_rows(writer, events, owner=owner)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slugify(plan.title)}-audit.csv"'
    return response


def _csv_rows(writer, events, *, owner: bool):
    for row in audit.describe_events(events, client_details=owner):
        for field, before, after in row["changes"] or [("", "", "")]:
            cells = [
                row["at"].isoformat(),
                row["who"],
                row["via"],
                row["what"],
                field,
                before,
                after,
                row["request_id"],
            ]
            if owner:
                cells.append(row["ip"])
            yield writer.writerow([audit.spreadsheet_safe(cell) for cell in cells])
