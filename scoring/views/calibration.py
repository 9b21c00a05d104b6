"""The calibration page: agreement between reviewers who scored the same calls, and each one's bias."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from calls import roles
from qa_center.htmx import render_page_or_part

from ..calibration import agreement
from ..calibration.forms import CalibrationFilterForm
from ..calibration.selectors import calibration_report, calibration_scorecards
from ._common import require_any_role
from .evaluation_export import export_query


@login_required
@require_GET
def calibration(request: HttpRequest) -> HttpResponse:
    require_any_role(request.user, roles.REVIEWER, roles.SUPERVISOR)  # admins pass; agents get 403
    form = CalibrationFilterForm(request.GET or None, scorecards=calibration_scorecards())
    form.is_valid()
    period = form.resolved_period()
    report = calibration_report(
        request.user,
        date_from=period.date_from,
        date_to=period.date_to,
        scorecard=form.selected_scorecard(),
    )
    return render_page_or_part(
        request,
        "scoring/calibration.html",
        "results",
        {
            "form": form,
            "period": period,
            "report": report,
            # The ratings behind the figures as raw data (every kind the user may read, one row per answer).
            "evaluation_export_query": urlencode(
                export_query(period=period, scorecard=form.selected_scorecard())
            ),
            "reliable": agreement.RELIABLE,
            "tentative": agreement.TENTATIVE,
            "is_reviewer_only": roles.is_reviewer(request.user)
            and not (roles.is_admin(request.user) or roles.is_supervisor(request.user)),
        },
    )
