"""Forms of the calls web UI. They validate; the selectors do the reading."""

from __future__ import annotations

from datetime import UTC, date
from typing import Any

from django import forms
from django.conf import settings

from . import roles
from .importers import ImportSetupError
from .importers.runner import resolve_timezone
from .models import Channel, Department
from .selectors import agent_list_for_user, call_started_lookups, team_list_for_user

YES_NO_ANY = [("", "Any"), ("yes", "Yes"), ("no", "No")]


def _yes_no_field(label: str, *, title: str = "") -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=YES_NO_ANY,
        coerce=lambda value: value == "yes",
        empty_value=None,
        required=False,
        widget=forms.Select(attrs={"title": title} if title else None),
    )


def _day_is_searchable(day: date) -> bool:
    """Whether the day's bounds as the list filters on them exist in UTC: the last day of year 9999 (its end is
    in year 10000), or the first of year 1 in a zone ahead of UTC, made the list answer 500."""
    try:
        for moment in call_started_lookups(date_from=day, date_to=day).values():
            moment.astimezone(UTC)
    except OverflowError:
        return False
    return True


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
    # Yes and No both keep identified callers' calls only: an anonymous call's FCR is unknown (calls.selectors).
    fcr = _yes_no_field(
        "First-contact resolved",
        title="Identified callers' calls only: an anonymous caller's first-contact resolution is unknown",
    )

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
        for name in ("date_from", "date_to"):
            day = cleaned.get(name)
            if day is not None and not _day_is_searchable(day):
                self.add_error(name, "This date is out of range.")
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


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern): cleans to a list of uploaded files."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple) and not data:
            data = None  # no file at all: the single-file clean says "required"
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)]


# The encodings offered for uploads (the command line and the API take any name Python knows).
FILE_ENCODINGS = [
    ("", "UTF-8 (the default)"),
    ("cp1252", "Windows-1252 (Western Europe, Americas)"),
    ("iso8859-1", "ISO-8859-1 (Latin-1)"),
    ("iso8859-15", "ISO-8859-15 (Latin-9)"),
    ("cp1250", "Windows-1250 (Central Europe)"),
    ("cp1251", "Windows-1251 (Cyrillic)"),
    ("mac-roman", "Mac OS Roman"),
    ("shift_jis", "Shift JIS (Japanese)"),
]


class CallImportForm(forms.Form):
    """Upload of call files for an import (the formats of docs/import-format.md)."""

    files = MultipleFileField(
        label="Files",
        help_text="JSON Lines (.jsonl), a JSON array (.json) or CSV (.csv: a calls file, plus transfers and "
        "escalations files if you have them), or any of them gzipped (.gz) or together in a zip archive (.zip); "
        "or a workbook (Excel .xlsx or .xls, OpenDocument .ods) with calls, transfers and escalations sheets.",
        widget=MultipleFileInput(
            attrs={"accept": ".jsonl,.ndjson,.json,.csv,.txt,.gz,.zip,.xlsx,.xlsm,.xls,.ods"}
        ),
    )
    partial = forms.BooleanField(
        label="Import the good rows and reject the bad ones",
        required=False,
        help_text="Otherwise one bad row means nothing is imported.",
    )
    timezone = forms.CharField(
        label="Time zone of times without an offset",
        required=False,
        max_length=64,
        help_text="An IANA name such as Europe/Paris, or a fixed offset such as +01:00; empty: the site's time zone.",
    )

    encoding = forms.ChoiceField(
        label="Character encoding",
        required=False,
        choices=FILE_ENCODINGS,
        help_text="Of files without a byte-order mark. Excel's plain “CSV” on Windows saves Windows-1252 in "
        "Western Europe and the Americas; its “CSV UTF-8” and most systems save UTF-8.",
    )

    date_order = forms.ChoiceField(
        label="Dates written like 11/2/2026 9:15",
        required=False,
        choices=[
            ("", "Refuse them (ISO 8601 times only)"),
            ("mdy", "Month/day/year (United States)"),
            ("dmy", "Day/month/year (most other countries)"),
        ],
        help_text="How a spreadsheet writes times once it has opened and saved a file; year-first dates "
        "(2026/11/02 9:15) need no choice.",
    )

    def __init__(self, *args, max_bytes: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_bytes = max_bytes
        self.fields["timezone"].widget.attrs["placeholder"] = settings.TIME_ZONE

    def clean_files(self):
        files = self.cleaned_data["files"]
        total = sum(upload.size for upload in files)
        if total > self.max_bytes:
            raise forms.ValidationError(
                f"The files add up to {total / 2**20:.1f} MiB; an upload may hold at most "
                f"{self.max_bytes / 2**20:.0f} MiB. Import bigger files with `manage.py import_calls`."
            )
        empty = [upload.name for upload in files if not upload.size]
        if empty:
            raise forms.ValidationError(f"Empty file: {', '.join(empty)}.")
        return files

    def clean_timezone(self):
        name = self.cleaned_data["timezone"].strip()
        if name:
            try:
                resolve_timezone(
                    name
                )  # the importer's own check, so the worker never meets a zone it refuses
            except ImportSetupError:
                raise forms.ValidationError(f"Unknown time zone {name!r}.") from None
        return name
