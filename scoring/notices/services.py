"""Creating, e-mailing and reading QA notices.

Flow: a state-changing service (evaluation_submit, dispute_open, dispute_resolve) calls
`notice_schedule_for_event` inside its transaction; after COMMIT a Celery task runs
`notice_create_for_event`, which works out the recipients from the committed rows and inserts one notice
per recipient (ON CONFLICT DO NOTHING against the `notice_one_per_event_recipient` constraint), then
e-mails them if QA_NOTICE_EMAIL is on. A rolled-back change queues nothing. `notice_sweep` (beat, every
5 minutes) runs the same service for recent events that have no notice yet (a lost task) and retries
e-mail that failed, so every path ends in the same rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from calls import roles

from ..followups.notifiers import PermanentNotifyError, TransientNotifyError, email_send
from ..models import Dispute, Evaluation, Notice

logger = logging.getLogger(__name__)

Kind = Notice.Kind


@dataclass(frozen=True)
class NoticeEvent:
    """One QA event as the notices see it: what to link, who acted, who is told."""

    kind: str
    evaluation_id: int
    dispute_id: int | None
    event_key: str
    at: datetime
    actor_id: int | None
    recipient_ids: tuple[int, ...]


def notice_schedule_for_event(
    *, kind: str, evaluation_id: int | None = None, dispute_id: int | None = None
) -> None:
    """Queue the notices of an event once the caller's transaction commits (nothing if it rolls back).

    Never a bare .delay(): the worker must find the committed rows; `publish` never raises nor blocks
    long when the broker is down (the sweeper then creates the notices within 5 minutes)."""
    _check_event_ids(kind, evaluation_id, dispute_id)

    def queue() -> None:
        from ..followups.tasks import publish
        from ..tasks import notice_create_for_event_task

        publish(notice_create_for_event_task, kind, evaluation_id, dispute_id)

    transaction.on_commit(queue, robust=True)


def _check_event_ids(kind: str, evaluation_id: int | None, dispute_id: int | None) -> None:
    if kind == Kind.REVIEW_SUBMITTED:
        if evaluation_id is None or dispute_id is not None:
            raise ValueError("review_submitted names its evaluation, and no dispute")
    elif kind in (Kind.DISPUTE_OPENED, Kind.DISPUTE_DECIDED):
        if dispute_id is None:
            raise ValueError(f"{kind} names its dispute")
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
    *, kind: str, evaluation_id: int | None = None, dispute_id: int | None = None
) -> NoticeEvent | None:
    """The event with its recipients, read from the committed rows; None if it did not (or no longer) happen.

    - review_submitted (a submitted original review; self-reviews and calibrations tell nobody): the
      evaluated agent's login;
    - dispute_opened: the supervisors of the agent's team, or when it has none (or the agent no team) every
      admin; and the reviewer who wrote the evaluation;
    - dispute_decided: the agent's login and the reviewer.
    Inactive users and the actor are left out."""
    _check_event_ids(kind, evaluation_id, dispute_id)
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


def notice_create_for_event(
    *, kind: str, evaluation_id: int | None = None, dispute_id: int | None = None
) -> tuple[int, ...]:
    """Create the event's notices (idempotent: run it any number of times, concurrently too) and, with
    QA_NOTICE_EMAIL, e-mail those not e-mailed yet. Returns the recipients' user ids."""
    event = notice_event(kind=kind, evaluation_id=evaluation_id, dispute_id=dispute_id)
    if event is None or not event.recipient_ids:
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
                event_key=event.event_key,
                created_at=event.at,
            )
            for recipient_id in event.recipient_ids
        ],
        ignore_conflicts=True,
    )
    if settings.QA_NOTICE_EMAIL:
        pending = Notice.objects.filter(
            kind=event.kind,
            evaluation_id=event.evaluation_id,
            event_key=event.event_key,
            emailed_at__isnull=True,
        ).values_list("pk", flat=True)
        for notice_id in list(pending):
            _email_quietly(notice_id)
    return event.recipient_ids


# --- e-mail -------------------------------------------------------------------------------------------


