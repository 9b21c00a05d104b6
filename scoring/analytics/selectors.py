"""Read paths of the analytics pages. Figures are SQL aggregates over the per-agent-per-day rollups
(leaderboard, team view, trends, criterion pass rates and criterion NPS drivers, transfer paths, reasons
and rates) or, for the two per-call analyses left (NPS by call factor, QA↔answer correlation), over the
surveyed calls of the period and teams the user may see. Permission scoping lives here (`*_for_user`).

Portable: the same code runs on PostgreSQL and on the embedded SQLite demo. Aggregates are ORM
(`values().annotate(Sum/Count(filter=…))`, TruncWeek, TruncDate with the time zone); the per-call
analyses that need a derived table (NPS by call factor, correlation ranks) embed an ORM-built inner query
in a small statement written in the SQL both databases share (CTE, FILTER, window functions, CASE). Derived figures over the aggregated rows (rates, NPS intervals, shrinkage and ranks,
correlation from centered sums) are pure functions in metrics.py / scoring.surveys.metrics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count, F, FloatField, Min, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, Coalesce, TruncWeek
from django.http import Http404
from django.utils import timezone

from calls import roles
from calls.models import Agent, AgentDayCallStats, Call, Team
from calls.rollups import compiled, local_day_start
from calls.selectors import (
    agent_list_for_user,
    call_annotate_metrics,
    call_started_lookups,
    team_list_for_user,
)
from scoring.followups.models import FollowUpCase
from scoring.models import Evaluation
from scoring.surveys.metrics import csat_interval, mean_interval, nps_interval
from scoring.surveys.models import CES_MAX, ResponseCredit

from .metrics import (
    GroupSums,
    competition_ranks,
    correlation_from_centered,
    correlation_interval,
    lower_bound,
    nps_difference,
    pooled_moments,
    rate,
    shrunk_mean,
)
from .models import (
    AgentDayCriterionStats,
    AgentDayDepartmentStats,
    AgentDayReasonStats,
    AgentDayScoreStats,
    AgentDaySectionStats,
    AgentDayTransferPathStats,
)
from .rollups import counted_evaluations

PERIODS = {
    "this_week": "This week",
    "last_week": "Last week",
    "this_month": "This month",
    "last_30": "Last 30 days",
    "last_90": "Last 90 days",
    "custom": "Custom range",
}


@dataclass(frozen=True)
class Period:
    key: str
    date_from: date
    date_to: date

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    @property
    def previous(self) -> Period:
        """The period of the same length just before this one (for rank movement)."""
        return Period(
            self.key, self.date_from - timedelta(days=self.days), self.date_from - timedelta(days=1)
        )

    @property
    def label(self) -> str:
        return PERIODS.get(self.key, self.key)


def period_resolve(
    key: str, *, today: date | None = None, date_from: date | None = None, date_to: date | None = None
) -> Period:
    """Turn a period name (or a custom range) into local dates, both ends included."""
    today = today or timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    if key == "this_week":
        return Period(key, monday, today)
    if key == "last_week":
        return Period(key, monday - timedelta(days=7), monday - timedelta(days=1))
    if key == "this_month":
        return Period(key, today.replace(day=1), today)
    if key == "last_90":
        return Period(key, today - timedelta(days=89), today)
    if key == "custom" and date_from and date_to:
        return Period(key, date_from, date_to)
    return Period("last_30", today - timedelta(days=29), today)


# --- scoping ------------------------------------------------------------------------------------------


def analytics_teams_for_user(user) -> list[Team]:
    """Teams whose leaderboard a user may see: admins and reviewers all, supervisors the teams they lead.
    Agents (and anyone else) may not see leaderboards: PermissionDenied."""
    if roles.is_admin(user) or roles.is_reviewer(user):
        return list(Team.objects.select_related("department").order_by("name"))
    if roles.is_supervisor(user):
        return list(Team.objects.filter(supervisors=user).select_related("department").order_by("name"))
    raise PermissionDenied("Leaderboards are for supervisors")


def analytics_agent_get_for_user(user, *, pk: int) -> Agent:
    """The agent if the user may see their page (supervisors their teams, agents themselves); 404 otherwise."""
    try:
        return agent_list_for_user(user).select_related("team", "team__department").get(pk=pk)
    except Agent.DoesNotExist:
        raise Http404("No such agent") from None


def analytics_own_agent_for_user(user) -> Agent:
    """The agent record linked to the user's login (their own analytics page); 404 when there is none."""
    agent = Agent.objects.filter(user_id=user.pk).only("pk").first() if user.is_authenticated else None
    if agent is None:
        raise Http404("No agent is linked to this login")
    return agent


def analytics_comparison_teams_for_user(user) -> list[Team]:
    """Teams an agent page may be compared with: the teams the user may look at (agents: their own)."""
    return list(team_list_for_user(user).select_related("department").order_by("name"))


