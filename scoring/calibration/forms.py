"""The calibration page's filters: a period (as on the analytics pages) and a scorecard version."""

from __future__ import annotations

from datetime import timedelta

from django import forms

from scoring.analytics.selectors import PERIODS, Period, period_resolve

from ..models import Scorecard

MAX_CUSTOM_DAYS = 366
# Calibration samples are small (a few calls a week): a quarter is the useful default window.
DEFAULT_PERIOD = "last_90"


class CalibrationFilterForm(forms.Form):
    period = forms.ChoiceField(choices=list(PERIODS.items()), required=False, initial=DEFAULT_PERIOD)
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    scorecard = forms.ModelChoiceField(
        queryset=Scorecard.objects.none(), required=False, empty_label="All scorecards"
    )

    def __init__(self, *args, scorecards, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scorecard"].queryset = scorecards

    def clean(self):
        data = super().clean()
        if data.get("period") == "custom":
            start, end = data.get("date_from"), data.get("date_to")
            if not start or not end:
                raise forms.ValidationError("A custom range needs both dates.")
            if start > end:
                raise forms.ValidationError("The range starts after it ends.")
            if end - start > timedelta(days=MAX_CUSTOM_DAYS):
                raise forms.ValidationError(f"A custom range is at most {MAX_CUSTOM_DAYS} days.")
        return data

    def resolved_period(self) -> Period:
        data = self.cleaned_data if self.is_valid() else {}
        return period_resolve(
            data.get("period") or DEFAULT_PERIOD, date_from=data.get("date_from"), date_to=data.get("date_to")
        )

    def selected_scorecard(self) -> Scorecard | None:
        return self.cleaned_data.get("scorecard") if self.is_valid() else None
