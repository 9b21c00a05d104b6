"""The "New competition" form: validates the input; competition_create applies the rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from calls.models import Team

from .models import MAX_COMPETITION_DAYS, Competition


class CompetitionForm(forms.Form):
    name = forms.CharField(label="Name", max_length=120)
    description = forms.CharField(
        label="Description", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    metric = forms.ChoiceField(
        label="Ranked on",
        choices=Competition.Metric.choices,
        initial=Competition.Metric.QA,
        widget=forms.RadioSelect,
        help_text="QA score: the leaderboard's fair rank (lower 95% bound of the shrunk score). "
        "NPS: the lower bound of each agent's 95% NPS interval.",
    )
    teams = forms.ModelMultipleChoiceField(
        label="Teams",
        queryset=Team.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="The contest covers the teams' active agents.",
    )
    starts_on = forms.DateField(label="Starts on", widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(
        label="Ends on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=f"Both days included; at most {MAX_COMPETITION_DAYS} days in all.",
    )

    def __init__(self, *args: Any, teams: list[Team], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["teams"].queryset = Team.objects.filter(pk__in=[t.pk for t in teams]).order_by("name")

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the competition a name.")
        return name

    def clean_ends_on(self):
        ends_on = self.cleaned_data["ends_on"]
        if ends_on < timezone.localdate():
            raise forms.ValidationError("A new competition cannot have ended already.")
        return ends_on
