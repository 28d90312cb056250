from django import forms

from planning.models import DeploymentPlan, PlanMembership


class DateInput(forms.DateInput):
    input_type = "date"


class PlanForm(forms.ModelForm):
    class Meta:
        model = DeploymentPlan
        fields = [
            "title",
            "release_version",
            "environment",
            "week1_start",
            "target_go_live",
            "description",
        ]
        widgets = {
            "week1_start": DateInput(),
            "target_go_live": DateInput(),
            "description": forms.Textarea(attrs={"rows": 4}),
        }
        help_texts = {
            "release_version": "For example 4.4.0 or 2026.11-rc1.",
            "week1_start": "Phase 1 (assessment and requirements) starts on this date.",
        }

    def clean_title(self):
        return self.cleaned_data["title"].strip()

    def clean_release_version(self):
        return self.cleaned_data["release_version"].strip()

    def clean(self):
        cleaned = super().clean()
        start, go_live = cleaned.get("week1_start"), cleaned.get("target_go_live")
        if start and go_live and go_live < start:
            self.add_error("target_go_live", "The target go-live date cannot be before week 1.")
        return cleaned


class PlanFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=100)
    environment = forms.ChoiceField(
        required=False, choices=[("", "Any environment"), *DeploymentPlan.Environment.choices]
    )
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *DeploymentPlan.Status.choices]
    )
    archived = forms.BooleanField(label="Archived plans only", required=False)


class MemberAddForm(forms.Form):
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=PlanMembership.Role.choices, initial="editor")


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=PlanMembership.Role.choices)
