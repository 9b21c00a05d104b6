"""Creating, e-mailing and reading QA notices.

Flow: a state-changing service (evaluation_submit, dispute_open, dispute_resolve, coaching_session_create) calls
`notice_schedule_for_event` inside its transaction; after COMMIT a Celery task runs
`notice_create_for_event`, which works out the recipients from the committed rows and inserts one notice
per recipient (ON CONFLICT DO NOTHING against the `notice_one_per_event_recipient` constraint), then
e-mails them if QA_NOTICE_EMAIL is on; an event with nobody to tell gets a NoticeSilentEvent marker
instead. A rolled-back change queues nothing. `notice_sweep` (beat, every 5 minutes) runs the same service
for recent events that have neither notices nor a marker (a lost task) and retries e-mail whose backoff has
run out, so every path ends in the same rows. A notice's e-mail ends sent or failed (a permanent error at
once, transient ones after QA_NOTICE_EMAIL_MAX_ATTEMPTS tries), never retried after either.

A coaching follow-up is not an act but a date: `notice_create_for_due_follow_ups` (beat, daily, and the sweep)
resolves every follow-up that has come (`coaching_follow_up_due_sessions`) through the same
`notice_create_for_event`, so the database's unique constraint keeps it to one notice however often it runs.

The weekly digest is neither an act nor about one row: `notice_create_for_weekly_digests` (beat, Monday 07:00,
and the sweep from then on during the week) writes each supervisor's digest of the previous week, its figures
stored on the notice (`details`, scoring.notices.digest), one per supervisor and week by the same constraint
(the week is in the event key), ON CONFLICT DO NOTHING.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from calls import roles

from ..coaching.selectors import coaching_follow_up_is_due
from ..followups.notifiers import PermanentNotifyError, TransientNotifyError, email_send
from ..models import COACHING_NOTICE_KINDS, CoachingSession, Dispute, Evaluation, Notice, NoticeSilentEvent
from .digest import (
    weekly_digest_due_week,
    weekly_digest_event_key,
    weekly_digest_figures,
    weekly_digest_lines,
    weekly_digest_recipients,
    weekly_digest_text,
    weekly_digest_week,
)

logger = logging.getLogger(__name__)

Kind = Notice.Kind


@dataclass(frozen=True)
class NoticeEvent:
    """One QA event as the notices see it: what to link, who acted, who is told."""

    kind: str
    evaluation_id: int | None  # None only for a coaching session (it links the session instead)
    dispute_id: int | None
    event_key: str
    at: datetime
    actor_id: int | None
    recipient_ids: tuple[int, ...]
    coaching_session_id: int | None = None


def notice_schedule_for_event(
    *,
    kind: str,
    evaluation_id: int | None = None,
    dispute_id: int | None = None,
    coaching_session_id: int | None = None,
) -> None:
    """Queue the notices of an event once the caller's transaction commits (nothing if it rolls back).

    Never a bare .delay(): the worker must find the committed rows; `publish` never raises nor blocks
    long when the broker is down (the sweeper then creates the notices within 5 minutes)."""
    _check_event_ids(kind, evaluation_id, dispute_id, coaching_session_id)

    def queue() -> None:
        from ..followups.tasks import publish
        from ..tasks import notice_create_for_event_task

        publish(notice_create_for_event_task, kind, evaluation_id, dispute_id, coaching_session_id)

    transaction.on_commit(queue, robust=True)


def _check_event_ids(
    kind: str, evaluation_id: int | None, dispute_id: int | None, coaching_session_id: int | None = None
) -> None:
    if kind not in COACHING_NOTICE_KINDS and coaching_session_id is not None:
        raise ValueError(f"{kind} names no coaching session")
    if kind == Kind.REVIEW_SUBMITTED:
        if evaluation_id is None or dispute_id is not None:
            raise ValueError("review_submitted names its evaluation, and no dispute")
    elif kind in (Kind.DISPUTE_OPENED, Kind.DISPUTE_DECIDED):
        if dispute_id is None:
            raise ValueError(f"{kind} names its dispute")
    elif kind in COACHING_NOTICE_KINDS:
        if coaching_session_id is None or evaluation_id is not None or dispute_id is not None:
            raise ValueError(f"{kind} names its coaching session, and no evaluation or dispute")
    else:
        raise ValueError(f"unknown notice kind {kind!r}")


def _active_users():
    return get_user_model().objects.filter(is_active=True)


def _admin_ids() -> list[int]:
    """Users in the admin group and superusers (roles: superusers count as admins)."""
    return list(
        _active_users()
        .filter(Q(is_superuser=True) | Q(groups__name=roles.ADMIN))
        .values_list("pk", flat=True)
        .distinct()
    )


def _recipients(*candidates: int | None, actor_id: int | None) -> tuple[int, ...]:
    """The distinct candidates that are active users, without the actor (never told of their own act)."""
    wanted = {pk for pk in candidates if pk is not None and pk != actor_id}
    if not wanted:
        return ()
    return tuple(sorted(_active_users().filter(pk__in=wanted).values_list("pk", flat=True)))


def notice_event(
    *,
    kind: str,
    evaluation_id: int | None = None,
    dispute_id: int | None = None,
    coaching_session_id: int | None = None,
) -> NoticeEvent | None:
    """The event with its recipients, read from the committed rows; None if it did not (or no longer) happen.

    - review_submitted (a submitted original review; self-reviews and calibrations tell nobody): the
      evaluated agent's login;
    - dispute_opened: the supervisors of the agent's team, or when it has none (or the agent no team) every
      admin; and the reviewer who wrote the evaluation;
    - dispute_decided: the agent's login and the reviewer;
    - coaching_recorded: the coached agent's login;
    - coaching_follow_up_due (once the session's follow-up day has come, while it is due: no later session of
      the agent): the coach. Nobody acted, so nobody is left out as the actor; it happened at the start of the
      follow-up day (local time), whenever the notice is written.
    Inactive users and the actor are left out."""
    _check_event_ids(kind, evaluation_id, dispute_id, coaching_session_id)
    if kind == Kind.COACHING_FOLLOW_UP_DUE:
        session = (
            coaching_follow_up_due_sessions(today=timezone.localdate(), since=None)
            .filter(pk=coaching_session_id)
            .first()
        )
        if session is None:
            return None
        return NoticeEvent(
            kind=kind,
            evaluation_id=None,
            dispute_id=None,
            coaching_session_id=session.pk,
            event_key=f"coaching-follow-up:{session.pk}",
            at=coaching_follow_up_at(session.follow_up_on),
            actor_id=None,
            recipient_ids=_recipients(session.coach_id, actor_id=None),
        )
    if kind == Kind.COACHING_RECORDED:
        session = CoachingSession.objects.select_related("agent").filter(pk=coaching_session_id).first()
        if session is None:
            return None
        return NoticeEvent(
            kind=kind,
            evaluation_id=None,
            dispute_id=None,
            coaching_session_id=session.pk,
            event_key=f"coaching:{session.pk}",
            at=session.created_at,
            actor_id=session.coach_id,
            recipient_ids=_recipients(session.agent.user_id, actor_id=session.coach_id),
        )
    if kind == Kind.REVIEW_SUBMITTED:
        evaluation = (
            Evaluation.objects.select_related("agent")
            .filter(
                pk=evaluation_id,
                kind=Evaluation.Kind.REVIEW,
                status=Evaluation.Status.SUBMITTED,
                supersedes__isnull=True,
            )
            .first()
        )
        if evaluation is None:
            return None
        return NoticeEvent(
            kind=kind,
            evaluation_id=evaluation.pk,
            dispute_id=None,
            event_key=f"evaluation:{evaluation.pk}",
            at=evaluation.submitted_at,
            actor_id=evaluation.author_id,
            recipient_ids=_recipients(evaluation.agent.user_id, actor_id=evaluation.author_id),
        )
    dispute = (
        Dispute.objects.select_related("evaluation", "evaluation__agent", "evaluation__agent__team")
        .filter(pk=dispute_id)
        .first()
    )
    if dispute is None:
        return None
    evaluation = dispute.evaluation
    agent = evaluation.agent
    if kind == Kind.DISPUTE_OPENED:
        supervisor_ids = (
            list(agent.team.supervisors.filter(is_active=True).values_list("pk", flat=True))
            if agent.team
            else []
        )
        deciders = supervisor_ids or _admin_ids()
        return NoticeEvent(
            kind=kind,
            evaluation_id=evaluation.pk,
            dispute_id=dispute.pk,
            event_key=f"dispute:{dispute.pk}",
            at=dispute.created_at,
            actor_id=dispute.raised_by_id,
            recipient_ids=_recipients(*deciders, evaluation.author_id, actor_id=dispute.raised_by_id),
        )
    if dispute.status == Dispute.Status.OPEN:
        return None
    return NoticeEvent(
        kind=kind,
        # An adjustment produced a new current revision: that is the evaluation to open.
        evaluation_id=dispute.revised_evaluation_id or evaluation.pk,
        dispute_id=dispute.pk,
        event_key=f"dispute:{dispute.pk}",
        at=dispute.resolved_at,
        actor_id=dispute.resolved_by_id,
        recipient_ids=_recipients(agent.user_id, evaluation.author_id, actor_id=dispute.resolved_by_id),
    )


def coaching_follow_up_at(day: date) -> datetime:
    """When a follow-up falls due: the start of its day in the site's time zone."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def coaching_follow_up_due_sessions(*, today: date, since: date | None):
    """Sessions whose follow-up has come by `today` (on or after `since`, when given) and is still due (no
    later session of the agent: `coaching_follow_up_is_due`, the overview's own rule), oldest first."""
    sessions = CoachingSession.objects.filter(coaching_follow_up_is_due(today=today))
    if since is not None:
        sessions = sessions.filter(follow_up_on__gte=since)
    return sessions.order_by("follow_up_on", "pk")


