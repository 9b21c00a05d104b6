"""Reading competitions: who may see which, and the standings, which are the analytics leaderboard's rows for
the contest's teams and period ranked as the leaderboard ranks (scoring.analytics.selectors.leaderboard and
rank_rows): there is one ranking in the product, a contest only picks teams, days and the metric."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import F, QuerySet
from django.http import Http404

from calls import roles
from calls.models import Agent, Team
from calls.selectors import agent_for_user

from ..analytics.selectors import Period, leaderboard, nps_rank_key, qa_rank_key, rank_rows
from .models import Competition

UPCOMING, RUNNING, FINISHED, CANCELLED = "upcoming", "running", "finished", "cancelled"


# --- scoping ------------------------------------------------------------------------------------------


def _led_team_ids(user) -> frozenset[int]:
    """The teams a supervisor leads, cached on the user object for the request (scoping and the viewer)."""
    cached = getattr(user, "_qa_led_team_ids", None)
    if cached is None:
        cached = frozenset(Team.objects.filter(supervisors=user).values_list("pk", flat=True))
        user._qa_led_team_ids = cached
    return cached


def _viewer_team_ids(user) -> set[int] | None:
    """The teams whose contests a user sees: None for every team (admins); supervisors the teams they lead,
    agents their own team. Reviewers (unless admins) and users of no role: PermissionDenied."""
    if roles.is_admin(user):
        return None
    is_supervisor, is_agent = roles.is_supervisor(user), roles.is_agent(user)
    if not (is_supervisor or is_agent):
        raise PermissionDenied("Competitions are for agents, their supervisors and admins.")
    team_ids: set[int] = set()
    if is_supervisor:
        team_ids |= _led_team_ids(user)
    if is_agent:
        agent = agent_for_user(user)
        if agent is not None and agent.team_id:
            team_ids.add(agent.team_id)
    return team_ids


def competition_list_for_user(user) -> QuerySet[Competition]:
    """Contests the user may open: admins all, supervisors those including a team they lead, agents those
    including their team (PermissionDenied for the other roles), teams prefetched."""
    team_ids = _viewer_team_ids(user)
    competitions = Competition.objects.prefetch_related("teams")
    if team_ids is None:
        return competitions.all()
    # The ids as a subquery: a contest of two of the user's teams is listed once.
    return competitions.filter(
        pk__in=Competition.teams.through.objects.filter(team_id__in=team_ids).values("competition_id")
    )


def competition_get_for_user(user, *, pk: int) -> Competition:
    """The contest if the user may open it; 404 for one outside their teams (403 for roles that see none)."""
    try:
        return competition_list_for_user(user).get(pk=pk)
    except Competition.DoesNotExist:
        raise Http404("No such competition") from None


def competition_teams_for_creator(user) -> list[Team]:
    """Teams the user may run a contest for: admins any, supervisors those they lead; PermissionDenied else."""
    if roles.is_admin(user):
        return list(Team.objects.order_by("name"))
    if roles.is_supervisor(user):
        return list(Team.objects.filter(supervisors=user).order_by("name"))
    raise PermissionDenied("Competitions are run by supervisors and admins.")


def can_create_competition(user) -> bool:
    return roles.is_admin(user) or roles.is_supervisor(user)


def can_manage_competition(user, competition: Competition) -> bool:
    """Admins, and supervisors who lead every team of the contest (not one an admin set across teams)."""
    if roles.is_admin(user):
        return True
    team_ids = {team.pk for team in competition.teams.all()}
    return roles.is_supervisor(user) and team_ids <= _led_team_ids(user)


def can_cancel_competition(user, competition: Competition, *, today: date) -> bool:
    """Whether to offer "Cancel": a manager of the contest, until it finishes (a finished contest's result
    stands), once."""
    return (
        competition.cancelled_at is None
        and today <= competition.ends_on
        and can_manage_competition(user, competition)
    )


# --- status and standings -----------------------------------------------------------------------------


def competition_status(competition: Competition, *, today: date) -> tuple[str, int | None]:
    """(status, days left): upcoming before its first day, running through its last day (days left counts
    today: 1 on the last day), finished after; cancelled once called off."""
    if competition.cancelled_at is not None:
        return CANCELLED, None
    if today < competition.starts_on:
        return UPCOMING, None
    if today <= competition.ends_on:
        return RUNNING, (competition.ends_on - today).days + 1
    return FINISHED, None


def competition_period(competition: Competition, *, today: date) -> Period | None:
    """The days counted so far: starts_on to min(ends_on, today); None before the contest starts (or when it
    was cancelled)."""
    if today < competition.starts_on or competition.cancelled_at is not None:
        return None
    return Period("custom", competition.starts_on, min(competition.ends_on, today))


@dataclass
class Standings:
    competition: Competition
    status: str
    days_left: int | None
    period: Period | None
    # Ranked rows (leaderboard rows of the contest's active agents with "rank" set), best first.
    rows: list[dict[str, Any]] = field(default_factory=list)
    # Active agents below the minimum sample, each with "needed" (how many more to be ranked), fewest first.
    unranked: list[dict[str, Any]] = field(default_factory=list)
    minimum: int = 0
    unit: str = "evaluations"

    @property
    def leaders(self) -> list[dict[str, Any]]:
        """Rank 1 (ties share it)."""
        return [row for row in self.rows if row["rank"] == 1]

    @property
    def winners(self) -> list[dict[str, Any]]:
        """The leaders of a finished contest; nobody before it ends."""
        return self.leaders if self.status == FINISHED else []


def _participants(team_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The contest's agents: active agents of its teams now (one query)."""
    return {
        a["agent_id"]: a
        for a in Agent.objects.filter(team_id__in=team_ids, is_active=True)
        .order_by("name", "employee_code")
        .values("name", "employee_code", "team_id", agent_id=F("id"), team_name=F("team__name"))
    }


