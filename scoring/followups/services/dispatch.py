"""Notifying people about a case: the owner on dispatch, the next level on escalation.

The dispatch path runs for every detractor, so it is written as three SQL statements: one conditional
UPDATE … RETURNING that claims the row and reads what the notice says, one INSERT (+ the "dispatched"
mark) in the transaction that also sends, and its COMMIT.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from calls.models import Call, Customer
from scoring.surveys.models import SurveyResponse

from .. import selectors
from ..models import FollowUpCase, Notification
from ..notifiers import Notice, PermanentNotifyError, TransientNotifyError, enabled_notifiers
from .opening import enqueue_dispatch

logger = logging.getLogger(__name__)

Status = FollowUpCase.Status
DispatchState = FollowUpCase.DispatchState

# A Celery retry may start a hair before the row's dispatch_after (clocks of web, worker and DB differ).
CLOCK_TOLERANCE = timedelta(seconds=1)


class FollowUpStateError(Exception):
    """The action does not apply to the case in its current state."""


@dataclass(frozen=True)
class DispatchOutcome:
    result: str  # "dispatched", "skipped" (not claimable), "retry", "failed"
    attempt: int = 0
    retry_in: float | None = None


# --- what a notice says -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFacts:
    """What notices say about a case, read in the same statement that claims it."""

    case_id: int
    attempt: int
    status: str
    owner_id: int | None
    queue_id: int | None
    due_at: datetime
    score: int
    comment: str
    call_external_id: str
    owner_email: str
    owner_name: str
    customer_name: str
    customer_external_id: str


@dataclass(frozen=True)
class Recipient:
    user_id: int | None  # None: the board of the case's queue / the admins
    email: str = ""
    name: str = ""

    @classmethod
    def of(cls, user) -> Recipient:
        if user is None:
            return cls(None)
        return cls(user.pk, user.email or "", user.get_full_name() or user.get_username())


def _facts_sql(where: str) -> str:
    """Columns for CaseFacts from one case (f.*), joined in a sub-select usable in UPDATE … FROM."""
    user = get_user_model()._meta.db_table
    return f"""
        SELECT c2.id AS case_id, r.score, r.comment, ca.external_id AS call_external_id,
               coalesce(u.email, '') AS owner_email,
               coalesce(nullif(trim(u.first_name || ' ' || u.last_name), ''), u.username, '') AS owner_name,
               coalesce(cu.name, '') AS customer_name, coalesce(cu.external_id, '') AS customer_external_id
        FROM {FollowUpCase._meta.db_table} c2
        JOIN {SurveyResponse._meta.db_table} r ON r.id = c2.response_id
        JOIN {Call._meta.db_table} ca ON ca.id = c2.call_id
        LEFT JOIN {user} u ON u.id = c2.owner_id
        LEFT JOIN {Customer._meta.db_table} cu ON cu.id = c2.customer_id
        WHERE {where}
    """  # noqa: S608 - table names from model meta, values are parameters


_RETURNING = """
    c.id, c.dispatch_attempts, c.status, c.owner_id, c.queue_id, c.due_at, f.score, f.comment,
    f.call_external_id, f.owner_email, f.owner_name, f.customer_name, f.customer_external_id
