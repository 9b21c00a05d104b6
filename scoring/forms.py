"""Forms of the QA web UI. They validate input; `scoring.services` change state."""

from __future__ import annotations

from typing import Any

from django import forms

from calls.models import Call, Channel, Department

from . import autocheck
from .legs import Leg
from .models import Assignment, Criterion, Dispute, Scorecard, Section
from .ui_support import criterion_choices

# =====================================================================================================
# Workspace
# =====================================================================================================


class AnswerForm(forms.Form):
    """One criterion's answer as posted by the workspace (htmx autosave or the full no-JS form).

    Field names carry the criterion prefix (`c12-value`, `c12-comment`, …) so every criterion of the
    scorecard fits in one HTML form."""

    value = forms.ChoiceField(required=False)
    comment = forms.CharField(required=False, max_length=5000, widget=forms.Textarea)
    quote = forms.CharField(required=False, max_length=5000, widget=forms.Textarea)
    offset_seconds = forms.IntegerField(required=False, min_value=0, max_value=24 * 3600)

    def __init__(self, *args: Any, criterion: Criterion, applies: bool, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", f"c{criterion.pk}")
        super().__init__(*args, **kwargs)
        self.criterion = criterion
        self.fields["value"].choices = [("", "—"), *criterion_choices(criterion, applies=applies)]

    @property
    def has_answer(self) -> bool:
        return bool(self.cleaned_data.get("value"))

    @property
    def is_touched(self) -> bool:
        """Anything posted for this criterion at all (an empty no-JS row is simply skipped)."""
        data = self.cleaned_data
        return bool(data.get("value") or data.get("comment") or data.get("quote"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("value") and (cleaned.get("comment") or cleaned.get("quote")):
            self.add_error("value", "Choose an answer first: a comment is saved with its answer.")
        return cleaned

    def service_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for services.evaluation_answer (a valid form with an answer)."""
        data = self.cleaned_data
        is_na = data["value"] == "na"
        return {
            "value": None if is_na else int(data["value"]),
            "is_na": is_na,
            "comment": data["comment"].strip(),
            "quote": data["quote"].strip(),
            "offset_seconds": data["offset_seconds"],
        }


class SummaryForm(forms.Form):
    summary = forms.CharField(
        label="Overall feedback to the agent", required=False, max_length=10000, widget=forms.Textarea
    )


# =====================================================================================================
# Queue and assignment
# =====================================================================================================


class LegChoiceField(forms.TypedChoiceField):
    """The leg of one call to assign: its agent id, among the legs the user may assign. A posted id that
    is not one of the call's legs, or is a leg the user may not assign, gets a field error saying which."""

    def __init__(self, *, call: Call, legs: list[Leg], assignable: list[Leg], queued: set[int], **kwargs):
        order = {leg.agent.pk: number for number, leg in enumerate(legs, start=1)}
        choices = [
            (
                leg.agent.pk,
                f"{order[leg.agent.pk]}. {leg.label}{' (in a queue)' if leg.agent.pk in queued else ''}",
            )
            for leg in assignable
        ]
        super().__init__(coerce=int, choices=choices, required=False, **kwargs)
        self.call = call
        self.leg_ids = {str(leg.agent.pk) for leg in legs}
        self.assignable_ids = {str(leg.agent.pk) for leg in assignable}

    def validate(self, value: Any) -> None:
        if value in self.empty_values:
            return
        if str(value) not in self.leg_ids:
            raise forms.ValidationError(
                "That agent did not handle a leg of call %(call)s: choose one of its legs.",
                code="not_a_leg",
                params={"call": self.call.external_id},
            )
        if str(value) not in self.assignable_ids:
            raise forms.ValidationError(
                "You may not assign that leg of call %(call)s: its agent is not in one of your teams.",
                code="not_your_team",
                params={"call": self.call.external_id},
            )


class AssignForm(forms.Form):
    """Put the ticked calls in one reviewer's queue, each for the leg picked on its row (`leg-<call id>`:
    the agent to evaluate; blank or absent: the default leg, see `selectors.default_leg`)."""

    reviewer = forms.ModelChoiceField(label="Reviewer", queryset=None, empty_label="Choose a reviewer")
    purpose = forms.ChoiceField(
        label="Purpose",
        choices=[(Assignment.Purpose.MANUAL, "Manual"), (Assignment.Purpose.CALIBRATION, "Calibration")],
        initial=Assignment.Purpose.MANUAL,
    )
    note = forms.CharField(label="Note for the reviewer", required=False, max_length=300)
    calls = forms.TypedMultipleChoiceField(label="Calls", coerce=int, choices=())

    def __init__(
        self,
        *args: Any,
        reviewers,
        call_ids: list[int],
        pickers: list[tuple[Call, list[Leg], list[Leg], set[int], Leg | None]] = (),
        **kwargs: Any,
    ) -> None:
        """call_ids: the calls that may be ticked; pickers: per call on the page (call, its legs, those the
        user may assign, the agent ids of its legs already in a queue, the leg preselected)."""
        super().__init__(*args, **kwargs)
        self.fields["reviewer"].queryset = reviewers
        self.fields["reviewer"].label_from_instance = lambda user: user.get_full_name() or user.username
        self.fields["calls"].choices = [(pk, str(pk)) for pk in call_ids]
        self.fields["calls"].error_messages["required"] = "Tick at least one call."
        for call, legs, assignable, queued, preselected in pickers:
            self.fields[self.leg_field_name(call.pk)] = LegChoiceField(
                call=call,
                legs=legs,
                assignable=assignable,
                queued=queued,
                label=f"Leg of {call.external_id}",
                initial=preselected.agent.pk if preselected is not None else None,
            )

    @staticmethod
    def leg_field_name(call_id: int) -> str:
        return f"leg-{call_id}"

    def picked_legs(self) -> list[tuple[int, int | None]]:
        """(call id, agent id or None for the default leg) for each ticked call (a valid form)."""
        return [
            (call_id, self.cleaned_data.get(self.leg_field_name(call_id)) or None)
            for call_id in self.cleaned_data["calls"]
        ]


# =====================================================================================================
# Disputes
# =====================================================================================================


class DisputeOpenForm(forms.Form):
    """Per criterion: a checkbox `dispute-<id>` and a reason `reason-<id>`; plus an overall reason."""

    reason = forms.CharField(
        label="Overall comment (optional)", required=False, max_length=5000, widget=forms.Textarea
    )

    def __init__(self, *args: Any, criteria: list[Criterion], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.criteria = criteria
        for criterion in criteria:
            self.fields[f"dispute-{criterion.pk}"] = forms.BooleanField(
                required=False, label=criterion.question
            )
            self.fields[f"reason-{criterion.pk}"] = forms.CharField(
                required=False, max_length=2000, label="Why", widget=forms.Textarea(attrs={"rows": 2})
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        items = {}
        for criterion in self.criteria:
            if cleaned.get(f"dispute-{criterion.pk}"):
                reason = (cleaned.get(f"reason-{criterion.pk}") or "").strip()
                if not reason:
                    self.add_error(f"reason-{criterion.pk}", "Say why you disagree with this answer.")
                items[criterion.pk] = reason
        if not items:
            raise forms.ValidationError("Tick at least one criterion you disagree with.")
        cleaned["items"] = items
        return cleaned


class DisputeResolveForm(forms.Form):
    """Uphold, or adjust the disputed criteria (`value-<id>`; blank keeps the current answer)."""

    outcome = forms.ChoiceField(
        label="Decision",
        choices=[
            (Dispute.Status.UPHELD, "Uphold (no change)"),
            (Dispute.Status.ADJUSTED, "Adjust the answers"),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label="Reason for the decision", max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, disputed: list[tuple[Criterion, bool]], **kwargs: Any) -> None:
        """disputed: (criterion, applies to the call) for each disputed criterion."""
        super().__init__(*args, **kwargs)
        self.disputed = disputed
        for criterion, applies in disputed:
            self.fields[f"value-{criterion.pk}"] = forms.ChoiceField(
                label=criterion.question,
                required=False,
                choices=[("", "Keep"), *criterion_choices(criterion, applies=applies)],
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        new_answers: dict[int, int | None] = {}
        for criterion, _ in self.disputed:
            value = cleaned.get(f"value-{criterion.pk}")
            if value:
                new_answers[criterion.pk] = None if value == "na" else int(value)
        if cleaned.get("outcome") == Dispute.Status.ADJUSTED and not new_answers:
            raise forms.ValidationError("Choose at least one new answer, or uphold the evaluation.")
        if cleaned.get("outcome") == Dispute.Status.UPHELD and new_answers:
            raise forms.ValidationError("Upholding changes no answers: clear the new values, or adjust.")
        cleaned["new_answers"] = new_answers
        return cleaned


# =====================================================================================================
# Scorecard builder
# =====================================================================================================


class ScorecardMetaForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    channels = forms.MultipleChoiceField(
        choices=Channel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked = every channel.",
    )
    departments = forms.ModelMultipleChoiceField(
        queryset=Department.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked = every department.",
    )


class ScorecardCreateForm(ScorecardMetaForm):
    family = forms.SlugField(
        max_length=100, help_text="A stable identifier shared by every version, e.g. chat-qa."
    )
    field_order = ["family", "name", "description", "channels", "departments"]

    def clean_family(self) -> str:
        family = self.cleaned_data["family"]
        if Scorecard.objects.filter(family=family).exists():
            raise forms.ValidationError("This family already exists: make a new version of it instead.")
        return family


class SectionForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    position = forms.IntegerField(required=False, min_value=0, max_value=32000, help_text="Blank = last.")


class CriterionForm(forms.Form):
    key = forms.SlugField(max_length=80, help_text="Unique on this scorecard, e.g. greeting_brand.")
    question = forms.CharField(max_length=300)
    guidance = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    weight = forms.DecimalField(max_digits=7, decimal_places=2, min_value=0.01, initial=1)
    scale = forms.ChoiceField(choices=Criterion.Scale.choices, initial=Criterion.Scale.YES_NO)
    max_points = forms.IntegerField(
        min_value=1, max_value=100, initial=1, help_text="For a points scale (yes/no is always 1)."
    )
    allows_na = forms.BooleanField(label="N/A allowed", required=False)
    is_critical = forms.BooleanField(label="Critical (failing it fails the evaluation)", required=False)
    applicability = forms.ChoiceField(choices=Criterion.Applicability.choices, initial="always")
    auto_phrases = forms.CharField(
        label="Auto-check phrases",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=(
            "Optional, yes/no criteria only. One phrase per line (at most 20, each up to 200 characters): "
            "when the agent says one of them, the review page suggests Yes and shows the line; otherwise "
            "it suggests No. Case and punctuation are ignored; phrases match whole words only. "
            "The reviewer always decides."
        ),
    )
    auto_scope = forms.ChoiceField(
        label="Auto-check looks at",
        required=False,
        choices=Criterion.AutoScope.choices,
        initial=Criterion.AutoScope.ANYWHERE,
        help_text="Which of the agent's transcript lines the phrases are looked for in.",
    )
    section = forms.ModelChoiceField(queryset=Section.objects.none(), empty_label=None)
    position = forms.IntegerField(required=False, min_value=0, max_value=32000, help_text="Blank = last.")

    def __init__(self, *args: Any, scorecard: Scorecard, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["section"].queryset = Section.objects.filter(scorecard=scorecard).order_by(
            "position", "id"
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("scale") == Criterion.Scale.YES_NO:
            cleaned["max_points"] = 1
        # Not posted (an older form, a script): the model's default.
        cleaned["auto_scope"] = cleaned.get("auto_scope") or Criterion.AutoScope.ANYWHERE
        if "auto_phrases" in cleaned and cleaned.get("scale"):
            for message in autocheck.phrase_errors(cleaned["auto_phrases"], scale=cleaned["scale"]):
                self.add_error("auto_phrases", message)
        return cleaned
