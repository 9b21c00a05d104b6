"""Leaderboard, agent, drivers and transfers pages read from rollups vs one hand-written SQL query over the raw tables.

By default it measures the data already in the database (seed it with `manage.py seed_demo --calls 1000000
--agents 500 …`); `--synthetic` builds a set-based synthetic dataset (generate_series) instead. Either way
everything runs inside one transaction that is rolled back at the end (the bench supervisor it logs in
as, the synthetic rows), so the database is left as it was. Before timing, the hand-written query's
figures are checked against the leaderboard's, agent by agent: the comparison is between two ways of
computing the same numbers. Rounds are interleaved (each round times every method once), so a load
spike from another process hits all methods alike. PostgreSQL only.
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.db.models import Max, Min, Sum
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from calls.models import Agent, AgentDayCallStats, Call, Escalation, Team, Transfer
from calls.rollups import agent_day_stats_refresh, local_day_start
from calls.selectors import repeat_window
from scoring.followups.models import FollowUpCase
from scoring.models import Evaluation
from scoring.surveys.models import SurveyResponse

from .rollups import counted_evaluations
from .selectors import _fair_qa, analytics_teams_for_user, leaderboard, period_resolve


class _Rollback(Exception):
    pass


def add_arguments(parser) -> None:
    parser.add_argument(
        "--synthetic",
        action="store_true",
        help="build a synthetic dataset (sizes below) instead of measuring the data in the database",
    )
    parser.add_argument("--calls", type=int, default=100_000, help="--synthetic only")
    parser.add_argument("--evaluations", type=int, default=20_000, help="--synthetic only")
    parser.add_argument("--responses", type=int, default=10_000, help="--synthetic only")
    parser.add_argument("--agents", type=int, default=100, help="--synthetic only")
    parser.add_argument("--days", type=int, default=90, help="--synthetic only")
    parser.add_argument("--repeat", type=int, default=15, help="timed rounds (after one warm-up round)")


# The leaderboard's figures for local days [start, end) straight from the raw tables, in one statement:
# per agent calls, calls of identified callers (with a customer), handle time, transferred, escalated,
# first-contact resolved (an identified caller's call resolved, never transferred, with no later contact of the
# same customer within the repeat window: the next contact in (started_at, id) order, found with LEAD over
# the calls from start to end + window; an anonymous call's FCR is unknown and not counted), counted QA
# evaluations with Σscore and Σscore² (the shrinkage needs both) and per-section sums, QA sums of the
# previous period (rank movement), primary-credited NPS responses by category, and closed follow-ups
# (within SLA). Each raw table is read once, joined by hash on the period's calls: no correlated
# subquery per call. Same definitions as calls.selectors and scoring.analytics.rollups.
_HAND_SQL = """
WITH period_call AS (
    SELECT c.id, c.agent_id, c.customer_id, c.started_at, c.is_resolved,
           c.talk_seconds + c.hold_seconds + c.wrap_seconds AS handle,
           LEAD(c.started_at) OVER (PARTITION BY c.customer_id ORDER BY c.started_at, c.id) AS next_contact
    FROM calls_call c
    WHERE c.started_at >= %(start)s AND c.started_at < %(end)s + %(window)s
), transferred AS (
    SELECT DISTINCT call_id FROM calls_transfer
), escalated AS (
    SELECT DISTINCT call_id FROM calls_escalation
), call_figures AS (
    SELECT pc.agent_id, COUNT(*) AS calls, COUNT(pc.customer_id) AS identified_calls,
           SUM(pc.handle) AS handle_seconds, COUNT(t.call_id) AS transferred, COUNT(e.call_id) AS escalated,
           COUNT(*) FILTER (WHERE pc.is_resolved AND t.call_id IS NULL AND pc.customer_id IS NOT NULL
               AND (pc.next_contact IS NULL OR pc.next_contact > pc.started_at + %(window)s)) AS fcr
    FROM period_call pc
    LEFT JOIN transferred t ON t.call_id = pc.id
    LEFT JOIN escalated e ON e.call_id = pc.id
    WHERE pc.agent_id IS NOT NULL AND pc.started_at < %(end)s
    GROUP BY pc.agent_id
), counted AS (
    SELECT ev.id, ev.agent_id, ev.score, c.started_at >= %(start)s AS is_current_period
    FROM scoring_evaluation ev JOIN calls_call c ON c.id = ev.call_id
    WHERE ev.status = 'submitted' AND ev.is_current AND ev.kind = 'review' AND ev.score IS NOT NULL
      AND c.started_at >= %(previous_start)s AND c.started_at < %(end)s
), qa AS (
    SELECT agent_id,
           COUNT(*) FILTER (WHERE is_current_period) AS evaluations,
           SUM(score) FILTER (WHERE is_current_period) AS score_sum,
           SUM(score * score) FILTER (WHERE is_current_period) AS score_sum_squares,
           COUNT(*) FILTER (WHERE NOT is_current_period) AS previous_evaluations,
           SUM(score) FILTER (WHERE NOT is_current_period) AS previous_score_sum,
           SUM(score * score) FILTER (WHERE NOT is_current_period) AS previous_score_sum_squares
    FROM counted GROUP BY agent_id
), section AS (
    SELECT agent_id, jsonb_object_agg(title, ARRAY[n, total]) AS sections
    FROM (SELECT ev.agent_id, s.title, COUNT(*) AS n, SUM(ss.score) AS total
          FROM counted ev JOIN scoring_sectionscore ss ON ss.evaluation_id = ev.id
          JOIN scoring_section s ON s.id = ss.section_id
          WHERE ev.is_current_period AND ss.score IS NOT NULL
          GROUP BY ev.agent_id, s.title) per_section
    GROUP BY agent_id
), nps AS (
    SELECT cr.agent_id,
           COUNT(*) FILTER (WHERE r.category = 'promoter') AS promoters,
           COUNT(*) FILTER (WHERE r.category = 'passive') AS passives,
           COUNT(*) FILTER (WHERE r.category = 'detractor') AS detractors,
           COUNT(f.closed_at) AS followups_closed,
           COUNT(*) FILTER (WHERE f.closed_at <= f.due_at) AS followups_closed_within_sla
    FROM surveys_responsecredit cr
    JOIN surveys_surveyresponse r ON r.id = cr.response_id
    JOIN calls_call c ON c.id = r.call_id
    LEFT JOIN followups_followupcase f ON f.response_id = r.id
    WHERE cr.is_primary AND c.started_at >= %(start)s AND c.started_at < %(end)s
    GROUP BY cr.agent_id
)
SELECT a.id AS agent_id, a.name, a.team_id, tm.name AS team_name,
       cf.calls, cf.identified_calls, cf.handle_seconds, cf.transferred, cf.escalated, cf.fcr,
       qa.evaluations, qa.score_sum, qa.score_sum_squares,
       qa.previous_evaluations, qa.previous_score_sum, qa.previous_score_sum_squares, section.sections,
       nps.promoters, nps.passives, nps.detractors, nps.followups_closed, nps.followups_closed_within_sla
