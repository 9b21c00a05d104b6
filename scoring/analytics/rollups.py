"""Rebuild the QA / NPS / follow-up day rollups (see models.py for what counts where), set-based in SQL.

How they stay up to date as data arrives:
- imports: the importer calls `calls.rollups.agent_day_stats_refresh`, which runs
  `agent_day_scoring_stats_refresh` for the same days (registered in AnalyticsConfig.ready());
- evaluations, dispute adjustments, survey responses, follow-up closes: `analytics_refresh_for_calls_on_commit`
  queues a refresh of the affected calls' days after the writing transaction commits (a service adds one
  line), and, so that a service that forgets it or a lost message cannot leave a rollup stale for long,
  the `analytics_refresh_changed_task` sweeper (beat, every 5 minutes) refreshes the days of rows changed
  in the last ANALYTICS_SWEEP_LOOKBACK_MINUTES;
- nightly, `analytics_rebuild_recent_task` rebuilds the last ANALYTICS_REBUILD_DAYS days (deletions and
  anything else the two paths above cannot see).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone

from calls.rollups import local_day_start

_EVALUATION_FILTER = """
    ev.status = 'submitted' AND ev.is_current AND ev.kind = 'review' AND ev.score IS NOT NULL
"""

_SCORE_PARTS = """
    SELECT ev.agent_id, (c.started_at AT TIME ZONE %(tz)s)::date AS day,
           1 AS evaluations, ev.score AS score_sum, ev.score * ev.score AS score_sum_squares,
           0 AS responses, 0 AS promoters, 0 AS passives, 0 AS detractors,
           0 AS followups_closed, 0 AS followups_closed_within_sla
    FROM scoring_evaluation ev JOIN calls_call c ON c.id = ev.call_id
    WHERE {evaluation_filter} AND c.started_at >= %(start)s AND c.started_at < %(end)s
    UNION ALL
    SELECT cr.agent_id, (c.started_at AT TIME ZONE %(tz)s)::date,
           0, 0, 0,
           1, (r.category = 'promoter')::int, (r.category = 'passive')::int, (r.category = 'detractor')::int,
           0, 0
    FROM surveys_surveyresponse r
    JOIN surveys_responsecredit cr ON cr.response_id = r.id AND cr.is_primary
    JOIN calls_call c ON c.id = r.call_id
    WHERE c.started_at >= %(start)s AND c.started_at < %(end)s
    {followup_part}
"""

_FOLLOWUP_PART = """
    UNION ALL
    SELECT cr.agent_id, (c.started_at AT TIME ZONE %(tz)s)::date,
           0, 0, 0, 0, 0, 0, 0,
           1, (f.closed_at <= f.due_at)::int
    FROM {followup_table} f
    JOIN surveys_surveyresponse r ON r.id = f.response_id
    JOIN surveys_responsecredit cr ON cr.response_id = r.id AND cr.is_primary
    JOIN calls_call c ON c.id = r.call_id
    WHERE f.closed_at IS NOT NULL AND c.started_at >= %(start)s AND c.started_at < %(end)s
"""

_SECTION_SQL = """
INSERT INTO analytics_agentdaysectionstats (agent_id, day, section_id, evaluations, score_sum)
SELECT ev.agent_id, (c.started_at AT TIME ZONE %(tz)s)::date, ss.section_id, COUNT(*), SUM(ss.score)
FROM scoring_sectionscore ss
JOIN scoring_evaluation ev ON ev.id = ss.evaluation_id
JOIN calls_call c ON c.id = ev.call_id
WHERE {evaluation_filter} AND ss.score IS NOT NULL
  AND c.started_at >= %(start)s AND c.started_at < %(end)s