def _follow_up_notice_since(today: date) -> date:
    """The oldest follow-up day still told: a run up to QA_COACHING_FOLLOW_UP_NOTICE_DAYS late catches up."""
    return today - timedelta(days=settings.QA_COACHING_FOLLOW_UP_NOTICE_DAYS)


def _follow_ups_unresolved(*, today: date):
    """Due follow-ups in the window with neither their notice nor a silent marker: the ones to resolve."""
    return (
        coaching_follow_up_due_sessions(today=today, since=_follow_up_notice_since(today))
        .exclude(
            Exists(Notice.objects.filter(coaching_session=OuterRef("pk"), kind=Kind.COACHING_FOLLOW_UP_DUE))
        )
        .exclude(pk__in=_silent(Kind.COACHING_FOLLOW_UP_DUE, "coaching_session_id"))
        .values_list("pk", flat=True)
    )


def notice_create_for_due_follow_ups(*, today: date | None = None) -> int:
    """Tell each coach of the follow-ups that have come (beat, daily): every due follow-up of the last
    QA_COACHING_FOLLOW_UP_NOTICE_DAYS days not resolved yet, so a late or missed run loses none. Idempotent,
    concurrent runs too: a follow-up that already has its notice or marker is not asked about, and two runs
    that both find it insert one notice (the `notice_one_per_event_recipient_no_evaluation` constraint, ON
    CONFLICT DO NOTHING). Returns how many follow-ups were resolved."""
    today = today or timezone.localdate()
    resolved = 0
    for coaching_session_id in list(_follow_ups_unresolved(today=today)):
        notice_create_for_event(kind=Kind.COACHING_FOLLOW_UP_DUE, coaching_session_id=coaching_session_id)
        resolved += 1
    return resolved


