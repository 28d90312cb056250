from django import forms
from django.core.exceptions import ValidationError

from truststream.models import TeamMembership
from truststream.parsing import parse_id
from truststream.validators import single_line


def apply_validation_error(form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form, on its field where it names one."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


class IdField(forms.IntegerField):
    """A whole number sent back by a page (an id, a version), read by `parse_id`: "²", "١٢" or
    5,000 digits are invalid, not a crash and not 12."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        number = parse_id(str(value).strip())
        if number is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return number


class ModelIdChoiceField(forms.ModelChoiceField):
    """A choice of objects by id, read by `parse_id` before the database sees it."""

    def to_python(self, value):
        if value not in self.empty_values and parse_id(str(value)) is None:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        validators=[single_line],
        help_text="What uses it, such as “deploy pipeline”.",
    )
    expires_at = forms.DateTimeField(
        label="Expires",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Optional, in UTC. Without it the token works until you revoke it.",
    )


class NotificationSettingsForm(forms.Form):
    """One choice per kind of notification."""

    def __init__(self, *args, current: dict[str, str], **kwargs):
        from truststream.models import Delivery, NotificationKind

        super().__init__(*args, **kwargs)
        for kind, label in NotificationKind.choices:
            self.fields[kind] = forms.ChoiceField(
                label=label,
                choices=Delivery.choices,
                initial=current.get(kind, Delivery.IMMEDIATELY),
            )


class TeamCreateForm(forms.Form):
    name = forms.CharField(max_length=100, validators=[single_line])
    description = forms.CharField(max_length=300, required=False, validators=[single_line])
    sso_group = forms.CharField(
        label="SSO group",
        max_length=150,
        required=False,
        validators=[single_line],
        help_text="The value of the identity provider's group claim whose people join this "
        "team at each sign-in. Leave empty to manage the members here only.",
    )


class TeamMemberAddForm(forms.Form):
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=TeamMembership.Role.choices, initial="member")


class TeamMemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=TeamMembership.Role.choices)
