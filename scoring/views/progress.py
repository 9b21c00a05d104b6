"""The QA progress page (supervisors and admins): reviewers' workload and agents' coverage in a period, and
its agent table as CSV."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from calls import roles
from qa_center.htmx import render_page_or_part

from ..analytics.exports import csv_download, filters_refused
from ..progress import selectors
from ..progress.exports import agent_coverage_csv
from ..progress.forms import ProgressFilterForm
from .evaluation_export import export_filter_form, export_query


def _progress_form(request: HttpRequest) -> ProgressFilterForm:
    # PermissionDenied (403) for agents and reviewers, as on the coaching overview and the follow-up insights.
    teams = selectors.progress_teams_for_user(request.user)
    form = ProgressFilterForm(request.GET or None, teams=teams)
    if roles.is_admin(request.user):
        form.fields["team"].choices = [("", "All teams")] + form.fields["team"].choices[1:]
    form.is_valid()
    return form


def _progress_for(request: HttpRequest, form: ProgressFilterForm) -> selectors.QaProgress:
    team = form.selected_team()
    # An admin's "all teams" is every active agent, those without a team included.
    team_ids = [team] if team else (None if roles.is_admin(request.user) else form.team_ids())
    return selectors.qa_progress(period=form.resolved_period(), team_ids=team_ids)


def _export_form(request: HttpRequest, form: ProgressFilterForm, progress: selectors.QaProgress):
    """The evaluation export's filters for this page (only shown, never validated here): the page's agents to
    choose from (read already), a scorecard, a kind."""
    export_form = export_filter_form(request.user, teams=form.teams, auto_id="export_%s")
    agents = sorted(progress.agents, key=lambda row: (row.name, row.employee_code))
    export_form.fields["agent"].choices = [("", "All agents")] + [
        (row.agent_id, f"{row.name} ({row.employee_code})") for row in agents
    ]
    return export_form


@login_required
@require_GET
def progress(request: HttpRequest) -> HttpResponse:
    form = _progress_form(request)
    progress = _progress_for(request, form)
    # The reviews behind the page's figures as raw data: its period and team, narrowed further if wished.
    evaluation_export = export_query(period=progress.period, team=form.selected_team())
    context = {
        "form": form,
        "progress": progress,
        "team_chosen": form.selected_team(),
        "querystring": request.GET.urlencode(),
        "evaluation_export_query": urlencode(evaluation_export),
        "evaluation_export_hidden": evaluation_export,
        "evaluation_export_form": _export_form(request, form, progress),
    }
    return render_page_or_part(request, "scoring/progress.html", "results", context)


@login_required
@require_GET
def progress_export(request: HttpRequest) -> HttpResponse:
    form = _progress_form(request)
    if refused := filters_refused(form):  # a file has no room for the page's error beside default figures
        return refused
    data = _progress_for(request, form)
    return csv_download(agent_coverage_csv(data), name="qa-coverage", period=data.period)
