"""The calls web UI: a filterable list and a call page. Views validate and render; selectors read."""

from __future__ import annotations

import csv
import functools
import itertools
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import markdown
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods

from qa_center.htmx import render_page_or_part

from . import roles, services
from .forms import CallFilterForm, CallImportForm
from .models import Call, CallImportFile
from .recordings import SPEEDS, recording_for
from .selectors import (
    call_annotate_metrics,
    call_default_period,
    call_detail_for_user,
    call_import_get_for_user,
    call_import_list_for_user,
    call_list_filtered_for_user,
    call_list_for_user,
    call_page_rows,
    call_repeat_window_open,
    call_summary_for_list,
    call_timeline,
    customer_contacts,
)
from .templatetags.calls_tags import transcript_lines

# How many of the customer's other contacts to show on each side of the call.
CUSTOMER_HISTORY_LIMIT = 25
# The imports page lists this many recent imports; an import's page shows this many of its errors.
IMPORTS_LISTED = 50
IMPORT_ERRORS_SHOWN = 500

# --- extension point for other apps -----------------------------------------------------------------
# `calls` never imports `scoring`; scoring (or any app) registers a panel for the call page from its
# AppConfig.ready():
#
#     from calls.views import register_call_panel
#     register_call_panel(evaluations_panel)   # (request, call) -> {"template": ..., ...} or None
#
# Each returned dict is included on the call page as `{% include panel.template with panel=panel %}`.
CallPanel = Callable[[HttpRequest, Call], dict[str, Any] | None]
_call_panels: list[CallPanel] = []


def register_call_panel(panel: CallPanel) -> CallPanel:
    """Add a panel to the call page (idempotent, so a reloaded AppConfig does not add it twice)."""
    if panel not in _call_panels:
        _call_panels.append(panel)
    return panel


def _page_querystring(request: HttpRequest, number: int) -> str:
    query = request.GET.copy()
    query["page"] = str(number)
    return query.urlencode()


