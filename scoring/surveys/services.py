"""State changes for NPS surveys: deciding and delivering invitations, recording responses and credits,
opt-outs, and the sweeper that re-drives whatever a lost Celery message left behind."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import formats, timezone

from calls.models import Call, Customer, Transfer
from scoring.analytics.rollups import analytics_refresh_for_calls_on_commit

from . import channels as channel_registry
from .models import (
    CES_MAX,
    CSAT_MAX,
    CustomerOptOut,
    ResponseCredit,
    SurveyDelivery,
    SurveyInvitation,
    SurveyResponse,
    category_for_score,
)
from .tokens import token_generate, token_hash, token_is_well_formed

logger = logging.getLogger(__name__)

Status = SurveyInvitation.Status
SkipReason = SurveyInvitation.SkipReason

# A claim older than this is from a worker that died mid-send; the sweeper releases it.
STALE_CLAIM = timedelta(minutes=10)
# Don't let the sweeper race a Celery retry that is about to run anyway.
SWEEP_GRACE = timedelta(seconds=60)
SWEEP_BATCH = 500


class SurveyError(Exception):
    pass


class ResponseConflict(SurveyError):
    """The call already has a different response (one answer per call)."""

    def __init__(self, existing: SurveyResponse):
        super().__init__(f"call {existing.call_id} already has response {existing.pk}")
        self.existing = existing


class LinkUnusable(SurveyError):
    """A survey link that cannot take an answer; `reason` is unknown, used or expired."""

    def __init__(self, reason: str, invitation: SurveyInvitation | None = None):
        super().__init__(reason)
        self.reason = reason
        self.invitation = invitation


# --- links ----------------------------------------------------------------------------------------


def survey_link(raw_token: str) -> str:
    return settings.SITE_URL + reverse("surveys:answer", args=[raw_token])


def survey_opt_out_link(raw_token: str) -> str:
    return settings.SITE_URL + reverse("surveys:opt_out", args=[raw_token])


def invitation_find_by_token(raw_token: str) -> SurveyInvitation | None:
    """The invitation a raw link token belongs to (any state), or None."""
    if not token_is_well_formed(raw_token):
        return None
    return (
        SurveyInvitation.objects.select_related("call", "customer")
        .filter(token_hash=token_hash(raw_token))
        .first()
    )


# --- decisions ------------------------------------------------------------------------------------


def survey_is_sampled(external_id: str, rate: float) -> bool:
    """Deterministic per call: the same call is always in (or out of) a sample of this rate."""
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    digest = hashlib.sha256(f"survey-sample:{external_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def _skip(call: Call, reason: str, now: datetime) -> SurveyInvitation:
    return SurveyInvitation.objects.create(
        call=call, customer_id=call.customer_id, status=Status.SKIPPED, skip_reason=reason, created_at=now
    )


@transaction.atomic
def invitation_decide(*, call: Call, now: datetime | None = None) -> SurveyInvitation:
    """Decide whether the customer of an ended call is surveyed; record the decision (invitation pending
    delivery, or skipped with a reason) and queue delivery after commit. Idempotent per call."""
    now = now or timezone.now()
    existing = SurveyInvitation.objects.filter(call=call).first()
    if existing is not None:
        return existing
    if call.customer_id is None:
        return _skip(call, SkipReason.ANONYMOUS, now)
    if call.answered_at is None:
        return _skip(call, SkipReason.ABANDONED, now)
    # Serialise decisions per customer: two of their calls decided at once must not both pass the
    # fatigue check. The lock is held to commit.
    customer = Customer.objects.select_for_update().get(pk=call.customer_id)
    existing = SurveyInvitation.objects.filter(call=call).first()  # decided while we waited for the lock
    if existing is not None:
        return existing
    if CustomerOptOut.objects.filter(customer=customer).exists():
        return _skip(call, SkipReason.OPTED_OUT, now)
    choice = channel_registry.channel_choose(customer)
    if choice is None:
        return _skip(call, SkipReason.NO_CONTACT, now)
    if not survey_is_sampled(call.external_id, settings.SURVEY_SAMPLE_RATE):
        return _skip(call, SkipReason.SAMPLED_OUT, now)
    if settings.SURVEY_FATIGUE_DAYS > 0:
        recent = (
            SurveyInvitation.objects.filter(
                customer=customer, created_at__gt=now - timedelta(days=settings.SURVEY_FATIGUE_DAYS)
            )
            .exclude(status=Status.SKIPPED)
            .exists()
        )
        if recent:
            return _skip(call, SkipReason.FATIGUE, now)
    channel_name, channel, address = choice
    # The raw token is thrown away here: the delivery attempt rotates it and sends the new one, so no
    # raw token ever sits in the database or a queue message.
    _raw, digest = token_generate()
    invitation = SurveyInvitation.objects.create(
        call=call,
        customer=customer,
        status=Status.PENDING,
        channel=channel_registry.channel_key(channel, channel_name),
        token_hash=digest,
        expires_at=now + timedelta(days=settings.SURVEY_LINK_TTL_DAYS),
        created_at=now,
    )
    delivery = SurveyDelivery.objects.create(
        invitation=invitation, channel=invitation.channel, to=address, next_attempt_at=now, created_at=now
    )
    from .tasks import survey_deliver_task  # tasks import services; import here to avoid the cycle

    survey_deliver_task.delay_on_commit(delivery.pk)
    return invitation


# Survey decisions due later than this are left to the sweeper (every 5 minutes) instead of a Celery
# countdown: Redis redelivers a message held longer than its visibility timeout (1 hour), and the sweeper
# decides every call once it is SURVEY_DELAY_SECONDS past its end anyway.
SCHEDULE_MAX_COUNTDOWN = timedelta(minutes=15)
# Imported calls started earlier than the sweep lookback minus this cannot usually have ended within it;
# bounding started_at lets the import hook use the started_at index (the sweeper covers longer calls).
LONGEST_CALL = timedelta(days=1)


# Calls whose decision is due now go out in messages of this many ids (survey_invite_batch_task): an import
# of 20,000 recent calls as 20,000 messages kept the embedded demo's filesystem broker busy for 40 minutes.
DECIDE_BATCH = 200


def invitation_decide_many(*, call_ids: list[int]) -> dict[str, int]:
    """invitation_decide for each call (each in its own transaction); a call that fails is logged and left
    to the sweeper, never stops the others. Returns the outcomes counted."""
    outcomes: dict[str, int] = {}
    for call in Call.objects.filter(pk__in=call_ids).select_related("customer").order_by("pk"):
        try:
            invitation = invitation_decide(call=call)
        except DatabaseError:
            raise  # the database itself: the message is redelivered (acks_late) or the sweeper decides
        except Exception:
            logger.exception("survey decision of call %s failed; the sweeper will decide it", call.pk)
            outcome = "error"
        else:
            outcome = invitation.skip_reason or invitation.status
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def _survey_decisions_enqueue(rows: list[tuple[int, datetime]], *, now: datetime) -> int:
    """Queue the survey decisions of (call id, ended_at) rows after commit: those due now in batches
    (survey_invite_batch_task), those due soon one by one with a short countdown (survey_invite_task); later
    ones wait for the sweeper. Returns how many calls are queued. A broker outage is logged, never raised:
    the sweeper decides those calls."""
    from .tasks import survey_invite_batch_task, survey_invite_task

    delay = timedelta(seconds=settings.SURVEY_DELAY_SECONDS)
    queued = [(pk, max(0, int((ended_at + delay - now).total_seconds()))) for pk, ended_at in rows]
    queued = [
        (pk, countdown) for pk, countdown in queued if countdown <= SCHEDULE_MAX_COUNTDOWN.total_seconds()
    ]

    def enqueue() -> None:
        # The project's publisher never raises and stops trying for a while once the broker is down, so
        # a large import never hangs on it; the sweeper decides whatever was not queued.
        from scoring.followups.tasks import publish

        due_now = [pk for pk, countdown in queued if not countdown]
        for start in range(0, len(due_now), DECIDE_BATCH):
            publish(survey_invite_batch_task, due_now[start : start + DECIDE_BATCH])
        for pk, countdown in queued:
            if countdown:
                publish(survey_invite_task, pk, countdown=countdown)

    transaction.on_commit(enqueue, robust=True)
    return len(queued)


def survey_schedule_for_calls(call_ids: list[int] | tuple[int, ...], *, now: datetime | None = None) -> int:
    """Queue the survey decision for ended calls not yet decided, SURVEY_DELAY_SECONDS after each call
    ended (after commit). For importers, the demo and ops. Returns how many were queued."""
    now = now or timezone.now()
    rows = list(
        Call.objects.filter(pk__in=list(call_ids), survey_invitation__isnull=True)
        .order_by()
        .values_list("pk", "ended_at")
    )
    return _survey_decisions_enqueue(rows, now=now)


def survey_schedule_for_imported_calls(*, calls: QuerySet[Call], now: datetime | None = None) -> int:
    """calls.events handler (registered in SurveysConfig.ready): queue the decision of every imported call
    the sweeper would decide (ended within SURVEY_SWEEP_LOOKBACK_HOURS, not decided yet), so a new call
    is invited SURVEY_DELAY_SECONDS after it ended instead of at the next sweep. Older imports are
    history, not surveys. Returns how many were queued."""
    now = now or timezone.now()
    recent = now - timedelta(hours=settings.SURVEY_SWEEP_LOOKBACK_HOURS)
    rows = list(
        calls.filter(
            started_at__gte=recent - LONGEST_CALL, ended_at__gte=recent, survey_invitation__isnull=True
        )
        .order_by("ended_at", "pk")
        .values_list("pk", "ended_at")
    )
    return _survey_decisions_enqueue(rows, now=now)


# --- delivery -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryOutcome:
    status: str  # "sent", "retry", "failed", "not_claimed"
    retry_in: int | None = None
    error: str = ""


def delivery_backoff_seconds(attempts: int) -> int:
    """Seconds before attempt `attempts + 1`: 1, 4, 16 minutes, then hourly."""
    return min(3600, 60 * 4 ** max(0, attempts - 1))


def _invitation_message(invitation: SurveyInvitation, raw_token: str) -> channel_registry.InvitationMessage:
    customer = invitation.customer
    return channel_registry.InvitationMessage(
        invitation_id=invitation.pk,
        call_external_id=invitation.call.external_id,
        customer_name=(customer.name if customer else "") or "",
        link=survey_link(raw_token),
        opt_out_link=survey_opt_out_link(raw_token),
        expires_at_text=formats.date_format(timezone.localtime(invitation.expires_at), "DATE_FORMAT"),
    )


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> DeliveryOutcome:
    """Claim a due pending delivery, send its invitation once and record the result. A transient
    failure schedules the next attempt (DeliveryOutcome.retry_in) until SURVEY_DELIVERY_MAX_ATTEMPTS."""
    now = now or timezone.now()
    # The claim is the idempotency guard: a duplicate message (redelivery, sweeper) finds 0 rows.
    claimed = SurveyDelivery.objects.filter(
        pk=delivery_id, status=SurveyDelivery.Status.PENDING, next_attempt_at__lte=now
    ).update(status=SurveyDelivery.Status.SENDING, attempts=F("attempts") + 1, claimed_at=now, updated_at=now)
    if not claimed:
        return DeliveryOutcome(status="not_claimed")

    with transaction.atomic():
        delivery = SurveyDelivery.objects.select_related("invitation__call", "invitation__customer").get(
            pk=delivery_id
        )
        invitation = SurveyInvitation.objects.select_for_update().get(pk=delivery.invitation_id)
        invitation.call, invitation.customer = delivery.invitation.call, delivery.invitation.customer
        if (
            invitation.used_at is not None
            or invitation.expires_at <= now
            or invitation.status != Status.PENDING
        ):
            _delivery_finish(delivery, invitation, ok=False, error="invitation no longer pending", now=now)
            return DeliveryOutcome(status="failed", error="invitation no longer pending")
        # Nothing was delivered yet, so rotating the token invalidates no link a customer holds.
        raw_token, digest = token_generate()
        invitation.token_hash = digest
        invitation.save(update_fields=["token_hash", "updated_at"])

    message = _invitation_message(invitation, raw_token)
    channel = channel_registry.channel_get(delivery.channel)
    # The network call happens outside any transaction: no row lock is held while we wait on SMTP.
    try:
        channel.send(to=delivery.to, message=message)
    except channel_registry.TransientDeliveryError as exc:
        attempts = delivery.attempts
        if attempts >= settings.SURVEY_DELIVERY_MAX_ATTEMPTS:
            _delivery_finish(
                delivery, invitation, ok=False, error=f"gave up after {attempts} attempts: {exc}", now=now
            )
            return DeliveryOutcome(status="failed", error=str(exc))
        retry_in = delivery_backoff_seconds(attempts)
        SurveyDelivery.objects.filter(pk=delivery.pk, status=SurveyDelivery.Status.SENDING).update(
            status=SurveyDelivery.Status.PENDING,
            error=str(exc)[:2000],
            next_attempt_at=now + timedelta(seconds=retry_in),
            claimed_at=None,
            updated_at=now,
        )
        logger.info("survey delivery %s: transient error, retry in %ss: %s", delivery.pk, retry_in, exc)
        return DeliveryOutcome(status="retry", retry_in=retry_in, error=str(exc))
    except channel_registry.DeliveryError as exc:
        _delivery_finish(delivery, invitation, ok=False, error=str(exc), now=now)
        return DeliveryOutcome(status="failed", error=str(exc))
    _delivery_finish(delivery, invitation, ok=True, error="", now=now)
    return DeliveryOutcome(status="sent")


@transaction.atomic
def _delivery_finish(
    delivery: SurveyDelivery, invitation: SurveyInvitation, *, ok: bool, error: str, now: datetime
) -> None:
    SurveyDelivery.objects.filter(pk=delivery.pk).update(
        status=SurveyDelivery.Status.SENT if ok else SurveyDelivery.Status.FAILED,
        sent_at=now if ok else None,
        error=error[:2000],
        claimed_at=None,
        updated_at=now,
    )
    SurveyInvitation.objects.filter(pk=invitation.pk, status=Status.PENDING).update(
        status=Status.SENT if ok else Status.FAILED, sent_at=now if ok else None, updated_at=now
    )


# --- responses ------------------------------------------------------------------------------------


def call_legs(
    first_agent_id: int | None, transfers: list[tuple[int, int | None, int | None]]
) -> list[tuple[int, int]]:
    """(leg, agent id) in call order from the call's agent and its (sequence, from_agent, to_agent)
    transfers: leg 0 is the agent who answered (or the first transfer's from_agent when the call row
    has none), leg n the agent transfer n went to. Legs without a known agent are left out."""
    transfers = sorted(transfers)
    legs: list[tuple[int, int]] = []
    first = first_agent_id or (transfers[0][1] if transfers else None)
    if first is not None:
        legs.append((0, first))
    legs.extend((sequence, to_agent) for sequence, _from, to_agent in transfers if to_agent is not None)
    return legs


def credit_plan(legs: list[tuple[int, int]], *, primary: str) -> list[tuple[int, int, bool]]:
    """(agent id, leg, is_primary) per credited agent: every leg's agent once; the final (or "first")
    leg's agent is primary. An agent on several legs is credited on the leg that makes them primary,
    else on their last leg. Empty only when the call had no agent at all."""
    if not legs:
        return []
    primary_leg, primary_agent = legs[-1] if primary == "final" else legs[0]
    chosen: dict[int, int] = {}
    for leg, agent_id in legs:
        chosen[agent_id] = leg
    chosen[primary_agent] = primary_leg
    return [
        (agent_id, leg, agent_id == primary_agent)
        for agent_id, leg in sorted(chosen.items(), key=lambda item: item[1])
    ]


def response_credits_create(*, response: SurveyResponse) -> list[ResponseCredit]:
    """Credit every agent who handled a leg of the response's call (see credit_plan; the primary leg
    comes from SURVEY_PRIMARY_AGENT)."""
    transfers = list(
        Transfer.objects.filter(call_id=response.call_id).values_list(
            "sequence", "from_agent_id", "to_agent_id"
        )
    )
    plan = credit_plan(call_legs(response.call.agent_id, transfers), primary=settings.SURVEY_PRIMARY_AGENT)
    return ResponseCredit.objects.bulk_create(
        [
            ResponseCredit(response=response, agent_id=agent_id, leg=leg, is_primary=is_primary)
            for agent_id, leg, is_primary in plan
        ]
    )


def _response_existing(
    *, call: Call, invitation: SurveyInvitation | None, idempotency_key: str | None
) -> SurveyResponse | None:
    """The response this request repeats (same key or same invitation), or None. Raises ResponseConflict
    when the call already holds a different answer."""
    if idempotency_key:
        found = SurveyResponse.objects.filter(idempotency_key=idempotency_key).first()
        if found is not None:
            if found.call_id != call.pk:
                raise ResponseConflict(found)
            return found
    if invitation is not None:
        found = SurveyResponse.objects.filter(invitation=invitation).first()
        if found is not None:
            return found
    found = SurveyResponse.objects.filter(call=call).first()
    if found is not None:
        # Each lookup sees what had committed when it ran: a concurrent twin that committed between the
        # lookups above and this one is the same answer, not a conflict.
        if (idempotency_key and found.idempotency_key == idempotency_key) or (
            invitation is not None and found.invitation_id == invitation.pk
        ):
            return found
        raise ResponseConflict(found)
    return None


def _check_optional_answer(name: str, value: int | None, highest: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= highest:
        raise ValueError(f"{name} must be an integer from 1 to {highest}, got {value!r}")


@transaction.atomic
def response_record(
    *,
    call: Call,
    score: int,
    comment: str = "",
    invitation: SurveyInvitation | None = None,
    source: str,
    idempotency_key: str | None = None,
    received_at: datetime | None = None,
    csat: int | None = None,
    ces: int | None = None,
) -> tuple[SurveyResponse, bool]:
    """Record a 0–10 answer about a call, credit its agents and, for a detractor, open the follow-up in
    the same transaction. Idempotent: the same idempotency key or invitation returns the existing
    response and creates nothing. Raises ResponseConflict if the call already has another answer,
    ValueError for a score outside 0–10 or an invitation of another call."""
    if isinstance(score, bool) or not isinstance(score, int):
        raise ValueError(f"score must be an integer, got {score!r}")
    category = category_for_score(score)
    _check_optional_answer("csat", csat, CSAT_MAX)
    _check_optional_answer("ces", ces, CES_MAX)
    if invitation is not None and invitation.call_id != call.pk:
        raise ValueError("the invitation belongs to another call")
    idempotency_key = idempotency_key or None
    existing = _response_existing(call=call, invitation=invitation, idempotency_key=idempotency_key)
    if existing is not None:
        return existing, False
    now = timezone.now()
    try:
        # A savepoint, so a concurrent duplicate that wins the unique index leaves this transaction usable.
        with transaction.atomic():
            response = SurveyResponse.objects.create(
                call=call,
                customer_id=call.customer_id,
                invitation=invitation,
                score=score,
                category=category,
                csat=csat,
                ces=ces,
                comment=comment.strip(),
                source=source,
                idempotency_key=idempotency_key,
                received_at=received_at or now,
                created_at=now,
            )
    except IntegrityError:
        existing = _response_existing(call=call, invitation=invitation, idempotency_key=idempotency_key)
        if existing is None:
            raise
        return existing, False
    if invitation is not None and invitation.used_at is None:
        SurveyInvitation.objects.filter(pk=invitation.pk, used_at__isnull=True).update(
            used_at=response.received_at, updated_at=now
        )
    response_credits_create(response=response)
    analytics_refresh_for_calls_on_commit(call_ids=[response.call_id])
    if response.is_detractor:
        from scoring.followups.services import followup_open_for_response

        followup_open_for_response(response=response)
    return response, True


@transaction.atomic
def response_submit_by_token(
    *,
    raw_token: str,
    score: int,
    comment: str = "",
    source: str = SurveyResponse.Source.SURVEY_LINK,
    idempotency_key: str | None = None,
    received_at: datetime | None = None,
    opt_out: bool = False,
    csat: int | None = None,
    ces: int | None = None,
) -> tuple[SurveyResponse, bool]:
    """Answer through a survey link. The link works once: the first request to flip used_at wins;
    every concurrent or later one gets LinkUnusable("used") — unless it repeats the winner's
    idempotency key, then it gets (the existing response, False). Unknown link → LinkUnusable("unknown"),
    expired → LinkUnusable("expired")."""
    now = timezone.now()
    invitation = invitation_find_by_token(raw_token)
    if invitation is None or invitation.is_skipped:
        raise LinkUnusable("unknown")
    idempotency_key = idempotency_key or None

    def repeated() -> SurveyResponse | None:
        if idempotency_key is None:
            return None
        found = SurveyResponse.objects.filter(idempotency_key=idempotency_key).first()
        if found is not None and found.invitation_id != invitation.pk:
            raise ResponseConflict(found)
        return found

    if (found := repeated()) is not None:
        return found, False
    # Conditional update = the single-use guard. Concurrent submitters queue on the row lock and,
    # once the winner commits, re-check used_at IS NULL and update nothing.
    claimed = SurveyInvitation.objects.filter(
        pk=invitation.pk, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now, updated_at=now)
    if not claimed:
        if (found := repeated()) is not None:
            return found, False
        invitation.refresh_from_db()
        raise LinkUnusable("used" if invitation.used_at is not None else "expired", invitation)
    invitation.used_at = now
    response, created = response_record(
        call=invitation.call,
        score=score,
        comment=comment,
        invitation=invitation,
        source=source,
        idempotency_key=idempotency_key,
        received_at=received_at,
        csat=csat,
        ces=ces,
    )
    if opt_out and invitation.customer_id is not None:
        customer_opt_out(customer=invitation.customer, source=CustomerOptOut.Source.SURVEY_PAGE)
    return response, created


@transaction.atomic
def customer_opt_out(
    *, customer: Customer, source: str = CustomerOptOut.Source.SURVEY_PAGE
) -> CustomerOptOut:
    """Stop surveying a customer (idempotent). Pending invitations still undelivered are not sent."""
    opt_out, _ = CustomerOptOut.objects.get_or_create(customer=customer, defaults={"source": source})
    pending = SurveyInvitation.objects.filter(customer=customer, status=Status.PENDING)
    SurveyDelivery.objects.filter(invitation__in=pending, status=SurveyDelivery.Status.PENDING).update(
        status=SurveyDelivery.Status.FAILED, error="customer opted out", updated_at=timezone.now()
    )
    pending.update(status=Status.FAILED, updated_at=timezone.now())
    return opt_out


# --- sweeper --------------------------------------------------------------------------------------


def survey_sweep(*, now: datetime | None = None, batch: int = SWEEP_BATCH) -> dict[str, int]:
    """Re-drive what lost messages left behind; the database is the source of truth.

    1. decide recently ended calls that have no decision yet (at most `batch` per run);
    2. release deliveries whose worker died mid-send;
    3. re-queue deliveries that are due.
    """
    from .tasks import survey_deliver_task

    now = now or timezone.now()
    undecided = list(
        Call.objects.filter(
            ended_at__gte=now - timedelta(hours=settings.SURVEY_SWEEP_LOOKBACK_HOURS),
            ended_at__lte=now - timedelta(seconds=settings.SURVEY_DELAY_SECONDS),
            survey_invitation__isnull=True,
        )
        .order_by("ended_at")
        .select_related("customer")[:batch]
    )
    for call in undecided:
        invitation_decide(call=call, now=now)
    stale = list(
        SurveyDelivery.objects.filter(
            status=SurveyDelivery.Status.SENDING, claimed_at__lt=now - STALE_CLAIM
        ).values_list("pk", flat=True)[:batch]
    )
    released = SurveyDelivery.objects.filter(pk__in=stale, status=SurveyDelivery.Status.SENDING).update(
        status=SurveyDelivery.Status.PENDING, next_attempt_at=now, claimed_at=None, updated_at=now
    )
    due = set(stale) | set(
        SurveyDelivery.objects.filter(
            status=SurveyDelivery.Status.PENDING, next_attempt_at__lte=now - SWEEP_GRACE
        ).values_list("pk", flat=True)[:batch]
    )
    for pk in sorted(due):
        survey_deliver_task.delay(pk)
    return {"decided": len(undecided), "released": released, "requeued": len(due)}
