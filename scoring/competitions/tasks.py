"""Celery tasks of competitions: take ids (none here) and call one service."""

from __future__ import annotations

from celery import shared_task

from .services import notice_create_for_finished_competitions


@shared_task(
    name="scoring.competitions.tasks.notice_create_for_finished_competitions_task", ignore_result=True
)
def notice_create_for_finished_competitions_task() -> int:
    """Beat, daily 07:10: tell each participant how the contests that ended went (idempotent; catches up)."""
    return notice_create_for_finished_competitions()