def _fetch(sql: str, params: tuple) -> list[dict[str, Any]]:
    """Run a portable statement (positional parameters) and return rows as dicts."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _f(value) -> float | None:
    return None if value is None else float(value)


def _nps_fields(row: dict[str, Any]) -> None:
    interval = nps_interval(row["promoters"], row["passives"], row["detractors"])
    row["nps"] = interval.nps
    row["nps_low"] = interval.low
    row["nps_high"] = interval.high
    row["nps_small_sample"] = interval.is_small_sample


# --- leaderboard --------------------------------------------------------------------------------------

_CALL_FIELDS = (
    "calls",
    "identified_calls",
    "handle_seconds",
    "transferred",
    "escalated",
    "resolved",
    "first_contact_resolved",
    "repeat_contacts",
)
_SCORE_FIELDS = (
    "evaluations",
    "score_sum",
    "score_sum_squares",
    "promoters",
    "passives",
    "detractors",
    "followups_closed",
    "followups_closed_within_sla",
)
# The optional survey answers' sums (CSAT, CES): shown on the leaderboard (a sortable column), the teams page and
# the agent page, never ranked on.
COMPANION_FIELDS = ("csat_answers", "csat_satisfied", "ces_answers", "ces_sum", "ces_sum_squares")


def _in_period(queryset: QuerySet, period: Period) -> QuerySet:
    return queryset.filter(day__gte=period.date_from, day__lte=period.date_to)


def _open_overdue_followups(team_ids: list[int], period: Period, group: str) -> dict[int, int]:
    """Follow-ups still open past their due time, of the period's calls (dated as the rollups date them), per
    `group` ("agent_id" or "agent__team_id") of the response's primary agent. Counted live: open cases are
    few and change by the minute. Shown beside "closed within SLA", which alone would read as perfect while
    the late cases are still open."""
    started = call_started_lookups(date_from=period.date_from, date_to=period.date_to)
    rows = (
        ResponseCredit.objects.filter(
            is_primary=True,
            agent__team_id__in=team_ids,
            response__followup__status=FollowUpCase.Status.OPEN,
            response__followup__due_at__lte=timezone.now(),
            **{f"response__call__{lookup}": value for lookup, value in started.items()},
        )
        .order_by()
        .values(group)
        .annotate(open_overdue=Count("pk"))
    )
    return {row[group]: row["open_overdue"] for row in rows}


def _sums(queryset: QuerySet, group: str, fields: tuple[str, ...]) -> dict[int, dict[str, Any]]:
    """{group value: {field: Σfield}} in one GROUP BY query (aliases differ from the model's field names,
    which Django would refuse as annotation names)."""
    rows = queryset.order_by().values(group).annotate(**{f"total_{f}": Sum(f) for f in fields})
    return {row[group]: {f: row[f"total_{f}"] or 0 for f in fields} for row in rows}


def _agent_score_sums(
    team_ids: list[int], period: Period, fields: tuple[str, ...] = _SCORE_FIELDS
) -> dict[int, dict[str, Any]]:
    return _sums(
        _in_period(AgentDayScoreStats.objects.filter(agent__team_id__in=team_ids), period),
        "agent_id",
        fields,
    )


def _satisfaction_fields(row: dict[str, Any]) -> None:
    """Display-only CSAT (share of 4–5 answers, Wilson interval) and CES (mean, t-interval) from the row's
    sums of the optional survey answers (primary credits, like its NPS). Never part of the ranking."""
    csat = csat_interval(row["csat_satisfied"], row["csat_answers"])
    row["csat"], row["csat_low"], row["csat_high"] = csat.percent, csat.low, csat.high
    row["csat_small_sample"] = csat.is_small_sample
    ces = mean_interval(row["ces_sum"], row["ces_sum_squares"], row["ces_answers"], lowest=1, highest=CES_MAX)
    row["ces"], row["ces_low"], row["ces_high"] = ces.mean, ces.low, ces.high
    row["ces_small_sample"] = ces.is_small_sample


def _shrinkage_k(pooled) -> tuple[float, bool]:
    """The prior weight k for a team: the method-of-moments estimate when ANALYTICS_SHRINKAGE_K_ESTIMATE is on
    and the team's data allow one, else the ANALYTICS_SHRINKAGE_K constant. Returns (k, is_estimated)."""
    if settings.ANALYTICS_SHRINKAGE_K_ESTIMATE and pooled.k_estimate is not None:
        return pooled.k_estimate, True
    return float(settings.ANALYTICS_SHRINKAGE_K), False