def _export_querystring(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _all_dates_querystring(request: HttpRequest) -> str:
    query = request.GET.copy()
    query["date_from"], query["date_to"] = "", ""
    query.pop("page", None)
    return query.urlencode()


def _filtered_calls(request: HttpRequest):
    """(form, filters, default period, calls) of the calls list's query string, for the list and its CSV.

    Opening the list (no date parameter at all) shows the latest month, not every call ever imported; an
    explicitly empty date (the "all dates" link, a cleared field) means no bound. An invalid filter gives
    no rows (filters None), never the unfiltered list.
    """
    data = request.GET.copy()
    default_period = None
    if "date_from" not in data and "date_to" not in data:
        default_period = call_default_period()
        if default_period is not None:
            data["date_from"], data["date_to"] = (day.isoformat() for day in default_period)
    form = CallFilterForm(data, user=request.user)
    filters = form.filters() if form.is_valid() else None
    if filters is None:
        calls = call_annotate_metrics(call_list_for_user(request.user)).none()
    else:
        calls = call_list_filtered_for_user(request.user, **filters)
    return form, filters, default_period, calls


@login_required
@require_GET
def call_list(request: HttpRequest) -> HttpResponse:
    form, filters, default_period, calls = _filtered_calls(request)
    summary = call_summary_for_list(request.user, calls, filters)

    # Paginate ids only, then annotate just the page's rows: with the metric subqueries in the SELECT
    # list, PostgreSQL evaluated them for every row skipped by OFFSET (page 2000 of 200k calls: 21 s).
    paginator = Paginator(calls.values_list("pk", flat=True), settings.CALLS_PAGE_SIZE)
    # The summary has just counted these very rows: spare the paginator a second COUNT over them.
    paginator.count = summary["calls"]
    page_obj = paginator.get_page(request.GET.get("page"))
    page_obj.object_list = list(call_page_rows(list(page_obj.object_list)))
    context = {
        "form": form,
        "summary": summary,
        "repeat_window_open": bool(summary["calls"])
        and call_repeat_window_open(calls, date_to=(filters or {}).get("date_to")),
        "repeat_window_days": settings.REPEAT_CONTACT_WINDOW_DAYS,
        "page_obj": page_obj,
        "calls": page_obj.object_list,
        "can_see_phone": roles.can_see_customer_phone(request.user),
        "default_period": default_period,
        "default_period_days": settings.CALLS_DEFAULT_PERIOD_DAYS,
        "all_dates_querystring": _all_dates_querystring(request),
        # A search that finds nothing between dates (a call id pasted from an older ticket): offer all dates.
        "search_all_dates": bool(
            filters and filters["search"].strip() and (filters["date_from"] or filters["date_to"])
        ),
        "export_querystring": _export_querystring(request),
        "querystring_prev": _page_querystring(request, page_obj.previous_page_number())
        if page_obj.has_previous()
        else "",
        "querystring_next": _page_querystring(request, page_obj.next_page_number())
        if page_obj.has_next()
        else "",
    }
    # The filter form comes along: its controls' error wiring must match the errors the results now show.
    return render_page_or_part(request, "calls/list.html", "results", context, oob_parts=("filters",))


EXPORT_CHUNK = 2000
# The CSV's columns and the values behind them (read as plain tuples: no model objects per row).
EXPORT = (
    ("external_id", "external_id"),
    ("channel", "channel"),
    ("direction", "direction"),
    ("started_at", "started_at"),
    ("answered_at", "answered_at"),
    ("ended_at", "ended_at"),
    ("wait_seconds", "wait_seconds"),
    ("talk_seconds", "talk_seconds"),
    ("hold_seconds", "hold_seconds"),
    ("wrap_seconds", "wrap_seconds"),
    ("handle_seconds", "handle_seconds_total"),
    ("department", "department__name"),
    ("agent_employee_code", "agent__employee_code"),
    ("agent_name", "agent__name"),
    ("agent_team", "agent__team__name"),
    ("customer_external_id", "customer__external_id"),
    ("customer_name", "customer__name"),
    ("customer_phone", "customer__phone"),
    ("customer_tier", "customer__tier"),
    ("disposition", "disposition"),
    ("resolved", "is_resolved"),
    ("transfers", "transfer_count"),
    ("escalated", "is_escalated"),
    ("first_contact_resolution", "is_first_contact_resolution"),
    ("repeat_contact", "has_repeat_contact"),
    ("recording_url", "recording_url"),
)
EXPORT_COLUMNS = tuple(column for column, _ in EXPORT)
_EXPORT_FIELDS = tuple(field for _, field in EXPORT)
_PHONE = EXPORT_COLUMNS.index("customer_phone")


class _Echo:
    """A file-like object whose write returns the line: csv.writer then yields rows to stream."""

    def write(self, value: str) -> str:
        return value


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9][0-9 ().-]*")


def _spreadsheet_safe(text: str) -> str:
    """Text a spreadsheet will not run: a cell starting like a formula (=, +, -, @) gets a leading quote
    (OWASP's CSV-injection advice), unless it is a plain number such as a phone (+15551234567)."""
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _export_rows(ids: list[int], *, can_see_phone: bool):
    """The CSV rows of these calls, in list order, a chunk of ids at a time: times in the site's zone with
    their offset, booleans as true/false, empty for none, phones masked unless the user may see them."""
    zone = timezone.get_current_timezone()
    for chunk in itertools.batched(ids, EXPORT_CHUNK):
        values = (
            call_annotate_metrics(Call.objects.filter(pk__in=chunk))
            .order_by("-started_at", "-id")
            .values_list(*_EXPORT_FIELDS)
        )
        for row in values:
            cells = []
            for value in row:
                if value is None:
                    cells.append("")
                elif value is True or value is False:
                    cells.append("true" if value else "false")
                elif isinstance(value, datetime):
                    cells.append(value.astimezone(zone).isoformat())
                elif isinstance(value, str):  # names and ids come from imported files: never formulas
                    cells.append(_spreadsheet_safe(value))
                else:
                    cells.append(value)
            if not can_see_phone:
                cells[_PHONE] = roles.mask_phone(cells[_PHONE])
            yield cells