"""


_FACT_COLUMNS = len(fields(CaseFacts))


def _facts_from_row(row) -> CaseFacts:
    facts = CaseFacts(*row[:_FACT_COLUMNS])  # the columns of _RETURNING, in CaseFacts' field order
    if timezone.is_naive(facts.due_at):  # SQLite: raw SQL reads the stored UTC time without its zone
        facts = replace(facts, due_at=facts.due_at.replace(tzinfo=UTC))
    return facts


def case_facts(case_id: int) -> CaseFacts | None:
    table = FollowUpCase._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_RETURNING} FROM {table} c JOIN ({_facts_sql('c2.id = %s')}) f ON f.case_id = c.id",  # noqa: S608
            [case_id],
        )
        row = cursor.fetchone()
    return _facts_from_row(row) if row else None


# The claim's own COMMIT need not wait for its WAL flush (PostgreSQL only, see _claim).
_CLAIM_COMMITS_ASYNC = ", set_config('synchronous_commit', 'off', true)"


def _claim(case_id: int, now: datetime) -> CaseFacts | None:
    """Claim the row for one dispatch attempt (pending and due, or its lease expired; attempts left):
    a conditional UPDATE, so exactly one of any number of concurrent claimants gets it. Returns what
    the notice needs, or None if the row was not claimable.

    On PostgreSQL the claim commits asynchronously (synchronous_commit off for this one-statement
    transaction, set from RETURNING so only a real claim does it): the WAL flush (~5 ms of fsync here,
    half the cost of a dispatch) is skipped. Safe because nothing relies on the claim surviving a
    database crash: WAL is flushed in order, so the delivery's synchronous COMMIT (notice + "dispatched")
    makes the claim durable first; a claim lost in a crash was never followed by a committed notice, and
    the row is simply pending (or leased) again for the sweeper — exactly as if this attempt had failed.
    A worker crash loses nothing (an asynchronous commit is still committed; only a server crash can
    lose it), so leases, attempts and fencing behave as before."""
    if connection.vendor != "postgresql":
        return _claim_portable(case_id, now)
    table = FollowUpCase._meta.db_table
    # set_config(..., true) lasts until the end of the transaction: inside a caller's atomic block (an
    # eager task, a test) it would make the delivery's commit asynchronous too, so only a claim that is
    # its own transaction skips the flush.
    async_commit = "" if connection.in_atomic_block else _CLAIM_COMMITS_ASYNC
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} AS c
            SET dispatch_state = 'dispatching', lease_expires_at = %(lease)s,
                dispatch_attempts = c.dispatch_attempts + 1, updated_at = %(now)s
            FROM ({_facts_sql("c2.id = %(id)s")}) AS f
            WHERE c.id = f.case_id AND c.dispatch_attempts < %(max)s
              AND ((c.dispatch_state = 'pending' AND (c.dispatch_after IS NULL OR c.dispatch_after <= %(due)s))
                   OR (c.dispatch_state = 'dispatching' AND c.lease_expires_at < %(now)s))
            RETURNING {_RETURNING}{async_commit}
            """,  # noqa: S608 - table names from model meta, values are parameters
            {
                "id": case_id,
                "now": now,
                "due": now + CLOCK_TOLERANCE,
                "lease": now + timedelta(seconds=settings.FOLLOWUP_DISPATCH_LEASE_SECONDS),
                "max": settings.FOLLOWUP_MAX_ATTEMPTS,
            },
        )
        row = cursor.fetchone()
    return _facts_from_row(row) if row else None


def _claim_portable(case_id: int, now: datetime) -> CaseFacts | None:
    """The same claim for SQLite (the embedded demo), whose UPDATE … FROM cannot RETURN the joined
    columns: the conditional UPDATE through the ORM, then the facts read back (SQLite runs one writer at
    a time, so the attempt read is this claim's)."""
    claimable = Q(dispatch_state=DispatchState.PENDING) & (
        Q(dispatch_after__isnull=True) | Q(dispatch_after__lte=now + CLOCK_TOLERANCE)
    ) | Q(dispatch_state=DispatchState.DISPATCHING, lease_expires_at__lt=now)
    with transaction.atomic():
        claimed = FollowUpCase.objects.filter(
            claimable, pk=case_id, dispatch_attempts__lt=settings.FOLLOWUP_MAX_ATTEMPTS
        ).update(
            dispatch_state=DispatchState.DISPATCHING,
            lease_expires_at=now + timedelta(seconds=settings.FOLLOWUP_DISPATCH_LEASE_SECONDS),
            dispatch_attempts=F("dispatch_attempts") + 1,
            updated_at=now,
        )
        return case_facts(case_id) if claimed else None


def _idempotency_key(case_id: int, kind: str, level: int, recipient: Recipient) -> str:
    who = f"user.{recipient.user_id}" if recipient.user_id is not None else "board"
    return f"followup.{case_id}.{kind}.{level}.{who}"


def _notice(facts: CaseFacts, *, kind: str, level: int, recipient: Recipient, key: str) -> Notice:
    customer = facts.customer_name or facts.customer_external_id or "Anonymous customer"
    when = timezone.localtime(facts.due_at).strftime("%Y-%m-%d %H:%M %Z")
    if kind == Notification.Kind.ASSIGNED:
        subject = f"Follow-up #{facts.case_id}: {customer} scored {facts.score}/10 — due {when}"
    else:
        subject = (
            f"OVERDUE follow-up #{facts.case_id} (escalation level {level}): {customer} — was due {when}"
        )
    comment = facts.comment or "(no comment)"
    body = f"{customer} answered {facts.score}/10 about call {facts.call_external_id}.\nComment: {comment}"
    return Notice(
        idempotency_key=key,
        kind=kind,
        level=level,
        case_id=facts.case_id,
        recipient_email=recipient.email,
        recipient_name=recipient.name,
        subject=subject,
        body=body,
        url=settings.SITE_URL + reverse("followups:detail", args=[facts.case_id]),
        due_at=facts.due_at,
        customer_external_id=facts.customer_external_id,
    )


