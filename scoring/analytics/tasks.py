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

from .rollups import analytics_refresh_days, analytics_refresh_for_calls, call_days, changed_call_ids


@shared_task
def analytics_refresh_for_calls_task(call_ids: list[int]) -> None:
    analytics_refresh_for_calls(call_ids=call_ids)


@shared_task
def analytics_refresh_days_task(days: list[str]) -> None:
    analytics_refresh_days(days=[date.fromisoformat(day) for day in days])


def analytics_refresh_publish(call_ids: list[int]) -> None:
    """Queue a refresh of these calls' days through the project's publisher, which never raises and backs
    off while the broker is down (the analytics sweeper then catches up).

    Debounced per day (ANALYTICS_REFRESH_DEBOUNCE_SECONDS): the first change of a day sets a cache key
    that lives as long as the countdown of the refresh it schedules, so every commit made while the key
    lives is older than the refresh's start and is included in it. At 100 responses a second that is one
    refresh per day every few seconds instead of a hundred (each rebuilding the same day).
    """
    debounce = settings.ANALYTICS_REFRESH_DEBOUNCE_SECONDS
    if not debounce:
        publish(analytics_refresh_for_calls_task, call_ids)
        return
    fresh = [
        day.isoformat()
        for day in call_days(call_ids)
        if cache.add(f"qa-center:analytics-refresh:{day.isoformat()}", True, timeout=debounce)
    ]
    if fresh:
        publish(analytics_refresh_days_task, fresh, countdown=debounce)


@shared_task
def analytics_refresh_changed_task() -> None:
    since = timezone.now() - timedelta(minutes=settings.ANALYTICS_SWEEP_LOOKBACK_MINUTES)
    analytics_refresh_for_calls(call_ids=changed_call_ids(since=since))


@shared_task
def analytics_rebuild_recent_task() -> None:
    # Calls and scoring rollups together (the call refresh runs the registered scoring refresher).
    agent_day_stats_rebuild_recent(days=settings.ANALYTICS_REBUILD_DAYS)
