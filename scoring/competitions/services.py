"""Creating competitions (services: they change state)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from calls.models import Team

from .models import MAX_COMPETITION_DAYS, Competition
from .selectors import competition_teams_for_creator


@transaction.atomic
def competition_create(
    *,
    name: str,
    metric: str,
    teams: Iterable[Team],
    starts_on: date,
    ends_on: date,
    created_by,
    description: str = "",
) -> Competition:
    """Create a contest. Creator: a supervisor (teams they lead only) or an admin (any team); a non-empty name,
    a known metric, at least one team, ends_on on or after starts_on and at most MAX_COMPETITION_DAYS days."""
    allowed = {team.pk for team in competition_teams_for_creator(created_by)}  # PermissionDenied for others
    chosen = list(teams)
    errors: dict[str, str] = {}
    name = name.strip()
    if not name:
        errors["name"] = "Give the competition a name."
    if metric not in Competition.Metric.values:
        errors["metric"] = "Choose QA score or NPS."
    if not chosen:
        errors["teams"] = "Choose at least one team."
    elif any(team.pk not in allowed for team in chosen):
        raise PermissionDenied("You may only run competitions for teams you lead.")
    if ends_on < starts_on:
        errors["ends_on"] = "The competition cannot end before it starts."
    elif (ends_on - starts_on).days + 1 > MAX_COMPETITION_DAYS:
        errors["ends_on"] = f"A competition lasts at most {MAX_COMPETITION_DAYS} days."
    if errors:
        raise ValidationError(errors)
    competition = Competition.objects.create(
        name=name,
        description=description.strip(),
        metric=metric,
        starts_on=starts_on,
        ends_on=ends_on,
        created_by=created_by,
    )
    competition.teams.set(chosen)
    return competition