def _deliver(
    facts: CaseFacts, *, kind: str, level: int, recipient: Recipient, mark_dispatched: bool = False
) -> bool:
    """Record and send one notice; False if it was already recorded (nothing sent).

    Exactly-once argument. The INSERT … ON CONFLICT DO NOTHING and the outside sends run in ONE
    transaction, and the row commits only after every send returned:
    - a concurrent duplicate blocks on the unique key until this transaction ends, then inserts
      nothing (committed) or takes over (rolled back) — it never sends alongside;
    - an error or a crash before COMMIT rolls the row back, so the retry sends again: nothing is lost;
    - the in-app notice IS the row, so it exists exactly once;
    - the only duplicate possible outside is a crash in the instant between a send returning and the
      COMMIT; it reaches the receiver with the same idempotency key (Message-ID, Idempotency-Key).
    With mark_dispatched, the same statement marks this claim dispatched (fenced by its attempt), so
    the mark commits with the notice, and a rollback undoes both.
    """
    key = _idempotency_key(facts.case_id, kind, level, recipient)
    notice = _notice(facts, kind=kind, level=level, recipient=recipient, key=key)
    channels = [n for n in enabled_notifiers() if n.applies(notice)]
    now = timezone.now()
    insert = (
        f"INSERT INTO {Notification._meta.db_table} "
        "(case_id, kind, level, recipient_id, idempotency_key, channels, created_at, read_at) "
        "VALUES (%(case)s, %(kind)s, %(level)s, %(recipient)s, %(key)s, %(channels)s, %(now)s, NULL) "
        "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
    )
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # The sends below run inside this transaction, which holds the notice's unique key and (with
        # mark_dispatched) the case row's lock. A worker that stalls mid-send (frozen VM, SIGSTOP, a
        # notifier without a timeout) would hold them for ever: the sweeper skips the locked row (SKIP
        # LOCKED), so the case is neither re-driven nor escalated, and the owner's pause/close blocks on
        # it. PostgreSQL ends such a session once the claim's lease is over (set from RETURNING: no extra
        # round trip, and only a transaction that will send sets it); the lock goes and the sweeper
        # re-drives the case as for a dead worker. Not inside a caller's atomic block (eager task, test).
        insert += ", set_config('idle_in_transaction_session_timeout', %(idle_timeout)s, true)"
    params = {
        "case": facts.case_id,
        "kind": kind,
        "level": level,
        "recipient": recipient.user_id,
        "key": key,
        "channels": ",".join(n.name for n in channels),
        "now": now,
        "attempt": facts.attempt,
        "idle_timeout": f"{int(settings.FOLLOWUP_DISPATCH_LEASE_SECONDS * 1000)}ms",
    }
    with transaction.atomic():
        with connection.cursor() as cursor:
            if mark_dispatched and connection.vendor != "postgresql":  # SQLite: no writable CTEs
                cursor.execute(insert, params)
                created = cursor.fetchone() is not None
                FollowUpCase.objects.filter(
                    pk=facts.case_id,
                    dispatch_state=DispatchState.DISPATCHING,
                    dispatch_attempts=facts.attempt,
                ).update(
                    dispatch_state=DispatchState.DISPATCHED,
                    lease_expires_at=None,
                    dispatch_after=None,
                    dispatched_at=now,
                    dispatch_error="",
                    updated_at=now,
                )
            elif mark_dispatched:
                cursor.execute(
                    f"""WITH n AS ({insert}),
                         d AS (UPDATE {FollowUpCase._meta.db_table}
                               SET dispatch_state = 'dispatched', lease_expires_at = NULL, dispatch_after = NULL,
                                   dispatched_at = %(now)s, dispatch_error = '', updated_at = %(now)s
                               WHERE id = %(case)s AND dispatch_state = 'dispatching'
                                 AND dispatch_attempts = %(attempt)s)
                    SELECT count(*) FROM n""",  # noqa: S608 - table names from model meta
                    params,
                )
                created = cursor.fetchone()[0] == 1
            else:
                cursor.execute(insert, params)
                created = cursor.fetchone() is not None
        if created:
            for notifier in channels:
                notifier.send(notice)
    return created


# --- dispatch ---------------------------------------------------------------------------------------


def retry_delay_seconds(attempt: int) -> float:
    """Backoff after failed attempt n (1-based): base·2^(n−1), capped."""
    return min(settings.FOLLOWUP_RETRY_BASE_SECONDS * 2 ** (attempt - 1), settings.FOLLOWUP_RETRY_MAX_SECONDS)


def _assignment_recipients(facts: CaseFacts) -> list[Recipient]:
    """The owner; or the queue's active members; or (nobody) the queue's board."""
    if facts.owner_id is not None:
        return [Recipient(facts.owner_id, facts.owner_email, facts.owner_name)]
    if facts.queue_id is None:
        return [Recipient(None)]
    members = get_user_model().objects.filter(followup_queues=facts.queue_id, is_active=True).order_by("pk")
    return [Recipient.of(user) for user in members] or [Recipient(None)]


