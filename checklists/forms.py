from django import forms

from checklists.models import ChecklistItem
from planning.forms import member_field
from truststream.forms import IdField
from truststream.uploads import LimitedFileField
from truststream.validators import single_line


class ItemStateForm(forms.Form):
    state = forms.ChoiceField(choices=ChecklistItem.State.choices)
    version = IdField(min_value=1, widget=forms.HiddenInput)
    reason = forms.CharField(
        max_length=500, required=False, label="Why does it not apply?", validators=[single_line]
    )
    override = forms.BooleanField(required=False, label="Owner override: not a conditional item")


class ItemNoteForm(forms.Form):
    note = forms.CharField(
        max_length=20_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Plain text or Markdown. HTML is shown as text.",
    )
    version = IdField(min_value=1, widget=forms.HiddenInput)


class ItemAssignForm(forms.Form):
    version = IdField(min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, plan, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"] = member_field(plan, label="Assigned to")
        self.fields["assignee"].error_messages["invalid_choice"] = "Choose a member of this plan."


class LinkForm(forms.Form):
    url = forms.URLField(max_length=1000, label="Link", assume_scheme="https")


class FileForm(forms.Form):
    """Bound by a view under `upload_limit("EVIDENCE_MAX_BYTES")`."""

    file = LimitedFileField(max_bytes="EVIDENCE_MAX_BYTES", label="File")


class ScoreForm(forms.Form):
    score = forms.IntegerField(min_value=1, max_value=10)
    rationale = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
