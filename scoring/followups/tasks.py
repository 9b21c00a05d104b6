"""Celery tasks: each takes ids and calls one service. Publishing goes through `publish`, which never
raises and never blocks a web request for long when the broker is down (the sweeper re-drives)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import threading
import time

from celery import current_app, shared_task
from django.conf import settings

from . import services

logger = logging.getLogger(__name__)

# After a failed publish, skip publishing for this long: requests stay fast during a broker outage and
# the sweeper queues what was skipped once the broker is back.
PUBLISH_BACKOFF_SECONDS = 2.0

_state = threading.local()


def _reset_after_fork() -> None:
    global _state
    _state = threading.local()  # a broker socket must never be shared across a fork


os.register_at_fork(after_in_child=_reset_after_fork)


def _producer():
    producer = getattr(_state, "producer", None)
    if producer is None:
        timeout = settings.FOLLOWUP_BROKER_TIMEOUT
        transport_options = {
            **(current_app.conf.broker_transport_options or {}),
            # Without these kombu retries a refused connection for ~2 s and waits forever on a hung one.
            "max_retries": 0,
            "socket_connect_timeout": timeout,
            "socket_timeout": timeout,
        }
        connection = current_app.connection_for_write(transport_options=transport_options)
        producer = connection.Producer()
        _state.producer = producer
    return producer


def _drop_producer() -> None:
    producer = getattr(_state, "producer", None)
    _state.producer = None
    if producer is not None:
        with contextlib.suppress(Exception):  # the connection is broken anyway
            producer.connection.release()


def publish(task, *args, countdown: float | None = None) -> bool:
    """Queue task(*args); False (logged) if the broker is unreachable. Never raises."""
    if current_app.conf.task_always_eager:
        task.apply(args)
        return True
    if getattr(_state, "skip_until", 0.0) > time.monotonic():
        return False
    try:
        task.apply_async(args, countdown=countdown, producer=_producer(), retry=False)
    except Exception as exc:
        logger.warning("could not queue %s%r (%s); its sweeper will re-drive it", task.name, args, exc)
        _drop_producer()
        _state.skip_until = time.monotonic() + PUBLISH_BACKOFF_SECONDS
        return False
    return True


# max_retries=None: the row's dispatch_attempts is the budget (FOLLOWUP_MAX_ATTEMPTS), not Celery's counter.
@shared_task(
    bind=True,
    name="scoring.followups.tasks.followup_dispatch_task",
    acks_late=True,
    ignore_result=True,
    max_retries=None,
)
def followup_dispatch_task(self, case_id: int) -> str:
    outcome = services.followup_dispatch(case_id=case_id)
    if outcome.retry_in is not None:
        # The row already says when it may be claimed again; if this retry message is lost, the sweeper
        # re-drives the pending row.
        raise self.retry(countdown=outcome.retry_in)
    return outcome.result


@shared_task(
    bind=True,
    name="scoring.followups.tasks.followup_escalation_notify_task",
    acks_late=True,
    ignore_result=True,
    max_retries=None,
)
def followup_escalation_notify_task(self, case_id: int) -> str:
    outcome = services.followup_escalation_notify(case_id=case_id)
    if outcome.retry_in is not None and self.request.retries < settings.FOLLOWUP_MAX_ATTEMPTS:
        raise self.retry(countdown=services.retry_delay_seconds(self.request.retries + 1))
    return outcome.result


@shared_task(name="scoring.followups.tasks.followup_sweep_task", ignore_result=True)
def followup_sweep_task() -> dict:
    return dataclasses.asdict(services.followup_sweep())
