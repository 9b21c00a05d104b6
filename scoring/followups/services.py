"""State changes of follow-up cases: open, dispatch (notify the owner), sweep (re-drive and escalate),
and the owner's work on the board (contact attempts, pause/resume, close).

Delivery guarantees, in one place:
- A case is created in the transaction that records the detractor response (one per response: UNIQUE).
- Dispatch is queued after that transaction commits; if the broker is down the enqueue is skipped
  (logged) and the sweeper re-drives the still-pending row. The database row is the source of truth.
- A dispatch first *claims* the row (pending, or lease expired → dispatching, attempts + 1). Only one
  claimant wins; the attempt number is the fencing token for every later write of that attempt.
- Each effect is a Notification row with a UNIQUE idempotency key per (case, kind, level, recipient).
  See _deliver for the exactly-once argument.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from scoring.surveys.models import SurveyResponse

from . import selectors, sla
from .models import ContactAttempt, FollowUpCase, Notification, Priority, RootCause
from .notifiers import Notice, PermanentNotifyError, TransientNotifyError, enabled_notifiers

logger = logging.getLogger(__name__)

Status = FollowUpCase.Status
DispatchState = FollowUpCase.DispatchState

# A Celery retry may start a hair before the row's dispatch_after (clocks of web, worker and DB differ).
CLOCK_TOLERANCE = timedelta(seconds=1)


class FollowUpStateError(Exception):
    """The action does not apply to the case in its current state."""


# --- open -------------------------------------------------------------------------------------------


def _enqueue_dispatch(case_id: int) -> None:
    from .tasks import followup_dispatch_task, publish

    publish(followup_dispatch_task, case_id)


@transaction.atomic
def followup_open_for_response(*, response: SurveyResponse) -> FollowUpCase:
    """Open the follow-up of a detractor response in the caller's transaction (idempotent: the existing
    case is returned). Owner: the primary credited agent's team supervisor, else the default queue.
    Due: the matching SLA policy from the response's receipt. Dispatch is queued after commit."""
    if not response.is_detractor:
        raise ValueError("only detractor responses get a follow-up")
    existing = FollowUpCase.objects.filter(response=response).first()
    if existing is not None:
        return existing
    now = timezone.now()
    customer = response.customer or response.call.customer
    policy = selectors.sla_policy_match(
        customer_tier=customer.tier if customer else None, score=response.score
    )
    calendar_model = policy.calendar if policy is not None and policy.business_hours_only else None
    minutes = policy.resolution_minutes if policy is not None else settings.FOLLOWUP_FALLBACK_SLA_MINUTES
    start = min(response.received_at, now)
    due_at = sla.add_business_time(
        start, timedelta(minutes=minutes), selectors.business_calendar_for_sla(calendar_model)
    )
    owner = selectors.team_supervisor(selectors.response_primary_agent(response))
    case, created = FollowUpCase.objects.get_or_create(
        response=response,
        defaults={
            "call_id": response.call_id,
            "customer": customer,
            "owner": owner,
            "queue": None if owner is not None else selectors.default_queue(),
            "priority": policy.case_priority if policy is not None else Priority.NORMAL,
            "sla_policy": policy,
            "calendar": calendar_model,
            "due_at": due_at,
            "created_at": now,
        },
    )
    if created:
        # Never a bare .delay() here: the worker must find the committed row, and a broker outage must
        # not fail the response. robust: a failing publish cannot break the caller's commit hooks.
        transaction.on_commit(lambda: _enqueue_dispatch(case.pk), robust=True)
    return case


# --- effects ----------------------------------------------------------------------------------------


def _idempotency_key(case_id: int, kind: str, level: int, recipient) -> str:
    who = f"user.{recipient.pk}" if recipient is not None else "board"
    return f"followup.{case_id}.{kind}.{level}.{who}"


