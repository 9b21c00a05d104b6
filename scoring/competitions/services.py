"""Creating and cancelling competitions (services: they change state)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from calls.models import Agent, Team
from scoring.models import Notice
from scoring.notices.services import notice_email_never_tried

from .models import MAX_COMPETITION_DAYS, Competition
from .selectors import can_manage_competition, competition_standings, competition_teams_for_creator


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


# --- the end of a contest -------------------------------------------------------------------------------------


def _result_details(competition: Competition, standings, row: dict) -> dict:
    """What one participant is told: their result as it stood when the contest ended (kept in the notice)."""
    leaders = standings.leaders
    return {
        "competition_id": competition.pk,
        "name": competition.name,
        "metric": competition.metric,
        "rank": row["rank"],  # None below the minimum (rank_rows), and for agents with nothing in the period
        "ranked": len(standings.rows),
        "score": None if row.get("score") is None else round(float(row["score"]), 1),
        "needed": row.get("needed"),
        "unit": standings.unit,
        "winning_score": round(float(leaders[0]["score"]), 1) if leaders else None,
        "winners": len(leaders),
    }


def notice_create_for_finished_competitions(*, today: date | None = None) -> int:
    """Tell each participant (an active agent of the contest's teams with an active login) how a contest that
    has ended went for them (beat, daily): their rank and score, or how many more evaluations they needed, and
    the winning score (agents see no one else's row).

    Every contest that ended in the last QA_COMPETITION_NOTICE_DAYS days, is not cancelled and has told nobody
    yet, so a late or missed run loses none (older ones never: a first deploy does not announce old contests),
    and a contest is told once, as it stood the first morning it was (someone joining a team later is not told
    of a contest they were not in). A contest's notices are one INSERT: all or none. Concurrent runs insert one
    per participant (`notice_one_per_event_recipient_no_evaluation`, the contest in the event key; ON CONFLICT
    DO NOTHING). With QA_NOTICE_EMAIL, e-mails them. Returns how many participants were told (a racing run's
    rows are kept once by the database)."""
    today = today or timezone.localdate()
    since = today - timedelta(days=settings.QA_COMPETITION_NOTICE_DAYS)
    untold = (
        Competition.objects.filter(ends_on__lt=today, ends_on__gte=since, cancelled_at__isnull=True)
        .exclude(
            Exists(
                Notice.objects.filter(
                    kind=Notice.Kind.COMPETITION_FINISHED,
                    event_key=Concat(Value("competition:"), Cast(OuterRef("pk"), CharField())),
                )
            )
        )
        .prefetch_related("teams")
    )
    written = 0
    for competition in untold:
        event_key = f"competition:{competition.pk}"
        standings = competition_standings(competition, today=today)
        participants = standings.rows + standings.unranked
        users = dict(
            Agent.objects.filter(
                pk__in=[row["agent_id"] for row in participants], user__is_active=True
            ).values_list("pk", "user_id")
        )
        notices = [
            Notice(
                recipient_id=users[row["agent_id"]],
                kind=Notice.Kind.COMPETITION_FINISHED,
                event_key=event_key,
                details=_result_details(competition, standings, row),
            )
            for row in participants
            if row["agent_id"] in users
        ]
        Notice.objects.bulk_create(notices, ignore_conflicts=True)
        written += len(notices)
        notice_email_never_tried(
            Notice.objects.filter(kind=Notice.Kind.COMPETITION_FINISHED, event_key=event_key)
        )
    return written
