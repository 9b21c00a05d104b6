"""The owner's work on a case: contact attempts, waiting on the customer (the SLA clock pauses), closing
with an outcome and a root cause; and the in-app notices' read state."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from scoring.analytics.rollups import analytics_refresh_for_calls_on_commit

from .. import selectors, sla
from ..models import ContactAttempt, FollowUpCase, Notification, RootCause
from .dispatch import FollowUpStateError

Status = FollowUpCase.Status


def _locked(case: FollowUpCase) -> FollowUpCase:
    return FollowUpCase.objects.select_for_update(of=("self",)).select_related("calendar").get(pk=case.pk)


@transaction.atomic
def followup_contact_attempt_log(
    *, case: FollowUpCase, by, channel: str, result: str, note: str = "", at: datetime | None = None
) -> ContactAttempt:
    """Record a try to reach the customer on a case that is not closed."""
    locked = _locked(case)
    if locked.status == Status.CLOSED:
        raise FollowUpStateError("The case is closed.")
    return ContactAttempt.objects.create(
        case=locked, by=by, channel=channel, result=result, note=note.strip(), at=at or timezone.now()
    )


@transaction.atomic
def followup_pause(*, case: FollowUpCase, by=None, now: datetime | None = None) -> FollowUpCase:
    """Open → waiting on the customer: the SLA clock stops."""
    now = now or timezone.now()
    updated = FollowUpCase.objects.filter(pk=case.pk, status=Status.OPEN).update(
        status=Status.WAITING, sla_paused_at=now, updated_at=now
    )
    if not updated:
        raise FollowUpStateError("Only an open case can wait on the customer.")
    case.refresh_from_db()
    return case


def _paused_business_time(case: FollowUpCase, now: datetime, calendar) -> timedelta:
    return max(sla.business_time_between(case.sla_paused_at, now, calendar), timedelta(0))


@transaction.atomic
def followup_resume(*, case: FollowUpCase, by=None, now: datetime | None = None) -> FollowUpCase:
    """Waiting → open: due_at moves forward by the business time spent waiting."""
    now = now or timezone.now()
    locked = _locked(case)
    if locked.status != Status.WAITING:
        raise FollowUpStateError("The case is not waiting on the customer.")
    calendar = selectors.followup_case_calendar(locked)
    paused = _paused_business_time(locked, now, calendar)
    locked.due_at = sla.add_business_time(locked.due_at, paused, calendar)
    locked.paused_seconds += int(paused.total_seconds())
    locked.status, locked.sla_paused_at = Status.OPEN, None
    locked.save(update_fields=["due_at", "paused_seconds", "status", "sla_paused_at", "updated_at"])
    return locked


@transaction.atomic
def followup_close(
    *,
    case: FollowUpCase,
    by,
    outcome: str,
    root_cause: RootCause,
    notes: str = "",
    now: datetime | None = None,
) -> FollowUpCase:
    """Close an active case with an outcome and an active root cause (both required)."""
    now = now or timezone.now()
    if outcome not in FollowUpCase.Outcome.values:
        raise ValueError(f"unknown outcome {outcome!r}")
    if root_cause is None or not root_cause.is_active:
        raise ValueError("an active root cause is required")
    locked = _locked(case)
    if locked.status == Status.CLOSED:
        raise FollowUpStateError("The case is already closed.")
    if locked.status == Status.WAITING:
        # Closing ends the pause as a resume would, so "closed within SLA" (closed_at <= due_at) is fair.
        calendar = selectors.followup_case_calendar(locked)
        paused = _paused_business_time(locked, now, calendar)
        locked.due_at = sla.add_business_time(locked.due_at, paused, calendar)
        locked.paused_seconds += int(paused.total_seconds())
        locked.sla_paused_at = None
    locked.status = Status.CLOSED
    locked.closed_at, locked.closed_by = now, by
    locked.outcome, locked.root_cause = outcome, root_cause
    if notes.strip():
        locked.notes = f"{locked.notes}\n\n{notes.strip()}".strip()
    locked.save(
        update_fields=[
            "status",
            "closed_at",
            "closed_by",
            "outcome",
            "root_cause",
            "notes",
            "paused_seconds",
            "sla_paused_at",
            "due_at",
            "updated_at",
        ]
    )
    # Closes feed the per-agent-day rollups (closed within SLA): refresh the call's day after commit.
    analytics_refresh_for_calls_on_commit(call_ids=[locked.call_id])
    return locked


def notification_mark_read(*, user, now: datetime | None = None) -> int:
    """Mark all of the user's unread follow-up notices read."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=now or timezone.now()
    )