GROUP BY 1, 2, 3
"""


def followup_table() -> str | None:
    """The follow-up case table if the follow-ups app provides one with response/due_at/closed_at."""
    try:
        model = apps.get_model("followups", "FollowUpCase")
    except LookupError:
        return None
    names = {f.attname for f in model._meta.concrete_fields}
    if {"response_id", "due_at", "closed_at"} <= names:
        return model._meta.db_table
    return None


def score_parts_sql() -> str:
    table = followup_table()
    followup_part = _FOLLOWUP_PART.format(followup_table=table) if table else ""
    return _SCORE_PARTS.format(evaluation_filter=_EVALUATION_FILTER, followup_part=followup_part)


@transaction.atomic
def agent_day_scoring_stats_refresh(*, date_from: date, date_to: date) -> None:
    """Rebuild AgentDayScoreStats and AgentDaySectionStats for local days date_from..date_to (included)."""
    if date_from > date_to:
        raise ValueError(f"date_from {date_from} is after date_to {date_to}")
    params = {
        "tz": timezone.get_current_timezone_name(),
        "start": local_day_start(date_from),
        "end": local_day_start(date_to + timedelta(days=1)),
        "date_from": date_from,
        "date_to": date_to,
    }
    with connection.cursor() as cursor:
        for table in ("analytics_agentdayscorestats", "analytics_agentdaysectionstats"):
            cursor.execute(f"DELETE FROM {table} WHERE day BETWEEN %(date_from)s AND %(date_to)s", params)
        cursor.execute(
            f"""
            INSERT INTO analytics_agentdayscorestats
                (agent_id, day, evaluations, score_sum, score_sum_squares, responses, promoters, passives,
                 detractors, followups_closed, followups_closed_within_sla)
            SELECT agent_id, day, SUM(evaluations), SUM(score_sum), SUM(score_sum_squares), SUM(responses),
                   SUM(promoters), SUM(passives), SUM(detractors), SUM(followups_closed),
                   SUM(followups_closed_within_sla)
            FROM ({score_parts_sql()}) parts
            GROUP BY agent_id, day
            """,
            params,
        )
        cursor.execute(_SECTION_SQL.format(evaluation_filter=_EVALUATION_FILTER), params)


def _contiguous_ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    ranges: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if ranges and day == ranges[-1][1] + timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def call_days(call_ids: Iterable[int]) -> list[date]:
    ids = list(call_ids)
    if not ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT (started_at AT TIME ZONE %s)::date FROM calls_call WHERE id = ANY(%s)",
            [timezone.get_current_timezone_name(), ids],
        )
        return [row[0] for row in cursor.fetchall()]


def analytics_refresh_days(*, days: Iterable[date]) -> None:
    """Refresh the scoring rollups of the given local days (grouped into contiguous ranges)."""
    for date_from, date_to in _contiguous_ranges(days):
        agent_day_scoring_stats_refresh(date_from=date_from, date_to=date_to)


def analytics_refresh_for_calls(*, call_ids: Iterable[int]) -> None:
    """Refresh the scoring rollups of the days these calls started on."""
    analytics_refresh_days(days=call_days(call_ids))


def analytics_refresh_for_calls_on_commit(*, call_ids: Iterable[int]) -> None:
    """The one line for a scoring service: queue a refresh of these calls' days once the caller commits."""
    from .tasks import analytics_refresh_for_calls_task

    ids = sorted(set(call_ids))
    # robust: a broker outage must not fail the request that already committed; the sweeper task
    # (analytics_refresh_changed_task) picks up whatever this enqueue missed.
    transaction.on_commit(lambda: analytics_refresh_for_calls_task.delay(ids), robust=True)


def changed_call_ids(*, since) -> set[int]:
    """Calls whose evaluations, responses or follow-ups changed since `since` (for the sweeper)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT call_id FROM scoring_evaluation WHERE updated_at >= %(since)s
            UNION SELECT call_id FROM surveys_surveyresponse WHERE created_at >= %(since)s
            """,
            {"since": since},
        )
        ids = {row[0] for row in cursor.fetchall()}
        table = followup_table()
        if table:
            cursor.execute(
                f"""SELECT r.call_id FROM {table} f JOIN surveys_surveyresponse r ON r.id = f.response_id
                    WHERE f.closed_at >= %(since)s""",
                {"since": since},
            )
            ids |= {row[0] for row in cursor.fetchall()}
    return ids
