from __future__ import annotations

from django import forms

from .models import ContactAttempt, FollowUpCase, RootCause


class ContactAttemptForm(forms.ModelForm):
    class Meta:
        model = ContactAttempt
        fields = ["channel", "result", "note"]
        widgets = {"note": forms.Textarea(attrs={"rows": 2})}


class CloseForm(forms.Form):
    outcome = forms.ChoiceField(choices=[("", "— choose —"), *FollowUpCase.Outcome.choices])
    root_cause = forms.ModelChoiceField(
        queryset=RootCause.objects.filter(is_active=True), empty_label="— choose —"
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
