from datetime import timedelta

from django import forms
from django.utils import timezone

from integrations.models import DataSource

MAX_RANGE_DAYS = 366 * 3


class AnalysisFilterForm(forms.Form):
    """The page's filter: date range and an optional source of the current workspace."""

    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    source = forms.ModelChoiceField(queryset=DataSource.objects.none(), required=False, empty_label="All sources")

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = DataSource.objects.filter(workspace=workspace).order_by("name")

    def clean(self):
        data = super().clean()
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if date_from and date_from > timezone.localdate():
            self.add_error("date_from", "The start date is in the future: pick today or an earlier day.")
        elif date_from and date_to:
            if date_to < date_from:
                self.add_error("date_to", "The end date is before the start date: swap them or pick a later end.")
            elif date_to - date_from >= timedelta(days=MAX_RANGE_DAYS):
                self.add_error("date_from", f"The range may span at most {MAX_RANGE_DAYS} days.")
        return data

    def filters(self) -> dict:
        data = self.cleaned_data
        source = data.get("source")
        return {
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
            "source_id": source.id if source else None,
        }
