"""Competition pages: the list, a contest's standings, the form to start one, and calling one off."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..views._common import form_add_service_errors
from . import selectors, services
from .forms import CompetitionForm

_STATUS_ORDER = {selectors.RUNNING: 0, selectors.UPCOMING: 1, selectors.FINISHED: 2, selectors.CANCELLED: 3}


@login_required
@require_GET
def competition_list(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    competitions = list(selectors.competition_list_for_user(request.user))  # 403 for reviewers
    entries = []
    for competition in competitions:
        status, days_left = selectors.competition_status(competition, today=today)
        entries.append({"competition": competition, "status": status, "days_left": days_left})
    # Running first (ending soonest first), then upcoming (starting soonest first), then finished (latest first),
    # the cancelled last.
    entries.sort(
        key=lambda e: (
            _STATUS_ORDER[e["status"]],
            e["competition"].ends_on.toordinal()
            if e["status"] == selectors.RUNNING
            else e["competition"].starts_on.toordinal()
            if e["status"] == selectors.UPCOMING
            else -e["competition"].ends_on.toordinal(),  # finished and cancelled: latest first
            e["competition"].pk,
        )
    )
    return render(
        request,
        "competitions/list.html",
        {"entries": entries, "can_create": selectors.can_create_competition(request.user)},
    )


@login_required
@require_GET
def competition_detail(request: HttpRequest, pk: int) -> HttpResponse:
    competition = selectors.competition_get_for_user(request.user, pk=pk)  # 404 outside the user's teams
    today = timezone.localdate()
    standings = selectors.competition_standings(competition, today=today)
    view = selectors.standings_for_viewer(standings, selectors.competition_viewer(request.user))
    return render(
        request,
        "competitions/detail.html",
        {
            "competition": competition,
            "standings": standings,
            "view": view,
            "can_cancel": selectors.can_cancel_competition(request.user, competition, today=today),
        },
    )


@login_required
@require_POST
def competition_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    competition = selectors.competition_get_for_user(request.user, pk=pk)  # 404 outside the user's teams
    try:
        services.competition_cancel(competition=competition, user=request.user)  # 403 for non-managers
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Competition cancelled.")
    return redirect("competitions:detail", pk=competition.pk)


@login_required
@require_http_methods(["GET", "POST"])
def competition_new(request: HttpRequest) -> HttpResponse:
    teams = selectors.competition_teams_for_creator(request.user)  # 403 for agents and reviewers
    form = CompetitionForm(request.POST or None, teams=teams)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            competition = services.competition_create(
                name=data["name"],
                description=data["description"],
                metric=data["metric"],
                teams=data["teams"],
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                created_by=request.user,
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, "Competition created.")
            return redirect("competitions:detail", pk=competition.pk)
    return render(request, "competitions/form.html", {"form": form}, status=422 if form.errors else 200)
