"""Browser forms: shape checks only; the rules (password strength, roles, uniqueness) live in services."""

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

from .display import CURRENCIES, LOCALES
from .models import Membership


class InvitedSignupForm(forms.Form):
    """A new account for an address that is already known (an invitation's): names and a password."""

    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters, not a common or all-numeric password.",
    )

    def clean_password(self) -> str:
        # Shown beside the other field errors at once; the service checks again with the full user.
        password = self.cleaned_data["password"]
        password_validation.validate_password(password)
        return password


class SignupForm(InvitedSignupForm):
    company_name = forms.CharField(label="Company", max_length=200, required=False, help_text="Your workspace's name.")
    email = forms.EmailField(label="Work email", max_length=254)


class LoginForm(forms.Form):
    email = forms.CharField(label="Email", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ProfileForm(forms.Form):
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    company_name = forms.CharField(label="Company (workspace name)", max_length=200)


class PasswordChangeForm(forms.Form):
    current_password = forms.CharField(
        label="Current password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    new_password = forms.CharField(
        label="New password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )


class MemberAddForm(forms.Form):
    email = forms.EmailField(label="Email of an existing account", max_length=254)
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.EDITOR)


def form_add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form's fields (unknown keys become form-wide errors)."""
    for field, messages in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


class InvitationForm(forms.Form):
    email = forms.EmailField(label="E-mail", max_length=254, help_text="They get a link that works once, for 7 days.")
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.EDITOR)


class WorkspaceDisplayForm(forms.Form):
    currency = forms.ChoiceField(label="Currency", choices=[(code, code) for code in CURRENCIES])
    locale = forms.ChoiceField(
        label="Numbers and dates", choices=list(LOCALES.items()), help_text="1,234.50 or 1.234,50: how figures read."
    )
