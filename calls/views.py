"""The calls web UI: a filterable list and a call page. Views validate and render; selectors read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods

from . import roles, services
from .forms import CallFilterForm, CallImportForm
from .models import Call, CallImportFile
from .selectors import (
    call_annotate_metrics,
    call_default_period,
    call_detail_for_user,
    call_filter,
    call_import_get_for_user,
    call_import_list_for_user,
    call_list_for_user,
    call_page_rows,
    call_started_lookups,
    call_summary_for_list,
    call_timeline,
    customer_contacts,
)
from .templatetags.calls_tags import http_url_or_empty, transcript_lines

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


def _render_page_or_part(request: HttpRequest, template: str, part: str, context: dict) -> HttpResponse:
    """The whole page, or only its `part` (a template partial) for an htmx request. A history restore (back
    button after the cache expired) needs the whole page; caches keep the two apart (Vary: HX-Request)."""
    partial = request.htmx and not request.htmx.history_restore_request
    response = render(request, f"{template}#{part}" if partial else template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _all_dates_querystring(request: HttpRequest) -> str:
    query = request.GET.copy()
    query["date_from"], query["date_to"] = "", ""
    query.pop("page", None)
    return query.urlencode()


@login_required
@require_GET
def call_list(request: HttpRequest) -> HttpResponse:
    data = request.GET.copy()
    # Opening the list (no date parameter at all) shows the latest month, not every call ever imported;
    # an explicitly empty date (the "all dates" link, a cleared field) means no bound.
    default_period = None
    if "date_from" not in data and "date_to" not in data:
        default_period = call_default_period()
        if default_period is not None:
            data["date_from"], data["date_to"] = (day.isoformat() for day in default_period)
    form = CallFilterForm(data, user=request.user)
    # An invalid filter shows its errors and no rows, never the unfiltered list.
    filters = form.filters() if form.is_valid() else None
    # The period also narrows inside a supervisor's or agent's visible calls (each index-served part).
    calls = call_annotate_metrics(call_list_for_user(request.user, **call_started_lookups(**(filters or {}))))
    calls = call_filter(calls, **filters) if filters is not None else calls.none()
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
        "page_obj": page_obj,
        "calls": page_obj.object_list,
        "can_see_phone": roles.can_see_customer_phone(request.user),
        "default_period": default_period,
        "default_period_days": settings.CALLS_DEFAULT_PERIOD_DAYS,
        "all_dates_querystring": _all_dates_querystring(request),
        "querystring_prev": _page_querystring(request, page_obj.previous_page_number())
        if page_obj.has_previous()
        else "",
        "querystring_next": _page_querystring(request, page_obj.next_page_number())
        if page_obj.has_next()
        else "",
    }
    return _render_page_or_part(request, "calls/list.html", "results", context)


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
        "recording_url": http_url_or_empty(call.recording_url),
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
        },
    )


@login_required
@require_GET
def call_import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An import's progress while it runs (htmx polls the status part), then its outcome."""
    _require_importer(request)
    call_import = call_import_get_for_user(request.user, pk=pk)
    progress = None if call_import.finished else services.call_import_progress(call_import)
    context = {
        "call_import": call_import,
        "progress": progress,
        "percent": round(100 * progress[0] / progress[1]) if progress and progress[1] else None,
        "errors_shown": call_import.errors[:IMPORT_ERRORS_SHOWN],
        "errors_hidden": call_import.error_count - min(len(call_import.errors), IMPORT_ERRORS_SHOWN),
        "several_files": len(call_import.files.all()) > 1,
        "keep_days": settings.CALLS_IMPORT_KEEP_DAYS,
    }
    return _render_page_or_part(request, "calls/import_detail.html", "status", context)


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