FROM calls_agent a
JOIN calls_team tm ON tm.id = a.team_id
LEFT JOIN call_figures cf ON cf.agent_id = a.id
LEFT JOIN qa ON qa.agent_id = a.id
LEFT JOIN section ON section.agent_id = a.id
LEFT JOIN nps ON nps.agent_id = a.id
WHERE a.team_id = ANY(%(team_ids)s)
  AND (cf.agent_id IS NOT NULL OR qa.evaluations > 0 OR nps.agent_id IS NOT NULL)
ORDER BY a.id
"""


def _build(out, *, calls: int, evaluations: int, responses: int, agents: int, days: int) -> dict:
    now = timezone.now()
    cur = connection.cursor()
    t0 = time.perf_counter()
    cur.execute(
        "INSERT INTO calls_department (name) SELECT 'bench dep ' || i FROM generate_series(1, 5) i", []
    )
    cur.execute(
        """INSERT INTO calls_team (name, department_id)
           SELECT 'bench team ' || i, (SELECT min(id) FROM calls_department WHERE name LIKE 'bench dep %%') + i %% 5
           FROM generate_series(1, %s) i""",
        [max(1, agents // 10)],
    )
    cur.execute(
        """INSERT INTO calls_agent (employee_code, name, team_id, is_active)
           SELECT 'bench-' || i, 'Bench Agent ' || i,
                  (SELECT min(id) FROM calls_team WHERE name LIKE 'bench team %%') + i %% %s, true
           FROM generate_series(1, %s) i""",
        [max(1, agents // 10), agents],
    )
    cur.execute(
        """INSERT INTO calls_customer (external_id, name, phone, email, tier)
           SELECT 'bench-cu-' || i, '', '', '', 'standard' FROM generate_series(1, %s) i""",
        [max(1, calls // 3)],
    )
    cur.execute(
        """
        WITH ids AS (SELECT (SELECT min(id) FROM calls_agent WHERE employee_code LIKE 'bench-%%') AS a0,
                            (SELECT min(id) FROM calls_customer WHERE external_id LIKE 'bench-cu-%%') AS c0,
                            (SELECT min(id) FROM calls_department WHERE name LIKE 'bench dep %%') AS d0)
        INSERT INTO calls_call (external_id, channel, direction, customer_id, agent_id, department_id, started_at,
            answered_at, ended_at, wait_seconds, talk_seconds, hold_seconds, wrap_seconds, disposition, is_resolved,
            transcript, recording_url, content_hash, created_at, updated_at)
        SELECT 'bench-call-' || g, 'phone', 'inbound',
               CASE WHEN g %% 20 = 7 THEN NULL  -- one call in 20 from an anonymous caller
                    ELSE ids.c0 + (hashint4(g) & 2147483647) %% %(customers)s END,
               ids.a0 + g %% %(agents)s, ids.d0 + g %% 5, s, s, s + interval '300 seconds', 10, 200 + g %% 300,
               g %% 60, 30, '', (g %% 10) < 7, '', '', '', %(now)s, %(now)s
        FROM ids, generate_series(1, %(calls)s) g,
             LATERAL (SELECT %(now)s - (g::float / %(calls)s) * %(span)s AS s) st
        """,
        {
            "customers": max(1, calls // 3),
            "agents": agents,
            "calls": calls,
            "now": now,
            "span": timedelta(days=days),
        },
    )
    cur.execute(
        """INSERT INTO calls_transfer (call_id, sequence, at, from_department_id, to_department_id, reason)
           SELECT c.id, 1, c.started_at + interval '60 seconds', c.department_id,
                  (SELECT min(id) FROM calls_department WHERE name LIKE 'bench dep %%') + c.id %% 5, 'reason ' || c.id %% 7
           FROM calls_call c WHERE c.external_id LIKE 'bench-call-%%' AND c.id %% 10 < 3""",
        [],
    )
    cur.execute(
        """INSERT INTO calls_escalation (call_id, sequence, level, reason, raised_at, outcome)
           SELECT c.id, 1, 'supervisor', 'reason ' || c.id %% 5, c.started_at + interval '120 seconds', ''
           FROM calls_call c WHERE c.external_id LIKE 'bench-call-%%' AND c.id %% 20 = 0""",
        [],
    )
    user = User.objects.create(username="bench-supervisor")
    user.groups.add(Group.objects.get(name="supervisor"))
    cur.execute(
        """INSERT INTO calls_team_supervisors (team_id, user_id)
           SELECT id, %s FROM calls_team WHERE name LIKE 'bench team %%'""",
        [user.pk],
    )
    cur.execute("SELECT id FROM scoring_scorecard ORDER BY id LIMIT 1")
    scorecard_id = cur.fetchone()[0]
    cur.execute("SELECT id FROM scoring_section WHERE scorecard_id = %s ORDER BY id LIMIT 1", [scorecard_id])
    section_id = cur.fetchone()[0]
    cur.execute(
        "SELECT id, max_points FROM scoring_criterion WHERE scorecard_id = %s ORDER BY id LIMIT 4",
        [scorecard_id],
    )
    criteria = cur.fetchall()
    step = max(1, calls // max(1, evaluations))
    cur.execute(
        """
        INSERT INTO scoring_evaluation (call_id, agent_id, scorecard_id, author_id, kind, status, score, is_auto_failed,
            summary, created_at, updated_at, submitted_at, revision, is_current)
        SELECT c.id, c.agent_id, %(scorecard)s, %(user)s, 'review', 'submitted', 50 + (hashint4(c.id::int) & 2147483647) %% 51,
               false, '', %(now)s, %(now)s, %(now)s, 1, true
        FROM calls_call c WHERE c.external_id LIKE 'bench-call-%%' AND c.id %% %(step)s = 0
        LIMIT %(n)s
        """,
        {"scorecard": scorecard_id, "user": user.pk, "now": now, "step": step, "n": evaluations},
    )
    cur.execute(
        """INSERT INTO scoring_sectionscore (evaluation_id, section_id, score)
           SELECT id, %s, score FROM scoring_evaluation WHERE author_id = %s""",
        [section_id, user.pk],
    )
    for criterion_id, max_points in criteria:
        cur.execute(
            """INSERT INTO scoring_answer (evaluation_id, criterion_id, value, is_na, comment, quote, updated_at)
               SELECT id, %s, CASE WHEN score > 70 THEN %s ELSE 0 END, false, '', '', %s
               FROM scoring_evaluation WHERE author_id = %s""",
            [criterion_id, max_points, now, user.pk],
        )
    rstep = max(1, calls // max(1, responses))
    cur.execute(
        """
        INSERT INTO surveys_surveyresponse (call_id, customer_id, score, category, comment, source, received_at, created_at)
        SELECT c.id, c.customer_id, s.v, CASE WHEN s.v >= 9 THEN 'promoter' WHEN s.v >= 7 THEN 'passive' ELSE 'detractor' END,
               '', 'inbound_api', c.ended_at, %(now)s
        FROM calls_call c, LATERAL (SELECT (hashint4((c.id + 7)::int) & 2147483647) %% 11 AS v) s
        WHERE c.external_id LIKE 'bench-call-%%' AND (c.id + 1) %% %(step)s = 0
        LIMIT %(n)s
        """,
        {"now": now, "step": rstep, "n": responses},
    )
    cur.execute(
        """INSERT INTO surveys_responsecredit (response_id, agent_id, leg, is_primary)
           SELECT r.id, c.agent_id, 0, true FROM surveys_surveyresponse r JOIN calls_call c ON c.id = r.call_id
           WHERE c.external_id LIKE 'bench-call-%%'""",
        [],
    )
    cur.execute("ANALYZE")
    out(f"dataset built in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    today = timezone.localdate()
    agent_day_stats_refresh(date_from=today - timedelta(days=days + 1), date_to=today)
    out(f"rollups for {days + 2} days rebuilt in {time.perf_counter() - t0:.2f} s")
    cur.execute("SELECT id FROM calls_agent WHERE employee_code = 'bench-1'")
    return {"user": user, "agent_id": cur.fetchone()[0]}


def _existing(out) -> dict:
    """Measure the data in the database as it is: a supervisor of every team (created in the rolled-back
    transaction) and the agent with the most calls in the last 30 days."""
    counts = {
        "calls": Call.objects.count(),
        "agents": Agent.objects.count(),
        "evaluations": Evaluation.objects.filter(**counted_evaluations()).count(),
        "survey responses": SurveyResponse.objects.count(),
        "transfers": Transfer.objects.count(),
        "escalations": Escalation.objects.count(),
        "closed follow-ups": FollowUpCase.objects.filter(closed_at__isnull=False).count(),
    }
    if not counts["calls"]:
        raise RuntimeError("no calls in the database: run `manage.py seed_demo …` first, or use --synthetic")
    span = Call.objects.aggregate(first=Min("started_at"), last=Max("started_at"))
    out(
        "dataset: "
        + ", ".join(f"{value:,} {name}" for name, value in counts.items())
        + f" (counted QA reviews); calls from {timezone.localtime(span['first']):%Y-%m-%d} "
        f"to {timezone.localtime(span['last']):%Y-%m-%d}"
    )
    user = User.objects.create(username="bench-analytics-supervisor")
    user.groups.add(Group.objects.get(name="supervisor"))
    for team in Team.objects.all():
        team.supervisors.add(user)
    period = period_resolve("last_30")
    busiest = (
        AgentDayCallStats.objects.filter(day__gte=period.date_from, day__lte=period.date_to)
        .values("agent_id")
        .annotate(total=Sum("calls"))
        .order_by("-total", "agent_id")
        .first()
    )
    if busiest is None:
        raise RuntimeError("no calls in the last 30 days: seed without --end-date, or use --synthetic")
    return {"user": user, "agent_id": busiest["agent_id"]}


def _hand_params(period, team_ids: list[int]) -> dict:
    start, end = local_day_start(period.date_from), local_day_start(period.date_to + timedelta(days=1))
    return {
        "start": start,
        "end": end,
        "previous_start": local_day_start(period.previous.date_from),
        "window": repeat_window(),
        "team_ids": team_ids,
    }


def _hand_rows(params: dict) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(_HAND_SQL, params)
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


_CHECKED = (
    "calls",
    "identified_calls",
    "handle_seconds",
    "transferred",
    "escalated",
    "first_contact_resolved",
    "evaluations",
    "score_sum",
    "score_sum_squares",
    "promoters",
    "passives",
    "detractors",
    "followups_closed",
    "followups_closed_within_sla",
    "sections",
    "previous_rank",
)


def _check_hand_sql(out, params: dict, period) -> None:
    """The hand-written query must compute the leaderboard's figures: compare them agent by agent (the
    ranks of the previous period from its QA sums, the same pure functions the page uses)."""
    board = leaderboard(team_ids=params["team_ids"], period=period)
    page = {}
    for row in board["rows"]:
        figures = {key: row[key] for key in _CHECKED}
        figures["sections"] = [None if v is None else round(v, 6) for v in row["sections"]]
        figures["score_sum"] = round(figures["score_sum"], 4)
        figures["score_sum_squares"] = round(figures["score_sum_squares"], 4)
        page[row["agent_id"]] = figures
    hand_rows = _hand_rows(params)
    previous = [
        {
            "agent_id": r["agent_id"],
            "team_id": r["team_id"],
            "evaluations": r["previous_evaluations"] or 0,
            "score_sum": float(r["previous_score_sum"] or 0),
            "score_sum_squares": float(r["previous_score_sum_squares"] or 0),
        }
        for r in hand_rows
        if r["previous_evaluations"]
    ]
    _fair_qa(previous)
    previous_rank = {r["agent_id"]: r["rank"] for r in previous}
    hand = {}
    for r in hand_rows:
        # Django leaves jsonb undecoded (its JSONField decodes): parse it here.
        sections = json.loads(r["sections"]) if isinstance(r["sections"], str) else r["sections"] or {}
        hand[r["agent_id"]] = {
            "calls": r["calls"] or 0,
            "identified_calls": r["identified_calls"] or 0,
            "handle_seconds": r["handle_seconds"] or 0,
            "transferred": r["transferred"] or 0,
            "escalated": r["escalated"] or 0,
            "first_contact_resolved": r["fcr"] or 0,
            "evaluations": r["evaluations"] or 0,
            "score_sum": round(float(r["score_sum"] or 0), 4),
            "score_sum_squares": round(float(r["score_sum_squares"] or 0), 4),
            "promoters": r["promoters"] or 0,
            "passives": r["passives"] or 0,
            "detractors": r["detractors"] or 0,
            "followups_closed": r["followups_closed"] or 0,
            "followups_closed_within_sla": r["followups_closed_within_sla"] or 0,
            "sections": [
                round(float(sections[t][1]) / float(sections[t][0]), 6) if t in sections else None
                for t in board["section_titles"]
            ],
            "previous_rank": previous_rank.get(r["agent_id"]),
        }
    if hand != page:
        differing = sorted(k for k in hand.keys() | page.keys() if hand.get(k) != page.get(k))
        first = differing[0]
        raise RuntimeError(
            f"hand SQL and leaderboard disagree for {len(differing)} agent(s); agent {first}: "
            f"hand {hand.get(first)} vs page {page.get(first)}"
        )
    out(f"hand SQL checked: same figures as the leaderboard for all {len(page)} agents")


def _p(samples: list[float], q: float) -> float:
    return (
        statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]
        if len(samples) > 1
        else samples[0]
    )


def run(
    out,
    *,
    synthetic: bool,
    calls: int,
    evaluations: int,
    responses: int,
    agents: int,
    days: int,
    repeat: int,
) -> None:
    if connection.vendor != "postgresql":
        raise RuntimeError("bench analytics needs PostgreSQL")
    results: dict[str, list[float]] = {}
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    if not synthetic:
        # Fresh planner statistics for both methods alike (a bulk seed may not have been analysed yet).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    try:
        with transaction.atomic():
            if synthetic:
                built = _build(
                    out, calls=calls, evaluations=evaluations, responses=responses, agents=agents, days=days
                )
            else:
                built = _existing(out)
            client = Client()
            client.force_login(built["user"])
            query = {"period": "last_30"}
            team_ids = [team.pk for team in analytics_teams_for_user(built["user"])]
            params = _hand_params(period_resolve("last_30"), team_ids)
            _check_hand_sql(out, params, period_resolve("last_30"))

            def get(url, query_params):
                def fetch():
                    response = client.get(url, query_params)
                    if response.status_code != 200:
                        raise RuntimeError(f"{url} answered {response.status_code}")

                return fetch

            methods = {
                "leaderboard": get(reverse("analytics:leaderboard"), query),
                "agent page": get(
                    reverse("analytics:agent", args=[built["agent_id"]]), {"period": "last_90"}
                ),
                "drivers": get(reverse("analytics:drivers"), query),
                "transfers": get(reverse("analytics:transfers"), query),
                "hand SQL": lambda: _hand_rows(params),
            }
            for fn in methods.values():  # warm-up round
                fn()
            for _ in range(repeat):  # interleaved rounds: a load spike hits every method alike
                for name, fn in methods.items():
                    t0 = time.perf_counter()
                    fn()
                    results.setdefault(name, []).append((time.perf_counter() - t0) * 1000)
            raise _Rollback
    except _Rollback:
        pass
    for name, samples in results.items():
        out(f"{name:12s} p50 {_p(samples, 50):8.1f} ms   p95 {_p(samples, 95):8.1f} ms   (n={len(samples)})")
    leaderboard_p95, hand_p95 = _p(results["leaderboard"], 95), _p(results["hand SQL"], 95)
    out(
        f"bench analytics: leaderboard p95 {leaderboard_p95:.1f} ms, hand SQL p95 {hand_p95:.1f} ms, "
        f"ratio {leaderboard_p95 / hand_p95:.3f}"
    )
