"""The evaluation export's filters: the analytics period and team filter, plus agent, scorecard version and kind."""

from __future__ import annotations

from django import forms

from ..analytics.forms import TeamPeriodFilterForm
from ..models import Evaluation


class EvaluationExportFilterForm(TeamPeriodFilterForm):
    """A period (the last 30 days unless told; submission dates, local), one of the user's teams, one of the
    agents the user may look at, a scorecard version and a kind. Choices are limited to what the user may see,
    so a foreign team or agent is refused (a 400 naming the field on the CSV), not silently emptied."""

    agent = forms.ModelChoiceField(queryset=None, required=False, empty_label="All agents")
    scorecard = forms.ModelChoiceField(queryset=None, required=False, empty_label="All scorecards")
    kind = forms.ChoiceField(choices=[("", "All kinds"), *Evaluation.Kind.choices], required=False)

    def __init__(self, *args, agents, scorecards, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = agents
        self.fields["scorecard"].queryset = scorecards
        self.fields["scorecard"].label_from_instance = lambda card: f"{card.name} v{card.version}"
