from __future__ import annotations

from django import forms

from ..models import ShoutOut


class ShoutOutForm(forms.Form):
    message = forms.CharField(
        label="What did they do well?",
        max_length=ShoutOut._meta.get_field("message").max_length,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The agent reads it as written, on My QA and in their notices.",
    )
    evaluation = forms.ModelChoiceField(
        label="For the call (optional)", queryset=None, required=False, empty_label="No particular call"
    )

    def __init__(self, *args, evaluations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["evaluation"].queryset = evaluations
        self.fields["evaluation"].label_from_instance = lambda e: (
            f"{e.call.external_id} · {e.submitted_at:%Y-%m-%d} · score {e.score if e.score is not None else '—'}"
        )
