"""The supervisors' weekly digest: who gets it, for which week, and its figures (read paths; the notice itself is
written by `services.notice_create_for_weekly_digests`).

A supervisor is an active user with the supervisor (or admin) role who leads at least one team. Their digest covers the previous week, Monday to
Sunday in local days (`period_resolve("last_week")`, the weekly sample's weeks), over the teams they lead:
- QA progress (`qa_progress`, the progress page's definitions): reviews submitted in the week against the
  weekly target of the teams' active agents, the share of the target, agents below their target (those without
  any review included) and agents without any review;
- NPS (`scoring.surveys.metrics.nps_interval`) of the survey responses received in the week whose primary agent
  is in the teams (n = those responses);
- follow-up cases open past their due time when the digest is written, about the teams' agents (credited on
  any leg, as the follow-up board and insights show cases to a team's supervisors).

Seven queries whatever the number of supervisors, teams and agents: the supervisors and their teams, the
progress (four), the responses per team, the overdue cases per supervisor. An agent is in one team and a
response has one primary agent, so a supervisor's figures are sums over their teams; overdue cases are counted
per supervisor (one case may be credited to two of their teams).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from calls.models import Team
from calls.roles import ADMIN, SUPERVISOR
from scoring.analytics.selectors import Period, period_resolve
from scoring.followups.models import FollowUpCase
from scoring.progress.selectors import progress_totals, qa_progress
from scoring.sampling import previous_week_start, week_bounds
from scoring.surveys.metrics import nps_interval
from scoring.surveys.models import Category, ResponseCredit

from ..models import Notice

User = get_user_model()

# When a week's digest is due: the Monday after it at 07:00 local time (the beat's crontab says the same).
WEEKLY_DIGEST_AT = time(7)


def weekly_digest_event_key(week_start: date) -> str:
    """The notice's event key, naming its week (the constraint `notice_weekly_digest_keyed_by_week`)."""
    return f"weekly-digest:{week_start.isoformat()}"


def weekly_digest_week(now: datetime) -> date:
    """The Monday of the week a run at `now` reports on: the previous week (a late run during the week too)."""
    return previous_week_start(timezone.localtime(now).date())


def weekly_digest_due_week(now: datetime) -> date | None:
    """The Monday of the week whose digest the sweep catches up at `now`: the previous week from Monday 07:00
    on; None on a Monday before then (the beat has not run yet, and last week's digest is not due)."""
    local = timezone.localtime(now)
    if local.weekday() == 0 and local.time() < WEEKLY_DIGEST_AT:
        return None
    return previous_week_start(local.date())


def weekly_digest_period(week_start: date) -> Period:
    """The week as the progress page's "last week" (seen from the Monday after it)."""
    return period_resolve("last_week", today=week_start + timedelta(days=7))


def weekly_digest_recipients(*, week_start: date) -> dict[int, list[tuple[int, str]]]:
    """Supervisors (active users leading a team) without their digest of the week yet: {user id: [(team id,
    team name), …] by name}. One query. Only users the QA progress page lets in (the supervisor or admin
    role): a team lead without either would get figures and a link they are refused."""
    may_see_progress = Q(user__is_superuser=True) | Exists(
        User.groups.through.objects.filter(user_id=OuterRef("user_id"), group__name__in=[SUPERVISOR, ADMIN])
    )
    rows = (
        Team.supervisors.through.objects.filter(may_see_progress, user__is_active=True)
        .exclude(
            # One row per recipient at most (the partial unique index on recipient, kind, event key serves it).
            Exists(
                Notice.objects.filter(
                    recipient_id=OuterRef("user_id"),
                    kind=Notice.Kind.WEEKLY_DIGEST,
                    event_key=weekly_digest_event_key(week_start),
                    evaluation__isnull=True,
                )
            )
        )
        .order_by("user_id", "team__name", "team_id")
        .values_list("user_id", "team_id", "team__name")
    )
    recipients: dict[int, list[tuple[int, str]]] = {}
    for user_id, team_id, team_name in rows:
        recipients.setdefault(user_id, []).append((team_id, team_name))
    return recipients


