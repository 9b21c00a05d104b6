"""The follow-up board and case pages. Views validate and call one service; selectors scope access."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from calls import roles
from qa_center.htmx import render_page_or_part
from scoring.analytics.exports import csv_download, filters_refused
from scoring.analytics.forms import TeamPeriodFilterForm

from . import insights, selectors, services
from .exports import root_causes_csv
from .forms import CloseForm, ContactAttemptForm
from .models import FollowUpCase

GROUP_TITLES = {
    "overdue": "Overdue",
    "due_soon": "Due soon",
    "open": "Open",
    "waiting": "Waiting on customer",
    "failed": "Dispatch failed",
}


@login_required
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    data = selectors.followup_board(request.user)
    groups = [
        {
            "name": name,
            "title": GROUP_TITLES[name],
            "rows": data["groups"][name],
            "count": data["counts"][name],
        }
        for name in selectors.GROUPS
    ]
    context = {
        "groups": groups,
        "has_cases": any(group["count"] for group in groups),
        "limit": data["limit"],
        "now": data["now"],
        "notifications": selectors.notification_unread_for_user(request.user),
    }
    return render_page_or_part(request, "followups/board.html", "groups", context)


def _insights_form(request: HttpRequest) -> TeamPeriodFilterForm:
    teams = insights.followup_insights_teams_for_user(request.user)  # PermissionDenied: agents, reviewers
    form = TeamPeriodFilterForm(request.GET or None, teams=teams)
    if roles.is_admin(request.user):
        form.fields["team"].choices = [("", "All teams")] + form.fields["team"].choices[1:]
    form.is_valid()
    return form


def _insights_for(request: HttpRequest, form: TeamPeriodFilterForm) -> dict:
    team = form.selected_team()
    # An admin's "all teams" is every case, those of agents without a team included.
    team_ids = [team] if team else (None if roles.is_admin(request.user) else form.team_ids())
    return insights.followup_insights(request.user, period=form.resolved_period(), team_ids=team_ids)


@login_required
@require_GET
def insights_page(request: HttpRequest) -> HttpResponse:
    form = _insights_form(request)
    data = _insights_for(request, form)
    # The CSV link carries the page's filters; it is left out while they are refused (the CSV would be a 400).
    context = {
        "form": form,
        "insights": data,
        "team_chosen": form.selected_team(),
        "querystring": request.GET.urlencode(),
    }
    return render_page_or_part(request, "followups/insights.html", "results", context)


@login_required
@require_GET
def insights_export(request: HttpRequest) -> HttpResponse:
    form = _insights_form(request)
    if refused := filters_refused(form):  # as the leaderboard's CSV
        return refused
    data = _insights_for(request, form)
    return csv_download(root_causes_csv(data), name="followup-root-causes", period=data["period"])


def _case_for_work(request: HttpRequest, pk: int) -> FollowUpCase:
    case = selectors.followup_case_get_for_user(request.user, pk=pk)
    if not selectors.followup_user_can_work(request.user, case):
        raise PermissionDenied("You may read this follow-up but not work on it.")
    return case


def _detail_context(request: HttpRequest, case: FollowUpCase, **forms) -> dict:
    from scoring.selectors import evaluation_list_for_call

    case = selectors.followup_case_detail(case)
    now = timezone.now()
    calendar = selectors.followup_case_calendar(case)
    return {
        "case": case,
        "now": now,
        "time_left": selectors.sla_time_left(case, now=now, calendar=calendar),
        "is_overdue": case.status == FollowUpCase.Status.OPEN and case.due_at <= now,
        "can_work": selectors.followup_user_can_work(request.user, case),
        "credits": case.response.credits.select_related("agent").order_by("leg"),
        "evaluations": evaluation_list_for_call(request.user, case.call),
        "attempt_form": forms.get("attempt_form") or ContactAttemptForm(),
        "close_form": forms.get("close_form") or CloseForm(),
    }


@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.followup_case_get_for_user(request.user, pk=pk)
    return render(request, "followups/detail.html", _detail_context(request, case))


@login_required
@require_POST
def attempt_log(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_for_work(request, pk)
    form = ContactAttemptForm(request.POST)
    if not form.is_valid():
        return render(
            request, "followups/detail.html", _detail_context(request, case, attempt_form=form), status=400
        )
    try:
        services.followup_contact_attempt_log(case=case, by=request.user, **form.cleaned_data)
    except services.FollowUpStateError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Contact attempt logged.")
    return redirect("followups:detail", pk=case.pk)


@login_required
@require_POST
def pause(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_for_work(request, pk)
    try:
        services.followup_pause(case=case, by=request.user)
    except services.FollowUpStateError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Waiting on the customer: the SLA clock is paused.")
    return redirect("followups:detail", pk=case.pk)


@login_required
@require_POST
def resume(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_for_work(request, pk)
    try:
        case = services.followup_resume(case=case, by=request.user)
    except services.FollowUpStateError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Resumed: the due time moved by the time spent waiting.")
    return redirect("followups:detail", pk=case.pk)


@login_required
@require_POST
def close(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_for_work(request, pk)
    form = CloseForm(request.POST)
    if not form.is_valid():
        return render(
            request, "followups/detail.html", _detail_context(request, case, close_form=form), status=400
        )
    try:
        services.followup_close(case=case, by=request.user, **form.cleaned_data)
    except services.FollowUpStateError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Follow-up closed.")
    return redirect("followups:detail", pk=case.pk)


@login_required
@require_POST
def retry_dispatch(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_for_work(request, pk)
    try:
        services.followup_dispatch_retry(case=case, by=request.user)
    except services.FollowUpStateError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Dispatch queued again.")
    return redirect("followups:detail", pk=case.pk)


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    services.notification_mark_read(user=request.user)
    return redirect("followups:board")


def followup_call_panel(request: HttpRequest, call) -> dict | None:
    """The call page's follow-up panel (registered with calls.views.register_call_panel); shown only if
    the user may see the case."""
    if not request.user.is_authenticated:
        return None
    case = selectors.followup_case_list_for_user(request.user).filter(call=call).first()
    if case is None:
        return None
    return {"template": "followups/_call_panel.html", "case": case}
