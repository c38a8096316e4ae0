"""HTML forms: shape only (rules live in config.py / services.py)."""

from django import forms

from .adapters.csv import MAPPABLE_FIELDS
from .models import DataSource, Event

TYPE_FIELDS = {
    "gtm": ["containerId", "measurementId"],
    "facebook_pixel": ["pixelId", "accessToken", "adAccountId", "pageId", "instagramAccountId"],
    "shopify": ["shopDomain", "accessToken", "apiVersion", "webhookSecret"],
    "csv": [],
    "segment": [],
}


class SourceCreateForm(forms.Form):
    source_type = forms.ChoiceField(label="Type", choices=DataSource.SourceType.choices)
    name = forms.CharField(max_length=200)
    containerId = forms.CharField(label="Container id", required=False, help_text="Like GTM-ABC1234")
    measurementId = forms.CharField(label="GA4 measurement id (optional)", required=False, help_text="Like G-XXXXXXX")
    pixelId = forms.CharField(label="Pixel id", required=False, help_text="15 or 16 digits")
    adAccountId = forms.CharField(
        label="Ad account id (optional)", required=False, help_text="act_… — to push audiences to Meta"
    )
    pageId = forms.CharField(label="Facebook Page id (optional)", required=False, help_text="To publish posts")
    instagramAccountId = forms.CharField(
        label="Instagram business account id (optional)", required=False, help_text="To publish to Instagram"
    )
    shopDomain = forms.CharField(label="Shop domain", required=False, help_text="your-store.myshopify.com")
    accessToken = forms.CharField(label="Access token", required=False, widget=forms.PasswordInput(render_value=True))
    apiVersion = forms.CharField(label="API version (optional)", required=False, help_text="Like 2025-10")
    webhookSecret = forms.CharField(
        label="Webhook secret (optional)", required=False, widget=forms.PasswordInput(render_value=True)
    )

    def config(self) -> dict:
        keys = TYPE_FIELDS.get(self.cleaned_data["source_type"], [])
        return {key: self.cleaned_data.get(key) for key in keys if self.cleaned_data.get(key)}

    def type_fields(self):
        chosen = self.data.get("source_type") or self.initial.get("source_type") or "gtm"
        return [self[name] for name in TYPE_FIELDS.get(chosen, [])]


class CsvUploadForm(forms.Form):
    file = forms.FileField(label="CSV file")


class CsvImportForm(forms.Form):
    path = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, headers: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "— not in the file —"), *((h, h) for h in headers)]
        for field_name in MAPPABLE_FIELDS:
            self.fields[f"map_{field_name}"] = forms.ChoiceField(
                label=field_name.replace("_", " "), choices=choices, required=False
            )

    def mapping(self) -> dict:
        return {
            name: self.cleaned_data[f"map_{name}"] for name in MAPPABLE_FIELDS if self.cleaned_data.get(f"map_{name}")
        }


class EventFilterForm(forms.Form):
    type = forms.ChoiceField(choices=[("", "All types"), *((t, t) for t in Event.EventType.values)], required=False)
