"""Forms validate input: the public survey answer and the response-list filters."""

from __future__ import annotations

from django import forms

from calls.selectors import agent_list_for_user, team_list_for_user

from .models import CES_MAX, CSAT_MAX, Category, SurveyResponse

COMMENT_MAX_LENGTH = 2000
QUESTION = "How likely are you to recommend us to a friend or colleague?"
CSAT_QUESTION = "How satisfied were you with the service you received? (optional)"
CES_QUESTION = "The company made it easy for me to handle my issue. (optional)"
CSAT_LABELS = {1: "Very dissatisfied", 5: "Very satisfied"}
CES_LABELS = {1: "Strongly disagree", 7: "Strongly agree"}


class SurveyAnswerForm(forms.Form):
    score = forms.TypedChoiceField(
        label=QUESTION,
        choices=[(str(n), str(n)) for n in range(11)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": "Please choose a score from 0 to 10."},
    )
    csat = forms.TypedChoiceField(
        label=CSAT_QUESTION,
        choices=[(str(n), str(n)) for n in range(1, CSAT_MAX + 1)],
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )
    ces = forms.TypedChoiceField(
        label=CES_QUESTION,
        choices=[(str(n), str(n)) for n in range(1, CES_MAX + 1)],
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label="What is the main reason for your score? (optional)",
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": COMMENT_MAX_LENGTH}),
    )
    opt_out = forms.BooleanField(label="Don't send me surveys again", required=False)


class ResponseFilterForm(forms.Form):
    category = forms.ChoiceField(choices=[("", "All categories"), *Category.choices], required=False)
    source = forms.ChoiceField(choices=[("", "All sources"), *SurveyResponse.Source.choices], required=False)
    agent = forms.ModelChoiceField(queryset=None, required=False, empty_label="All agents")
    team = forms.ModelChoiceField(queryset=None, required=False, empty_label="All teams")
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    primary_only = forms.BooleanField(required=False, label="Primary agent only")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Only agents and teams the user may see: a foreign id is simply an invalid choice.
        self.fields["agent"].queryset = agent_list_for_user(user).order_by("name", "employee_code")
        self.fields["team"].queryset = team_list_for_user(user).order_by("name")

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned
