import csv

from django import forms
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.text import slugify

from planning.access import plan_view
from truststream import audit


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


def _events(plan, form):
    events = audit.plan_events_feed(plan.pk)
    if form.is_valid():
        data = form.cleaned_data
        if data["section"]:
            events = events.filter(pgh_model=data["section"])
        if data["person"]:
            events = events.filter(pgh_context__user=int(data["person"]))
        if data["since"]:
            events = events.filter(pgh_created_at__date__gte=data["since"])
        if data["until"]:
            events = events.filter(pgh_created_at__date__lte=data["until"])
    return events


@plan_view()
def audit_trail(request: HttpRequest, plan) -> HttpResponse:
    form = AuditFilterForm(request.GET or None, plan=plan)
    page = Paginator(_events(plan, form), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "planning/audit.html",
        {
            "plan": plan,
            "form": form,
            "page": page,
            "rows": audit.describe_events(page.object_list),
            "query": query.urlencode(),
            "seals": audit.AuditSeal.objects.filter(plan_id=plan.pk).order_by("-number")[:10],
            "tab": "audit",
        },
    )


class _Echo:
    def write(self, value):
        return value


@plan_view()
def audit_csv(request: HttpRequest, plan) -> StreamingHttpResponse:
    """The filtered trail as CSV; no cell can start a spreadsheet formula."""
    form = AuditFilterForm(request.GET or None, plan=plan)
    writer = csv.writer(_Echo())
    safe = audit.spreadsheet_safe

    def lines():
        yield writer.writerow(
            ["time (UTC)", "who", "via", "what", "field", "before", "after", "request id", "ip"]
        )
        for chunk_start in range(0, 100_000, 500):
            events = list(_events(plan, form)[chunk_start : chunk_start + 500])
            if not events:
                return
            for row in audit.describe_events(events):
                for field, before, after in row["changes"] or [("", "", "")]:
                    yield writer.writerow(
                        [
                            safe(row["at"].isoformat()),
                            safe(row["who"]),
                            safe(row["via"]),
                            safe(row["what"]),
                            safe(field),
                            safe(before),
                            safe(after),
                            safe(row["request_id"]),
                            safe(row["ip"]),
                        ]
                    )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slugify(plan.title)}-audit.csv"'
    return response