def _notice(case: FollowUpCase, *, kind: str, level: int, recipient, key: str) -> Notice:
    response = case.response
    customer = case.customer.name or case.customer.external_id if case.customer else "Anonymous customer"
    when = timezone.localtime(case.due_at).strftime("%Y-%m-%d %H:%M %Z")
    if kind == Notification.Kind.ASSIGNED:
        subject = f"Follow-up #{case.pk}: {customer} scored {response.score}/10 — due {when}"
    else:
        subject = f"OVERDUE follow-up #{case.pk} (escalation level {level}): {customer} — was due {when}"
    comment = response.comment or "(no comment)"
    body = f"{customer} answered {response.score}/10 about call {case.call.external_id}.\nComment: {comment}"
    return Notice(
        idempotency_key=key,
        kind=kind,
        level=level,
        case_id=case.pk,
        recipient_email=getattr(recipient, "email", "") or "",
        recipient_name=recipient.get_full_name() or recipient.get_username() if recipient is not None else "",
        subject=subject,
        body=body,
        url=settings.SITE_URL + reverse("followups:detail", args=[case.pk]),
        due_at=case.due_at,
        customer_external_id=case.customer.external_id if case.customer else "",
    )


def _deliver(case: FollowUpCase, *, kind: str, level: int, recipient) -> bool:
    """Record and send one notice; False if it was already recorded (nothing sent).

    Exactly-once argument. The INSERT … ON CONFLICT DO NOTHING and the outside sends run in ONE
    transaction, and the row commits only after every send returned:
    - a concurrent duplicate blocks on the unique key until this transaction ends, then inserts
      nothing (committed) or takes over (rolled back) — it never sends alongside;
    - an error or a crash before COMMIT rolls the row back, so the retry sends again: nothing is lost;
    - the in-app notice IS the row, so it exists exactly once;
    - the only duplicate possible outside is a crash in the instant between a send returning and the
      COMMIT; it reaches the receiver with the same idempotency key (Message-ID, Idempotency-Key).
    """
    key = _idempotency_key(case.pk, kind, level, recipient)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Notification._meta.db_table} "  # noqa: S608 - table name from model meta
                "(case_id, kind, level, recipient_id, idempotency_key, channels, created_at) "
                "VALUES (%s, %s, %s, %s, %s, '', %s) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
                [case.pk, kind, level, recipient.pk if recipient is not None else None, key, timezone.now()],
            )
            row = cursor.fetchone()
        if row is None:
            return False
        notice = _notice(case, kind=kind, level=level, recipient=recipient, key=key)
        sent_on = [n.name for n in enabled_notifiers() if n.send(notice)]
        if sent_on:
            Notification.objects.filter(pk=row[0]).update(channels=",".join(sent_on))
    return True


# --- dispatch ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DispatchOutcome:
    result: str  # "dispatched", "skipped" (not claimable), "retry", "failed"
    attempt: int = 0
    retry_in: float | None = None


def retry_delay_seconds(attempt: int) -> float:
    """Backoff after failed attempt n (1-based): base·2^(n−1), capped."""
    return min(settings.FOLLOWUP_RETRY_BASE_SECONDS * 2 ** (attempt - 1), settings.FOLLOWUP_RETRY_MAX_SECONDS)


def _claimable(now: datetime) -> Q:
    due = Q(dispatch_after__isnull=True) | Q(dispatch_after__lte=now + CLOCK_TOLERANCE)
    return (Q(dispatch_state=DispatchState.PENDING) & due) | Q(
        dispatch_state=DispatchState.DISPATCHING, lease_expires_at__lt=now
    )


