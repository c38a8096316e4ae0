"""Forms of the AI pages: provider order, a provider key, the usage date range."""

from django import forms

from .catalog import KEYED_PROVIDERS, KNOWN_PROVIDERS


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
    provider = forms.ChoiceField(choices=[(name, name) for name in KEYED_PROVIDERS])
    secret = forms.CharField(
        label="API key", max_length=500, widget=forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False)
    )
    base_url = forms.URLField(
        label="Base URL",
        required=False,
        max_length=200,
        assume_scheme="https",
        help_text="Optional: any OpenAI-compatible endpoint.",
    )
    model = forms.CharField(required=False, max_length=100, help_text="Optional: defaults to the server's model.")


class UsageRangeForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From")
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="To")

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "The end must not be before the start.")
        return data
