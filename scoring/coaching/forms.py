"""The "Record coaching" form: validates the input; coaching_session_create applies the rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from ..models import Criterion, Evaluation
from .services import MAX_FOCUS


class CoachingSessionForm(forms.Form):
    held_on = forms.DateField(label="Held on", widget=forms.DateInput(attrs={"type": "date"}))
    focus_criteria = forms.TypedMultipleChoiceField(
        label="Focus criteria",
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text=f"1 to {MAX_FOCUS}. Preselected: the agent's criteria furthest below the team's pass rate "
        "over the last 30 days.",
    )
    evaluations = forms.TypedMultipleChoiceField(
        label="Evaluations discussed",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Optional: the agent's recent reviews you went through together.",
    )
    notes = forms.CharField(label="Notes", max_length=10000, widget=forms.Textarea(attrs={"rows": 5}))
    agreed_actions = forms.CharField(
        label="Agreed actions", required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    follow_up_on = forms.DateField(
        label="Follow up on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional: when you plan to check in again.",
    )

    def __init__(
        self, *args: Any, criteria: list[Criterion], evaluations: list[Evaluation], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.criteria = {c.pk: c for c in criteria}
        self.evaluation_rows = {e.pk: e for e in evaluations}
        self.fields["focus_criteria"].choices = [(c.pk, f"{c.question} ({c.key})") for c in criteria]
        self.fields["evaluations"].choices = [
            (
                e.pk,
                f"{e.submitted_at:%Y-%m-%d} · call {e.call.external_id} · score "
                f"{'—' if e.score is None else e.score}",
            )
            for e in evaluations
        ]
        if not evaluations:
            self.fields["evaluations"].help_text = "The agent has no submitted reviews yet."

    def clean_held_on(self):
        held_on = self.cleaned_data["held_on"]
        if held_on > timezone.localdate():
            raise forms.ValidationError(
                "The session has to have taken place: the date cannot be in the future."
            )
        return held_on

    def clean_focus_criteria(self):
        chosen = self.cleaned_data["focus_criteria"]
        if len(chosen) > MAX_FOCUS:
            raise forms.ValidationError(f"Choose at most {MAX_FOCUS} criteria.")
        return [self.criteria[pk] for pk in chosen]

    def clean_evaluations(self):
        return [self.evaluation_rows[pk] for pk in self.cleaned_data["evaluations"]]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        held_on, follow_up_on = cleaned.get("held_on"), cleaned.get("follow_up_on")
        if held_on and follow_up_on and follow_up_on < held_on:
            self.add_error("follow_up_on", "The follow-up cannot be before the session.")
        return cleaned