def followup_dispatch(*, case_id: int, now: datetime | None = None) -> DispatchOutcome:
    """Notify the owner of a case once. Safe to run any number of times, concurrently: only the claimant
    of the row acts, and every effect is deduplicated by its idempotency key."""
    now = now or timezone.now()
    max_attempts = settings.FOLLOWUP_MAX_ATTEMPTS
    claimed = FollowUpCase.objects.filter(
        _claimable(now), pk=case_id, dispatch_attempts__lt=max_attempts
    ).update(
        dispatch_state=DispatchState.DISPATCHING,
        lease_expires_at=now + timedelta(seconds=settings.FOLLOWUP_DISPATCH_LEASE_SECONDS),
        dispatch_attempts=F("dispatch_attempts") + 1,
        updated_at=now,
    )
    if not claimed:
        return DispatchOutcome("skipped")
    case = FollowUpCase.objects.select_related("response", "call", "customer", "owner", "queue").get(
        pk=case_id
    )
    attempt = case.dispatch_attempts
    mine = FollowUpCase.objects.filter(
        pk=case_id, dispatch_state=DispatchState.DISPATCHING, dispatch_attempts=attempt
    )
    try:
        if case.status != Status.CLOSED:
            for recipient in selectors.assignment_recipients(case):
                _deliver(case, kind=Notification.Kind.ASSIGNED, level=0, recipient=recipient)
    except TransientNotifyError as exc:
        if attempt >= max_attempts:
            logger.error("follow-up %s: dispatch failed after %s attempts: %s", case_id, attempt, exc)
            _mark_dispatch_failed(mine, f"{attempt} attempts; last error: {exc}")
            return DispatchOutcome("failed", attempt)
        delay = retry_delay_seconds(attempt)
        logger.warning("follow-up %s: attempt %s failed (%s); retry in %.1fs", case_id, attempt, exc, delay)
        mine.update(
            dispatch_state=DispatchState.PENDING,
            lease_expires_at=None,
            dispatch_after=timezone.now() + timedelta(seconds=delay),
            dispatch_error=str(exc)[:2000],
            updated_at=timezone.now(),
        )
        return DispatchOutcome("retry", attempt, retry_in=delay)
    except Exception as exc:  # a permanent error, or a bug: retrying will not help; surface it
        logger.exception("follow-up %s: dispatch failed permanently", case_id)
        kind = "permanent error" if isinstance(exc, PermanentNotifyError) else type(exc).__name__
        _mark_dispatch_failed(mine, f"{kind}: {exc}")
        return DispatchOutcome("failed", attempt)
    mine.update(
        dispatch_state=DispatchState.DISPATCHED,
        lease_expires_at=None,
        dispatch_after=None,
        dispatched_at=timezone.now(),
        dispatch_error="",
        updated_at=timezone.now(),
    )
    return DispatchOutcome("dispatched", attempt)


@transaction.atomic
def _mark_dispatch_failed(mine, error: str) -> None:
    now = timezone.now()
    ids = list(mine.values_list("pk", flat=True))
    if not mine.update(
        dispatch_state=DispatchState.FAILED,
        lease_expires_at=None,
        dispatch_error=error[:2000],
        updated_at=now,
    ):
        return
    # An open case nobody was told about is surfaced as failed (board and admin), never dropped.
    FollowUpCase.objects.filter(pk__in=ids, status=Status.OPEN).update(status=Status.FAILED, updated_at=now)


@transaction.atomic
def followup_dispatch_retry(*, case: FollowUpCase, by=None) -> FollowUpCase:
    """Re-arm a failed dispatch (after the cause was fixed): pending again with a fresh attempt budget."""
    now = timezone.now()
    updated = FollowUpCase.objects.filter(pk=case.pk, dispatch_state=DispatchState.FAILED).update(
        dispatch_state=DispatchState.PENDING,
        dispatch_attempts=0,
        dispatch_after=None,
        lease_expires_at=None,
        dispatch_error="",
        updated_at=now,
    )
    if not updated:
        raise FollowUpStateError("Only a failed dispatch can be retried.")
    FollowUpCase.objects.filter(pk=case.pk, status=Status.FAILED).update(status=Status.OPEN, updated_at=now)
    transaction.on_commit(lambda: _enqueue_dispatch(case.pk), robust=True)
    case.refresh_from_db()
    return case


# --- escalation -------------------------------------------------------------------------------------


def _enqueue_escalation_notice(case_id: int) -> None:
    from .tasks import followup_escalation_notify_task, publish

    publish(followup_escalation_notify_task, case_id)


