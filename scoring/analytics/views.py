"""Supervisor analytics pages. Views validate filters and render; selectors compute and scope."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from qa_center.htmx import render_page_or_part

from ..coaching import selectors as coaching_selectors
from ..shoutouts.selectors import can_give_shout_out, shout_out_list_for_agent
from . import selectors
from .exports import csv_download, filters_refused, leaderboard_csv
from .forms import AnalyticsFilterForm

COACHING_ROWS = 10
SHOUT_OUT_ROWS = 5


def _form(request: HttpRequest) -> AnalyticsFilterForm:
    teams = selectors.analytics_teams_for_user(request.user)  # PermissionDenied for agents
    form = AnalyticsFilterForm(request.GET or None, teams=teams)
    form.is_valid()
    return form


@login_required
@require_GET
def leaderboard(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    sort, descending = form.sort_order()
    board = selectors.leaderboard(
        team_ids=form.team_ids(), period=form.resolved_period(), sort=sort, descending=descending
    )
    # Ranks and sorting are over every agent; only the page's rows are rendered (500 rows of
    # 20 cells cost more to render than the rollup queries).
    page_obj = Paginator(board["rows"], settings.ANALYTICS_LEADERBOARD_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    filters = request.GET.copy()
    filters.pop("page", None)
    query = filters.copy()
    query.pop("sort", None)
    query.pop("dir", None)

    def page_querystring(number: int) -> str:
        paged = filters.copy()
        paged["page"] = str(number)
        return paged.urlencode()

    return render_page_or_part(
        request,
        "analytics/leaderboard.html",
        "results",
        {
            "form": form,
            "board": board,
            "page_obj": page_obj,
            "querystring_prev": page_querystring(page_obj.previous_page_number())
            if page_obj.has_previous()
            else "",
            "querystring_next": page_querystring(page_obj.next_page_number()) if page_obj.has_next() else "",
            "sort": sort,
            "descending": descending,
            "base_query": query.urlencode(),
            "querystring": filters.urlencode(),
            "min_evaluations": settings.ANALYTICS_MIN_EVALUATIONS,
        },
    )


@login_required
@require_GET
def leaderboard_export(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    if refused := filters_refused(form):  # as the API refuses them
        return refused
    sort, descending = form.sort_order()
    board = selectors.leaderboard(
        team_ids=form.team_ids(), period=form.resolved_period(), sort=sort, descending=descending
    )
    return csv_download(leaderboard_csv(board), name="leaderboard", period=board["period"])


@login_required
@require_GET
def teams(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    period = form.resolved_period()
    trend = selectors.department_weekly_trend(team_ids=form.team_ids(), period=period)
    departments = sorted({row["department"] for row in trend})
    chart = {
        "weeks": sorted({row["week"].isoformat() for row in trend}),
        "series": [
            {
                "label": dep,
                "qa": {r["week"].isoformat(): r["qa_mean"] for r in trend if r["department"] == dep},
                "nps": {r["week"].isoformat(): r["nps"] for r in trend if r["department"] == dep},
            }
            for dep in departments
        ],
    }
    return render_page_or_part(
        request,
        "analytics/teams.html",
        "results",
        {
            "form": form,
            "period": period,
            "rows": selectors.team_figures(team_ids=form.team_ids(), period=period),
            "trend": trend,
            "chart_data": chart,
        },
    )


@login_required
@require_GET
def agent_page(request: HttpRequest, pk: int) -> HttpResponse:
    agent = selectors.analytics_agent_get_for_user(request.user, pk=pk)  # 404 for a foreign agent
    # The team filter picks the team the agent is compared with, among the teams the viewer may see
    # (an agent: only their own); empty means the agent's own team. A leaderboard link carries its
    # period and team here.
    form = AnalyticsFilterForm(
        request.GET or None,
        teams=selectors.analytics_comparison_teams_for_user(request.user),
        default_period="last_90",
    )
    form.fields["team"].choices = [("", "The agent's team")] + form.fields["team"].choices[1:]
    form.is_valid()
    period = form.resolved_period()
    team_id = form.selected_team()
    team = next((t for t in form.teams if t.pk == team_id), None) if team_id else None
    overview = selectors.agent_overview(agent=agent, period=period, team=team)
    chart = {
        "weeks": [w["week"].isoformat() for w in overview["weeks"]],
        "qa": [w["qa_mean"] for w in overview["weeks"]],
        "team_qa": [w["team_qa_mean"] for w in overview["weeks"]],
        "nps": [w["nps"] for w in overview["weeks"]],
        "nps_low": [w["nps_low"] for w in overview["weeks"]],
        "nps_high": [w["nps_high"] for w in overview["weeks"]],
        "team_nps": [w["team_nps"] for w in overview["weeks"]],
    }
    return render(
        request,
        "analytics/agent.html",
        {
            "agent": agent,
            "form": form,
            "period": period,
            "comparison_team": team or agent.team,
            "overview": overview,
            "chart_data": chart,
            "evaluations": selectors.agent_recent_evaluations(agent=agent),
            "followups": selectors.agent_open_followups(agent=agent),
            **_coaching_context(request.user, agent),
            "shout_outs": list(shout_out_list_for_agent(agent)[:SHOUT_OUT_ROWS]),
            "can_shout_out": can_give_shout_out(request.user, agent),
        },
    )


def _coaching_context(user, agent) -> dict:
    """The page's "Coaching" section: the agent's sessions the viewer may read and how the latest went;
    for the agent themselves, their supervisors and admins only (a reviewer reads no coaching)."""
    may_coach = coaching_selectors.can_coach(user, agent)
    if not may_coach and agent.user_id != user.pk:
        return {"show_coaching": False}
    sessions = list(coaching_selectors.coaching_session_list_for_agent(user, agent=agent)[:COACHING_ROWS])
    for session in sessions:
        session.can_acknowledge = coaching_selectors.can_acknowledge_coaching(user, session)
    return {
        "show_coaching": True,
        "can_coach": may_coach,
        "coaching_sessions": sessions,
        "coaching_latest": sessions[0] if sessions else None,
        "coaching_effect": coaching_selectors.coaching_effect(sessions[0]) if sessions else None,
    }


@login_required
@require_GET
def my_analytics(request: HttpRequest) -> HttpResponse:
    """The nav's "My analytics": an agent's own page (a fixed URL, so the menu needs no query)."""
    agent = selectors.analytics_own_agent_for_user(request.user)
    url = reverse("analytics:agent", args=[agent.pk])
    query = request.GET.urlencode()
    return redirect(f"{url}?{query}" if query else url)


@login_required
@require_GET
def drivers(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    period = form.resolved_period()
    return render_page_or_part(
        request,
        "analytics/drivers.html",
        "results",
        {
            "form": form,
            "period": period,
            "drivers": selectors.nps_drivers(team_ids=form.team_ids(), period=period),
        },
    )


@login_required
@require_GET
def transfers(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    period = form.resolved_period()
    analysis = selectors.transfer_analysis(team_ids=form.team_ids(), period=period)
    return render_page_or_part(
        request,
        "analytics/transfers.html",
        "results",
        {
            "form": form,
            "period": period,
            "analysis": analysis,
        },
    )


def chart_json(data) -> str:
    return json.dumps(data)
