"""The calls web UI: a filterable list and a call page. Views validate and render; selectors read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from . import roles
from .forms import CallFilterForm
from .models import Call
from .selectors import (
    call_annotate_metrics,
    call_default_period,
    call_detail_for_user,
    call_filter,
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
    # A history restore (back button after the cache expired) needs the whole page, not the fragment.
    partial = request.htmx and not request.htmx.history_restore_request
    template = "calls/list.html#results" if partial else "calls/list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
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