def competition_standings(competition: Competition, *, today: date) -> Standings:
    """The leaderboard's rows for the contest's teams over starts_on..min(ends_on, today), limited to the
    teams' active agents and ranked among them by the leaderboard's own ranking (rank_rows): QA, by the lower
    95% bound of the shrunk QA score (the leaderboard's rank), at least ANALYTICS_MIN_EVALUATIONS evaluations;
    NPS, by the lower bound of the leaderboard row's 95% NPS interval, at least ANALYTICS_MIN_RESPONSES answers.
    Shrinkage is the leaderboard's, per team over all its agents' evaluations of the period. Agents below the
    minimum are listed apart with how many more they need; active agents with nothing in the period too.

    Queries: the teams (prefetched on a list's contest, else one), the participants, the leaderboard's
    (at most six) — never one per agent."""
    status, days_left = competition_status(competition, today=today)
    period = competition_period(competition, today=today)
    is_nps = competition.metric == Competition.Metric.NPS
    minimum = settings.ANALYTICS_MIN_RESPONSES if is_nps else settings.ANALYTICS_MIN_EVALUATIONS
    standings = Standings(
        competition, status, days_left, period, minimum=minimum, unit="responses" if is_nps else "evaluations"
    )
    if period is None:
        return standings
    team_ids = sorted(team.pk for team in competition.teams.all())
    participants = _participants(team_ids)
    board = leaderboard(team_ids=team_ids, period=period)
    rows = [row for row in board["rows"] if row["agent_id"] in participants]
    if is_nps:
        eligible = _nps_eligible
        rank_rows(rows, key=nps_rank_key, is_eligible=eligible)
    else:
        eligible = _qa_eligible
        rank_rows(rows, key=qa_rank_key, is_eligible=eligible)
    count_field = "responses" if is_nps else "evaluations"
    for row in rows:
        row["score"] = row["nps"] if is_nps else row["qa_shrunk"]
        row["score_low"] = row["nps_low"] if is_nps else row["qa_lower"]
    ranked = sorted((r for r in rows if eligible(r)), key=lambda r: (r["rank"], r["name"], r["agent_id"]))
    seen = {row["agent_id"] for row in rows}
    quiet = [
        {**agent, "evaluations": 0, "responses": 0, "score": None, "rank": None}
        for agent_id, agent in participants.items()
        if agent_id not in seen
    ]
    unranked = [r for r in rows if not eligible(r)] + quiet
    for row in unranked:
        row["needed"] = minimum - row[count_field]
    unranked.sort(key=lambda r: (r["needed"], r["name"], r["agent_id"]))
    standings.rows = ranked
    standings.unranked = unranked
    return standings


def _qa_eligible(row: dict[str, Any]) -> bool:
    return row["is_ranked"]


def _nps_eligible(row: dict[str, Any]) -> bool:
    return row["is_nps_ranked"]


# --- what a viewer sees -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """What a user sees of a contest's standings: every row (admins), the rows of their teams' agents by
    name and others' as "an agent of <team>" (supervisors), or their own position and the leader's score
    only (agents: the leaderboard is not theirs to see, scoring.analytics.selectors.analytics_teams_for_user)."""

    sees_rows: bool
    team_ids: frozenset[int] | None  # whose names a row viewer sees; None for every team
    agent_id: int | None  # the viewer's own agent record


def competition_viewer(user) -> Viewer:
    agent = agent_for_user(user)
    agent_id = agent.pk if agent is not None else None
    if roles.is_admin(user):
        return Viewer(True, None, agent_id)
    if roles.is_supervisor(user):
        return Viewer(True, _led_team_ids(user), agent_id)
    return Viewer(False, frozenset(), agent_id)


def standings_for_viewer(standings: Standings, viewer: Viewer) -> dict[str, Any]:
    """The standings as the viewer may see them: each row marked is_me and is_named (its agent's name may be
    shown); for an agent, no rows but their own (`mine`, ranked or not) and the leader's score."""

    def mark(row: dict[str, Any]) -> dict[str, Any]:
        return {
            **row,
            "is_me": row["agent_id"] == viewer.agent_id,
            "is_named": viewer.team_ids is None
            or row["team_id"] in viewer.team_ids
            or row["agent_id"] == viewer.agent_id,
        }

    rows = [mark(r) for r in standings.rows]
    unranked = [mark(r) for r in standings.unranked]
    mine = next((r for r in rows + unranked if r["is_me"]), None)
    leaders = [r for r in rows if r["rank"] == 1]
    return {
        "sees_rows": viewer.sees_rows,
        "all_named": viewer.team_ids is None,
        "rows": rows if viewer.sees_rows else [],
        "unranked": unranked if viewer.sees_rows else [],
        "mine": mine,
        "leaders": leaders if viewer.sees_rows else [],
        "leader_score": leaders[0]["score"] if leaders else None,
        "leader_count": len(leaders),
        "winners": [r for r in rows if r["rank"] == 1]
        if standings.status == FINISHED and viewer.sees_rows
        else [],
        "is_winner": bool(mine and standings.status == FINISHED and mine.get("rank") == 1),
    }
