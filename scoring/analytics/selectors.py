"""Read paths of the analytics pages. Figures are SQL aggregates over the day rollups (leaderboard, team
view, trends) or, for the per-call analyses (drivers, transfer paths), over raw rows limited to the
period and to the teams the user may see. Permission scoping lives here (`*_for_user`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404
from django.utils import timezone

from calls import roles
from calls.models import Agent, Team
from calls.rollups import local_day_start
from calls.selectors import agent_list_for_user
from scoring.models import Evaluation
from scoring.surveys.metrics import Z_95, nps_interval

from .metrics import correlation_interval, nps_difference, rate
from .rollups import followup_table

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


def _fetch(sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [c.name for c in cursor.description]
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

_AGENT_FIGURES_SQL = """
WITH a AS (
    SELECT a.id AS agent_id, a.name, a.employee_code, a.team_id, t.name AS team_name
    FROM calls_agent a JOIN calls_team t ON t.id = a.team_id
    WHERE a.team_id = ANY(%(team_ids)s)
), c AS (
    SELECT agent_id, SUM(calls) AS calls, SUM(handle_seconds) AS handle_seconds,
           SUM(transferred) AS transferred, SUM(escalated) AS escalated, SUM(resolved) AS resolved,
           SUM(first_contact_resolved) AS first_contact_resolved, SUM(repeat_contacts) AS repeat_contacts
    FROM calls_agentdaycallstats
    WHERE day BETWEEN %(date_from)s AND %(date_to)s AND agent_id IN (SELECT agent_id FROM a)
    GROUP BY agent_id
), s AS (
    SELECT agent_id, SUM(evaluations) AS evaluations, SUM(score_sum) AS score_sum,
           SUM(score_sum_squares) AS score_sum_squares, SUM(promoters) AS promoters,
           SUM(passives) AS passives, SUM(detractors) AS detractors, SUM(followups_closed) AS followups_closed,
           SUM(followups_closed_within_sla) AS followups_closed_within_sla
    FROM analytics_agentdayscorestats
    WHERE day BETWEEN %(date_from)s AND %(date_to)s AND agent_id IN (SELECT agent_id FROM a)
    GROUP BY agent_id
), j AS (
    SELECT a.*,
           COALESCE(c.calls, 0)::int AS calls, COALESCE(c.handle_seconds, 0)::bigint AS handle_seconds,
           COALESCE(c.transferred, 0)::int AS transferred, COALESCE(c.escalated, 0)::int AS escalated,
           COALESCE(c.resolved, 0)::int AS resolved,
           COALESCE(c.first_contact_resolved, 0)::int AS first_contact_resolved,
           COALESCE(c.repeat_contacts, 0)::int AS repeat_contacts,
           COALESCE(s.evaluations, 0)::int AS evaluations, COALESCE(s.score_sum, 0) AS score_sum,
           COALESCE(s.score_sum_squares, 0) AS score_sum_squares,
           COALESCE(s.promoters, 0)::int AS promoters, COALESCE(s.passives, 0)::int AS passives,
           COALESCE(s.detractors, 0)::int AS detractors,
           COALESCE(s.followups_closed, 0)::int AS followups_closed,
           COALESCE(s.followups_closed_within_sla, 0)::int AS followups_closed_within_sla
    FROM a LEFT JOIN c ON c.agent_id = a.agent_id LEFT JOIN s ON s.agent_id = a.agent_id
    WHERE c.agent_id IS NOT NULL OR s.agent_id IS NOT NULL
), t AS (
    SELECT j.*,
           SUM(score_sum) OVER (PARTITION BY team_id) AS team_score_sum,
           SUM(evaluations) OVER (PARTITION BY team_id) AS team_evaluations,
           -- pooled within-agent variance of the team: Σ(Σx² − (Σx)²/n) / (N − agents)
           SUM(CASE WHEN evaluations > 0 THEN score_sum_squares - score_sum * score_sum / evaluations END)
               OVER (PARTITION BY team_id)
             / NULLIF(SUM(evaluations) OVER (PARTITION BY team_id)
                      - SUM((evaluations > 0)::int) OVER (PARTITION BY team_id), 0) AS team_within_variance
    FROM j
), e0 AS (
    SELECT t.*,
           score_sum / NULLIF(evaluations, 0) AS qa_mean,
           team_score_sum / NULLIF(team_evaluations, 0) AS team_qa_mean,
           (score_sum + %(k)s * team_score_sum / NULLIF(team_evaluations, 0))
               / NULLIF(evaluations + %(k)s, 0) AS qa_shrunk
    FROM t
), e AS (
    SELECT e0.*,
           -- rank key: the lower 95%% bound of the shrunk estimate, SE = within SD / sqrt(n + k)
           qa_shrunk - %(z)s * COALESCE(SQRT(GREATEST(team_within_variance, 0) / NULLIF(evaluations + %(k)s, 0)), 0)
               AS qa_lower,
           handle_seconds::float / NULLIF(calls, 0) AS average_handle_seconds,
           first_contact_resolved::float / NULLIF(calls, 0) AS fcr_rate,
           transferred::float / NULLIF(calls, 0) AS transfer_rate,
           escalated::float / NULLIF(calls, 0) AS escalation_rate,
           promoters + passives + detractors AS responses,
           evaluations >= %(min_evaluations)s AS is_ranked
    FROM e0
)
SELECT e.*,
       CASE WHEN is_ranked THEN RANK() OVER (PARTITION BY is_ranked ORDER BY qa_lower DESC, qa_shrunk DESC) END
           AS rank