@login_required
@require_GET
def call_list_csv(request: HttpRequest) -> HttpResponse:
    """The calls of the list's filters as CSV (streamed), for a spreadsheet: what the list shows and the
    figures behind it; phones masked as on the page; times in the site's time zone."""
    _form, filters, _period, calls = _filtered_calls(request)
    if filters is None:
        return HttpResponse(
            "Invalid filters: open the calls list to see why.", status=400, content_type="text/plain"
        )
    limit = settings.CALLS_EXPORT_MAX_ROWS
    # The ids in list order first (one ordinary query), then their rows a chunk at a time by primary key,
    # as the list's pages are read: a server-side cursor over the whole annotated query got a fast-start
    # plan that took 4.7 s for a supervisor's 12,000 calls among 1.8M, against 0.9 s this way.
    ids = list(calls.order_by("-started_at", "-id").values_list("pk", flat=True)[: limit + 1])
    if len(ids) > limit:
        return HttpResponse(
            f"More than {limit} calls match: a download holds at most {limit}. "
            "Narrow the filters (a shorter period).",
            status=400,
            content_type="text/plain",
        )
    rows = _export_rows(ids, can_see_phone=roles.can_see_customer_phone(request.user))
    writer = csv.writer(_Echo())
    # A byte-order mark first: without it Excel reads UTF-8 as the machine's code page (José → JosÃ©).
    header = "\ufeff" + writer.writerow(EXPORT_COLUMNS)
    lines = itertools.chain([header], (writer.writerow(row) for row in rows))
    # Sent a few hundred rows at a time rather than a piece per row.
    response = StreamingHttpResponse(
        ("".join(piece) for piece in itertools.batched(lines, 500)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = content_disposition_header(
        True, f"calls-{timezone.localdate():%Y-%m-%d}.csv"
    )
    return response


@login_required
@require_GET
def call_detail(request: HttpRequest, pk: int) -> HttpResponse:
    call = call_detail_for_user(request.user, pk=pk)
    contacts = customer_contacts(call, user=request.user)
    earlier = Q(started_at__lt=call.started_at) | Q(started_at=call.started_at, pk__lt=call.pk)
    previous_contacts = list(contacts.filter(earlier)[: CUSTOMER_HISTORY_LIMIT + 1])
    later_contacts = list(
        contacts.exclude(earlier).order_by("started_at", "id")[: CUSTOMER_HISTORY_LIMIT + 1]
    )

    agent_names = tuple(name for name in (call.agent.name if call.agent else "",) if name)
    customer_names = tuple(name for name in (call.customer.name if call.customer else "",) if name)
    context = {
        "call": call,
        "timeline": call_timeline(call),
        "transcript": transcript_lines(
            call.transcript, agent_names=agent_names, customer_names=customer_names
        ),
        "recording": recording_for(call.recording_url, request),
        "recording_speeds": SPEEDS,
        "can_see_phone": roles.can_see_customer_phone(request.user),
        "previous_contacts": previous_contacts[:CUSTOMER_HISTORY_LIMIT],
        "previous_contacts_truncated": len(previous_contacts) > CUSTOMER_HISTORY_LIMIT,
        "later_contacts": later_contacts[:CUSTOMER_HISTORY_LIMIT],
        "later_contacts_truncated": len(later_contacts) > CUSTOMER_HISTORY_LIMIT,
        "history_limit": CUSTOMER_HISTORY_LIMIT,
        "repeat_window_days": settings.REPEAT_CONTACT_WINDOW_DAYS,
        "call_panels": [panel for hook in _call_panels if (panel := hook(request, call))],
    }
    return render(request, "calls/detail.html", context)


# --- imports uploaded in the web UI -------------------------------------------------------------------


def _require_importer(request: HttpRequest) -> None:
    if not roles.can_import_calls(request.user):
        raise PermissionDenied("Only administrators (or users allowed to import calls) may import calls.")


@login_required
@require_http_methods(["GET", "POST"])
def call_import_list(request: HttpRequest) -> HttpResponse:
    """Upload files for an import (it runs in the background) and see the recent imports."""
    _require_importer(request)
    max_bytes = settings.CALLS_IMPORT_UPLOAD_MAX_BYTES
    if request.method == "POST":
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > max_bytes + 64 * 1024:  # refuse before reading a body that cannot be accepted
            return HttpResponse(
                f"The upload is larger than {max_bytes / 2**20:.0f} MiB: use manage.py import_calls.",
                status=413,
                content_type="text/plain",
            )
        form = CallImportForm(request.POST, request.FILES, max_bytes=max_bytes)
        if form.is_valid():
            call_import = services.call_import_create(
                user=request.user,
                uploads=[
                    services.Upload(name=upload.name, data=upload.read())
                    for upload in form.cleaned_data["files"]
                ],
                partial=form.cleaned_data["partial"],
                timezone_name=form.cleaned_data["timezone"],
                encoding=form.cleaned_data["encoding"],
                date_order=form.cleaned_data["date_order"],
            )
            return redirect("calls:import-detail", pk=call_import.pk)
    else:
        form = CallImportForm(max_bytes=max_bytes)
    imports = call_import_list_for_user(request.user)[:IMPORTS_LISTED]
    return render(
        request,
        "calls/imports.html",
        {
            "form": form,
            "imports": imports,
            "max_mib": max_bytes / 2**20,
            "site_time_zone": settings.TIME_ZONE,
            "samples": list(IMPORT_SAMPLES),
        },
    )


IMPORT_FORMAT_DOC = settings.BASE_DIR / "docs" / "import-format.md"


@functools.cache
def _import_format_html(modified: float) -> str:
    """docs/import-format.md as HTML (the project's own text: its markup is trusted), once per version."""
    text = IMPORT_FORMAT_DOC.read_text(encoding="utf-8")
    return markdown.markdown(text, extensions=["tables", "fenced_code", "toc"], output_format="html")


@login_required
@require_GET
def call_import_format(request: HttpRequest) -> HttpResponse:
    """The import format (docs/import-format.md), for whoever prepares the files."""
    _require_importer(request)
    html = _import_format_html(IMPORT_FORMAT_DOC.stat().st_mtime)
    return render(request, "calls/import_format.html", {"document": mark_safe(html)})  # noqa: S308


# Sample files in the documented format (docs/samples/): the same two calls as JSON Lines and as CSV files.
IMPORT_SAMPLES = {
    "calls.jsonl": "application/x-ndjson",
    "calls.csv": "text/csv",
    "transfers.csv": "text/csv",
    "escalations.csv": "text/csv",
}


@login_required
@require_GET
def call_import_sample(request: HttpRequest, name: str) -> FileResponse:
    """A sample file to start an export from."""
    _require_importer(request)
    if name not in IMPORT_SAMPLES:
        raise Http404("No such sample file.")
    path = settings.BASE_DIR / "docs" / "samples" / name
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=name,
        content_type=f"{IMPORT_SAMPLES[name]}; charset=utf-8",
    )


@login_required
@require_GET
def call_import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An import's progress while it runs (htmx polls the status part), then its outcome."""
    _require_importer(request)
    call_import = call_import_get_for_user(request.user, pk=pk)
    progress = services.call_import_progress(call_import)
    errors_shown = call_import.errors[:IMPORT_ERRORS_SHOWN]
    file_names = [stored.name for stored in call_import.files.all()]
    context = {
        "call_import": call_import,
        "progress": progress,
        "percent": round(100 * progress[0] / progress[1]) if progress and progress[1] else None,
        "errors_shown": errors_shown,
        "errors_hidden": call_import.error_count - min(len(call_import.errors), IMPORT_ERRORS_SHOWN),
        # Which file each problem is in, when there is a choice: several files, or the sheets of a workbook
        # or the files of a zip archive (errors then name them: export.xlsx[Transfers]).
        "several_files": len(file_names) > 1
        or any(error["file"] not in file_names for error in errors_shown),
        "keep_days": settings.CALLS_IMPORT_KEEP_DAYS,
    }
    return render_page_or_part(request, "calls/import_detail.html", "status", context)


@login_required
@require_GET
def call_import_rejects(request: HttpRequest, pk: int, position: int) -> HttpResponse:
    """Download the rejects file of one of an import's files: exactly the rows not imported, with why."""
    _require_importer(request)
    call_import = call_import_get_for_user(request.user, pk=pk)
    stored = get_object_or_404(
        CallImportFile.objects.only("rejects", "rejects_name"), call_import=call_import, position=position
    )
    if stored.rejects is None:
        raise Http404("This file has no rejected rows")
    response = HttpResponse(bytes(stored.rejects), content_type="application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(True, stored.rejects_name)
    return response
