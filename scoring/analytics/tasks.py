"""Celery tasks keeping the analytics rollups current. Each takes ids (or nothing) and calls one service;
all are idempotent (a refresh rebuilds whole days), so at-least-once delivery is harmless."""

from __future__ import annotations

from datetime import date, timedelta

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from calls.rollups import agent_day_stats_rebuild_recent
from scoring.followups.tasks import publish

from .rollups import (
    analytics_refresh_agent_days,
    analytics_refresh_days,
    analytics_refresh_for_calls,
    call_days,
    calls_agent_ids,
    changed_call_ids,
)


@shared_task
def analytics_refresh_for_calls_task(call_ids: list[int]) -> None:
    analytics_refresh_for_calls(call_ids=call_ids)


@shared_task
def analytics_refresh_days_task(days: list[str]) -> None:
    analytics_refresh_days(days=[date.fromisoformat(day) for day in days])


@shared_task
def analytics_refresh_agent_days_task(agent_days: list[list]) -> None:
    analytics_refresh_agent_days(agent_days=[(date.fromisoformat(day), agent) for day, agent in agent_days])


# Past this many (day, agent) pairs a batch is debounced per whole day: one cache key per pair would cost
# more than the refresh it spares (the demo seed commits thousands of responses at once).
DEBOUNCE_PAIR_LIMIT = 200


def analytics_refresh_publish(call_ids: list[int]) -> None:
    """Queue a refresh of these calls' days, for the agents whose rows can depend on them, through the
    project's publisher, which never raises and backs off while the broker is down (the analytics sweeper
    then catches up).

    Debounced per (day, agent) (ANALYTICS_REFRESH_DEBOUNCE_SECONDS): the first change of an agent's day
    sets a cache key that lives as long as the countdown of the refresh it schedules, so every commit made
    while the key lives is older than the refresh's start and is included in it. At 100 responses a second
    that is one refresh per agent-day every few seconds instead of a hundred (each rebuilding the same
    rows). A batch of more than DEBOUNCE_PAIR_LIMIT pairs is debounced per day instead (every agent's rows
    of the day; its own keys, so the same argument holds for each kind of key).
    """
    debounce = settings.ANALYTICS_REFRESH_DEBOUNCE_SECONDS
    if not debounce:
        publish(analytics_refresh_for_calls_task, call_ids)
        return
    days = call_days(call_ids)
    agents = sorted(calls_agent_ids(call_ids))
    if len(days) * len(agents) > DEBOUNCE_PAIR_LIMIT:
        fresh_days = [
            day.isoformat()
            for day in days
            if cache.add(f"qa-center:analytics-refresh:{day.isoformat()}", True, timeout=debounce)
        ]
        if fresh_days:
            publish(analytics_refresh_days_task, fresh_days, countdown=debounce)
        return
    fresh = [
        [day.isoformat(), agent]
        for day in days
        for agent in agents
        if cache.add(f"qa-center:analytics-refresh:{day.isoformat()}:{agent}", True, timeout=debounce)
    ]
    if fresh:
        publish(analytics_refresh_agent_days_task, fresh, countdown=debounce)


@shared_task
def analytics_refresh_changed_task() -> None:
    since = timezone.now() - timedelta(minutes=settings.ANALYTICS_SWEEP_LOOKBACK_MINUTES)
    analytics_refresh_for_calls(call_ids=changed_call_ids(since=since))


@shared_task
def analytics_rebuild_recent_task() -> None:
    # Calls and scoring rollups together (the call refresh runs the registered scoring refresher).
    agent_day_stats_rebuild_recent(days=settings.ANALYTICS_REBUILD_DAYS)
