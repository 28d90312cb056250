from django import forms

from signoffs.models import Signoff


class SignForm(forms.Form):
    decision = forms.ChoiceField(choices=Signoff.Decision.choices, widget=forms.RadioSelect)
    reason = forms.CharField(
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Reason for a rejection",
    )
    comment = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    digest = forms.CharField(max_length=64, widget=forms.HiddenInput)
