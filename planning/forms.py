from django import forms
from django.utils.html import escape

from planning import fieldtypes, requirements
from planning.models import (
    DeploymentPlan,
    PlanMembership,
    PlanningDocument,
    Playbook,
    SupportContact,
    Task,
)
from planning.selectors import current_playbooks, default_playbook, plan_people
from truststream.forms import ModelIdChoiceField
from truststream.models import Team
from truststream.uploads import LimitedFileField
from truststream.validators import single_line


class DateInput(forms.DateInput):
    input_type = "date"


class GoLiveNotBeforeWeek1:
    """A form with `week1_start` and `target_go_live`: the go-live, when given, is not before
    week 1."""

    def clean(self):
        cleaned = super().clean()
        start, go_live = cleaned.get("week1_start"), cleaned.get("target_go_live")
        if start and go_live and go_live < start:
            self.add_error("target_go_live", "The target go-live date cannot be before week 1.")
        return cleaned


class PlanForm(GoLiveNotBeforeWeek1, forms.ModelForm):
    class Meta:
        model = DeploymentPlan
        fields = [
            "title",
            "release_version",
            "environment",
            "week1_start",
            "target_go_live",
            "description",
            "signoff_threshold",
        ]
        labels = {"signoff_threshold": "Readiness needed for sign-off"}
        widgets = {
            "week1_start": DateInput(),
            "target_go_live": DateInput(),
            "description": forms.Textarea(attrs={"rows": 4}),
        }
        help_texts = {
            "release_version": "For example 4.4.0 or 2026.11-rc1.",
            "week1_start": "Phase 1 (assessment and requirements) starts on this date.",
            "signoff_threshold": "The weighted readiness score (0–100) the plan needs before "
            "it can await sign-off; 80 is the guide's “ready with minor adjustments”.",
        }

    def __init__(self, *args, may_manage: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if may_manage:
            self.fields["signoff_threshold"].required = False
        else:
            # The threshold is part of what approvals cover: only an owner changes it.
            del self.fields["signoff_threshold"]

    def clean_title(self):
        return self.cleaned_data["title"].strip()

    def clean_signoff_threshold(self):
        value = self.cleaned_data.get("signoff_threshold")
        if value is None:
            return self.instance.signoff_threshold if self.instance.pk else 80
        return value

    def clean_release_version(self):
        return self.cleaned_data["release_version"].strip()


class PlanNextForm(GoLiveNotBeforeWeek1, forms.Form):
    """When the next environment's plan starts: its four weeks are re-dated from week 1."""

    week1_start = forms.DateField(
        label="Week 1 starts",
        widget=DateInput(),
        validators=DeploymentPlan._meta.get_field("week1_start").validators,
        help_text="The four weeks and every task's due date move with it.",
    )
    target_go_live = forms.DateField(
        label="Target go-live",
        required=False,
        widget=DateInput(),
        validators=DeploymentPlan._meta.get_field("target_go_live").validators,
        help_text="Leave it empty to keep the same distance from week 1 as in this plan.",
    )


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


class PlanTeamAddForm(forms.Form):
    """A team that is not a member of the plan yet, and its role. Prefixed: it sits beside
    the invitation form, which has a role too."""

    prefix = "team"

    team = ModelIdChoiceField(
        queryset=Team.objects.none(),
        empty_label="Choose a team",
        error_messages={"invalid_choice": "Choose a team that is not on this plan yet."},
    )
    role = forms.ChoiceField(
        label="Team's role", choices=PlanMembership.Role.choices, initial="viewer"
    )

    def __init__(self, *args, plan, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.exclude(plan_teams__plan=plan).order_by("name")


class PlanCreateForm(PlanForm):
    playbook = ModelIdChoiceField(
        queryset=Playbook.objects.none(),
        empty_label=None,
        help_text="The plan gets its own copy of the playbook's phases, tasks, documents, "
        "requirement templates and contacts.",
    )

    class Meta(PlanForm.Meta):
        fields = ["playbook", *PlanForm.Meta.fields]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["playbook"].queryset = current_playbooks()
        self.fields["playbook"].label_from_instance = lambda p: f"{p.name} (revision {p.revision})"
        default = default_playbook()
        if default is not None:
            self.fields["playbook"].initial = default.pk


class MemberChoiceField(ModelIdChoiceField):
    def label_from_instance(self, user):
        return user.get_full_name() or user.email


def member_field(plan, *, label: str) -> MemberChoiceField:
    """A choice of the plan's members, themselves or through a team; anyone else is refused as
    not a valid choice."""
    return MemberChoiceField(
        queryset=plan_people(plan).order_by("email"),
        required=False,
        label=label,
        empty_label="Nobody yet",
    )


class TaskForm(forms.ModelForm):
    class Meta:
        model = Task
        fields = [
            "title",
            "group",
            "phase",
            "assignee",
            "due_on",
            "status",
            "blocked_reason",
            "notes",
        ]
        widgets = {
            "due_on": DateInput(),
            "notes": forms.Textarea(attrs={"rows": 4}),
        }
        field_classes = {"phase": ModelIdChoiceField}
        labels = {"blocked_reason": "Why is it blocked?"}
        help_texts = {"due_on": "Leave empty for the end of the phase's week."}

    def __init__(self, *args, plan, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phase"].queryset = plan.phases.order_by("number")
        self.fields["phase"].empty_label = None
        self.fields["assignee"] = member_field(plan, label="Assignee")
        self.fields["due_on"].required = False
        groups = sorted({group for group in plan.tasks.values_list("group", flat=True)})
        self.fields["group"].widget.attrs["list"] = "task-groups"
        self.group_suggestions = groups

    def clean_title(self):
        return self.cleaned_data["title"].strip()

    def clean(self):
        # The rule is the database's and the service's; the form states it on its field
        # (a field with an error is left out of the model's own constraint check).
        cleaned = super().clean()
        if (
            cleaned.get("status") == Task.Status.BLOCKED
            and not (cleaned.get("blocked_reason") or "").strip()
        ):
            self.add_error("blocked_reason", "Say why the task is blocked.")
        return cleaned


class TaskAddForm(forms.Form):
    title = forms.CharField(max_length=200, label="New task", validators=[single_line])
    group = forms.CharField(max_length=100, label="Group", validators=[single_line])

    def clean_title(self):
        return self.cleaned_data["title"].strip()


class TaskStatusForm(forms.Form):
    status = forms.ChoiceField(choices=Task.Status.choices)
    blocked_reason = forms.CharField(
        max_length=500, required=False, label="Why is it blocked?", validators=[single_line]
    )


class HttpsURLField(forms.URLField):
    """A link typed without a scheme is taken as https:// (Django 6's default, chosen now)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("assume_scheme", "https")
        super().__init__(**kwargs)


class DocumentForm(forms.ModelForm):
    class Meta:
        model = PlanningDocument
        fields = ["status", "owner", "link", "notes"]
        field_classes = {"link": HttpsURLField}
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}
        help_texts = {"link": "Where the document lives, for example its wiki or repository page."}

    def __init__(self, *args, plan, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"] = member_field(plan, label="Owner")


class ContactForm(forms.ModelForm):
    class Meta:
        model = SupportContact
        fields = ["topic", "name", "email"]


class RequirementsForm(forms.Form):
    """A form built from a requirement template: one input per field, typed by `fieldtypes`."""

    def __init__(self, *args, spec, **kwargs):
        super().__init__(*args, **kwargs)
        self.spec = spec
        self.sections: list[tuple[str, list[str]]] = []
        for section, name, field in requirements.fields(spec.definition):
            key = f"{section}.{name}"
            if not self.sections or self.sections[-1][0] != section:
                self.sections.append((section, []))
            self.sections[-1][1].append(key)
            self.fields[key] = self._form_field(field, name)
            value = spec.values.get(section, {}).get(name)
            self.initial[key] = fieldtypes.as_form_value(field, value)

    @staticmethod
    def _form_field(field: dict, name: str) -> forms.Field:
        label = requirements.label(name, field)
        required = field.get("required", True)
        # Django shows help text as HTML; the playbook's words are text, so escape them.
        hints = [escape(h) for h in (field.get("help"), _type_hint(field)) if h]
        common = {"label": label, "required": False, "help_text": " · ".join(hints)}
        if field["type"] == "choice":
            choices = [(c, c) for c in field["choices"]]
            return forms.ChoiceField(
                choices=choices if required else [("", "—"), *choices], **common
            )
        if field["type"] == "multichoice":
            return forms.MultipleChoiceField(
                choices=[(c, c) for c in field["choices"]],
                widget=forms.CheckboxSelectMultiple,
                **common,
            )
        if field["type"] == "boolean":
            return forms.ChoiceField(choices=[("true", "Yes"), ("false", "No")], **common)
        return forms.CharField(max_length=200, **common)

    def raw_values(self) -> dict:
        """{section: {field: what was typed}} for `requirements.clean_values` to judge."""
        values: dict[str, dict] = {}
        for key in self.fields:
            section, name = key.split(".", 1)
            values.setdefault(section, {})[name] = self.cleaned_data.get(key)
        return values

    def add_problems(self, problems) -> None:
        for problem in problems:
            self.add_error(problem.field if problem.field in self.fields else None, problem.message)

    def grouped(self):
        """(section title, [bound fields]) for the template."""
        return [
            (section.replace("_", " ").capitalize(), [self[key] for key in keys])
            for section, keys in self.sections
        ]


def _type_hint(field: dict) -> str:
    unit = field.get("unit")
    hints = {
        "integer": f"Whole number{f', in {unit}' if unit else ''}",
        "number": f"Number{f', in {unit}' if unit else ''}",
        "percentage": "Percentage, up to three decimals, such as 99.95%",
        "comparison": f"Comparison such as <10{f' (in {unit})' if unit else ''}",
        "duration": "Duration such as "
        + ", ".join(
            {
                "ms": "200ms",
                "s": "2s",
                "min": "15min",
                "h": "8h",
                "days": "30_days",
                "months": "6_months",
                "years": "7_years",
            }.get(u, u)
            for u in field.get("units", ["ms", "s", "min", "h"])
        ),
        "window": "Time per period, such as 4h/month",
        "text": f"Up to {field.get('max_length', 100)} characters",
    }
    return hints.get(field["type"], "")


class RequirementsImportForm(forms.Form):
    """Bound by a view under `upload_limit(MAX_BYTES)`."""

    MAX_BYTES = requirements.MAX_IMPORT_BYTES

    file = LimitedFileField(max_bytes=MAX_BYTES, required=False, label="YAML file")
    text = forms.CharField(
        required=False,
        label="Or paste YAML",
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        max_length=MAX_BYTES,
    )

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is None:
            return None
        name = upload.name.lower()
        if not name.endswith((".yaml", ".yml", ".txt")):
            raise forms.ValidationError("Upload a .yaml or .yml file.")
        return upload.read()

    def clean(self):
        cleaned = super().clean()
        nothing = not cleaned.get("file") and not (cleaned.get("text") or "").strip()
        if nothing and not self.errors:
            raise forms.ValidationError("Choose a YAML file or paste YAML.")
        return cleaned

    def document(self) -> bytes | str:
        return self.cleaned_data.get("file") or self.cleaned_data["text"]
