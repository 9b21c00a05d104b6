"""Celery tasks for scoring: each takes plain values and calls one service."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from celery import shared_task

from .notices.services import (
    notice_create_for_due_follow_ups,
    notice_create_for_event,
    notice_create_for_weekly_digests,
    notice_sweep,
)
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


# acks_late: a worker killed mid-task leaves the message to be redelivered; the service is idempotent.
@shared_task(name="scoring.tasks.notice_create_for_event_task", acks_late=True, ignore_result=True)
def notice_create_for_event_task(
    kind: str,
    evaluation_id: int | None = None,
    dispute_id: int | None = None,
    coaching_session_id: int | None = None,
) -> int:
    """Create (and, with QA_NOTICE_EMAIL, e-mail) the notices of one QA event, queued after its commit."""
    return len(
        notice_create_for_event(
            kind=kind,
            evaluation_id=evaluation_id,
            dispute_id=dispute_id,
            coaching_session_id=coaching_session_id,
        )
    )


@shared_task(name="scoring.tasks.notice_sweep_task", ignore_result=True)
def notice_sweep_task() -> dict:
    """Beat, every 5 minutes: notices of recent events whose task was lost; e-mail that failed."""
    return dataclasses.asdict(notice_sweep())


@shared_task(name="scoring.tasks.notice_create_for_due_follow_ups_task", ignore_result=True)
def notice_create_for_due_follow_ups_task() -> int:
    """Beat, daily: tell each coach of the coaching follow-ups that have come (idempotent, catches up)."""
    return notice_create_for_due_follow_ups()


@shared_task(name="scoring.tasks.notice_create_for_weekly_digests_task", ignore_result=True)
def notice_create_for_weekly_digests_task() -> int:
    """Beat, Monday 07:00: each supervisor's digest of last week (idempotent; a late run catches up)."""
    return notice_create_for_weekly_digests()