def notice_create_for_weekly_digests(*, now: datetime | None = None, week_start: date | None = None) -> int:
    """Write each supervisor's weekly digest (beat, Monday 07:00): the week before `now`'s (a late run during the
    week still reports on it), or `week_start`'s. Nothing with QA_WEEKLY_DIGEST off. Idempotent, concurrent runs
    too: a supervisor who has the week's digest is not asked about, and two runs that both find one insert one
    notice (`notice_one_per_event_recipient_no_evaluation`, the week in the event key; ON CONFLICT DO NOTHING).
    With QA_NOTICE_EMAIL, e-mails the digests not e-mailed yet. Returns how many supervisors were found without
    their digest."""
    if not settings.QA_WEEKLY_DIGEST:
        return 0
    now = now or timezone.now()
    week_start = week_start or weekly_digest_week(now)
    recipients = weekly_digest_recipients(week_start=week_start)
    if not recipients:
        return 0
    figures = weekly_digest_figures(recipients=recipients, week_start=week_start, now=now)
    event_key = weekly_digest_event_key(week_start)
    # Dated when written: the figures are as of then (the follow-ups open past due "now").
    Notice.objects.bulk_create(
        [
            Notice(
                recipient_id=user_id,
                kind=Kind.WEEKLY_DIGEST,
                event_key=event_key,
                details=details,
                created_at=now,
            )
            for user_id, details in figures.items()
        ],
        ignore_conflicts=True,
    )
    notice_email_never_tried(
        Notice.objects.filter(
            kind=Kind.WEEKLY_DIGEST, event_key=event_key, recipient_id__in=list(recipients)
        ),
        now=now,
    )
    return len(recipients)


