"""Celery tasks: each takes ids and calls one service. The database rows are the source of truth;
survey_sweep_task re-drives whatever a lost message left behind."""

from __future__ import annotations

from celery import shared_task

from calls.models import Call

from . import services


@shared_task(acks_late=True)
def survey_invite_task(call_id: int) -> str:
    """Decide (and, if invited, queue delivery of) the survey for one ended call."""
    call = Call.objects.filter(pk=call_id).select_related("customer").first()
    if call is None:
        return "missing"
    invitation = services.invitation_decide(call=call)
    return invitation.skip_reason or invitation.status


@shared_task(acks_late=True)
def survey_invite_batch_task(call_ids: list[int]) -> dict[str, int]:
    """Decide the surveys of many ended calls (an import's): one message instead of one per call."""
    return services.invitation_decide_many(call_ids=call_ids)


@shared_task(bind=True, acks_late=True, max_retries=None)
def survey_deliver_task(self, delivery_id: int) -> str:
    """Send one invitation; transient failures come back with backoff (the row holds the schedule)."""
    outcome = services.delivery_attempt(delivery_id=delivery_id)
    if outcome.retry_in is not None:
        # The row already says when the next attempt is due; the retry just brings the message back then.
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(acks_late=True)
def survey_sweep_task() -> dict[str, int]:
    return services.survey_sweep()