def _fair_qa(rows: list[dict[str, Any]]) -> None:
    """Per team: team mean, pooled within-agent variance and k; per agent: QA mean, the shrunk estimate
    (Σx + k·team_mean) / (n + k), its lower 95% bound, is_ranked, and RANK() among ranked agents by
    (lower bound, shrunk estimate), best first. Works on the aggregated rows (one per agent)."""
    by_team: dict[int | None, list[dict[str, Any]]] = {}
    for row in rows:
        by_team.setdefault(row["team_id"], []).append(row)
    for members in by_team.values():
        pooled = pooled_moments(
            [GroupSums(r["evaluations"], r["score_sum"], r["score_sum_squares"]) for r in members]
        )
        k, estimated = _shrinkage_k(pooled)
        for r in members:
            n = r["evaluations"]
            r["team_qa_mean"] = pooled.mean
            r["team_within_variance"] = pooled.within_variance
            r["shrinkage_k"] = k
            r["shrinkage_k_is_estimated"] = estimated
            r["qa_mean"] = r["score_sum"] / n if n else None
            r["qa_shrunk"] = (
                shrunk_mean(total=r["score_sum"], n=n, prior_mean=pooled.mean, k=k) if n else None
            )
            r["qa_lower"] = lower_bound(
                shrunk=r["qa_shrunk"], within_variance=pooled.within_variance, n=n, k=k
            )
            r["is_ranked"] = n >= settings.ANALYTICS_MIN_EVALUATIONS
    rank_rows(rows, key=qa_rank_key, is_eligible=lambda r: r["is_ranked"])


def qa_rank_key(row: dict[str, Any]) -> tuple[float, float]:
    """What the leaderboard ranks on, larger first: the lower 95% bound of the shrunk QA score, then the
    shrunk score itself."""
    return (row["qa_lower"], row["qa_shrunk"])


def nps_rank_key(row: dict[str, Any]) -> tuple[float, float]:
    """Ranking on NPS (the competitions' NPS metric), larger first: the lower bound of the row's 95% NPS
    interval, then the NPS itself; rows with at least ANALYTICS_MIN_RESPONSES answers (`is_nps_ranked`)."""
    return (row["nps_low"], row["nps"])


def rank_rows(rows: list[dict[str, Any]], *, key, is_eligible, field: str = "rank") -> None:
    """Set `field` on each row: RANK() among the eligible rows by key(row), larger first (equal keys share a
    rank, the next rank skips); None on the others. The leaderboard's ranking, for any subset of its rows."""
    ranked = sorted((r for r in rows if is_eligible(r)), key=key, reverse=True)
    for row, rank in zip(ranked, competition_ranks([key(r) for r in ranked]), strict=True):
        row[field] = rank
    for row in rows:
        if not is_eligible(row):
            row[field] = None


def _agent_figures(
    team_ids: list[int], period: Period, agents: dict[int, dict[str, Any]]
) -> list[dict[str, Any]]:
    calls = _sums(
        _in_period(AgentDayCallStats.objects.filter(agent__team_id__in=team_ids), period),
        "agent_id",
        _CALL_FIELDS,
    )
    # The satisfaction sums ride on the same GROUP BY as the QA/NPS sums: no extra query.
    score_fields = (*_SCORE_FIELDS, *COMPANION_FIELDS)
    scores = _agent_score_sums(team_ids, period, score_fields)
    rows = []
    for agent_id in calls.keys() | scores.keys():
        if agent_id not in agents:  # moved to a team outside the selection since
            continue
        row = {**agents[agent_id]}
        row.update(calls.get(agent_id) or dict.fromkeys(_CALL_FIELDS, 0))
        row.update(scores.get(agent_id) or dict.fromkeys(score_fields, 0))
        for key in ("score_sum", "score_sum_squares"):
            row[key] = float(row[key])
        c = row["calls"]
        row["average_handle_seconds"] = row["handle_seconds"] / c if c else None
        # Over identified callers' calls: an anonymous caller's repeat contact cannot be seen (calls.selectors).
        row["fcr_rate"] = rate(row["first_contact_resolved"], row["identified_calls"])
        row["transfer_rate"] = rate(row["transferred"], c)
        row["escalation_rate"] = rate(row["escalated"], c)
        row["responses"] = row["promoters"] + row["passives"] + row["detractors"]
        _nps_fields(row)
        _satisfaction_fields(row)
        row["is_nps_ranked"] = row["responses"] >= settings.ANALYTICS_MIN_RESPONSES
        rows.append(row)
    _fair_qa(rows)
    rows.sort(key=lambda r: (not r["is_ranked"], r["rank"] or 0, r["name"], r["agent_id"]))
    return rows


def _previous_ranks(team_ids: list[int], period: Period, agents: dict[int, dict[str, Any]]) -> dict[int, int]:
    """Ranks in a period from the score rollups alone (the rank depends on QA figures only)."""
    rows = []
    for agent_id, sums in _agent_score_sums(team_ids, period).items():
        if agent_id in agents:
            rows.append(
                {
                    "agent_id": agent_id,
                    "team_id": agents[agent_id]["team_id"],
                    "evaluations": sums["evaluations"],
                    "score_sum": float(sums["score_sum"]),
                    "score_sum_squares": float(sums["score_sum_squares"]),
                }
            )
    _fair_qa(rows)
    return {r["agent_id"]: r["rank"] for r in rows if r["rank"]}