def notice_create_for_event(
    *,
    kind: str,
    evaluation_id: int | None = None,
    dispute_id: int | None = None,
    coaching_session_id: int | None = None,
) -> tuple[int, ...]:
    """Create the event's notices (idempotent: run it any number of times, concurrently too) and, with
    QA_NOTICE_EMAIL, e-mail those not e-mailed yet. Returns the recipients' user ids.

    An event with nobody to tell gets a NoticeSilentEvent marker instead, so the sweep does not resolve it
    again; who is told is decided once, when the event is first resolved after its commit."""
    event = notice_event(
        kind=kind, evaluation_id=evaluation_id, dispute_id=dispute_id, coaching_session_id=coaching_session_id
    )
    if event is None:
        return ()
    if not event.recipient_ids:
        # Written only from an empty recipient list read from committed rows: an event with recipients never
        # gets one, so the sweep never skips it. A repeat or a concurrent twin inserts nothing.
        NoticeSilentEvent.objects.bulk_create(
            [
                NoticeSilentEvent(
                    kind=event.kind,
                    evaluation_id=event.evaluation_id,
                    dispute_id=event.dispute_id,
                    coaching_session_id=event.coaching_session_id,
                    event_key=event.event_key,
                    event_at=event.at,
                )
            ],
            ignore_conflicts=True,
        )
        return ()
    # ON CONFLICT DO NOTHING on the unique (recipient, kind, evaluation, event_key): a repeat or a concurrent
    # twin inserts nothing, and the statement is atomic, so an event never has part of its notices.
    Notice.objects.bulk_create(
        [
            Notice(
                recipient_id=recipient_id,
                kind=event.kind,
                evaluation_id=event.evaluation_id,
                dispute_id=event.dispute_id,
                coaching_session_id=event.coaching_session_id,
                event_key=event.event_key,
                created_at=event.at,
            )
            for recipient_id in event.recipient_ids
        ],
        ignore_conflicts=True,
    )
    notice_email_never_tried(
        Notice.objects.filter(kind=event.kind, evaluation_id=event.evaluation_id, event_key=event.event_key)
    )
    return event.recipient_ids


def notice_email_never_tried(notices: QuerySet[Notice], *, now: datetime | None = None) -> None:
    """With QA_NOTICE_EMAIL, e-mail those of these notices never tried yet: one waiting out a backoff is the
    sweep's to retry when due, one sent or failed is done."""
    if not settings.QA_NOTICE_EMAIL:
        return
    pending = notices.filter(emailed_at__isnull=True, email_failed_at__isnull=True, email_attempts=0)
    for notice_id in list(pending.values_list("pk", flat=True)):
        notice_email_send(notice_id=notice_id, now=now)


