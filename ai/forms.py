"""Forms of the AI pages: provider order, a provider key, the usage date range."""

from django import forms

from .catalog import KEYED_PROVIDERS, KNOWN_PROVIDERS, LABELS


class ProviderOrderForm(forms.Form):
    providers = forms.CharField(
        required=False,
        max_length=200,
        label="Provider order",
        help_text=f"Comma-separated, tried in order ({', '.join(KNOWN_PROVIDERS)}). Empty uses the server default.",
        widget=forms.TextInput(attrs={"placeholder": "openai, local"}),
    )

    def clean_providers(self) -> list[str]:
        names = [name.strip().lower() for name in self.cleaned_data["providers"].split(",") if name.strip()]
        unknown = [name for name in names if name not in KNOWN_PROVIDERS]
        if unknown:
            raise forms.ValidationError(f"Unknown provider: {', '.join(unknown)}.")
        if len(set(names)) != len(names):
            raise forms.ValidationError("Name each provider once.")
        return names


class ProviderKeyForm(forms.Form):
    """A key to check and save; members who may not manage the workspace's keys only get the personal scope."""

    scope = forms.ChoiceField(
        label="For",
        choices=[("workspace", "The whole workspace"), ("personal", "Only my chats")],
        required=False,
    )
    provider = forms.ChoiceField(choices=[(name, LABELS[name]) for name in KEYED_PROVIDERS])
    secret = forms.CharField(
        label="API key", max_length=500, widget=forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False)
    )
    base_url = forms.URLField(
        label="Base URL",
        required=False,
        max_length=200,
        assume_scheme="https",
        help_text="Optional: another endpoint of the provider (for OpenAI, any compatible one).",
    )
    model = forms.CharField(required=False, max_length=100, help_text="Optional: defaults to the server's model.")

    def __init__(self, *args, can_manage: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_scope = "workspace" if can_manage else "personal"
        self.fields["scope"].initial = self.default_scope
        if not can_manage:  # offered only their own; a posted "workspace" is refused by the policy (403)
            self.fields["scope"].widget.choices = [("personal", "Only my chats")]

    def clean_scope(self) -> str:
        return self.cleaned_data["scope"] or self.default_scope


class UsageRangeForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From")
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="To")

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "The end must not be before the start.")
        return data