SORT_KEYS = {
    "rank",
    "name",
    "team_name",
    "calls",
    "average_handle_seconds",
    "fcr_rate",
    "transfer_rate",
    "escalation_rate",
    "qa_mean",
    "qa_shrunk",
    "evaluations",
    "nps",
    "responses",
    "csat",
    "ces",
    "followups_closed_within_sla",
}


def leaderboard(
    *, team_ids: list[int], period: Period, sort: str = "rank", descending: bool = False
) -> dict[str, Any]:
    """Per-agent figures for the period, summed from the day rollups (never the raw calls).

    Fair ranking: an agent's QA mean is shrunk toward the team mean, (Σx + k·team_mean) / (n + k), with k
    the team's method-of-moments estimate σ²_within / τ²_between (ANALYTICS_SHRINKAGE_K when it cannot be
    estimated or estimation is off), and agents are ranked by the lower 95% bound of that estimate
    (shrunk − 1.96·sqrt(σ²_within / (n + k))), only among agents with at least ANALYTICS_MIN_EVALUATIONS
    evaluations, with rank movement since the previous period of the same length. CSAT and CES (the optional
    survey answers) are shown beside NPS, summed in the same query as the QA sums, and never ranked on.

    `sort` (one of SORT_KEYS) orders the rows after ranking, so it moves rows but never changes a rank; rows
    without a figure come last in both directions, in the same order either way: unranked agents (too few
    evaluations) by the rank, agents without CSAT answers by CSAT, say.

    Six queries whatever the number of agents: agents, call sums, score sums, previous score sums,
    section scores, open overdue follow-ups.
    """
    agents = {
        a["agent_id"]: a
        for a in Agent.objects.filter(team_id__in=team_ids).values(
            "name", "employee_code", "team_id", agent_id=F("id"), team_name=F("team__name")
        )
    }
    rows = _agent_figures(team_ids, period, agents)
    previous = _previous_ranks(team_ids, period.previous, agents)
    sections: dict[int, dict[str, float | None]] = {}
    titles: list[str] = []
    if rows:
        section_rows = (
            _in_period(AgentDaySectionStats.objects.filter(agent__team_id__in=team_ids), period)
            .order_by()
            .values("agent_id", title=F("section__title"))
            .annotate(total_evaluations=Sum("evaluations"), total_score=Sum("score_sum"))
            .order_by("title", "agent_id")
        )
        for s in section_rows:
            if s["title"] not in titles:
                titles.append(s["title"])
            sections.setdefault(s["agent_id"], {})[s["title"]] = (
                float(s["total_score"]) / s["total_evaluations"] if s["total_evaluations"] else None
            )
    overdue = _open_overdue_followups(team_ids, period, "agent_id") if rows else {}
    for row in rows:
        row["followups_open_overdue"] = overdue.get(row["agent_id"], 0)
        row["previous_rank"] = previous.get(row["agent_id"])
        row["movement"] = row["previous_rank"] - row["rank"] if row["rank"] and row["previous_rank"] else None
        row["sections"] = [sections.get(row["agent_id"], {}).get(title) for title in titles]
    if sort in SORT_KEYS and sort != "rank":
        present = [r for r in rows if r[sort] is not None]
        missing = [r for r in rows if r[sort] is None]
        present.sort(key=lambda r: (r[sort], r["name"]), reverse=descending)
        rows = present + missing
    elif descending:
        # Only the ranked rows turn round: unranked agents have no rank to order by, and put first they
        # would crowd out the ranked ones at the top of "worst first".
        ranked = [r for r in rows if r["is_ranked"]]
        rows = ranked[::-1] + [r for r in rows if not r["is_ranked"]]
    return {"rows": rows, "section_titles": titles, "period": period}