FROM e
ORDER BY is_ranked DESC, rank, name, agent_id
"""

_SECTION_FIGURES_SQL = """
SELECT ss.agent_id, sec.title, SUM(ss.evaluations)::int AS evaluations, SUM(ss.score_sum) AS score_sum
FROM analytics_agentdaysectionstats ss JOIN scoring_section sec ON sec.id = ss.section_id
WHERE ss.day BETWEEN %(date_from)s AND %(date_to)s AND ss.agent_id = ANY(%(agent_ids)s)
GROUP BY ss.agent_id, sec.title
ORDER BY sec.title
"""

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
    "followups_closed_within_sla",
}


def _agent_figures(team_ids: list[int], period: Period) -> list[dict[str, Any]]:
    rows = _fetch(
        _AGENT_FIGURES_SQL,
        {
            "team_ids": team_ids,
            "date_from": period.date_from,
            "date_to": period.date_to,
            "k": settings.ANALYTICS_SHRINKAGE_K,
            "z": Z_95,
            "min_evaluations": settings.ANALYTICS_MIN_EVALUATIONS,
        },
    )
    for row in rows:
        for key in (
            "score_sum",
            "score_sum_squares",
            "qa_mean",
            "team_qa_mean",
            "qa_shrunk",
            "team_score_sum",
            "qa_lower",
            "team_within_variance",
        ):
            row[key] = _f(row[key])
        _nps_fields(row)
        row["is_nps_ranked"] = row["responses"] >= settings.ANALYTICS_MIN_RESPONSES
    return rows


def leaderboard(
    *, team_ids: list[int], period: Period, sort: str = "rank", descending: bool = False
) -> dict[str, Any]:
    """Per-agent figures for the period. Fair ranking: the QA mean is shrunk toward the team mean,
    (Σx + k·team_mean) / (n + k) with k = ANALYTICS_SHRINKAGE_K, and agents are ranked by the lower 95%
    bound of that estimate (shrunk − 1.96·s/sqrt(n + k), s the team's pooled within-agent SD), only among
    agents with at least ANALYTICS_MIN_EVALUATIONS evaluations, with rank movement since the previous period of the same length.

    Three queries whatever the number of agents: this period, the previous one, the section scores.
    """
    rows = _agent_figures(team_ids, period)
    previous = {r["agent_id"]: r["rank"] for r in _agent_figures(team_ids, period.previous)}
    sections: dict[int, dict[str, float | None]] = {}
    titles: list[str] = []
    if rows:
        for s in _fetch(
            _SECTION_FIGURES_SQL,
            {
                "date_from": period.date_from,
                "date_to": period.date_to,
                "agent_ids": [r["agent_id"] for r in rows],
            },
        ):
            if s["title"] not in titles:
                titles.append(s["title"])
            sections.setdefault(s["agent_id"], {})[s["title"]] = (
                float(s["score_sum"]) / s["evaluations"] if s["evaluations"] else None
            )
    for row in rows:
        row["previous_rank"] = previous.get(row["agent_id"])
        row["movement"] = row["previous_rank"] - row["rank"] if row["rank"] and row["previous_rank"] else None
        row["sections"] = [sections.get(row["agent_id"], {}).get(title) for title in titles]
    if sort in SORT_KEYS and sort != "rank":
        present = [r for r in rows if r[sort] is not None]
        missing = [r for r in rows if r[sort] is None]
        present.sort(key=lambda r: (r[sort], r["name"]), reverse=descending)
        rows = present + missing
    elif descending:
        rows = list(reversed(rows))
    return {"rows": rows, "section_titles": titles, "period": period}


_TEAM_FIGURES_SQL = """
WITH c AS (
    SELECT a.team_id, SUM(calls) AS calls, SUM(handle_seconds) AS handle_seconds, SUM(transferred) AS transferred,
           SUM(escalated) AS escalated, SUM(first_contact_resolved) AS first_contact_resolved
    FROM calls_agentdaycallstats d JOIN calls_agent a ON a.id = d.agent_id
    WHERE d.day BETWEEN %(date_from)s AND %(date_to)s AND a.team_id = ANY(%(team_ids)s)
    GROUP BY a.team_id
), s AS (
    SELECT a.team_id, SUM(evaluations) AS evaluations, SUM(score_sum) AS score_sum, SUM(promoters) AS promoters,
           SUM(passives) AS passives, SUM(detractors) AS detractors, SUM(followups_closed) AS followups_closed,
           SUM(followups_closed_within_sla) AS followups_closed_within_sla
    FROM analytics_agentdayscorestats d JOIN calls_agent a ON a.id = d.agent_id
    WHERE d.day BETWEEN %(date_from)s AND %(date_to)s AND a.team_id = ANY(%(team_ids)s)
    GROUP BY a.team_id
)
SELECT t.id AS team_id, t.name AS team_name,
       COALESCE(c.calls, 0)::int AS calls, c.handle_seconds::float / NULLIF(c.calls, 0) AS average_handle_seconds,
       c.first_contact_resolved::float / NULLIF(c.calls, 0) AS fcr_rate,
       c.transferred::float / NULLIF(c.calls, 0) AS transfer_rate,
       c.escalated::float / NULLIF(c.calls, 0) AS escalation_rate,
       COALESCE(s.evaluations, 0)::int AS evaluations, s.score_sum / NULLIF(s.evaluations, 0) AS qa_mean,
       COALESCE(s.promoters, 0)::int AS promoters, COALESCE(s.passives, 0)::int AS passives,
       COALESCE(s.detractors, 0)::int AS detractors,
       COALESCE(s.followups_closed, 0)::int AS followups_closed,
       COALESCE(s.followups_closed_within_sla, 0)::int AS followups_closed_within_sla
FROM calls_team t LEFT JOIN c ON c.team_id = t.id LEFT JOIN s ON s.team_id = t.id
WHERE t.id = ANY(%(team_ids)s)
ORDER BY t.name
"""

_DEPARTMENT_TREND_SQL = """
SELECT dep.name AS department, date_trunc('week', d.day)::date AS week,
       SUM(d.evaluations)::int AS evaluations, SUM(d.score_sum) AS score_sum,
       SUM(d.promoters)::int AS promoters, SUM(d.passives)::int AS passives, SUM(d.detractors)::int AS detractors
FROM analytics_agentdayscorestats d
JOIN calls_agent a ON a.id = d.agent_id
JOIN calls_team t ON t.id = a.team_id
JOIN calls_department dep ON dep.id = t.department_id
WHERE d.day BETWEEN %(date_from)s AND %(date_to)s AND t.id = ANY(%(team_ids)s)
GROUP BY dep.name, week
ORDER BY dep.name, week
"""


def team_figures(*, team_ids: list[int], period: Period) -> list[dict[str, Any]]:
    rows = _fetch(
        _TEAM_FIGURES_SQL, {"team_ids": team_ids, "date_from": period.date_from, "date_to": period.date_to}
    )
    for row in rows:
        row["qa_mean"] = _f(row["qa_mean"])
        row["responses"] = row["promoters"] + row["passives"] + row["detractors"]
        _nps_fields(row)
    return rows


def department_weekly_trend(*, team_ids: list[int], period: Period) -> list[dict[str, Any]]:
    rows = _fetch(
        _DEPARTMENT_TREND_SQL,
        {"team_ids": team_ids, "date_from": period.date_from, "date_to": period.date_to},
    )
    for row in rows:
        row["qa_mean"] = float(row["score_sum"]) / row["evaluations"] if row["evaluations"] else None
        row["responses"] = row["promoters"] + row["passives"] + row["detractors"]
        _nps_fields(row)
    return rows


# --- agent page ---------------------------------------------------------------------------------------

_AGENT_WEEKLY_SQL = """
SELECT date_trunc('week', d.day)::date AS week,
       SUM(d.evaluations) FILTER (WHERE d.agent_id = %(agent_id)s)::int AS evaluations,
       SUM(d.score_sum) FILTER (WHERE d.agent_id = %(agent_id)s) AS score_sum,
       SUM(d.promoters) FILTER (WHERE d.agent_id = %(agent_id)s)::int AS promoters,
       SUM(d.passives) FILTER (WHERE d.agent_id = %(agent_id)s)::int AS passives,
       SUM(d.detractors) FILTER (WHERE d.agent_id = %(agent_id)s)::int AS detractors,
       SUM(d.evaluations)::int AS team_evaluations, SUM(d.score_sum) AS team_score_sum,
       SUM(d.promoters)::int AS team_promoters, SUM(d.passives)::int AS team_passives,
       SUM(d.detractors)::int AS team_detractors
FROM analytics_agentdayscorestats d JOIN calls_agent a ON a.id = d.agent_id
WHERE d.day BETWEEN %(date_from)s AND %(date_to)s AND (a.team_id = %(team_id)s OR d.agent_id = %(agent_id)s)
GROUP BY week ORDER BY week
"""

_AGENT_CALLS_VS_TEAM_SQL = """
SELECT SUM(d.calls) FILTER (WHERE d.agent_id = %(agent_id)s)::int AS calls,
       SUM(d.transferred) FILTER (WHERE d.agent_id = %(agent_id)s)::int AS transferred,
       SUM(d.escalated) FILTER (WHERE d.agent_id = %(agent_id)s)::int AS escalated,
       SUM(d.first_contact_resolved) FILTER (WHERE d.agent_id = %(agent_id)s)::int AS first_contact_resolved,
       SUM(d.calls)::int AS team_calls, SUM(d.transferred)::int AS team_transferred,
       SUM(d.escalated)::int AS team_escalated, SUM(d.first_contact_resolved)::int AS team_first_contact_resolved
FROM calls_agentdaycallstats d JOIN calls_agent a ON a.id = d.agent_id
WHERE d.day BETWEEN %(date_from)s AND %(date_to)s AND (a.team_id = %(team_id)s OR d.agent_id = %(agent_id)s)
"""

_EVALUATION_ROWS = """
    ev.status = 'submitted' AND ev.is_current AND ev.kind = 'review' AND ev.score IS NOT NULL
"""

_CRITERION_PASS_SQL = f"""
SELECT cr.key, MIN(cr.question) AS question,
       COUNT(*) FILTER (WHERE ev.agent_id = %(agent_id)s)::int AS answered,
       COUNT(*) FILTER (WHERE ev.agent_id = %(agent_id)s AND an.value >= cr.max_points)::int AS passed,
       COUNT(*)::int AS team_answered,
       COUNT(*) FILTER (WHERE an.value >= cr.max_points)::int AS team_passed
FROM scoring_answer an
JOIN scoring_criterion cr ON cr.id = an.criterion_id
JOIN scoring_evaluation ev ON ev.id = an.evaluation_id
JOIN calls_call c ON c.id = ev.call_id
JOIN calls_agent a ON a.id = ev.agent_id
WHERE {_EVALUATION_ROWS} AND NOT an.is_na
  AND (a.team_id = %(team_id)s OR ev.agent_id = %(agent_id)s)
  AND c.started_at >= %(start)s AND c.started_at < %(end)s
GROUP BY cr.key
ORDER BY MIN(cr.position), cr.key
"""


def _range_params(period: Period) -> dict[str, Any]:
    return {
        "date_from": period.date_from,
        "date_to": period.date_to,
        "start": local_day_start(period.date_from),
        "end": local_day_start(period.date_to + timedelta(days=1)),
        "tz": timezone.get_current_timezone_name(),
    }


def agent_overview(*, agent: Agent, period: Period) -> dict[str, Any]:
    """The agent page's figures: weekly QA/NPS trend beside the team's, criterion pass rates and
    transfer/escalation rates beside the team's. Team figures are aggregates only (no other names)."""
    params = {**_range_params(period), "agent_id": agent.pk, "team_id": agent.team_id or 0}
    weeks = _fetch(_AGENT_WEEKLY_SQL, params)
    for w in weeks:
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
        w["evaluations"] = w["evaluations"] or 0
    calls = _fetch(_AGENT_CALLS_VS_TEAM_SQL, params)[0]
    rates = {
        "calls": calls["calls"] or 0,
        "team_calls": calls["team_calls"] or 0,
        "transfer_rate": rate(calls["transferred"], calls["calls"]),
        "team_transfer_rate": rate(calls["team_transferred"], calls["team_calls"]),
        "escalation_rate": rate(calls["escalated"], calls["calls"]),
        "team_escalation_rate": rate(calls["team_escalated"], calls["team_calls"]),
        "fcr_rate": rate(calls["first_contact_resolved"], calls["calls"]),
        "team_fcr_rate": rate(calls["team_first_contact_resolved"], calls["team_calls"]),
    }
    criteria = _fetch(_CRITERION_PASS_SQL, params)
    for c in criteria:
        c["pass_rate"] = rate(c["passed"], c["answered"])
        c["team_pass_rate"] = rate(c["team_passed"], c["team_answered"])
    return {"weeks": weeks, "rates": rates, "criteria": criteria}


def agent_recent_evaluations(*, agent: Agent, limit: int = 10):
    return (
        Evaluation.objects.filter(agent=agent, status=Evaluation.Status.SUBMITTED, is_current=True)
        .select_related("call", "scorecard")
        .order_by("-submitted_at", "-id")[:limit]
    )


def agent_open_followups(*, agent: Agent, limit: int = 20) -> list[dict[str, Any]]:
    """Open follow-up cases of responses credited (primary) to the agent; empty without the follow-ups app."""
    table = followup_table()
    if table is None:
        return []
    return _fetch(
        f"""
        SELECT f.id, f.due_at, r.score, r.call_id, c.external_id
        FROM {table} f JOIN surveys_surveyresponse r ON r.id = f.response_id
        JOIN surveys_responsecredit cr ON cr.response_id = r.id AND cr.is_primary
        JOIN calls_call c ON c.id = r.call_id
        WHERE cr.agent_id = %(agent_id)s AND f.closed_at IS NULL
        ORDER BY f.due_at LIMIT %(limit)s
        """,
        {"agent_id": agent.pk, "limit": limit},
    )


# --- what drives NPS ----------------------------------------------------------------------------------

_CRITERION_NPS_SQL = f"""
WITH pairs AS (
    SELECT ev.id AS evaluation_id, r.category
    FROM scoring_evaluation ev
    JOIN surveys_surveyresponse r ON r.call_id = ev.call_id
    JOIN calls_call c ON c.id = ev.call_id
    JOIN calls_agent a ON a.id = ev.agent_id
    WHERE {_EVALUATION_ROWS} AND a.team_id = ANY(%(team_ids)s)
      AND c.started_at >= %(start)s AND c.started_at < %(end)s
)
SELECT cr.key, MIN(cr.question) AS question,
       COUNT(*) FILTER (WHERE an.value >= cr.max_points AND p.category = 'promoter')::int AS passed_promoters,
       COUNT(*) FILTER (WHERE an.value >= cr.max_points AND p.category = 'passive')::int AS passed_passives,
       COUNT(*) FILTER (WHERE an.value >= cr.max_points AND p.category = 'detractor')::int AS passed_detractors,
       COUNT(*) FILTER (WHERE an.value < cr.max_points AND p.category = 'promoter')::int AS failed_promoters,
       COUNT(*) FILTER (WHERE an.value < cr.max_points AND p.category = 'passive')::int AS failed_passives,
       COUNT(*) FILTER (WHERE an.value < cr.max_points AND p.category = 'detractor')::int AS failed_detractors
FROM pairs p
JOIN scoring_answer an ON an.evaluation_id = p.evaluation_id
JOIN scoring_criterion cr ON cr.id = an.criterion_id
WHERE NOT an.is_na
GROUP BY cr.key
"""

# One row per surveyed call in scope with the call-level factors, then one aggregate per factor level.
_CALL_FACTORS_SQL = """
WITH m AS (
    SELECT r.category, c.is_resolved,
           (SELECT COUNT(*) FROM calls_transfer t WHERE t.call_id = c.id) AS transfers,
           EXISTS (SELECT 1 FROM calls_escalation e WHERE e.call_id = c.id) AS is_escalated,
           EXISTS (
               SELECT 1 FROM calls_call l
               WHERE l.customer_id = c.customer_id
                 AND (l.started_at > c.started_at OR (l.started_at = c.started_at AND l.id > c.id))
                 AND l.started_at <= c.started_at + %(window)s
           ) AS has_repeat_contact
    FROM surveys_surveyresponse r
    JOIN calls_call c ON c.id = r.call_id
    JOIN calls_agent a ON a.id = c.agent_id
    WHERE a.team_id = ANY(%(team_ids)s) AND c.started_at >= %(start)s AND c.started_at < %(end)s
), f AS (
    SELECT category, 'transfers' AS factor,
           CASE WHEN transfers >= 3 THEN '3+' ELSE transfers::text END AS level FROM m
    UNION ALL SELECT category, 'escalated', CASE WHEN is_escalated THEN 'yes' ELSE 'no' END FROM m
    UNION ALL SELECT category, 'resolved', CASE WHEN is_resolved THEN 'yes' ELSE 'no' END FROM m
    UNION ALL SELECT category, 'fcr',
           CASE WHEN is_resolved AND transfers = 0 AND NOT has_repeat_contact THEN 'yes' ELSE 'no' END FROM m
)
SELECT factor, level,
       COUNT(*) FILTER (WHERE category = 'promoter')::int AS promoters,
       COUNT(*) FILTER (WHERE category = 'passive')::int AS passives,
       COUNT(*) FILTER (WHERE category = 'detractor')::int AS detractors
FROM f GROUP BY factor, level ORDER BY factor, level
"""

# Pearson directly; Spearman as Pearson over average ranks (ties get the mean of their ranks).
_CORRELATION_SQL = f"""
WITH pairs AS (
    SELECT ev.score::float AS qa, r.score::float AS answer
    FROM scoring_evaluation ev
    JOIN surveys_surveyresponse r ON r.call_id = ev.call_id
    JOIN calls_call c ON c.id = ev.call_id
    JOIN calls_agent a ON a.id = ev.agent_id
    WHERE {_EVALUATION_ROWS} AND a.team_id = ANY(%(team_ids)s)
      AND c.started_at >= %(start)s AND c.started_at < %(end)s
), ranked AS (
    SELECT qa, answer,
           RANK() OVER (ORDER BY qa) + (COUNT(*) OVER (PARTITION BY qa) - 1) / 2.0 AS qa_rank,
           RANK() OVER (ORDER BY answer) + (COUNT(*) OVER (PARTITION BY answer) - 1) / 2.0 AS answer_rank
    FROM pairs
)
SELECT COUNT(*)::int AS n, CORR(qa, answer) AS pearson, CORR(qa_rank::float, answer_rank::float) AS spearman
FROM ranked
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

    Unit of the criterion analysis: an (evaluation, response) pair of the same call, N/A answers left out.
    """
    params = {
        **_range_params(period),
        "team_ids": team_ids,
        "window": timedelta(days=settings.REPEAT_CONTACT_WINDOW_DAYS),
    }
    criteria = []
    for row in _fetch(_CRITERION_NPS_SQL, params):
        diff = nps_difference(
            (row["passed_promoters"], row["passed_passives"], row["passed_detractors"]),
            (row["failed_promoters"], row["failed_passives"], row["failed_detractors"]),
        )
        criteria.append({"key": row["key"], "question": row["question"], "difference": diff})
    criteria.sort(
        key=lambda c: (c["difference"].difference is None, -(c["difference"].difference or 0), c["key"])
    )
    factors: dict[str, list[dict[str, Any]]] = {}
    for row in _fetch(_CALL_FACTORS_SQL, params):
        row["responses"] = row["promoters"] + row["passives"] + row["detractors"]
        _nps_fields(row)
        factors.setdefault(row["factor"], []).append(row)
    corr = _fetch(_CORRELATION_SQL, params)[0]
    return {
        "criteria": criteria,
        "factors": [(FACTOR_LABELS[key], factors[key]) for key in FACTOR_LABELS if key in factors],
        "pearson": correlation_interval(corr["pearson"], corr["n"]),
        "spearman": correlation_interval(corr["spearman"], corr["n"]),
    }


# --- transfers and escalations -----------------------------------------------------------------------

_SCOPED_CALLS = """
    SELECT c.id, c.department_id, c.is_resolved, c.started_at
    FROM calls_call c JOIN calls_agent a ON a.id = c.agent_id
    WHERE a.team_id = ANY(%(team_ids)s) AND c.started_at >= %(start)s AND c.started_at < %(end)s
"""

_PATHS_SQL = f"""
WITH sc AS ({_SCOPED_CALLS}),
total AS (SELECT COUNT(*) AS n FROM sc),
p AS (
    SELECT DISTINCT t.call_id, t.from_department_id, t.to_department_id FROM calls_transfer t
    JOIN sc ON sc.id = t.call_id
)
SELECT COALESCE(fd.name, '—') AS from_department, COALESCE(td.name, '—') AS to_department,
       COUNT(*)::int AS calls, COUNT(*)::float / NULLIF((SELECT n FROM total), 0) AS share,
       COUNT(*) FILTER (WHERE sc.is_resolved)::float / COUNT(*) AS resolved_rate,
       COUNT(*) FILTER (WHERE r.category = 'promoter')::int AS promoters,
       COUNT(*) FILTER (WHERE r.category = 'passive')::int AS passives,
       COUNT(*) FILTER (WHERE r.category = 'detractor')::int AS detractors
FROM p JOIN sc ON sc.id = p.call_id
LEFT JOIN calls_department fd ON fd.id = p.from_department_id
LEFT JOIN calls_department td ON td.id = p.to_department_id
LEFT JOIN surveys_surveyresponse r ON r.call_id = p.call_id
GROUP BY fd.name, td.name
ORDER BY calls DESC, from_department, to_department
LIMIT 20
"""

_WEEKLY_DEPARTMENT_SQL = f"""
WITH sc AS ({_SCOPED_CALLS})
SELECT COALESCE(d.name, '—') AS department, date_trunc('week', sc.started_at AT TIME ZONE %(tz)s)::date AS week,
       COUNT(*)::int AS calls,
       COUNT(*) FILTER (WHERE EXISTS (SELECT 1 FROM calls_transfer t WHERE t.call_id = sc.id))::int AS transferred,
       COUNT(*) FILTER (WHERE EXISTS (SELECT 1 FROM calls_escalation e WHERE e.call_id = sc.id))::int AS escalated
FROM sc LEFT JOIN calls_department d ON d.id = sc.department_id
GROUP BY 1, 2 ORDER BY 1, 2
"""

_REASONS_SQL = f"""
WITH sc AS ({_SCOPED_CALLS})
SELECT 'transfer' AS kind, COALESCE(NULLIF(t.reason, ''), '(none)') AS reason, COUNT(DISTINCT t.call_id)::int AS calls
FROM calls_transfer t JOIN sc ON sc.id = t.call_id GROUP BY 2
UNION ALL
SELECT 'escalation', COALESCE(NULLIF(e.reason, ''), '(none)'), COUNT(DISTINCT e.call_id)::int
FROM calls_escalation e JOIN sc ON sc.id = e.call_id GROUP BY 2
ORDER BY 1, 3 DESC, 2
"""


def transfer_analysis(*, team_ids: list[int], period: Period) -> dict[str, Any]:
    """Top transfer paths (share of calls, resolution, NPS), weekly transfer/escalation rates by
    department, calls by transfer/escalation reason, repeat contacts (from the rollups)."""
    params = {**_range_params(period), "team_ids": team_ids}
    paths = _fetch(_PATHS_SQL, params)
    for row in paths:
        row["responses"] = row["promoters"] + row["passives"] + row["detractors"]
        _nps_fields(row)
    weekly = _fetch(_WEEKLY_DEPARTMENT_SQL, params)
    for row in weekly:
        row["transfer_rate"] = rate(row["transferred"], row["calls"])
        row["escalation_rate"] = rate(row["escalated"], row["calls"])
    reasons = _fetch(_REASONS_SQL, params)
    repeat = _fetch(
        """SELECT COALESCE(SUM(d.calls), 0)::int AS calls, COALESCE(SUM(d.repeat_contacts), 0)::int AS repeat_contacts
           FROM calls_agentdaycallstats d JOIN calls_agent a ON a.id = d.agent_id
           WHERE d.day BETWEEN %(date_from)s AND %(date_to)s AND a.team_id = ANY(%(team_ids)s)""",
        params,
    )[0]
    repeat["rate"] = rate(repeat["repeat_contacts"], repeat["calls"])
    return {
        "paths": paths,
        "weekly": weekly,
        "transfer_reasons": [r for r in reasons if r["kind"] == "transfer"],
        "escalation_reasons": [r for r in reasons if r["kind"] == "escalation"],
        "repeat": repeat,
    }