def followup_dispatch(*, case_id: int, now: datetime | None = None) -> DispatchOutcome:
    """Notify the owner of a case once. Safe to run any number of times, concurrently: only the claimant
    of the row acts, and every effect is deduplicated by its idempotency key."""
    now = now or timezone.now()
    facts = _claim(case_id, now)
    if facts is None:
        return DispatchOutcome("skipped")
    attempt = facts.attempt
    mine = FollowUpCase.objects.filter(
        pk=case_id, dispatch_state=DispatchState.DISPATCHING, dispatch_attempts=attempt
    )
    try:
        recipients = _assignment_recipients(facts) if facts.status != Status.CLOSED else []
        bounced: list[str] = []
        for index, recipient in enumerate(recipients):
            try:
                _deliver(
                    facts,
                    kind=Notification.Kind.ASSIGNED,
                    level=0,
                    recipient=recipient,
                    mark_dispatched=index == len(recipients) - 1,
                )
            except PermanentNotifyError as exc:
                # One queue member's bad address must not cost the others their notice; the case fails
                # only when nobody could be told.
                if len(bounced) + 1 == len(recipients):
                    raise
                bounced.append(f"{recipient.name or recipient.user_id}: {exc}")
                logger.error(
                    "follow-up %s: notice to %s failed permanently: %s", case_id, recipient.user_id, exc
                )
        if not recipients:  # closed before anyone was told: nothing to say any more
            mine.update(dispatch_state=DispatchState.DISPATCHED, lease_expires_at=None, dispatched_at=now)
        elif bounced:  # told the others (the last one's mark may not have happened): dispatched, noted
            FollowUpCase.objects.filter(
                pk=case_id,
                dispatch_attempts=attempt,
                dispatch_state__in=[DispatchState.DISPATCHING, DispatchState.DISPATCHED],
            ).update(
                dispatch_state=DispatchState.DISPATCHED,
                lease_expires_at=None,
                dispatch_after=None,
                dispatched_at=now,
                dispatch_error=("not told: " + "; ".join(bounced))[:2000],
                updated_at=timezone.now(),
            )
    except TransientNotifyError as exc:
        if attempt >= settings.FOLLOWUP_MAX_ATTEMPTS:
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
    except DatabaseError:
        # Our own database hiccup, not the notice: leave the claim to expire; the sweeper re-drives it.
        raise
    except Exception as exc:  # a permanent error, or a bug: retrying will not help; surface it
        logger.exception("follow-up %s: dispatch failed permanently", case_id)
        kind = "permanent error" if isinstance(exc, PermanentNotifyError) else type(exc).__name__
        _mark_dispatch_failed(mine, f"{kind}: {exc}")
        return DispatchOutcome("failed", attempt)
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


def mark_exhausted_dispatch_failed(*, case_id: int, attempts: int, now: datetime) -> bool:
    """A claim whose lease ran out after the last allowed attempt (the worker died): mark it failed."""
    mine = FollowUpCase.objects.filter(
        pk=case_id,
        dispatch_state=DispatchState.DISPATCHING,
        dispatch_attempts=attempts,
        lease_expires_at__lt=now,
    )
    _mark_dispatch_failed(mine, f"{attempts} attempts; the last one never finished (worker lost)")
    return True


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
    transaction.on_commit(lambda: enqueue_dispatch(case.pk), robust=True)
    case.refresh_from_db()
    return case


# --- escalation notices -----------------------------------------------------------------------------


def followup_escalation_notify(*, case_id: int) -> DispatchOutcome:
    """Tell the next-level recipients about every escalation level not yet announced. Idempotent (keys)
    and safe concurrently; transient errors ask for a retry, permanent ones are logged and skipped."""
    case = FollowUpCase.objects.select_related("call").filter(pk=case_id).first()
    facts = case_facts(case_id) if case is not None else None
    if case is None or facts is None:
        return DispatchOutcome("skipped")
    for level in range(case.escalation_notified_level + 1, case.escalation_level + 1):
        # One recipient's permanent failure (a bad address) must not cost the others their notice: each
        # recipient is delivered on its own; a transient failure retries the level (keys skip the done).
        for user in selectors.escalation_recipients(case, level):
            try:
                _deliver(facts, kind=Notification.Kind.ESCALATED, level=level, recipient=Recipient.of(user))
            except TransientNotifyError as exc:
                delay = retry_delay_seconds(1)
                logger.warning(
                    "follow-up %s: escalation notice failed (%s); retry in %.1fs", case_id, exc, delay
                )
                return DispatchOutcome("retry", retry_in=delay)
            except DatabaseError:
                raise
            except Exception:
                logger.exception(
                    "follow-up %s: escalation notice level %s to user %s failed permanently",
                    case_id,
                    level,
                    getattr(user, "pk", None),
                )
        FollowUpCase.objects.filter(pk=case_id, escalation_notified_level=level - 1).update(
            escalation_notified_level=level, updated_at=timezone.now()
        )
    return DispatchOutcome("dispatched")
