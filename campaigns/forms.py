"""HTML forms: shape checks only (rules stay in the services)."""

from decimal import Decimal

from django import forms

from .brand import LOGO_POSITIONS
from .models import BrandAsset, Campaign, ContentVariant
from .models.campaign import Platform


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=200)
    objective = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    segment = forms.CharField(max_length=64, required=False, help_text="The audience segment, e.g. high_value.")
    audience_id = forms.TypedChoiceField(
        label="Saved audience", required=False, coerce=int, empty_value=None, choices=[("", "None")]
    )
    channels = forms.MultipleChoiceField(choices=Platform.choices, required=False, widget=forms.CheckboxSelectMultiple)
    budget = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"), initial=Decimal("0"))
    starts_at = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    ends_at = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def __init__(self, *args, audiences=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["audience_id"].choices = [("", "None (use the segment)")] + [
            (audience.id, f"{audience.name} ({audience.size:,})") for audience in audiences
        ]

    def clean(self):
        data = super().clean()
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            self.add_error("ends_at", "The end must be after the start.")
        return data


class GenerateForm(forms.Form):
    platforms = forms.MultipleChoiceField(choices=Platform.choices, widget=forms.CheckboxSelectMultiple)


class TransitionForm(forms.Form):
    status = forms.ChoiceField(choices=Campaign.Status.choices)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject"), ("delegate", "Delegate")])
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    delegate_to = forms.IntegerField(required=False)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()]


class BrandProfileForm(forms.Form):
    palette = forms.CharField(required=False, help_text="Hex colours separated by commas, e.g. #5B4BFF, #141833")
    logo_required = forms.BooleanField(required=False, label="A logo is required")
    logo_position = forms.ChoiceField(choices=[("", "Anywhere")] + [(p, p) for p in LOGO_POSITIONS], required=False)
    logo_min_width_ratio = forms.FloatField(
        required=False, min_value=0, max_value=1, help_text="Minimum logo width as a share of the image width (0–1)."
    )
    fonts = forms.CharField(required=False, help_text="Allowed typefaces, separated by commas.")
    min_font_size = forms.IntegerField(required=False, min_value=0, max_value=200)
    no_all_caps = forms.BooleanField(required=False, initial=True, label="No ALL-CAPS words")
    require_cta = forms.BooleanField(required=False, initial=True, label="A call to action is required")
    cta_phrases = forms.CharField(
        required=False, label="CTA phrases", help_text="Accepted calls to action, separated by commas."
    )
    max_hashtags = forms.IntegerField(required=False, min_value=0, max_value=30)
    tone_of_voice = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    banned_words = forms.CharField(required=False, help_text="Words that must never appear, separated by commas.")

    @classmethod
    def initial_from(cls, profile) -> dict:
        logo, typo, layout = profile.logo_requirements or {}, profile.typography or {}, profile.layout or {}
        return {
            "palette": ", ".join(profile.palette or []),
            "logo_required": bool(logo.get("required")),
            "logo_position": logo.get("position", ""),
            "logo_min_width_ratio": logo.get("minWidthRatio"),
            "fonts": ", ".join(typo.get("fonts") or []),
            "min_font_size": typo.get("minFontSize"),
            "no_all_caps": typo.get("noAllCaps", True),
            "require_cta": layout.get("requireCta", True),
            "cta_phrases": ", ".join(layout.get("ctaPhrases") or []),
            "max_hashtags": layout.get("maxHashtags"),
            "tone_of_voice": profile.tone_of_voice,
            "banned_words": ", ".join(profile.banned_words or []),
        }

    def to_profile_data(self) -> dict:
        data = self.cleaned_data
        logo = {"required": data["logo_required"]}
        if data["logo_position"]:
            logo["position"] = data["logo_position"]
        if data["logo_min_width_ratio"] is not None:
            logo["minWidthRatio"] = data["logo_min_width_ratio"]
        typography = {"fonts": _split(data["fonts"]), "noAllCaps": data["no_all_caps"]}
        if data["min_font_size"] is not None:
            typography["minFontSize"] = data["min_font_size"]
        layout = {"requireCta": data["require_cta"], "ctaPhrases": _split(data["cta_phrases"])}
        if data["max_hashtags"] is not None:
            layout["maxHashtags"] = data["max_hashtags"]
        return {
            "palette": _split(data["palette"]),
            "logo_requirements": logo,
            "typography": typography,
            "layout": layout,
            "tone_of_voice": data["tone_of_voice"],
            "banned_words": _split(data["banned_words"]),
        }


class BrandAssetForm(forms.Form):
    file = forms.FileField()
    kind = forms.ChoiceField(choices=BrandAsset.Kind.choices)
    name = forms.CharField(max_length=200, required=False)


class MetricsCsvForm(forms.Form):
    file = forms.FileField(
        help_text="Columns: date, platform, variant_id or post_id, impressions, likes, shares, comments, "
        "clicks, conversions, spend"
    )


VALIDATION_LABELS = dict(ContentVariant.ValidationStatus.choices)
