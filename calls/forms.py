"""Forms of the calls web UI. They validate; the selectors do the reading."""

from __future__ import annotations

from typing import Any

from django import forms

from . import roles
from .models import Channel, Department
from .selectors import agent_list_for_user, team_list_for_user

YES_NO_ANY = [("", "Any"), ("yes", "Yes"), ("no", "No")]


def _yes_no_field(label: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label, choices=YES_NO_ANY, coerce=lambda value: value == "yes", empty_value=None, required=False
    )


class CallFilterForm(forms.Form):
    """Filters of the calls list. Agent and team choices are only those the user may see, so a foreign
    id is rejected as an invalid choice rather than silently widening or narrowing the list."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Call or customer id, name"}),
    )
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    agent = forms.ModelChoiceField(label="Agent", queryset=None, required=False, empty_label="All agents")
    team = forms.ModelChoiceField(label="Team", queryset=None, required=False, empty_label="All teams")
    department = forms.ModelChoiceField(
        label="Department", queryset=Department.objects.all(), required=False, empty_label="All departments"
    )
    channel = forms.ChoiceField(
        label="Channel", choices=[("", "All channels"), *Channel.choices], required=False
    )
    transferred = _yes_no_field("Transferred")
    escalated = _yes_no_field("Escalated")
    resolved = _yes_no_field("Resolved")
    fcr = _yes_no_field("First-contact resolved")

    def __init__(self, *args: Any, user, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["agent"].queryset = agent_list_for_user(user).select_related(None)
        self.fields["team"].queryset = team_list_for_user(user)
        if roles.can_see_customer_phone(user):
            self.fields["q"].widget.attrs["placeholder"] = "Call or customer id, name, phone"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for selectors.call_filter, from a valid form."""
        data = self.cleaned_data
        return {
            "agent": data["agent"],
            "team": data["team"],
            "department": data["department"],
            "date_from": data["date_from"],
            "date_to": data["date_to"],
            "channel": data["channel"],
            "is_transferred": data["transferred"],
            "is_escalated": data["escalated"],
            "is_resolved": data["resolved"],
            "is_first_contact_resolution": data["fcr"],
            "search": data["q"],
            "search_phone": roles.can_see_customer_phone(self.user),
        }
