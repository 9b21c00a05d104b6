"""Celery tasks for calls: each takes plain values and calls one service."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task
def call_import_run_task(import_id: int) -> str:
    """Run an import uploaded in the web UI. Safe to deliver twice: the service claims the row first."""
    call_import = services.call_import_run(import_id)
    return call_import.status if call_import is not None else "skipped"


@shared_task
def call_import_sweep_task() -> int:
    """Queue again imports whose task was lost (beat, every minute)."""
    return services.call_import_sweep()


@shared_task
def call_import_prune_task() -> int:
    """Drop old uploaded files (beat, daily)."""
    return services.call_import_prune()
