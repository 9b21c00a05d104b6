"""Demo competitions: one running and one finished, over the demo's calls, so a newcomer sees both. No random
draw (the demo's other figures stay as they were); a re-run adds nothing (each is looked up by name)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from calls.models import Call, Team

from .models import MAX_COMPETITION_DAYS, Competition

RUNNING_NAME = "Current QA sprint"
FINISHED_NAME = "Last month's QA cup"


@transaction.atomic
def seed_competitions(*, stdout=None) -> dict:
    """The running contest: the last two weeks of calls (at most the later half of them) until a week from
    today; the finished one: up to four weeks just before it. Both over every team with agents, made by the
    demo admin. Nothing without calls or without the admin login."""
    admin = get_user_model().objects.filter(username="admin").first()
    span = Call.objects.aggregate(first=Min("started_at"), last=Max("started_at"))
    teams = list(Team.objects.filter(agents__isnull=False).distinct().order_by("name"))
    if admin is None or span["first"] is None or not teams:
        return {"competitions": 0}
    first_day = timezone.localtime(span["first"]).date()
    last_day = timezone.localtime(span["last"]).date()
    today = timezone.localdate()
    running_ends = max(last_day, today) + timedelta(days=7)
    running_starts = max(
        first_day + timedelta(days=(last_day - first_day).days // 2),
        last_day - timedelta(days=13),
        running_ends - timedelta(days=MAX_COMPETITION_DAYS - 1),
    )
    finished_ends = running_starts - timedelta(days=1)
    finished_starts = max(first_day, finished_ends - timedelta(days=27))
    if finished_starts > finished_ends:  # a one-day demo: an (empty) week before it
        finished_starts = finished_ends - timedelta(days=6)
    made = 0
    for name, starts_on, ends_on, description in (
        (
            RUNNING_NAME,
            running_starts,
            running_ends,
            "Who keeps the best fair QA score over these weeks? Ranked as the leaderboard ranks.",
        ),
        (FINISHED_NAME, finished_starts, finished_ends, "The contest before this one."),
    ):
        if Competition.objects.filter(name=name).exists():
            continue
        competition = Competition.objects.create(
            name=name,
            description=description,
            metric=Competition.Metric.QA,
            starts_on=starts_on,
            ends_on=ends_on,
            created_by=admin,
        )
        competition.teams.set(teams)
        made += 1
    if stdout is not None:
        stdout.write(f"Competitions: {made} new (one running, one finished).")
    return {"competitions": made}