def _responses_per_team(team_ids: list[int], start: datetime, end: datetime) -> dict[int, dict[str, int]]:
    """Responses received in [start, end) per team of their primary agent, by category. One query."""
    rows = (
        ResponseCredit.objects.filter(
            is_primary=True,
            agent__team_id__in=team_ids,
            response__received_at__gte=start,
            response__received_at__lt=end,
        )
        .order_by()
        .values("agent__team_id")
        .annotate(
            promoters=Count("pk", filter=Q(response__category=Category.PROMOTER)),
            passives=Count("pk", filter=Q(response__category=Category.PASSIVE)),
            detractors=Count("pk", filter=Q(response__category=Category.DETRACTOR)),
        )
    )
    return {row.pop("agent__team_id"): row for row in rows}


def _open_overdue_per_supervisor(supervisor_ids: list[int], now: datetime) -> dict[int, int]:
    """Open cases past due at `now` about the supervisors' teams' agents (credited on any leg), each case once
    per supervisor. One query."""
    rows = (
        Team.supervisors.through.objects.filter(user_id__in=supervisor_ids)
        .order_by()
        .values("user_id")
        .annotate(
            open_overdue=Count(
                "team__agents__survey_credits__response__followup",
                filter=Q(
                    team__agents__survey_credits__response__followup__status=FollowUpCase.Status.OPEN,
                    team__agents__survey_credits__response__followup__due_at__lte=now,
                ),
                distinct=True,
            )
        )
    )
    return {row["user_id"]: row["open_overdue"] for row in rows}


def weekly_digest_figures(
    *, recipients: dict[int, list[tuple[int, str]]], week_start: date, now: datetime
) -> dict[int, dict[str, Any]]:
    """Each recipient's digest figures (JSON-ready: the notice's `details`). Six queries (module docstring)."""
    if not recipients:
        return {}
    period = weekly_digest_period(week_start)
    team_ids = sorted({team_id for teams in recipients.values() for team_id, _ in teams})
    progress = qa_progress(period=period, team_ids=team_ids, now=now)
    start, end = week_bounds(week_start)
    responses = _responses_per_team(team_ids, start, end)
    overdue = _open_overdue_per_supervisor(list(recipients), now)
    figures = {}
    for user_id, teams in recipients.items():
        own = {team_id for team_id, _ in teams}
        totals = progress_totals(
            agents=[a for a in progress.agents if a.team_id in own], target=progress.target_per_agent
        )
        counts = {
            category: sum(responses.get(team_id, {}).get(category, 0) for team_id in own)
            for category in ("promoters", "passives", "detractors")
        }
        interval = nps_interval(counts["promoters"], counts["passives"], counts["detractors"])
        figures[user_id] = {
            "week_start": period.date_from.isoformat(),
            "week_end": period.date_to.isoformat(),
            "teams": [name for _, name in teams],
            "agents": totals.agents,
            "reviews": totals.reviews,
            "target": totals.target,
            "percent_of_target": totals.percent_of_target,
            "agents_behind": totals.agents_behind,
            "agents_without_reviews": totals.agents_without_reviews,
            "responses": interval.n,
            **counts,
            "nps": interval.nps,
            "followups_open_overdue": overdue.get(user_id, 0),
        }
    return figures


def weekly_digest_lines(details: dict[str, Any]) -> list[str]:
    """The digest's figures, one per line (the e-mail's body)."""
    percent = details["percent_of_target"]
    nps = details["nps"]
    return [
        f"Week: {details['week_start']} to {details['week_end']} (Monday to Sunday)",
        f"Teams: {', '.join(details['teams'])}",
        f"Reviews: {details['reviews']} of a target of {details['target']}"
        + ("" if percent is None else f" ({percent:.0f}% of target)"),
        f"Agents behind target: {details['agents_behind']} of {details['agents']}",
        f"Agents with no review: {details['agents_without_reviews']}",
        "NPS: no survey responses received"
        if nps is None
        else f"NPS: {nps:+.0f} (n = {details['responses']} responses received)",
        f"Follow-ups open past due now: {details['followups_open_overdue']}",
    ]


def weekly_digest_text(details: dict[str, Any]) -> str:
    """The digest in one sentence (the notices page and the API)."""
    percent = details["percent_of_target"]
    nps = details["nps"]
    return (
        f"Weekly digest of {', '.join(details['teams'])}, {details['week_start']} to {details['week_end']}: "
        f"{details['reviews']} of {details['target']} reviews"
        + ("" if percent is None else f" ({percent:.0f}%)")
        + f", {details['agents_behind']} of {details['agents']} agents behind "
        f"({details['agents_without_reviews']} without a review), "
        + ("no survey responses" if nps is None else f"NPS {nps:+.0f} (n = {details['responses']})")
        + f", {details['followups_open_overdue']} follow-ups open past due."
    )