def team_figures(*, team_ids: list[int], period: Period) -> list[dict[str, Any]]:
    """The leaderboard's figures per team (sums of the day rollups of the team's current agents), CSAT and CES
    included (their sums ride on the QA / NPS sums' GROUP BY: no query of their own)."""
    calls = _sums(
        _in_period(AgentDayCallStats.objects.filter(agent__team_id__in=team_ids), period),
        "agent__team_id",
        ("calls", "identified_calls", "handle_seconds", "transferred", "escalated", "first_contact_resolved"),
    )
    scores = _sums(
        _in_period(AgentDayScoreStats.objects.filter(agent__team_id__in=team_ids), period),
        "agent__team_id",
        (
            "evaluations",
            "score_sum",
            "promoters",
            "passives",
            "detractors",
            "followups_closed",
            "followups_closed_within_sla",
            *COMPANION_FIELDS,
        ),
    )
    overdue = _open_overdue_followups(team_ids, period, "agent__team_id")
    rows = []
    for team in Team.objects.filter(pk__in=team_ids).order_by("name"):
        c = calls.get(team.pk, {})
        s = scores.get(team.pk, {})
        n_calls = c.get("calls", 0)
        row = {
            "team_id": team.pk,
            "team_name": team.name,
            "calls": n_calls,
            "identified_calls": c.get("identified_calls", 0),
            "average_handle_seconds": c["handle_seconds"] / n_calls if n_calls else None,
            "fcr_rate": rate(c.get("first_contact_resolved"), c.get("identified_calls")),
            "transfer_rate": rate(c.get("transferred"), n_calls),
            "escalation_rate": rate(c.get("escalated"), n_calls),
            "evaluations": s.get("evaluations", 0),
            "qa_mean": float(s["score_sum"]) / s["evaluations"] if s.get("evaluations") else None,
            "promoters": s.get("promoters", 0),
            "passives": s.get("passives", 0),
            "detractors": s.get("detractors", 0),
            "followups_closed": s.get("followups_closed", 0),
            "followups_closed_within_sla": s.get("followups_closed_within_sla", 0),
            "followups_open_overdue": overdue.get(team.pk, 0),
            **{f: s.get(f, 0) for f in COMPANION_FIELDS},
        }
        row["responses"] = row["promoters"] + row["passives"] + row["detractors"]
        _nps_fields(row)
        _satisfaction_fields(row)
        rows.append(row)
    return rows


def department_weekly_trend(*, team_ids: list[int], period: Period) -> list[dict[str, Any]]:
    """Weekly QA mean and NPS per department (of the selected teams), from the day rollups."""
    rows = list(
        _in_period(
            AgentDayScoreStats.objects.filter(
                agent__team_id__in=team_ids, agent__team__department__isnull=False
            ),
            period,
        )
        .order_by()
        .values(department=F("agent__team__department__name"), week=TruncWeek("day"))
        .annotate(
            total_evaluations=Sum("evaluations"),
            total_score=Sum("score_sum"),
            total_promoters=Sum("promoters"),
            total_passives=Sum("passives"),
            total_detractors=Sum("detractors"),
        )
        .order_by("department", "week")
    )
    out = []
    for r in rows:
        row = {
            "department": r["department"],
            "week": r["week"],
            "evaluations": r["total_evaluations"],
            "score_sum": r["total_score"],
            "promoters": r["total_promoters"],
            "passives": r["total_passives"],
            "detractors": r["total_detractors"],
        }
        row["qa_mean"] = float(row["score_sum"]) / row["evaluations"] if row["evaluations"] else None
        row["responses"] = row["promoters"] + row["passives"] + row["detractors"]
        _nps_fields(row)
        out.append(row)
    return out


# --- agent page ---------------------------------------------------------------------------------------


def _mine(agent_id: int) -> Q:
    return Q(agent_id=agent_id)


def _satisfaction(weeks: list[dict[str, Any]]) -> dict[str, Any]:
    """The period's CSAT (Wilson interval) and CES (t-interval) for the agent and the team, from the weekly
    sums of the optional survey answers (primary credits, like the NPS beside them)."""
    totals = {
        f"{who}{f}": sum(w[f"{who}{f}"] or 0 for w in weeks)
        for who in ("", "team_")
        for f in COMPANION_FIELDS
    }
    result: dict[str, Any] = {}
    for who in ("", "team_"):
        result[f"{who}csat"] = csat_interval(totals[f"{who}csat_satisfied"], totals[f"{who}csat_answers"])
        result[f"{who}ces"] = mean_interval(
            totals[f"{who}ces_sum"],
            totals[f"{who}ces_sum_squares"],
            totals[f"{who}ces_answers"],
            lowest=1,
            highest=CES_MAX,
        )
    return result


