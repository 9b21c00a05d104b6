"""Filters of the analytics pages (and of the follow-up insights): period (or custom range), team limited to the
user's teams, sort."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.utils.formats import date_format

from .selectors import PERIODS, SORT_KEYS, Period, period_resolve

MAX_CUSTOM_DAYS = 366
# The previous range of the same length (rank movement) must stay representable dates.
MIN_DATE = date(2, 1, 1)
# Each day's range ends where the next day starts, which must be a date too.
MAX_DATE = date.max - timedelta(days=1)


class PeriodFilterForm(forms.Form):
    """A named period, or a custom range of whole days (at most MAX_CUSTOM_DAYS); `default_period` when none.

    A refused filter falls back alone: a team that is not the user's still leaves the period asked for
    applied, and the other way round. What a refused choice falls back to is what its control then shows
    (a select cannot show a value it has no option for; it showed its first option, which was not what the
    figures were for), and `fallback_notes` says it in words under the errors. A refused custom range keeps
    the dates typed (to be corrected) and says which period is shown meanwhile."""

    default_period = "last_30"

    period = forms.ChoiceField(choices=list(PERIODS.items()), required=False)
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, default_period: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if default_period:
            self.default_period = default_period
        self.fields["period"].initial = self.default_period
        self.range_refused = False

    def clean(self):
        data = super().clean()
        if data.get("period") == "custom":
            # Each problem is the error of the date it is about, so the message is tied to that control (and
            # the API and CSV name the field); a date already refused on its own (not a date) says why itself.
            for name, problem in self._range_problems(data):
                self.range_refused = True
                if name not in self._errors:
                    self.add_error(name, problem)
        return data

    @staticmethod
    def _range_problems(data) -> list[tuple[str, str]]:
        start, end = data.get("date_from"), data.get("date_to")
        if not start or not end:
            missing = [name for name, day in (("date_from", start), ("date_to", end)) if not day]
            return [(name, "A custom range needs both dates.") for name in missing]
        if start > end:
            return [("date_from", "The range starts after it ends.")]
        if end - start > timedelta(days=MAX_CUSTOM_DAYS):
            return [("date_to", f"A custom range is at most {MAX_CUSTOM_DAYS} days.")]
        if start < MIN_DATE:
            return [("date_from", f"A custom range starts on {MIN_DATE} or later.")]
        if end > MAX_DATE:
            return [("date_to", f"A custom range ends on {MAX_DATE} or earlier.")]
        return []

    def full_clean(self):
        super().full_clean()
        if not self.is_bound or not self._errors:
            return
        # Each refused choice shows what is applied instead (see the class docstring).
        shown = self.data.copy()
        for name, field in self.fields.items():
            if name in self._errors and isinstance(field, forms.ChoiceField):
                shown[self.add_prefix(name)] = self._fallback_value(name)
        self.data = shown

    def _fallback_value(self, name: str):
        return self.default_period if name == "period" else (self.fields[name].initial or "")

    def applied(self, name: str):
        """A filter's value as applied: its cleaned value when it passed validation, else None (its default)."""
        self.is_valid()
        if name in self.errors:
            return None
        return getattr(self, "cleaned_data", {}).get(name)

    def resolved_period(self) -> Period:
        key = self.applied("period") or self.default_period
        if key == "custom" and self.range_refused:
            key = self.default_period
        return period_resolve(key, date_from=self.applied("date_from"), date_to=self.applied("date_to"))

    def fallback_notes(self) -> list[str]:
        """What the page shows instead of each refused filter, in words (empty when nothing was refused)."""
        if not self.is_bound or self.is_valid():
            return []
        notes = []
        if "period" in self.errors or self.range_refused:
            period = self.resolved_period()
            notes.append(
                f"Period: showing {PERIODS[period.key].lower()} "
                f"({date_format(period.date_from)} – {date_format(period.date_to)}) instead."
            )
        for name, field in self.fields.items():
            if name != "period" and name in self.errors and isinstance(field, forms.ChoiceField):
                value = str(self._fallback_value(name))
                label = next((str(text) for key, text in field.choices if str(key) == value), None)
                if label:  # the sort keys have no control (column links), hence no option to name
                    notes.append(f"{field.label or name.capitalize()}: showing “{label}” instead.")
        return notes


class TeamPeriodFilterForm(PeriodFilterForm):
    """The period and one of the given teams (the user's), or all of them."""

    team = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, *args, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.teams = list(teams)
        self.fields["team"].choices = [("", "All my teams")] + [(t.pk, t.name) for t in self.teams]

    def selected_team(self) -> int | None:
        """The team picked (already limited to the user's teams by the choices), None for all of them."""
        return self.applied("team")

    def team_ids(self) -> list[int]:
        """The selected team or all of them."""
        team = self.selected_team()
        return [team] if team else [t.pk for t in self.teams]


class AnalyticsFilterForm(TeamPeriodFilterForm):
    sort = forms.ChoiceField(choices=[(k, k) for k in sorted(SORT_KEYS)], required=False)
    dir = forms.ChoiceField(choices=[("asc", "asc"), ("desc", "desc")], required=False)

    def sort_order(self) -> tuple[str, bool]:
        return self.applied("sort") or "rank", self.applied("dir") == "desc"
