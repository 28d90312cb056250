import datetime

from django import forms

from planning.models import EARLIEST, LATEST, DeploymentPlan
from reports.models import AuditorExport
from truststream.models import Team


class DateInput(forms.DateInput):
    input_type = "date"


class PortfolioFilterForm(forms.Form):
    environment = forms.ChoiceField(
        required=False, choices=[("", "Any environment"), *DeploymentPlan.Environment.choices]
    )
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *DeploymentPlan.Status.choices]
    )
    at_risk = forms.BooleanField(label="At risk only", required=False)
    team = forms.ChoiceField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A filter by team only where there are teams; their list is read once, here.
        teams = list(Team.objects.order_by("name").values_list("slug", "name"))
        if teams:
            self.fields["team"].choices = [("", "Any team"), *teams]
        else:
            del self.fields["team"]


def two_years_after(start: datetime.date) -> datetime.date:
    try:
        return start.replace(year=start.year + 2)
    except ValueError:  # 29 February
        return start.replace(year=start.year + 2, day=28)


class AuditorExportForm(forms.Form):
    date_from = forms.DateField(label="From", widget=DateInput())
    date_to = forms.DateField(label="To", widget=DateInput(), help_text="Both days included.")
    format = forms.ChoiceField(
        choices=AuditorExport.Format.choices,
        initial=AuditorExport.Format.CSV,
        widget=forms.RadioSelect,
    )

    def _in_range(self, name: str) -> datetime.date:
        value = self.cleaned_data[name]
        if not EARLIEST <= value <= LATEST:
            raise forms.ValidationError(f"Enter a date between {EARLIEST:%Y} and {LATEST:%Y}.")
        return value

    def clean_date_from(self):
        return self._in_range("date_from")

    def clean_date_to(self):
        return self._in_range("date_to")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end:
            if end < start:
                self.add_error("date_to", "The end of the period cannot be before its start.")
            elif end > two_years_after(start):
                self.add_error("date_to", "A period can span at most two years.")
        return cleaned
