from django import forms

from gates.models import Provider
from truststream.validators import single_line


class MappingForm(forms.Form):
    provider = forms.ChoiceField(label="Service", choices=Provider.choices)
    repository = forms.CharField(
        label="Repository",
        max_length=255,
        validators=[single_line],
        help_text="owner/name on GitHub; the project's full path (group/project) on GitLab.",
    )
    environment = forms.CharField(
        label="Environment",
        max_length=255,
        validators=[single_line],
        help_text="As the repository names it, e.g. production.",
    )
