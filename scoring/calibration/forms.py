"""The calibration page's filters: a period (as on the analytics pages) and a scorecard version."""

from __future__ import annotations

from django import forms

from scoring.analytics.forms import PeriodFilterForm

from ..models import Scorecard


class CalibrationFilterForm(PeriodFilterForm):
    # Calibration samples are small (a few calls a week): a quarter is the useful default window.
    default_period = "last_90"

    scorecard = forms.ModelChoiceField(
        queryset=Scorecard.objects.none(), required=False, empty_label="All scorecards"
    )

    def __init__(self, *args, scorecards, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scorecard"].queryset = scorecards

    def selected_scorecard(self) -> Scorecard | None:
        return self.applied("scorecard")
