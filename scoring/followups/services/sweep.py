"""The sweeper: the SLA timer and the safety net for lost messages (beat runs it every minute; any
number may run at once)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ..models import FollowUpCase
from .dispatch import mark_exhausted_dispatch_failed
from .opening import enqueue_dispatch, enqueue_escalation_notice

logger = logging.getLogger(__name__)

Status = FollowUpCase.Status
DispatchState = FollowUpCase.DispatchState


@dataclass(frozen=True)
class SweepResult:
    redriven: int
    escalated: int
    exhausted: int
    escalation_redriven: int


def followup_sweep(*, now: datetime | None = None) -> SweepResult:
    """The timer and the safety net (run every minute, any number at once): fail dispatches that used up
    their attempts, re-queue cases a lost message left behind, escalate overdue cases one level."""
    now = now or timezone.now()
    exhausted = _fail_exhausted(now)
    redriven = _redrive(now)
    escalated = _escalate(now)
    escalation_redriven = _redrive_escalation_notices(now)
    if redriven or escalated or exhausted or escalation_redriven:
        logger.info(
            "follow-up sweep: %s re-driven, %s escalated, %s exhausted, %s escalation notices re-driven",
            redriven,
            escalated,
            exhausted,
            escalation_redriven,
        )
    return SweepResult(redriven, escalated, exhausted, escalation_redriven)


def _fail_exhausted(now: datetime) -> int:
    stale = FollowUpCase.objects.filter(
        dispatch_state=DispatchState.DISPATCHING,
        lease_expires_at__lt=now,
        dispatch_attempts__gte=settings.FOLLOWUP_MAX_ATTEMPTS,
    )
    count = 0
    for case_id, attempts in stale.values_list("pk", "dispatch_attempts")[: settings.FOLLOWUP_SWEEP_BATCH]:
        mark_exhausted_dispatch_failed(case_id=case_id, attempts=attempts, now=now)
        count += 1
    return count


def _redrive(now: datetime) -> int:
    """Re-queue pending rows with no message in flight: stamped dispatch_after (the publish failed, or a
    retry is due) FOLLOWUP_REDRIVE_AFTER_SECONDS ago; never stamped (their message was queued) only after
    FOLLOWUP_REDRIVE_QUEUED_AFTER_SECONDS, as only a crash or a broker data loss can have lost it — a
    shorter wait would flood a backlogged queue with duplicates; and claims whose lease ran out."""
    cutoff = now - timedelta(seconds=settings.FOLLOWUP_REDRIVE_AFTER_SECONDS)
    queued_cutoff = now - timedelta(seconds=settings.FOLLOWUP_REDRIVE_QUEUED_AFTER_SECONDS)
    pending = Q(dispatch_state=DispatchState.PENDING)
    not_queued = (
        pending & Q(dispatch_after__lte=cutoff) & (Q(redriven_at__isnull=True) | Q(redriven_at__lte=cutoff))
    )
    queued = (
        pending
        & Q(dispatch_after__isnull=True, created_at__lte=queued_cutoff)
        & (Q(redriven_at__isnull=True) | Q(redriven_at__lte=queued_cutoff))
    )
    lease_expired = Q(
        dispatch_state=DispatchState.DISPATCHING,
        lease_expires_at__lt=now,
        dispatch_attempts__lt=settings.FOLLOWUP_MAX_ATTEMPTS,
    ) & (Q(redriven_at__isnull=True) | Q(redriven_at__lte=cutoff))
    with transaction.atomic():
        # SKIP LOCKED: two sweepers split the work instead of queueing the same rows twice.
        ids = list(
            FollowUpCase.objects.filter(not_queued | queued | lease_expired)
            .order_by("created_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[: settings.FOLLOWUP_SWEEP_BATCH]
        )
        if ids:
            # Once re-queued a row counts as queued (stamp cleared); a failed publish stamps it again.
            FollowUpCase.objects.filter(pk__in=ids).update(redriven_at=now)
            FollowUpCase.objects.filter(pk__in=ids, dispatch_state=DispatchState.PENDING).update(
                dispatch_after=None
            )
    for case_id in ids:
        enqueue_dispatch(case_id)
    return len(ids)


# Overdue cases that escalate: open ones, and failed ones (their dispatch failed: nobody was told, so an
# overdue one must reach the next level more than any other).
ESCALATING = (Status.OPEN, Status.FAILED)


def _escalate(now: datetime) -> int:
    """Move overdue open (or dispatch-failed) cases up one level: level 1 at due_at, level n+1 a step after level n.

    Exactly once per level: the row lock (SKIP LOCKED) and the escalation_level condition re-checked
    under it mean two sweepers can never both raise the same case from the same level."""
    step = timedelta(minutes=settings.FOLLOWUP_ESCALATION_STEP_MINUTES)
    escalated: list[int] = []
    for level in range(1, settings.FOLLOWUP_ESCALATION_MAX_LEVEL + 1):
        with transaction.atomic():
            ids = list(
                FollowUpCase.objects.filter(
                    status__in=ESCALATING, escalation_level=level - 1, due_at__lte=now - step * (level - 1)
                )
                .order_by("due_at")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[: settings.FOLLOWUP_SWEEP_BATCH]
            )
            if ids:
                FollowUpCase.objects.filter(
                    pk__in=ids, status__in=ESCALATING, escalation_level=level - 1
                ).update(escalation_level=level, escalated_at=now, updated_at=now)
        escalated.extend(ids)
    for case_id in dict.fromkeys(escalated):
        enqueue_escalation_notice(case_id)
    return len(escalated)


def _redrive_escalation_notices(now: datetime) -> int:
    """Escalations whose notice task should long have run (queued, like dispatches, then lost)."""
    cutoff = now - timedelta(seconds=settings.FOLLOWUP_REDRIVE_QUEUED_AFTER_SECONDS)
    ids = list(
        FollowUpCase.objects.filter(
            escalation_notified_level__lt=F("escalation_level"), escalated_at__lte=cutoff
        )
        .order_by("escalated_at")
        .values_list("pk", flat=True)[: settings.FOLLOWUP_SWEEP_BATCH]
    )
    for case_id in ids:
        enqueue_escalation_notice(case_id)
    return len(ids)
