"""Celery tasks for scoring: each takes plain values and calls one service."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task

from .sampling import previous_week_start, weekly_sample_assign

logger = logging.getLogger(__name__)


@shared_task
def weekly_sample_assign_task(week_start: str | None = None, seed: int | None = None) -> dict:
    """Sample a week into reviewers' queues (default: last week — beat runs it Monday 06:00).

    Safe to re-run: the service skips calls already queued and agents already sampled for the week."""
    week = dt.date.fromisoformat(week_start) if week_start else previous_week_start()
    result = weekly_sample_assign(week_start=week, seed=seed)
    return {
        "week_start": week.isoformat(),
        "created": result.created,
        "agents_without_calls": [a.employee_code for a in result.agents_without_calls],
        "agents_short": len(result.agents_short),
        "reviewers": len(result.reviewers),
    }