def followup_escalation_notify(*, case_id: int) -> DispatchOutcome:
    """Tell the next-level recipients about every escalation level not yet announced. Idempotent (keys)
    and safe concurrently; transient errors ask for a retry, permanent ones are logged and skipped."""
    case = (
        FollowUpCase.objects.select_related("response", "call", "customer", "owner", "queue")
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        return DispatchOutcome("skipped")
    for level in range(case.escalation_notified_level + 1, case.escalation_level + 1):
        try:
            for recipient in selectors.escalation_recipients(case, level):
                _deliver(case, kind=Notification.Kind.ESCALATED, level=level, recipient=recipient)
        except TransientNotifyError as exc:
            delay = retry_delay_seconds(1)
            logger.warning("follow-up %s: escalation notice failed (%s); retry in %.1fs", case_id, exc, delay)
            return DispatchOutcome("retry", retry_in=delay)
        except Exception:
            logger.exception("follow-up %s: escalation notice level %s failed permanently", case_id, level)
        FollowUpCase.objects.filter(pk=case_id, escalation_notified_level=level - 1).update(
            escalation_notified_level=level, updated_at=timezone.now()
        )
    return DispatchOutcome("dispatched")


# --- sweeper ----------------------------------------------------------------------------------------


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
        mine = FollowUpCase.objects.filter(
            pk=case_id,
            dispatch_state=DispatchState.DISPATCHING,
            dispatch_attempts=attempts,
            lease_expires_at__lt=now,
        )
        _mark_dispatch_failed(mine, f"{attempts} attempts; the last one never finished (worker lost)")
        count += 1
    return count


def _redrive(now: datetime) -> int:
    cutoff = now - timedelta(seconds=settings.FOLLOWUP_REDRIVE_AFTER_SECONDS)
    lost = (
        (
            Q(dispatch_state=DispatchState.PENDING)
            & (Q(dispatch_after__isnull=True, created_at__lte=cutoff) | Q(dispatch_after__lte=cutoff))
        )
        | Q(
            dispatch_state=DispatchState.DISPATCHING,
            lease_expires_at__lt=now,
            dispatch_attempts__lt=settings.FOLLOWUP_MAX_ATTEMPTS,
        )
    ) & (Q(redriven_at__isnull=True) | Q(redriven_at__lte=cutoff))
    with transaction.atomic():
        # SKIP LOCKED: two sweepers split the work instead of queueing the same rows twice.
        ids = list(
            FollowUpCase.objects.filter(lost)
            .order_by("created_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[: settings.FOLLOWUP_SWEEP_BATCH]
        )
        if ids:
            FollowUpCase.objects.filter(pk__in=ids).update(redriven_at=now)
    for case_id in ids:
        _enqueue_dispatch(case_id)
    return len(ids)


def _escalate(now: datetime) -> int:
    """Move overdue open cases up one level: level 1 at due_at, level n+1 a step after level n.

    Exactly once per level: the row lock (SKIP LOCKED) and the escalation_level condition re-checked
    under it mean two sweepers can never both raise the same case from the same level."""
    step = timedelta(minutes=settings.FOLLOWUP_ESCALATION_STEP_MINUTES)
    escalated: list[int] = []
    for level in range(1, settings.FOLLOWUP_ESCALATION_MAX_LEVEL + 1):
        with transaction.atomic():
            ids = list(
                FollowUpCase.objects.filter(
                    status=Status.OPEN, escalation_level=level - 1, due_at__lte=now - step * (level - 1)
                )
                .order_by("due_at")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[: settings.FOLLOWUP_SWEEP_BATCH]
            )
            if ids:
                FollowUpCase.objects.filter(
                    pk__in=ids, status=Status.OPEN, escalation_level=level - 1
                ).update(escalation_level=level, escalated_at=now, updated_at=now)
        escalated.extend(ids)
    for case_id in dict.fromkeys(escalated):
        _enqueue_escalation_notice(case_id)
    return len(escalated)


def _redrive_escalation_notices(now: datetime) -> int:
    cutoff = now - timedelta(seconds=settings.FOLLOWUP_REDRIVE_AFTER_SECONDS)
    ids = list(
        FollowUpCase.objects.filter(
            escalation_notified_level__lt=F("escalation_level"), escalated_at__lte=cutoff
        )
        .order_by("escalated_at")
        .values_list("pk", flat=True)[: settings.FOLLOWUP_SWEEP_BATCH]
    )
    for case_id in ids:
        _enqueue_escalation_notice(case_id)
    return len(ids)


# --- the owner's work -------------------------------------------------------------------------------


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
    _refresh_analytics_on_commit(locked.call_id)
    return locked


def _refresh_analytics_on_commit(call_id: int) -> None:
    """Closes feed the per-agent-day rollups (closed within SLA): queue their refresh after commit,
    through the never-raising publisher (the analytics sweeper catches up if this is lost)."""
    try:
        from scoring.analytics.tasks import analytics_refresh_for_calls_task
    except ImportError:  # analytics not installed
        return

    def enqueue() -> None:
        from .tasks import publish

        publish(analytics_refresh_for_calls_task, [call_id])

    transaction.on_commit(enqueue, robust=True)


def notification_mark_read(*, user, now: datetime | None = None) -> int:
    """Mark all of the user's unread follow-up notices read."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=now or timezone.now()
    )
