"""Leaderboard, agent and drivers pages read from rollups vs one hand-written SQL query over the raw tables.

Builds a synthetic dataset with set-based SQL (generate_series) inside one transaction that is rolled back
at the end, so the database is left as it was. PostgreSQL only.
"""

from __future__ import annotations

import statistics
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from calls.rollups import agent_day_stats_refresh


class _Rollback(Exception):
    pass


def add_arguments(parser) -> None:
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--evaluations", type=int, default=20_000)
    parser.add_argument("--responses", type=int, default=10_000)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=15)


_HAND_SQL = """
WITH c AS (
    SELECT c.agent_id, COUNT(*) AS calls, AVG(c.talk_seconds + c.hold_seconds + c.wrap_seconds) AS aht,
           AVG((EXISTS (SELECT 1 FROM calls_transfer t WHERE t.call_id = c.id))::int) AS transfer_rate,
           AVG((EXISTS (SELECT 1 FROM calls_escalation e WHERE e.call_id = c.id))::int) AS escalation_rate,
           AVG((c.is_resolved AND NOT EXISTS (SELECT 1 FROM calls_transfer t WHERE t.call_id = c.id)
                AND NOT EXISTS (SELECT 1 FROM calls_call l WHERE l.customer_id = c.customer_id
                    AND l.started_at > c.started_at AND l.started_at <= c.started_at + interval '7 days'))::int) AS fcr
    FROM calls_call c WHERE c.started_at >= %(start)s AND c.started_at < %(end)s GROUP BY c.agent_id
), q AS (
    SELECT ev.agent_id, COUNT(*) AS n, AVG(ev.score) AS qa FROM scoring_evaluation ev JOIN calls_call c ON c.id = ev.call_id
    WHERE ev.status = 'submitted' AND ev.is_current AND ev.kind = 'review' AND c.started_at >= %(start)s AND c.started_at < %(end)s
    GROUP BY ev.agent_id
), n AS (
    SELECT cr.agent_id, COUNT(*) AS n, 100.0 * (COUNT(*) FILTER (WHERE r.category = 'promoter')
           - COUNT(*) FILTER (WHERE r.category = 'detractor')) / COUNT(*) AS nps
    FROM surveys_surveyresponse r JOIN surveys_responsecredit cr ON cr.response_id = r.id AND cr.is_primary
    JOIN calls_call c ON c.id = r.call_id WHERE c.started_at >= %(start)s AND c.started_at < %(end)s GROUP BY cr.agent_id
)
SELECT a.id, a.name, c.*, q.n, q.qa, n.n, n.nps FROM calls_agent a
LEFT JOIN c ON c.agent_id = a.id LEFT JOIN q ON q.agent_id = a.id LEFT JOIN n ON n.agent_id = a.id
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
        SELECT 'bench-call-' || g, 'phone', 'inbound', ids.c0 + (hashint4(g) & 2147483647) %% %(customers)s,
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


def _time(fn, repeat: int) -> list[float]:
    fn()  # warm-up
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def _p(samples: list[float], q: float) -> float:
    return (
        statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]
        if len(samples) > 1
        else samples[0]
    )


def run(out, *, calls: int, evaluations: int, responses: int, agents: int, days: int, repeat: int) -> None:
    if connection.vendor != "postgresql":
        raise RuntimeError("bench analytics needs PostgreSQL")
    results: dict[str, list[float]] = {}
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    try:
        with transaction.atomic():
            built = _build(
                out, calls=calls, evaluations=evaluations, responses=responses, agents=agents, days=days
            )
            client = Client()
            client.force_login(built["user"])
            today = timezone.localdate()
            query = {"period": "last_30"}

            def get(url, params):
                response = client.get(url, params)
                if response.status_code != 200:
                    raise RuntimeError(f"{url} answered {response.status_code}")

            results["leaderboard"] = _time(lambda: get(reverse("analytics:leaderboard"), query), repeat)
            results["agent page"] = _time(
                lambda: get(reverse("analytics:agent", args=[built["agent_id"]]), {"period": "last_90"}),
                repeat,
            )
            results["drivers"] = _time(lambda: get(reverse("analytics:drivers"), query), max(3, repeat // 3))
            params = {
                "start": timezone.make_aware(
                    timezone.datetime.combine(today - timedelta(days=29), timezone.datetime.min.time())
                ),
                "end": timezone.now() + timedelta(days=1),
            }

            def hand():
                with connection.cursor() as cursor:
                    cursor.execute(_HAND_SQL, params)
                    cursor.fetchall()

            results["hand SQL"] = _time(hand, max(3, repeat // 3))
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