# --- e-mail -------------------------------------------------------------------------------------------


def notice_text(notice: Notice) -> str:
    """One sentence saying what happened (needs evaluation, its call and agent, and the dispute loaded; for
    a coaching notice its session and coach; a weekly digest only itself)."""
    if notice.kind == Kind.WEEKLY_DIGEST:
        return weekly_digest_text(notice.details)
    if notice.kind == Kind.COMPETITION_FINISHED:
        return competition_finished_text(notice.details)
    if notice.kind == Kind.SHOUT_OUT:
        details = notice.details
        call = f" for call {details['call']}" if details.get("call") else ""
        return f"Shout-out from {details['author']}{call}: “{details['message']}”"
    if notice.kind == Kind.COACHING_RECORDED:
        session = notice.coaching_session
        coach = session.coach.get_full_name() or session.coach.get_username()
        return f"Coaching recorded: {coach} coached you on {session.held_on:%Y-%m-%d}; please acknowledge it."
    if notice.kind == Kind.COACHING_FOLLOW_UP_DUE:
        session = notice.coaching_session
        agent = session.agent.name or session.agent.employee_code
        return f"Coaching follow-up due: {agent} (coached on {session.held_on:%Y-%m-%d})."
    evaluation = notice.evaluation
    call = evaluation.call.external_id
    score = "—" if evaluation.score is None else f"{evaluation.score}"
    if notice.kind == Kind.REVIEW_SUBMITTED:
        return f"Review received: call {call} scored {score}."
    dispute = notice.dispute
    if notice.kind == Kind.DISPUTE_OPENED:
        return f"{evaluation.agent.name} disputed the review of call {call} (score {score}, dispute #{dispute.pk})."
    outcome = "adjusted" if dispute.status == Dispute.Status.ADJUSTED else "upheld"
    return f"Dispute #{dispute.pk} on call {call} was decided: {outcome} (score now {score})."


def competition_finished_text(details: dict[str, Any]) -> str:
    """A participant's result in a finished competition, from the notice's details (what they may see: their
    own rank and score, and the winning score)."""
    ended = f"“{details['name']}” has ended: "
    winning = details["winning_score"]
    if winning is None:
        return ended + "nobody reached the minimum to be ranked."
    if details["rank"] == 1:
        shared = " (a shared first place)" if details["winners"] > 1 else ""
        return ended + f"you won it{shared}, with {details['score']}!"
    if details["rank"] is not None:
        return ended + (
            f"you finished #{details['rank']} of {details['ranked']}, with {details['score']}; "
            f"the winning score was {winning}."
        )
    more = details["needed"]
    unit = details["unit"] if more != 1 else details["unit"].removesuffix("s")
    return ended + f"you were not ranked ({more} more {unit} needed); the winning score was {winning}."


def notice_url(notice: Notice) -> str | None:
    """Where a notice without an evaluation or session links: a weekly digest to its week's QA progress, a
    shout-out to the agent's list of them on My QA, a finished competition to its standings; None for the others
    (their rows link the evaluation or session they name)."""
    if notice.kind == Kind.WEEKLY_DIGEST:
        return notice_weekly_digest_url(notice)
    if notice.kind == Kind.SHOUT_OUT:
        return f"{reverse('scoring:me')}#shout-outs"
    if notice.kind == Kind.COMPETITION_FINISHED:
        return reverse("competitions:detail", args=[notice.details["competition_id"]])
    return None


def notice_weekly_digest_url(notice: Notice) -> str:
    """Where a weekly digest links: the QA progress page on the digest's own week (its dates, not "last week",
    so the link shows the same week when it is opened later)."""
    query = urlencode(
        {"period": "custom", "date_from": notice.details["week_start"], "date_to": notice.details["week_end"]}
    )
    return f"{reverse('scoring:progress')}?{query}"


class EmailOutcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # a transient failure: pending, email_retry_at says when the sweep may try again
    FAILED = "failed"  # for good: never tried again
    SKIPPED = "skipped"  # already sent or failed, gone, or not due yet: nothing done


def notice_email_retry_delay(attempt: int) -> timedelta:
    """Backoff after failed attempt n (1-based): QA_NOTICE_EMAIL_RETRY_BASE_SECONDS·2^(n−1)."""
    return timedelta(seconds=settings.QA_NOTICE_EMAIL_RETRY_BASE_SECONDS * 2 ** (attempt - 1))


def _error_text(text: str) -> str:
    return text[: Notice._meta.get_field("email_error").max_length]


def notice_email_send(*, notice_id: int, now: datetime | None = None) -> EmailOutcome:
    """Try to e-mail one pending notice (not sent, not failed, due) and record the outcome on it.

    Sent: emailed_at. A PermanentNotifyError, or a recipient without an address or no longer active:
    failed at once (email_failed_at, email_error), never tried again. A TransientNotifyError: pending with
    email_retry_at after a backoff, or failed once QA_NOTICE_EMAIL_MAX_ATTEMPTS attempts have failed.

    The row is locked for the send and its outcome written in the same transaction: a concurrent duplicate
    waits, then finds it sent, failed or not due, and sends nothing. Only a crash between the send and the
    COMMIT can repeat a message, with the same Message-ID (notice.<id>) for the receiver to drop."""
    now = now or timezone.now()
    with transaction.atomic():
        notice = (
            Notice.objects.select_for_update(of=("self",))
            .select_related(
                "recipient",
                "evaluation",
                "evaluation__call",
                "evaluation__agent",
                "dispute",
                "coaching_session",
                "coaching_session__coach",
                "coaching_session__agent",
            )
            .filter(pk=notice_id, emailed_at__isnull=True, email_failed_at__isnull=True)
            .filter(Q(email_retry_at__isnull=True) | Q(email_retry_at__lte=now))
            .first()
        )
        if notice is None:
            return EmailOutcome.SKIPPED
        row = Notice.objects.filter(pk=notice.pk)
        if not notice.recipient.is_active or not notice.recipient.email:
            reason = "the recipient is inactive" if not notice.recipient.is_active else "no e-mail address"
            row.update(email_failed_at=now, email_retry_at=None, email_error=reason)
            logger.info("notice %s: e-mail not sent: %s", notice.pk, reason)
            return EmailOutcome.FAILED
        text = notice_text(notice)
        subject = f"QA Center: {text}"
        if notice.kind == Kind.WEEKLY_DIGEST:
            subject = (
                f"QA Center: weekly digest, {notice.details['week_start']} to {notice.details['week_end']}"
            )
            text = "\n".join(weekly_digest_lines(notice.details))
            link = "Open the week's QA progress"
            url = f"{settings.SITE_URL}{notice_weekly_digest_url(notice)}"
        elif notice.kind == Kind.COMPETITION_FINISHED:
            subject = f"QA Center: “{notice.details['name']}” has ended"
            link = "Open the standings"
            url = f"{settings.SITE_URL}{notice_url(notice)}"
        elif notice.kind == Kind.SHOUT_OUT:
            subject = f"QA Center: a shout-out from {notice.details['author']}"
            link = "Open your shout-outs"
            url = f"{settings.SITE_URL}{notice_url(notice)}"
        elif notice.kind in COACHING_NOTICE_KINDS:
            link = "Open the coaching session"
            url = settings.SITE_URL + reverse("scoring:coaching_detail", args=[notice.coaching_session_id])
        else:
            link = "Open the evaluation"
            url = settings.SITE_URL + reverse("scoring:evaluation_detail", args=[notice.evaluation_id])
        attempt = notice.email_attempts + 1
        try:
            email_send(
                subject=subject,
                body=f"{text}\n\n{link}: {url}\nAll your notices: "
                f"{settings.SITE_URL}{reverse('scoring:notices')}\n",
                to=notice.recipient.email,
                idempotency_key=f"notice.{notice.pk}",
            )
        except PermanentNotifyError as exc:
            row.update(
                email_attempts=attempt,
                email_failed_at=now,
                email_retry_at=None,
                email_error=_error_text(str(exc)),
            )
            logger.warning("notice %s: e-mail failed for good (%s)", notice.pk, exc)
            return EmailOutcome.FAILED
        except TransientNotifyError as exc:
            if attempt >= settings.QA_NOTICE_EMAIL_MAX_ATTEMPTS:
                row.update(
                    email_attempts=attempt,
                    email_failed_at=now,
                    email_retry_at=None,
                    email_error=_error_text(f"gave up after {attempt} attempts: {exc}"),
                )
                logger.warning("notice %s: e-mail failed %s times, given up (%s)", notice.pk, attempt, exc)
                return EmailOutcome.FAILED
            row.update(
                email_attempts=attempt,
                email_retry_at=now + notice_email_retry_delay(attempt),
                email_error=_error_text(str(exc)),
            )
            logger.warning(
                "notice %s: e-mail attempt %s failed (%s); the sweep retries it", notice.pk, attempt, exc
            )
            return EmailOutcome.RETRY
        row.update(emailed_at=now, email_attempts=attempt, email_retry_at=None, email_error="")
    return EmailOutcome.SENT


