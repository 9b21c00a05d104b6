"""Per-agent-per-day call rollups, rebuilt set-based in SQL.

`agent_day_stats_refresh(date_from=…, date_to=…)` deletes the range and re-inserts it from the raw calls
in one transaction (DELETE + INSERT … SELECT … GROUP BY). The importer calls it at the end of an import
for [min started − REPEAT_CONTACT_WINDOW_DAYS, max started]: a new call can turn an earlier call of the
same customer into a repeat contact (and take its first-contact resolution away).

`calls` never imports `scoring`: other apps that keep rollups over the same days register a refresher
with `register_day_refresher` (scoring.analytics does, from its AppConfig.ready()), and
`agent_day_stats_refresh` runs them in the same transaction, so one call from the importer keeps every
per-day table in step.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

DayRefresher = Callable[..., None]
_day_refreshers: list[DayRefresher] = []


def register_day_refresher(refresher: DayRefresher) -> DayRefresher:
    """Run `refresher(date_from=…, date_to=…)` after every call-rollup refresh (idempotent)."""
    if refresher not in _day_refreshers:
        _day_refreshers.append(refresher)
    return refresher


def local_day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


# Per call: transferred / escalated / followed by a repeat contact, exactly as
# calls.selectors.call_annotate_metrics defines them (a later call of the same customer within the window,
# ties on started_at broken by id). Grouped by (first agent, local start day).
_CALL_STATS_SQL = """
INSERT INTO calls_agentdaycallstats
    (agent_id, day, calls, handle_seconds, wait_seconds, transferred, escalated, resolved,
     first_contact_resolved, repeat_contacts)
SELECT m.agent_id, m.day, COUNT(*),
       SUM(m.handle_seconds), SUM(m.wait_seconds),
       COUNT(*) FILTER (WHERE m.is_transferred),
       COUNT(*) FILTER (WHERE m.is_escalated),
       COUNT(*) FILTER (WHERE m.is_resolved),
       COUNT(*) FILTER (WHERE m.is_resolved AND NOT m.is_transferred AND NOT m.has_repeat_contact),
       COUNT(*) FILTER (WHERE m.has_repeat_contact)
FROM (
    SELECT c.agent_id,
           (c.started_at AT TIME ZONE %(tz)s)::date AS day,
           c.talk_seconds + c.hold_seconds + c.wrap_seconds AS handle_seconds,
           c.wait_seconds,
           c.is_resolved,
           EXISTS (SELECT 1 FROM calls_transfer t WHERE t.call_id = c.id) AS is_transferred,
           EXISTS (SELECT 1 FROM calls_escalation e WHERE e.call_id = c.id) AS is_escalated,
           EXISTS (
               SELECT 1 FROM calls_call l
               WHERE l.customer_id = c.customer_id
                 AND (l.started_at > c.started_at OR (l.started_at = c.started_at AND l.id > c.id))
                 AND l.started_at <= c.started_at + %(window)s
           ) AS has_repeat_contact
    FROM calls_call c
    WHERE c.agent_id IS NOT NULL AND c.started_at >= %(start)s AND c.started_at < %(end)s
) m
GROUP BY m.agent_id, m.day
"""


@transaction.atomic
def agent_day_stats_refresh(*, date_from: date, date_to: date) -> None:
    """Rebuild the per-agent-day rollups for local days date_from..date_to (both included).

    Precondition: date_from <= date_to. Rows of other days are untouched. Registered refreshers
    (scoring.analytics) run for the same range inside the same transaction.
    """
    if date_from > date_to:
        raise ValueError(f"date_from {date_from} is after date_to {date_to}")
    params = {
        "tz": timezone.get_current_timezone_name(),
        "start": local_day_start(date_from),
        "end": local_day_start(date_to + timedelta(days=1)),
        "window": timedelta(days=settings.REPEAT_CONTACT_WINDOW_DAYS),
        "date_from": date_from,
        "date_to": date_to,
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM calls_agentdaycallstats WHERE day BETWEEN %(date_from)s AND %(date_to)s", params
        )
        cursor.execute(_CALL_STATS_SQL, params)
    for refresher in _day_refreshers:
        refresher(date_from=date_from, date_to=date_to)


def agent_day_stats_refresh_for_calls(*, started_from: datetime, started_to: datetime) -> None:
    """Refresh the days an import touched: the repeat-contact window before the first call's day too,
    because a new call can make an earlier call of the same customer a repeat contact."""
    window = timedelta(days=settings.REPEAT_CONTACT_WINDOW_DAYS)
    agent_day_stats_refresh(date_from=local_day(started_from - window), date_to=local_day(started_to))


def agent_day_stats_rebuild_recent(*, days: int) -> None:
    """Rebuild the last `days` local days up to today (the nightly safety net)."""
    today = timezone.localdate()
    agent_day_stats_refresh(date_from=today - timedelta(days=days - 1), date_to=today)