def agent_overview(*, agent: Agent, period: Period, team: Team | None = None) -> dict[str, Any]:
    """The agent page's figures: weekly QA/NPS trend beside a team's, criterion pass rates and
    transfer/escalation rates beside the team's. The team is the agent's own unless another (one the
    viewer may see) is given; team figures are that team's totals with this agent included, aggregates
    only (no other names)."""
    team_id = team.pk if team is not None else (agent.team_id or 0)
    # The team's agents and this one, as an id subquery: the rollups' (agent, day, …) unique indexes then
    # serve every read below (an OR across a join to the agents would scan each rollup table whole).
    group = Q(agent_id__in=Agent.objects.filter(Q(team_id=team_id) | Q(pk=agent.pk)).values("pk"))
    mine = _mine(agent.pk)
    fields = ("evaluations", "score_sum", "promoters", "passives", "detractors", *COMPANION_FIELDS)
    weeks = [
        {
            "week": row["week"],
            **{f: row[f"mine_{f}"] for f in fields},
            **{f"team_{f}": row[f"all_{f}"] for f in fields},
        }
        for row in _in_period(AgentDayScoreStats.objects.filter(group), period)
        .order_by()
        .values(week=TruncWeek("day"))
        .annotate(
            **{f"mine_{f}": Sum(f, filter=mine) for f in fields},
            **{f"all_{f}": Sum(f) for f in fields},
        )
        .order_by("week")
    ]
    for w in weeks:
        w["evaluations"] = w["evaluations"] or 0
        w["qa_mean"] = float(w["score_sum"]) / w["evaluations"] if w["evaluations"] else None
        w["team_qa_mean"] = (
            float(w["team_score_sum"]) / w["team_evaluations"] if w["team_evaluations"] else None
        )
        agent_nps = nps_interval(w["promoters"] or 0, w["passives"] or 0, w["detractors"] or 0)
        team_nps = nps_interval(w["team_promoters"], w["team_passives"], w["team_detractors"])
        w.update(
            responses=agent_nps.n,
            nps=agent_nps.nps,
            nps_low=agent_nps.low,
            nps_high=agent_nps.high,
            team_responses=team_nps.n,
            team_nps=team_nps.nps,
        )
    call_fields = ("calls", "identified_calls", "transferred", "escalated", "first_contact_resolved")
    totals = _in_period(AgentDayCallStats.objects.filter(group), period).aggregate(
        **{f"mine_{f}": Sum(f, filter=mine) for f in call_fields},
        **{f"all_{f}": Sum(f) for f in call_fields},
    )
    calls = {
        **{f: totals[f"mine_{f}"] for f in call_fields},
        **{f"team_{f}": totals[f"all_{f}"] for f in call_fields},
    }
    rates = {
        "calls": calls["calls"] or 0,
        "team_calls": calls["team_calls"] or 0,
        "identified_calls": calls["identified_calls"] or 0,
        "team_identified_calls": calls["team_identified_calls"] or 0,
        "transfer_rate": rate(calls["transferred"], calls["calls"]),
        "team_transfer_rate": rate(calls["team_transferred"], calls["team_calls"]),
        "escalation_rate": rate(calls["escalated"], calls["calls"]),
        "team_escalation_rate": rate(calls["team_escalated"], calls["team_calls"]),
        "fcr_rate": rate(calls["first_contact_resolved"], calls["identified_calls"]),
        "team_fcr_rate": rate(calls["team_first_contact_resolved"], calls["team_identified_calls"]),
    }
    # Criterion pass rates from the per-agent-day criterion rollup (non-N/A answers of counted evaluations).
    criteria = list(
        _in_period(AgentDayCriterionStats.objects.filter(group), period)
        .order_by()
        .values(key=F("criterion__key"))
        .annotate(
            question=Min("criterion__question"),
            position=Min("criterion__position"),
            mine_answered=Coalesce(Sum("answered", filter=mine), 0),
            mine_passed=Coalesce(Sum("passed", filter=mine), 0),
            team_answered=Sum("answered"),
            team_passed=Sum("passed"),
        )
        .order_by("position", "key")
    )
    for c in criteria:
        c["answered"], c["passed"] = c.pop("mine_answered"), c.pop("mine_passed")
    for c in criteria:
        c["pass_rate"] = rate(c["passed"], c["answered"])
        c["team_pass_rate"] = rate(c["team_passed"], c["team_answered"])
    return {"weeks": weeks, "rates": rates, "criteria": criteria, "satisfaction": _satisfaction(weeks)}


def agent_recent_evaluations(*, agent: Agent, limit: int = 10):
    """The agent's latest reviews: the evaluations the page's QA figures are made of. The agent's own
    self-reviews and calibration scores are not QA results and are left out, as they are from the rollups."""
    return (
        Evaluation.objects.filter(
            agent=agent, kind=Evaluation.Kind.REVIEW, status=Evaluation.Status.SUBMITTED, is_current=True
        )
        .select_related("call", "scorecard")
        .order_by("-submitted_at", "-id")[:limit]
    )


def agent_open_followups(*, agent: Agent, limit: int = 20) -> list[dict[str, Any]]:
    """Open follow-up cases of responses credited (primary) to the agent, soonest due first."""
    return list(
        FollowUpCase.objects.filter(
            closed_at__isnull=True, response__credits__agent=agent, response__credits__is_primary=True
        )
        .order_by("due_at", "id")
        .values("id", "due_at", score=F("response__score"), external_id=F("response__call__external_id"))[
            :limit
        ]
    )


# --- what drives NPS ----------------------------------------------------------------------------------


def _range(period: Period):
    return local_day_start(period.date_from), local_day_start(period.date_to + timedelta(days=1))


def _scoped_calls(team_ids: list[int], period: Period) -> QuerySet[Call]:
    start, end = _range(period)
    return Call.objects.filter(
        agent__team_id__in=team_ids, started_at__gte=start, started_at__lt=end
    ).order_by()


def _scoped_evaluations(team_ids: list[int], period: Period, prefix: str = "") -> dict:
    start, end = _range(period)
    return {
        **counted_evaluations(prefix),
        f"{prefix}agent__team_id__in": team_ids,
        f"{prefix}call__started_at__gte": start,
        f"{prefix}call__started_at__lt": end,
    }


