"""Creating and cancelling competitions (services: they change state)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from calls.models import Team

from .models import MAX_COMPETITION_DAYS, Competition
from .selectors import can_manage_competition, competition_teams_for_creator


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


@transaction.atomic
def competition_cancel(*, competition: Competition, user) -> Competition:
    """Call a contest off. User: an admin, or a supervisor leading every one of its teams; the contest has not
    finished and was not cancelled already (the row is locked, so two cancels cannot both pass)."""
    if not can_manage_competition(user, competition):
        raise PermissionDenied(
            "Only an admin, or a supervisor of every team in it, can cancel this competition."
        )
    locked = Competition.objects.select_for_update().get(pk=competition.pk)
    if locked.cancelled_at is not None:
        raise ValidationError("This competition was already cancelled.")
    if timezone.localdate() > locked.ends_on:
        raise ValidationError("A finished competition stands: it can no longer be cancelled.")
    locked.cancelled_at = timezone.now()
    locked.cancelled_by = user
    locked.save(update_fields=["cancelled_at", "cancelled_by"])
    return locked