# --- sweep --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoticeSweepResult:
    events: int
    emails: int
    email_failures: int = 0


def _silent(kind: str, column: str):
    """Ids of the events of `kind` marked silent, for a NOT IN: PostgreSQL hashes the subquery once, so the
    cost stays linear even when the planner's statistics lag behind a burst of new markers (a correlated
    NOT EXISTS was planned as a nested loop then: 1,000 × 1,000 comparisons, 0.3–0.5 s). The column is
    never null for its kinds (a check constraint); the filter only makes that plain to the NOT IN. Bound: the
    hash must fit in work_mem (~100,000 markers inside the look-back with PostgreSQL's defaults), far above
    the silent events of a day of human-paced QA reviews; past it PostgreSQL falls back to a plain subplan."""
    return NoticeSilentEvent.objects.filter(kind=kind, **{f"{column}__isnull": False}).values(column)


def notice_sweep(*, now: datetime | None = None) -> NoticeSweepResult:
    """Resolve recent events that were never resolved (their task was lost) and retry e-mail that is due.

    Events: those within QA_NOTICE_SWEEP_LOOKBACK_HOURS with neither a notice nor a NoticeSilentEvent
    marker (a resolved event has one or the other), so an event is resolved once however many sweeps run;
    harmless to run at any time (notice_create_for_event is idempotent). Markers of events older than the
    look-back are deleted: no sweep looks at those events again. Coaching follow-ups and, from Monday 07:00 on,
    last week's digests are caught up as their own runs do.
    E-mail (QA_NOTICE_EMAIL): never-tried notices within the look-back, and notices whose backoff has run
    out (whatever their age: their attempts are bounded, so each ends sent or failed)."""
    now = now or timezone.now()
    since = now - timedelta(hours=settings.QA_NOTICE_SWEEP_LOOKBACK_HOURS)
    # A follow-up's marker is kept as long as the follow-up is looked at (days, not hours), so a silent
    # follow-up is never resolved again: one statement either way.
    follow_up_since = coaching_follow_up_at(_follow_up_notice_since(timezone.localtime(now).date()))
    NoticeSilentEvent.objects.filter(
        (Q(event_at__lt=since) & ~Q(kind=Kind.COACHING_FOLLOW_UP_DUE))
        | Q(kind=Kind.COACHING_FOLLOW_UP_DUE, event_at__lt=follow_up_since)
    ).delete()
    events = 0
    reviews = (
        Evaluation.objects.filter(
            kind=Evaluation.Kind.REVIEW,
            status=Evaluation.Status.SUBMITTED,
            supersedes__isnull=True,
            submitted_at__gte=since,
            agent__user__isnull=False,
        )
        .exclude(Exists(Notice.objects.filter(evaluation=OuterRef("pk"), kind=Kind.REVIEW_SUBMITTED)))
        .exclude(pk__in=_silent(Kind.REVIEW_SUBMITTED, "evaluation_id"))
        .values_list("pk", flat=True)
    )
    for evaluation_id in reviews:
        notice_create_for_event(kind=Kind.REVIEW_SUBMITTED, evaluation_id=evaluation_id)
        events += 1
    opened = (
        Dispute.objects.filter(created_at__gte=since)
        .exclude(Exists(Notice.objects.filter(dispute=OuterRef("pk"), kind=Kind.DISPUTE_OPENED)))
        .exclude(pk__in=_silent(Kind.DISPUTE_OPENED, "dispute_id"))
        .values_list("pk", flat=True)
    )
    for dispute_id in opened:
        notice_create_for_event(kind=Kind.DISPUTE_OPENED, dispute_id=dispute_id)
        events += 1
    decided = (
        Dispute.objects.filter(resolved_at__gte=since)
        .exclude(status=Dispute.Status.OPEN)
        .exclude(Exists(Notice.objects.filter(dispute=OuterRef("pk"), kind=Kind.DISPUTE_DECIDED)))
        .exclude(pk__in=_silent(Kind.DISPUTE_DECIDED, "dispute_id"))
        .values_list("pk", flat=True)
    )
    for dispute_id in decided:
        notice_create_for_event(kind=Kind.DISPUTE_DECIDED, dispute_id=dispute_id)
        events += 1
    coached = (
        CoachingSession.objects.filter(created_at__gte=since, agent__user__isnull=False)
        .exclude(Exists(Notice.objects.filter(coaching_session=OuterRef("pk"), kind=Kind.COACHING_RECORDED)))
        .exclude(pk__in=_silent(Kind.COACHING_RECORDED, "coaching_session_id"))
        .values_list("pk", flat=True)
    )
    for coaching_session_id in coached:
        notice_create_for_event(kind=Kind.COACHING_RECORDED, coaching_session_id=coaching_session_id)
        events += 1
    # Follow-ups are the daily task's; the sweep catches one it missed (a lost run) within 5 minutes.
    for coaching_session_id in _follow_ups_unresolved(today=timezone.localtime(now).date()):
        notice_create_for_event(kind=Kind.COACHING_FOLLOW_UP_DUE, coaching_session_id=coaching_session_id)
        events += 1
    # Weekly digests are the Monday task's; from Monday 07:00 on, the sweep writes last week's that a lost or
    # late run left out (one query when there are none).
    digest_week = weekly_digest_due_week(now)
    if digest_week is not None:
        events += notice_create_for_weekly_digests(now=now, week_start=digest_week)
    emails = failures = 0
    if settings.QA_NOTICE_EMAIL:
        due = Notice.objects.filter(emailed_at__isnull=True, email_failed_at__isnull=True).filter(
            Q(email_attempts=0, created_at__gte=since) | Q(email_retry_at__lte=now)
        )
        for notice_id in list(due.order_by("pk").values_list("pk", flat=True)):
            outcome = notice_email_send(notice_id=notice_id, now=now)
            emails += outcome == EmailOutcome.SENT
            failures += outcome == EmailOutcome.FAILED
    return NoticeSweepResult(events=events, emails=emails, email_failures=failures)


# --- reading ------------------------------------------------------------------------------------------


def notice_mark_read(*, notice: Notice, user) -> Notice:
    """The recipient marks one of their notices read (idempotent: the first read time is kept)."""
    if notice.recipient_id != user.pk:
        raise PermissionDenied("This notice is not yours.")
    Notice.objects.filter(pk=notice.pk, read_at__isnull=True).update(read_at=timezone.now())
    notice.refresh_from_db(fields=["read_at"])
    return notice


def notice_mark_all_read(*, user) -> int:
    """Mark every unread notice of the user read; returns how many were unread."""
    return Notice.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())
