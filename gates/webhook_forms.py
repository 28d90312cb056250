from django import forms

from gates.models import WebhookEventType


class WebhookForm(forms.Form):
    url = forms.URLField(
        label="Payload URL",
        max_length=500,
        assume_scheme="https",
        help_text="Where to POST each event, as JSON signed with the webhook's secret.",
    )
    events = forms.MultipleChoiceField(
        label="Send on",
        choices=WebhookEventType.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=WebhookEventType.values,
        error_messages={"required": "Choose at least one event."},
    )
