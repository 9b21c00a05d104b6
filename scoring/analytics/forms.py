"""Filters of the analytics pages (and of the follow-up insights): period (or custom range), team limited to the
user's teams, sort."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms

from .selectors import PERIODS, SORT_KEYS, Period, period_resolve

MAX_CUSTOM_DAYS = 366
# The previous range of the same length (rank movement) must stay representable dates.
MIN_DATE = date(2, 1, 1)
# Each day's range ends where the next day starts, which must be a date too.
MAX_DATE = date.max - timedelta(days=1)


class PeriodFilterForm(forms.Form):
    """A named period, or a custom range of whole days (at most MAX_CUSTOM_DAYS); `default_period` when none."""

    default_period = "last_30"

    period = forms.ChoiceField(choices=list(PERIODS.items()), required=False)
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period"].initial = self.default_period

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
            if start < MIN_DATE:
                raise forms.ValidationError(f"A custom range starts on {MIN_DATE} or later.")
            if end > MAX_DATE:
                raise forms.ValidationError(f"A custom range ends on {MAX_DATE} or earlier.")
        return data

    def resolved_period(self) -> Period:
        data = self.cleaned_data if self.is_valid() else {}
        return period_resolve(
            data.get("period") or self.default_period,
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


class TeamPeriodFilterForm(PeriodFilterForm):
    """The period and one of the given teams (the user's), or all of them."""

    team = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, *args, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.teams = list(teams)
        self.fields["team"].choices = [("", "All my teams")] + [(t.pk, t.name) for t in self.teams]

    def selected_team(self) -> int | None:
        """The team picked (already limited to the user's teams by the choices), None for all of them."""
        return self.cleaned_data.get("team") if self.is_valid() else None

    def team_ids(self) -> list[int]:
        """The selected team or all of them."""
        team = self.selected_team()
        return [team] if team else [t.pk for t in self.teams]


class AnalyticsFilterForm(TeamPeriodFilterForm):
    sort = forms.ChoiceField(choices=[(k, k) for k in sorted(SORT_KEYS)], required=False)
    dir = forms.ChoiceField(choices=[("asc", "asc"), ("desc", "desc")], required=False)

    def sort_order(self) -> tuple[str, bool]:
        data = self.cleaned_data if self.is_valid() else {}
        return data.get("sort") or "rank", data.get("dir") == "desc"
