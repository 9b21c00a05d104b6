"""Opening a follow-up case in the response's transaction, and queueing work after commit without ever
failing or blocking the caller when the broker is down."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from calls.models import Customer
from scoring.surveys.models import SurveyResponse

from .. import selectors, sla
from ..models import FollowUpCase, Priority

DispatchState = FollowUpCase.DispatchState

logger = logging.getLogger(__name__)


def enqueue_dispatch(case_id: int) -> None:
    """Queue the dispatch; if the broker refused, stamp dispatch_after so the sweeper re-drives the row
    within FOLLOWUP_REDRIVE_AFTER_SECONDS (rows whose message was queued wait the longer
    FOLLOWUP_REDRIVE_QUEUED_AFTER_SECONDS: re-driving them sooner would flood a backlogged queue)."""
    from ..tasks import followup_dispatch_task, publish

    if not publish(followup_dispatch_task, case_id):
        FollowUpCase.objects.filter(
            pk=case_id, dispatch_state=DispatchState.PENDING, dispatch_after__isnull=True
        ).update(dispatch_after=timezone.now())


def followup_open_for_response(*, response: SurveyResponse) -> FollowUpCase:
    """Open the follow-up of a detractor response in the caller's transaction (idempotent: the existing
    case is returned). Owner: the primary credited agent's team supervisor, else the default queue.
    Due: the matching SLA policy from the response's receipt. Dispatch is queued after commit.

    It writes one row, so it needs no transaction of its own: called inside response_record's, the case
    commits (or rolls back) with the response. The request path is kept to a handful of queries.
    """
    if not response.is_detractor:
        raise ValueError("only detractor responses get a follow-up")
    now = timezone.now()
    call = response.call  # the caller's instance: its customer is usually loaded already
    customer_id = response.customer_id or call.customer_id
    if customer_id is None:
        tier = None
    elif call.customer_id == customer_id:
        tier = call.customer.tier
    else:
        tier = Customer.objects.filter(pk=customer_id).values_list("tier", flat=True).first()
    policy = selectors.sla_policy_match(customer_tier=tier, score=response.score)
    calendar_model = policy.calendar if policy is not None and policy.business_hours_only else None
    minutes = policy.resolution_minutes if policy is not None else settings.FOLLOWUP_FALLBACK_SLA_MINUTES
    start = min(response.received_at, now)
    try:
        due_at = sla.add_business_time(
            start, timedelta(minutes=minutes), selectors.business_calendar_for_sla(calendar_model)
        )
    except ValueError:
        # A calendar with no opening hours (not entered yet, all deleted, a year of holidays) must not
        # refuse the customer's answer: this runs in the response's transaction. Count round the clock.
        logger.error(
            "SLA policy %s: calendar %s has no opening hours; follow-up due counted round the clock",
            policy.pk if policy is not None else None,
            calendar_model.pk if calendar_model is not None else None,
        )
        calendar_model = None
        due_at = sla.add_business_time(start, timedelta(minutes=minutes), None)
    owner = selectors.response_owner(response)
    try:
        # A savepoint: a repeat (or a concurrent twin) hits the unique response index and the caller's
        # transaction stays usable; that is the idempotency check, with no extra query on the hot path.
        with transaction.atomic():
            case = FollowUpCase.objects.create(
                response=response,
                call_id=response.call_id,
                customer_id=customer_id,
                owner=owner,
                queue=None if owner is not None else selectors.default_queue(),
                priority=policy.case_priority if policy is not None else Priority.NORMAL,
                sla_policy=policy,
                calendar=calendar_model,
                due_at=due_at,
                created_at=now,
            )
    except IntegrityError:
        existing = FollowUpCase.objects.filter(response=response).first()
        if existing is None:  # another constraint failed: a real error
            raise
        return existing
    # Never a bare .delay() here: the worker must find the committed row, and a broker outage must not
    # fail the response. robust: a failing publish cannot break the caller's other commit hooks.
    transaction.on_commit(lambda: enqueue_dispatch(case.pk), robust=True)
    return case


def enqueue_escalation_notice(case_id: int) -> None:
    from ..tasks import followup_escalation_notify_task, publish

    publish(followup_escalation_notify_task, case_id)
