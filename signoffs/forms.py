import re

from django import forms

from signoffs.models import ReadinessPacket, Signoff
from truststream.uploads import LimitedFileField


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


class RolePolicyForm(forms.Form):
    """Who holds an approval role and how it is approved. `teams` are the plan's teams."""

    holder = forms.ChoiceField(
        choices=[("person", "One person"), ("team", "A team, with a quorum")],
        widget=forms.RadioSelect,
        label="Held by",
    )
    team = forms.ModelChoiceField(queryset=None, required=False, empty_label="Choose a team")
    quorum = forms.IntegerField(min_value=1, max_value=20, initial=1, label="Approvals needed")
    approval_days = forms.IntegerField(
        min_value=1,
        max_value=3650,
        required=False,
        label="Approvals expire after (days)",
        help_text="Leave empty: approvals do not expire.",
    )

    def __init__(self, *args, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams

    def clean(self):
        data = super().clean()
        if data.get("holder") == "team" and not data.get("team"):
            self.add_error("team", "Choose which of the plan's teams holds the role.")
        return data


class DelegationForm(forms.Form):
    """A deputy for the role's holder: `people` are the plan's members."""

    deputy = forms.ModelChoiceField(queryset=None, empty_label="Choose a member")
    starts_on = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label="To (included)", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["deputy"].queryset = people


class PacketRequestForm(forms.Form):
    kind = forms.ChoiceField(
        choices=ReadinessPacket.Kind.choices, widget=forms.RadioSelect, label="Packet"
    )


class VerifyForm(forms.Form):
    """A packet to check: the file itself, or the SHA-256 of one. The view that binds it takes
    uploads through `truststream.uploads.upload_limit`."""

    file = LimitedFileField(
        max_bytes="PACKET_VERIFY_MAX_BYTES",
        too_large="This file is larger than any packet this page checks (%(limit)s at most).",
        required=False,
        label="PDF file",
    )
    sha256 = forms.CharField(
        required=False,
        max_length=200,
        label="or its SHA-256",
        help_text="64 hexadecimal characters, as sha256sum prints them.",
    )

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is None:
            return None
        upload.seek(0)
        head = upload.read(5)
        upload.seek(0)
        if head != b"%PDF-":
            raise forms.ValidationError("This is not a PDF file.")
        return upload

    def clean_sha256(self):
        value = self.cleaned_data["sha256"].strip().lower()
        if value and not re.fullmatch(r"[0-9a-f]{64}", value):
            raise forms.ValidationError("A SHA-256 is 64 hexadecimal characters.")
        return value

    def clean(self):
        data = super().clean()
        if not self.errors and bool(data.get("file")) == bool(data.get("sha256")):
            raise forms.ValidationError("Upload a PDF file or paste a SHA-256, one of the two.")
        return data
