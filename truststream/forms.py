from django import forms


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, such as “deploy pipeline”.")
    expires_at = forms.DateTimeField(
        label="Expires",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Optional, in UTC. Without it the token works until you revoke it.",
    )
