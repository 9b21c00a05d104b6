"""Celery tasks keeping the analytics rollups current. Each takes ids (or nothing) and calls one service;
all are idempotent (a refresh rebuilds whole days), so at-least-once delivery is harmless."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from calls.rollups import agent_day_stats_rebuild_recent

from .rollups import analytics_refresh_for_calls, changed_call_ids


@shared_task
def analytics_refresh_for_calls_task(call_ids: list[int]) -> None:
    analytics_refresh_for_calls(call_ids=call_ids)


@shared_task
def analytics_refresh_changed_task() -> None:
    since = timezone.now() - timedelta(minutes=settings.ANALYTICS_SWEEP_LOOKBACK_MINUTES)
    analytics_refresh_for_calls(call_ids=changed_call_ids(since=since))


@shared_task
def analytics_rebuild_recent_task() -> None:
    # Calls and scoring rollups together (the call refresh runs the registered scoring refresher).
    agent_day_stats_rebuild_recent(days=settings.ANALYTICS_REBUILD_DAYS)