_CATEGORIES = ("promoter", "passive", "detractor")

# One row per surveyed call in scope with its call-level factors (from calls.selectors, so transfers,
# escalations and repeat contacts mean what they mean everywhere), then one aggregate per factor level.
_CALL_FACTORS_SQL = """
WITH m AS ({inner}),
f AS (
    SELECT f_category AS category, 'transfers' AS factor,
           CASE WHEN transfer_count = 0 THEN '0' WHEN transfer_count = 1 THEN '1'
                WHEN transfer_count = 2 THEN '2' ELSE '3+' END AS level FROM m
    UNION ALL SELECT f_category, 'escalated', CASE WHEN is_escalated THEN 'yes' ELSE 'no' END FROM m
    UNION ALL SELECT f_category, 'resolved', CASE WHEN f_resolved THEN 'yes' ELSE 'no' END FROM m
    UNION ALL SELECT f_category, 'fcr',
           CASE WHEN f_fcr IS NULL THEN 'unknown' WHEN f_fcr THEN 'yes' ELSE 'no' END FROM m
)
SELECT factor, level,
       COUNT(*) FILTER (WHERE category = 'promoter') AS promoters,
       COUNT(*) FILTER (WHERE category = 'passive') AS passives,
       COUNT(*) FILTER (WHERE category = 'detractor') AS detractors
FROM f GROUP BY factor, level ORDER BY factor, level
"""

# Pearson over centered values (no cancellation in Σxy − ΣxΣy/n); Spearman the same over average ranks
# (ties get the mean of their ranks). Window functions and FILTER-free SQL both databases run.
_CORRELATION_SQL = """
WITH pairs AS ({inner}),
ranked AS (
    SELECT c_qa AS qa, c_answer AS answer,
           RANK() OVER (ORDER BY c_qa) + (COUNT(*) OVER (PARTITION BY c_qa) - 1) / 2.0 AS qa_rank,
           RANK() OVER (ORDER BY c_answer) + (COUNT(*) OVER (PARTITION BY c_answer) - 1) / 2.0 AS answer_rank
    FROM pairs
),
centered AS (
    SELECT qa - AVG(qa) OVER () AS x, answer - AVG(answer) OVER () AS y,
           qa_rank - AVG(qa_rank) OVER () AS rx, answer_rank - AVG(answer_rank) OVER () AS ry
    FROM ranked
)
SELECT COUNT(*) AS n, SUM(x * y) AS sxy, SUM(x * x) AS sxx, SUM(y * y) AS syy,
       SUM(rx * ry) AS rxy, SUM(rx * rx) AS rxx, SUM(ry * ry) AS ryy
FROM centered
"""

FACTOR_LABELS = {
    "transfers": "Number of transfers",
    "escalated": "Escalated",
    "resolved": "Resolved",
    "fcr": "First-contact resolution",
}


def nps_drivers(*, team_ids: list[int], period: Period) -> dict[str, Any]:
    """Per criterion: NPS of surveyed calls where it was passed vs failed, the difference with its 95%
    interval, sorted by impact; NPS by call factors; QA score vs 0–10 answer correlation.

    Unit of the criterion analysis: an (evaluation, response) pair of the same call (a call has at most
    one response), N/A answers left out.
    """
    # Per criterion from the per-agent-day criterion rollup: answers on surveyed calls, by passed/failed
    # and the response's category.
    counts = [f"{outcome}_{category}s" for outcome in ("passed", "failed") for category in _CATEGORIES]
    criterion_rows = (
        _in_period(AgentDayCriterionStats.objects.filter(agent__team_id__in=team_ids), period)
        .order_by()
        .values(key=F("criterion__key"))
        .annotate(
            question=Min("criterion__question"),
            total_surveyed=Sum("surveyed"),
            **{f"total_{name}": Sum(name) for name in counts},
        )
        .filter(total_surveyed__gt=0)
    )
    criteria = []
    for row in criterion_rows:
        diff = nps_difference(
            tuple(row[f"total_passed_{category}s"] for category in _CATEGORIES),
            tuple(row[f"total_failed_{category}s"] for category in _CATEGORIES),
        )
        criteria.append({"key": row["key"], "question": row["question"], "difference": diff})
    criteria.sort(
        key=lambda c: (c["difference"].difference is None, -(c["difference"].difference or 0), c["key"])
    )

    surveyed = call_annotate_metrics(_scoped_calls(team_ids, period).filter(survey_responses__isnull=False))
    inner, params = compiled(
        surveyed.annotate(
            f_category=F("survey_responses__category"),
            f_resolved=F("is_resolved"),
            # None (level "unknown") for an anonymous caller, as everywhere (calls.selectors).
            f_fcr=F("is_first_contact_resolution"),
        ).values("f_category", "f_resolved", "transfer_count", "is_escalated", "f_fcr")
    )
    factors: dict[str, list[dict[str, Any]]] = {}
    for row in _fetch(_CALL_FACTORS_SQL.format(inner=inner), params):
        row["responses"] = row["promoters"] + row["passives"] + row["detractors"]
        _nps_fields(row)
        factors.setdefault(row["factor"], []).append(row)

    pairs = (
        Evaluation.objects.filter(
            **_scoped_evaluations(team_ids, period), call__survey_responses__isnull=False
        )
        .order_by()
        .annotate(
            c_qa=Cast("score", FloatField()), c_answer=Cast("call__survey_responses__score", FloatField())
        )
        .values("c_qa", "c_answer")
    )
    inner, params = compiled(pairs)
    # PostgreSQL sums ranks as numeric (Decimal), SQLite as REAL: floats from here on.
    sums = {key: _f(value) for key, value in _fetch(_CORRELATION_SQL.format(inner=inner), params)[0].items()}
    n = int(sums["n"] or 0)
    pearson = correlation_from_centered(sxy=sums["sxy"], sxx=sums["sxx"], syy=sums["syy"])
    spearman = correlation_from_centered(sxy=sums["rxy"], sxx=sums["rxx"], syy=sums["ryy"])
    return {
        "criteria": criteria,
        "factors": [(FACTOR_LABELS[key], factors[key]) for key in FACTOR_LABELS if key in factors],
        "pearson": correlation_interval(pearson, n),
        "spearman": correlation_interval(spearman, n, spearman=True),
    }


