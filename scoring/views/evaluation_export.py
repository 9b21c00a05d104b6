"""The raw-data export of evaluations (CSV, one row per answer), for BI tools and spreadsheets."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from calls import roles
from calls.selectors import agent_list_for_user, team_list_for_user

from ..analytics.exports import csv_stream_download, filters_refused
from ..calibration.selectors import calibration_scorecards
from ..evaluation_export.exports import COLUMNS, evaluation_export_lines
from ..evaluation_export.forms import EvaluationExportFilterForm
from ..evaluation_export.selectors import EXPORT_CHUNK, ExportFilters, evaluation_export_rows
from ..models import Scorecard


def export_filter_form(user, data=None, *, teams=None, **kwargs) -> EvaluationExportFilterForm:
    """The export's filters, their choices limited to the teams and agents the user may look at (`teams`: those
    already read by the page that shows the form, the same ones)."""
    form = EvaluationExportFilterForm(
        data or None,
        teams=team_list_for_user(user).order_by("name") if teams is None else teams,
        agents=agent_list_for_user(user),
        scorecards=calibration_scorecards(),
        **kwargs,
    )
    if roles.is_admin(user):
        form.fields["team"].choices = [("", "All teams")] + form.fields["team"].choices[1:]
    return form


def export_query(
    *, period, team: int | None = None, scorecard: Scorecard | None = None
) -> list[tuple[str, str]]:
    """The export's query for a page's period (and team, scorecard): the period as its dates (custom), so the file
    holds the days the page showed even when the link is followed another day."""
    query = [
        ("period", "custom"),
        ("date_from", period.date_from.isoformat()),
        ("date_to", period.date_to.isoformat()),
    ]
    if team:
        query.append(("team", str(team)))
    if scorecard is not None:
        query.append(("scorecard", str(scorecard.pk)))
    return query


@login_required
@require_GET
def evaluation_export(request: HttpRequest) -> HttpResponse:
    """Every answer of the submitted evaluations the user may read (as on the evaluation pages), filtered,
    streamed; a refused filter is a 400 naming it, as on the other CSV downloads."""
    form = export_filter_form(request.user, request.GET)
    if refused := filters_refused(form):
        return refused
    filters = ExportFilters(
        period=form.resolved_period(),
        team=form.selected_team(),
        agent=form.applied("agent"),
        scorecard=form.applied("scorecard"),
        kind=form.applied("kind"),
    )
    rows = evaluation_export_rows(request.user, filters).iterator(chunk_size=EXPORT_CHUNK)
    return csv_stream_download(
        COLUMNS, evaluation_export_lines(rows), name="evaluations", period=filters.period
    )
