from django import forms
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from planning.access import plan_view
from truststream import activity

SYSTEM = "system"


def _kinds() -> list[tuple[str, str]]:
    # Called when a form is made: the apps register their kinds once they are ready.
    return [("", "Everything"), *activity.KINDS.items()]


class ActivityFilterForm(forms.Form):
    person = forms.ChoiceField(
        required=False,
        label="Who",
        error_messages={"invalid_choice": "Choose someone from the list; this filter is off."},
    )
    kind = forms.ChoiceField(
        required=False,
        label="What",
        choices=_kinds,
        error_messages={"invalid_choice": "Choose a kind from the list; this filter is off."},
    )

    def __init__(self, *args, plan, **kwargs):
        super().__init__(*args, **kwargs)
        people = (
            get_user_model()
            .objects.filter(plan_memberships__plan=plan)
            .order_by("first_name", "last_name", "email")
        )
        self.fields["person"].choices = [
            ("", "Everyone"),
            *((str(user.pk), user.get_full_name() or user.email) for user in people),
            (SYSTEM, "The system (tasks, commands, SQL)"),
        ]

    def filters(self) -> dict:
        """The valid filters only: an invalid one is reported on the form and not applied."""
        self.is_valid()
        data = self.cleaned_data
        person = data.get("person", "")
        return {
            "kind": data.get("kind", ""),
            "user_id": int(person) if person and person != SYSTEM else None,
            "system": person == SYSTEM,
        }


@plan_view()
def plan_activity(request: HttpRequest, plan) -> HttpResponse:
    form = ActivityFilterForm(request.GET or None, plan=plan)
    filters = form.filters() if form.is_bound else {}
    events = activity.plan_activity(plan.pk, **filters)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "planning/activity.html",
        {
            "plan": plan,
            "form": form,
            "page": page,
            "entries": activity.describe(page.object_list, plan_id=plan.pk),
            "filtered": any(filters.values()),
            "query": query.urlencode(),
            "tab": "activity",
        },
    )