# --- transfers and escalations -----------------------------------------------------------------------


def transfer_analysis(*, team_ids: list[int], period: Period) -> dict[str, Any]:
    """Top transfer paths (share of calls, resolution, NPS), weekly transfer/escalation rates by
    department, calls by transfer/escalation reason, repeat contacts — all summed from the per-agent-day
    rollups of the selected teams' agents (never the raw calls). A transferred call counts once per
    (from, to) department path however many legs took it, and once per reason."""
    totals = _in_period(AgentDayCallStats.objects.filter(agent__team_id__in=team_ids), period).aggregate(
        calls=Coalesce(Sum("calls"), 0),
        identified_calls=Coalesce(Sum("identified_calls"), 0),
        repeat_contacts=Coalesce(Sum("repeat_contacts"), 0),
    )
    total = totals["calls"]
    paths = list(
        _in_period(AgentDayTransferPathStats.objects.filter(agent__team_id__in=team_ids), period)
        .order_by()
        .values(from_name=F("from_department__name"), to_name=F("to_department__name"))
        .annotate(
            calls_count=Sum("calls"),
            resolved=Sum("resolved"),
            promoters=Sum("promoters"),
            passives=Sum("passives"),
            detractors=Sum("detractors"),
        )
        .order_by("-calls_count", "from_name", "to_name")[:20]
    )
    for row in paths:
        row["from_department"] = row.pop("from_name") or "—"
        row["to_department"] = row.pop("to_name") or "—"
        row["calls"] = row.pop("calls_count")
        row["share"] = rate(row["calls"], total)
        row["resolved_rate"] = rate(row["resolved"], row["calls"])
        row["responses"] = row["promoters"] + row["passives"] + row["detractors"]
        _nps_fields(row)
    weekly = list(
        _in_period(AgentDayDepartmentStats.objects.filter(agent__team_id__in=team_ids), period)
        .order_by()
        .values(department_name=Coalesce(F("department__name"), Value("—")), week=TruncWeek("day"))
        .annotate(calls_count=Sum("calls"), transferred=Sum("transferred"), escalated=Sum("escalated"))
        .order_by("department_name", "week")
    )
    for row in weekly:
        row["department"] = row.pop("department_name")
        row["calls"] = row.pop("calls_count")
        row["transfer_rate"] = rate(row["transferred"], row["calls"])
        row["escalation_rate"] = rate(row["escalated"], row["calls"])
    reasons: dict[str, list[dict[str, Any]]] = {"transfer": [], "escalation": []}
    for r in (
        _in_period(AgentDayReasonStats.objects.filter(agent__team_id__in=team_ids), period)
        .order_by()
        .values("kind", reason_label=F("reason"))
        .annotate(calls_count=Sum("calls"))
        .order_by("kind", "-calls_count", "reason_label")
    ):
        reasons[r["kind"]].append({"kind": r["kind"], "reason": r["reason_label"], "calls": r["calls_count"]})
    # Repeat contacts are those of identified callers, over their calls (an anonymous caller's cannot be seen).
    repeat = {key: totals[key] for key in ("calls", "identified_calls", "repeat_contacts")}
    repeat["anonymous_calls"] = repeat["calls"] - repeat["identified_calls"]
    repeat["rate"] = rate(repeat["repeat_contacts"], repeat["identified_calls"])
    return {
        "paths": paths,
        "weekly": weekly,
        "transfer_reasons": reasons["transfer"],
        "escalation_reasons": reasons["escalation"],
        "repeat": repeat,
    }