def notice_text(notice: Notice) -> str:
    """One sentence saying what happened (needs evaluation, its call and agent, and the dispute loaded)."""
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


def notice_email_send(*, notice_id: int) -> bool:
    """E-mail one notice to its recipient once; True if sent now. Raises TransientNotifyError /
    PermanentNotifyError (the notice stays un-e-mailed; the sweeper tries again within its look-back).

    The row is locked and its emailed_at set in the transaction that sends: a concurrent duplicate waits,
    then finds emailed_at set and sends nothing; a failed send rolls the mark back. Only a crash between
    the send and the COMMIT can repeat a message, with the same Message-ID (notice.<id>) for the receiver."""
    with transaction.atomic():
        notice = (
            Notice.objects.select_for_update(of=("self",))
            .select_related("recipient", "evaluation", "evaluation__call", "evaluation__agent", "dispute")
            .filter(pk=notice_id, emailed_at__isnull=True)
            .first()
        )
        if notice is None or not notice.recipient.email or not notice.recipient.is_active:
            return False
        text = notice_text(notice)
        url = settings.SITE_URL + reverse("scoring:evaluation_detail", args=[notice.evaluation_id])
        email_send(
            subject=f"QA Center: {text}",
            body=f"{text}\n\nOpen the evaluation: {url}\nAll your notices: "
            f"{settings.SITE_URL}{reverse('scoring:notices')}\n",
            to=notice.recipient.email,
            idempotency_key=f"notice.{notice.pk}",
        )
        Notice.objects.filter(pk=notice.pk).update(emailed_at=timezone.now())
    return True


def _email_quietly(notice_id: int) -> None:
    try:
        notice_email_send(notice_id=notice_id)
    except (TransientNotifyError, PermanentNotifyError) as exc:
        logger.warning("notice %s: e-mail not sent (%s); the sweeper retries it", notice_id, exc)


# --- sweep --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoticeSweepResult:
    events: int
    emails: int


def notice_sweep(*, now: datetime | None = None) -> NoticeSweepResult:
    """Create the notices of recent events that have none (their task was lost) and retry e-mail not sent.

    Bounded by QA_NOTICE_SWEEP_LOOKBACK_HOURS; harmless to run at any time (notice_create_for_event is
    idempotent). An event with no one to tell (agent without a login) is looked at again each run while
    recent: a cheap query, as reviews of agents without a login are left out up front."""
    now = now or timezone.now()
    since = now - timedelta(hours=settings.QA_NOTICE_SWEEP_LOOKBACK_HOURS)
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
        .values_list("pk", flat=True)
    )
    for evaluation_id in reviews:
        notice_create_for_event(kind=Kind.REVIEW_SUBMITTED, evaluation_id=evaluation_id)
        events += 1
    opened = (
        Dispute.objects.filter(created_at__gte=since)
        .exclude(Exists(Notice.objects.filter(dispute=OuterRef("pk"), kind=Kind.DISPUTE_OPENED)))
        .values_list("pk", flat=True)
    )
    for dispute_id in opened:
        notice_create_for_event(kind=Kind.DISPUTE_OPENED, dispute_id=dispute_id)
        events += 1
    decided = (
        Dispute.objects.filter(resolved_at__gte=since)
        .exclude(status=Dispute.Status.OPEN)
        .exclude(Exists(Notice.objects.filter(dispute=OuterRef("pk"), kind=Kind.DISPUTE_DECIDED)))
        .values_list("pk", flat=True)
    )
    for dispute_id in decided:
        notice_create_for_event(kind=Kind.DISPUTE_DECIDED, dispute_id=dispute_id)
        events += 1
    emails = 0
    if settings.QA_NOTICE_EMAIL:
        unsent = Notice.objects.filter(
            emailed_at__isnull=True, created_at__gte=since, recipient__is_active=True
        ).exclude(recipient__email="")
        for notice_id in list(unsent.values_list("pk", flat=True)):
            try:
                emails += notice_email_send(notice_id=notice_id)
            except (TransientNotifyError, PermanentNotifyError) as exc:
                logger.warning("notice %s: e-mail not sent again (%s)", notice_id, exc)
    return NoticeSweepResult(events=events, emails=emails)


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
